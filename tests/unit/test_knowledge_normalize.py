"""Normalisation and article references: what residents type, in every width, script and numeral style."""

from __future__ import annotations

import pytest

from knowledge.articles import (
    ArticleRef,
    article_lookup,
    format_article,
    is_valid_article,
    parse_article,
    parse_article_number,
)
from knowledge.normalize import chinese_to_int, normalize_text, to_simplified


@pytest.mark.parametrize(
    ("numeral", "value"),
    [
        ("一千二百五十四", 1254),
        ("一二五四", 1254),
        ("两百八十八", 288),
        ("二百七十一", 271),
        ("十", 10),
        ("十五", 15),
        ("一百零五", 105),
        ("一千零一", 1001),
        ("1千2百54", 1254),
        ("一二六〇", 1260),
        ("1254", 1254),
    ],
)
def test_chinese_numerals(numeral: str, value: int) -> None:
    assert chinese_to_int(numeral) == value


@pytest.mark.parametrize("not_a_numeral", ["", "物业", "十x"])
def test_chinese_numerals_reject_other_text(not_a_numeral: str) -> None:
    assert chinese_to_int(not_a_numeral) is None


def test_full_width_becomes_half_width_and_lower_case() -> None:
    assert normalize_text("ＡＢＣ１２３　物业费") == "abc123 物业费"


def test_traditional_becomes_simplified() -> None:
    assert normalize_text("樓上漏水誰負責") == "楼上漏水谁负责"
    assert to_simplified("業委會") == "业委会"
    # already simplified text is returned unchanged
    assert to_simplified("业委会") == "业委会"


def test_punctuation_and_emoji_become_spaces() -> None:
    assert normalize_text("楼上漏水了！！😡😡 咋办？？") == "楼上漏水了 咋办"
    assert normalize_text("😀😀！！。。。") == ""
    assert normalize_text("") == ""
    assert normalize_text(None) == ""


def test_article_numerals_become_digits_inside_text() -> None:
    assert normalize_text("民法典第一千二百五十四條说什么") == "民法典第1254条说什么"
    assert normalize_text("第一二五四条") == "第1254条"


def test_very_long_text_is_cut() -> None:
    assert len(normalize_text("物业" * 2000)) <= 400


@pytest.mark.parametrize(
    "text",
    [
        "第1254条",
        "民法典第一千二百五十四条",
        "第一二五四条",
        "1254条",
        "第１２５４条",
        "民法典第一千二百五十四條",
        "查一下民法典第1254条原文",
        "article 1254",
    ],
)
def test_article_reference_forms(text: str) -> None:
    assert parse_article_number(text) == 1254
    assert parse_article(text) == 1254
    assert article_lookup(text) == ArticleRef(1254)


def test_article_out_of_range_is_reported_not_accepted() -> None:
    assert parse_article_number("第9999条") == 9999
    assert parse_article("第9999条") is None
    ref = article_lookup("民法典第一万条")
    assert ref is not None and ref.number == 10000 and not ref.valid
    assert article_lookup("第0条") == ArticleRef(0)
    huge = article_lookup("第一二三四五六七八九条")
    assert huge is not None and not huge.valid
    assert not ArticleRef(0).valid
    assert is_valid_article(1) and is_valid_article(1260)
    assert not is_valid_article(1261)


def test_counting_words_are_not_article_references() -> None:
    assert parse_article_number("我家3条狗天天叫") is None
    assert article_lookup("两条狗打架") is None


def test_question_mentioning_an_article_is_not_a_lookup() -> None:
    text = "高空抛物第1254条说谁负责"
    assert parse_article_number(text) == 1254
    assert article_lookup(text) is None


def test_bare_number_is_a_lookup_only_when_asked_for() -> None:
    assert article_lookup("1254") is None
    assert article_lookup("1254", allow_bare_number=True) == ArticleRef(1254)


def test_format_article() -> None:
    assert format_article(288) == "第288条"
