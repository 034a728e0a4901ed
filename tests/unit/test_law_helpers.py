"""Pure helpers of the law capability: text import validation, number masking, callback keys, paging."""

from __future__ import annotations

import json

from bot.callbacks import pack
from bot.services.law import faq_key, gap_key, has_words, mask_numbers, parse_text_lines
from handlers.law import paginate


def test_parse_text_lines_accepts_good_rows_and_names_every_bad_line() -> None:
    lines = [
        json.dumps({"article": 1, "text": " 甲 ", "title_path": "第一编"}, ensure_ascii=False),
        "",
        json.dumps({"article": "2", "text": "乙"}, ensure_ascii=False),
        json.dumps({"article": 0, "text": "x"}),
        json.dumps({"article": 1261, "text": "x"}),
        json.dumps({"article": 3, "text": "  "}),
        json.dumps({"article": True, "text": "x"}),
        json.dumps([1, "x"]),
        "{broken",
        json.dumps({"article": 1, "text": "again"}),
    ]
    rows, problems = parse_text_lines(lines)
    assert [(r.article, r.text, r.title) for r in rows] == [(1, "甲", "第一编"), (2, "乙", None)]
    assert [p.split(":")[0] for p in problems] == [f"line {n}" for n in (4, 5, 6, 7, 8, 9, 10)]
    assert "outside 1..1260" in problems[0] and "already given on line 1" in problems[-1]


def test_phone_id_and_bank_numbers_are_masked_but_article_numbers_stay() -> None:
    text = "房东电话 139-1234-5678，身份证 110101199001011234，第1254条，押金3000元"
    masked = mask_numbers(text)
    assert "5678" not in masked and "1234" not in masked
    assert "第1254条" in masked and "3000" in masked


def test_gap_key_groups_the_same_question_however_it_is_typed() -> None:
    assert gap_key("物業費能不交嗎？？") == gap_key("物业费能不交吗")
    assert not has_words("😀😀！！。。") and has_words("狗")


def test_faq_keys_keep_callback_data_short_for_long_ids() -> None:
    long_id = "-".join(["very-long-faq-identifier"] * 10)
    key = faq_key(long_id)
    assert len(key) == 8 and key == faq_key(long_id) and key != faq_key(long_id + "x")
    assert len(pack("lw", "v", 2**40, key, 1).encode()) <= 64


def test_paginate_keeps_every_line_and_every_page_within_the_limit() -> None:
    lines = [f"• 问题{i} " + "很长" * 50 for i in range(200)] + ["x" * 5000]
    pages = paginate(lines, limit=1000)
    assert all(len(p) <= 1000 for p in pages)
    joined = "\n".join(pages)
    assert all(f"问题{i} " in joined for i in range(200))
    assert paginate([]) == [""]
