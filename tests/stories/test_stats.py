"""Supervisors' figures: /stats answers with a picture and five lines that match the tickets, the monthly PDF
reads in Chinese, the weekly digest carries its picture, and nobody sees a compound they do not oversee."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader

from bot.emulator.core import Message
from bot.services.repairs import number_of
from tests.cli_helpers import run
from tests.factories import COMPOUND, OTHER_COMPOUND, USERS
from tests.harness import Harness, forged_callback
from tests.repairs_helpers import all_texts, drain, find, report, setup_compound, tickets

PNG = b"\x89PNG"


def _file(harness: Harness, message: Message) -> bytes:
    ref = message.photo[-1] if message.kind == "photo" and message.photo else message.document
    assert ref is not None
    stored = harness.world.stored_file(ref["file_id"])
    assert stored is not None
    return stored.data


async def _two_tickets_one_done_and_rated(harness: Harness) -> None:
    """Two reports this month; the butler accepts and finishes the first in time; the resident gives 5⭐."""
    await setup_compound(harness)
    await report(harness, USERS.resident, text="厨房水管接头漏水")
    await report(harness, USERS.resident, kind="🛗 电梯", text="3栋电梯门关不上")
    await drain(harness)
    first, _second = await tickets(harness)
    card = find(harness.world.bot_messages(USERS.butler), number_of(first.id))
    await harness.press(USERS.butler, card, "接单")
    await harness.press(USERS.butler, harness.world.message(USERS.butler, card.message_id), "完成")
    await harness.press(USERS.butler, harness.last(USERS.butler), "直接完成")
    await drain(harness)
    await harness.press(USERS.resident, find(harness.world.bot_messages(USERS.resident), "处理好了"), "5⭐")


async def test_a_supervisor_asks_stats_and_gets_a_picture_and_the_figures(harness: Harness) -> None:
    await _two_tickets_one_done_and_rated(harness)
    replies = await harness.send(USERS.supervisor, "/stats")
    [answer] = replies
    assert answer.kind == "photo" and _file(harness, answer).startswith(PNG)
    caption = answer.text or ""
    # Two reported, one resolved (办结率 50%), accepted in time (响应率: the second is still within its limit,
    # so 1 of 1), one rating of 5 (满意率 100%), nothing reopened.
    assert COMPOUND in caption and "2026-11" in caption
    assert "报修 2 单" in caption and "已办结 1 单" in caption
    assert "响应率 100%" in caption and "办结率 50%" in caption and "满意率 100%" in caption
    assert "重开率 0%" in caption and "回访率 100%" in caption
    assert "张阿姨" not in caption and "501" not in caption
    assert len(caption.splitlines()) == 6  # a title and five lines of figures
    # Last month had nothing: zeros and 暂无数据, no error.
    _, shown = await harness.press(USERS.supervisor, answer, "上月")
    [previous] = shown
    assert previous.kind == "photo" and "2026-10" in (previous.text or "")
    assert "报修 0 单" in (previous.text or "") and "暂无数据" in (previous.text or "")
    # The PDF button sends the month's report.
    _, sent = await harness.press(USERS.supervisor, answer, "📄 月报 PDF")
    [document] = sent
    assert document.kind == "document"
    pdf = PdfReader(io.BytesIO(_file(harness, document)))
    text = "".join(page.extract_text() for page in pdf.pages)
    assert COMPOUND in text and "物业服务月报" in text and "王师傅" in text


async def test_stats_refuses_what_the_person_does_not_oversee(harness: Harness) -> None:
    await setup_compound(harness)
    replies = await harness.send(USERS.supervisor, f"/stats {OTHER_COMPOUND}")
    assert f"您不负责「{OTHER_COMPOUND}」" in (replies[-1].text or "")
    assert replies[-1].kind == "text"
    replies = await harness.send(USERS.supervisor, "/stats 2027-03")
    assert "还没到" in (replies[-1].text or "")
    replies = await harness.send(USERS.resident, "/stats")
    assert replies[-1].kind == "text" and "2026" not in (replies[-1].text or "")
    # A forged button for another compound is refused on the server too.
    async with harness.services.uow() as uow:
        other = await uow.community.compound_by_name(OTHER_COMPOUND)
        assert other is not None
    mine = (await harness.send(USERS.supervisor, "/stats"))[-1]
    update = forged_callback(
        harness.world, USERS.supervisor, USERS.supervisor, mine.message_id, f"st:v:{other.id}:0"
    )
    await harness.process(update)
    answered = harness.world.callback_answer(update["callback_query"]["id"])
    assert answered is not None and "您不负责" in (answered.get("text") or "")


async def test_a_building_on_its_own(harness: Harness) -> None:
    await _two_tickets_one_done_and_rated(harness)
    replies = await harness.send(USERS.supervisor, f"/stats {COMPOUND} 3栋")
    caption = replies[-1].text or ""
    assert "3栋" in caption and "报修 2 单" in caption  # both reports came from 3栋2单元501
    replies = await harness.send(USERS.supervisor, f"/stats {COMPOUND} 9栋")
    assert "没有找到楼栋「9栋」" in (replies[-1].text or "")


async def test_the_weekly_digest_carries_its_picture_and_three_things(harness: Harness) -> None:
    await _two_tickets_one_done_and_rated(harness)
    harness.clock.set(datetime(2026, 11, 9, 1, 0, tzinfo=UTC))  # next Monday 09:00 in Shanghai
    await harness.tick()
    await drain(harness)
    digests = [m for m in harness.world.bot_messages(USERS.supervisor) if "上周报修小结" in (m.text or "")]
    [digest] = digests
    assert digest.kind == "photo" and _file(harness, digest).startswith(PNG)
    text = digest.text or ""
    assert "新报修：2 单" in text and "已办结：1 单" in text and "需要关注的三件事" in text
    # The lift report has been waiting past its accept limit: it is the most overdue.
    [_first, second] = await tickets(harness)
    assert f"超时最久：{number_of(second.id)}" in text


async def test_monthly_public_figures_are_opt_in_and_name_no_resident(
    harness: Harness, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDBUTLER_DATABASE_URL", harness.settings.database_url)
    await _two_tickets_one_done_and_rated(harness)
    harness.clock.set(datetime(2026, 12, 1, 2, 30, tzinfo=UTC))
    await harness.tick()
    await drain(harness)
    assert not any("物业服务公示" in t for t in all_texts(harness, USERS.group))
    code, out, _ = await asyncio.to_thread(
        run, capsys, "report", "public-figures", "--compound", COMPOUND, "on"
    )
    assert code == 0, out
    harness.clock.advance(timedelta(hours=1))
    await harness.tick()
    await drain(harness)
    [post] = [t for t in all_texts(harness, USERS.group) if "物业服务公示" in t]
    assert "2026-11" in post and "办结率 50%" in post and "满意率 100%" in post and "王师傅" in post
    assert "张阿姨" not in post and "501" not in post


async def test_the_monthly_report_from_the_command_line(
    harness: Harness, capsys: pytest.CaptureFixture[str], tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pathlib import Path

    from openpyxl import load_workbook

    monkeypatch.setenv("REDBUTLER_DATABASE_URL", harness.settings.database_url)
    await _two_tickets_one_done_and_rated(harness)
    harness.clock.set(datetime(2026, 12, 1, 2, 30, tzinfo=UTC))
    out, xlsx = Path(str(tmp_path)) / "r.pdf", Path(str(tmp_path)) / "r.xlsx"
    code, printed, err = await asyncio.to_thread(
        run,
        capsys, "report", "monthly", "--compound", COMPOUND, "--month", "2026-11", "--out", str(out),
        "--xlsx", str(xlsx),
    )  # fmt: skip
    assert code == 0, err
    assert "r.pdf" in printed
    text = "".join(page.extract_text() for page in PdfReader(out).pages)
    assert COMPOUND in text and "2026-11" in text
    assert "响应率" in text and "50%" in text and "100%" in text and OTHER_COMPOUND in text
    book = load_workbook(xlsx)
    cover = [[c.value for c in row] for row in book.worksheets[0].iter_rows()]
    assert ["报修（单）", "2", "0"] in cover
    assert ["办结率", "50%", "暂无数据"] in cover
    code, _, err = await asyncio.to_thread(
        run, capsys, "report", "monthly", "--compound", "没有这个小区", "--out", str(out)
    )
    assert code == 1 and "没有这个小区" in err
