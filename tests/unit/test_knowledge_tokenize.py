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
        marshal.dump(({b"x": 1}, 1), planted)
    assert _fresh_cut(QUESTION, monkeypatch) == list(QUESTION)  # our own private folder is trusted
    cache.parent.chmod(0o777)
    assert "邻居" in _fresh_cut(QUESTION, monkeypatch)  # not read: jieba's full dictionary instead
