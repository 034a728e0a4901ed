"""Both catalogues are complete and agree on placeholders; no user-facing Chinese hides in code."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from bot.i18n import Translator, written_in_english

ROOT = Path(__file__).resolve().parents[2]


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_zh_and_en_have_the_same_keys_and_placeholders() -> None:
    t = Translator()
    zh = t.keys("zh_CN")
    en = t.keys("en")
    assert set(zh) == set(en), set(zh) ^ set(en)
    for key in zh:
        assert placeholders(zh[key]) == placeholders(en[key]), key
        assert zh[key].strip() and en[key].strip(), key


def test_no_chinese_text_in_handlers() -> None:
    """User-facing text lives in the catalogues: no string literal in handlers/ holds Chinese."""
    han = re.compile(r"[\u4e00-\u9fff]")
    offenders = []
    for path in sorted((ROOT / "handlers").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
            if is_text and id(node) not in docstrings and han.search(node.value):
                offenders.append(f"{path.name}:{node.lineno}: {node.value[:40]}")
    assert offenders == []


def test_missing_key_falls_back_to_chinese_then_key() -> None:
    t = Translator()
    assert t("en", "no.such.key") == "no.such.key"
    assert t("fr", "common.cancelled") == "好的，已取消。"


FILE_SUFFIXES = frozenset({"sqlite3", "db", "xlsx", "csv", "png", "pdf", "json", "yaml", "txt", "ics"})


def test_every_message_key_written_in_the_code_is_in_the_catalogues() -> None:
    """No raw key ever reaches a person ("refused: patrols.shift_gone"): every literal key the code hands to
    the translator, a refusal or a problem exists in both catalogues."""
    keys = set(Translator().keys("zh_CN"))
    namespaces = {key.split(".", 1)[0] for key in keys}
    shaped = re.compile(r"^[a-z_]+(\.[a-z0-9_]+)+$")
    missing = []
    for folder in ("bot", "handlers"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            # The fixed part of a key built at run time (f"repairs.status.{status}") is not a key itself.
            parts = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values}
            for node in ast.walk(tree):
                if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) or id(node) in parts:
                    continue
                text = node.value
                if text.endswith("_"):  # a prefix joined with + at run time
                    continue
                if text.rsplit(".", 1)[-1] in FILE_SUFFIXES:  # a file name ("inbox.sqlite3"), not a key
                    continue
                if shaped.match(text) and text.split(".", 1)[0] in namespaces and text not in keys:
                    missing.append(f"{path.relative_to(ROOT)}:{node.lineno} {text}")
    assert missing == []


def test_cached_catalogues_are_read_only_from_a_private_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parsed catalogues are cached between starts; a cache others could write must never be read,
    or whoever planted it would speak to residents in the bot's name."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    first = Translator()
    cached = list(tmp_path.glob("redbutler-index-*/messages-*.json"))
    assert len(cached) == 2  # one per language
    second = Translator()  # read back from the cache
    assert second.keys("zh_CN") == first.keys("zh_CN")

    for path in cached:
        path.write_text('{"start.welcome": "planted"}', encoding="utf-8")
    assert Translator()("zh_CN", "start.welcome") == "planted"  # our own private folder is trusted
    cached[0].parent.chmod(0o777)
    assert Translator()("zh_CN", "start.welcome") == first("zh_CN", "start.welcome")


@pytest.mark.parametrize(
    "text",
    [
        "my dog bit the neighbour's kid, who pays?",
        "landlord won't return deposit",
        "Help! fire in the kitchen",
    ],
)
def test_english_sentences_are_recognised(text: str) -> None:
    assert written_in_english(text)


@pytest.mark.parametrize(
    "text",
    [
        *("wyf bu jiao ke yi ma", "ok", "bj zm ban", "zen me ban", "an quan tong dao"),
        *("hello", "hi", "楼上 is 漏水", "123", "👍"),
        # Invite and voucher codes: letters glued to digits are no words ("A2MY9K" is not "my").
        *("A2MY9K", "7IS3ON8W", "k9the4x"),
    ],
)
def test_pinyin_chinese_and_bare_words_are_not_taken_for_english(text: str) -> None:
    assert not written_in_english(text)
