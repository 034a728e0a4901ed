"""The corpus' YAML files are remembered as JSON between starts: an edited file must be read anew (a changed
answer reaches residents at the next start), and a folder others can write is not trusted."""

from __future__ import annotations

from pathlib import Path

from knowledge.cache_dir import load_yaml


def test_an_edited_file_is_read_anew_and_a_planted_cache_is_ignored(tmp_path: Path) -> None:
    source = tmp_path / "faq.yaml"
    cache = tmp_path / "cache"
    source.write_text("- id: a\n  answer_zh: 押金应当退还\n", encoding="utf-8")
    assert load_yaml(source, cache) == [{"id": "a", "answer_zh": "押金应当退还"}]
    (remembered,) = cache.glob("yaml-*.json")

    source.write_text("- id: a\n  answer_zh: 押金可以扣除\n", encoding="utf-8")
    assert load_yaml(source, cache) == [{"id": "a", "answer_zh": "押金可以扣除"}]

    # Someone else's answer planted in a folder anyone can write is not read.
    planted = remembered.read_text(encoding="utf-8").replace("押金可以扣除", "不用退")
    cache.chmod(0o777)
    remembered.write_text(planted, encoding="utf-8")
    assert load_yaml(source, cache) == [{"id": "a", "answer_zh": "押金可以扣除"}]


def test_what_json_cannot_hold_is_read_from_the_yaml_each_time(tmp_path: Path) -> None:
    source = tmp_path / "dates.yaml"
    source.write_text("- 2026-12-01\n- {1: one}\n", encoding="utf-8")
    first = load_yaml(source, tmp_path / "cache")
    assert load_yaml(source, tmp_path / "cache") == first
    assert str(first[0]) == "2026-12-01" and first[1] == {1: "one"}
    assert not list((tmp_path / "cache").glob("yaml-*.json"))
