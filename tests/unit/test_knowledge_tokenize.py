"""The jieba dictionary and its count cache live in a per-user temp folder: read only when the folder is
private, since a planted file there would change how every question is cut (and so every legal answer)."""

from __future__ import annotations

import marshal
import tempfile
from pathlib import Path

import pytest

from knowledge import tokenize

QUESTION = "邻居家的狗咬伤了我"


def _fresh_cut(text: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setattr(tokenize, "_tokenizer", None)
    return tokenize.cut(text)


def test_the_count_cache_is_read_only_from_a_private_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    words = _fresh_cut(QUESTION, monkeypatch)
    assert "邻居" in words
    [cache] = tmp_path.glob("redbutler-jieba-*/*.freq")
    assert _fresh_cut(QUESTION, monkeypatch) == words  # read back from the cache: the same cut

    with cache.open("wb") as planted:  # a dictionary that knows no word at all
        marshal.dump(({b"x": 1}, frozenset(), 1), planted)
    assert _fresh_cut(QUESTION, monkeypatch) == list(QUESTION)  # our own private folder is trusted
    cache.parent.chmod(0o777)
    assert "邻居" in _fresh_cut(QUESTION, monkeypatch)  # not read: jieba's full dictionary instead


def test_plain_synonyms_rewrite_but_do_not_make_chit_chat_sound_legal(tmp_path: Path) -> None:
    from knowledge.normalize import normalize_text
    from knowledge.tokenize import Analyzer, Synonyms

    path = tmp_path / "synonyms.txt"
    path.write_text("儿子 ~ 个仔\n物业费 = wyf\n", encoding="utf-8")
    analyzer = Analyzer(Synonyms.load(path))
    chat = analyzer.analyze(normalize_text("我个仔考上大学了"))
    assert "儿子" in chat.words  # rewritten like any synonym
    assert not analyzer.mentions_domain(chat)
    assert analyzer.mentions_domain(analyzer.analyze(normalize_text("wyf涨价了")))


def test_a_brand_before_its_goods_is_not_a_pinyin_abbreviation(tmp_path: Path) -> None:
    from knowledge.normalize import normalize_text
    from knowledge.tokenize import Synonyms

    path = tmp_path / "synonyms.txt"
    path.write_text("配偶 = lg lp\n! 冰箱 电视 fridge\n", encoding="utf-8")
    syn = Synonyms.load(path)
    for brand in ("LG冰箱坏了 售后不管", "lg的电视黑屏了", "LG牌的冰箱", "my LG fridge broke"):
        assert "配偶" not in syn.rewrite(normalize_text(brand)), brand
    assert "配偶" in syn.rewrite(normalize_text("lg不给家用"))  # still 老公 when no goods follow
    shipped = Synonyms.load()
    assert "配偶" not in shipped.rewrite(normalize_text("LG冰箱坏了"))
    assert "配偶" in shipped.rewrite(normalize_text("lg出轨了"))
