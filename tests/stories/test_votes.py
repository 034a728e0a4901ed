"""Owners' decisions through the real Application: a proposal supported by neighbours and put to a vote, an
ownership claim confirmed by the building leader, the notice, the private ballot and its receipt, reminders,
the result published with every figure; a paper ballot replacing an online one; double presses; a tenant
refused; a vote after closing refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.db.models.votes import Ballot, HomeOwnership, OwnerVote, PaperEntry, Proposal, VoteNotice
from bot.scheduling import next_wakeup
from bot.services import votes, votes_evidence, votes_paper
from bot.services.errors import UserFacingError
from tests.factories import COMPOUND, USERS
from tests.harness import Harness, forged_callback
from tests.patrols_helpers import deliver, link_group, local, settle, texts_since

DECISIONS = "🗳 议事表决"
STALE = "按钮已经过期"
NOT_ALLOWED = "没有权限"


async def make_owner(harness: Harness, telegram_id: int, building: str, unit: str, room: str) -> int:
    async with harness.services.uow() as uow:
        compound = await uow.community.compound_by_name(COMPOUND)
        assert compound is not None
        b = await uow.community.building_by_name(compound.id, building)
        assert b is not None
        u = await uow.community.unit_by_name(b.id, unit)
        assert u is not None
        home = await uow.community.household_by_room(u.id, room)
        person = await uow.community.person_by_telegram(telegram_id)
        assert home is not None and person is not None
        uow.session.add(
            HomeOwnership(
                household_id=home.id, person_id=person.id, kind="owner", created_at=harness.clock.now()
            )
        )
        await uow.commit()
        return home.id


async def open_vote(harness: Harness, *, days: int = 5, matter: str = "ordinary") -> int:
    now = harness.clock.now()
    fmt = "%Y-%m-%d %H:%M"
    local = now + timedelta(hours=8)  # Shanghai
    return await votes.create_vote(
        harness.services.uow(),
        compound=COMPOUND,
        title="更换3栋电梯（使用维修资金）",
        matter=matter,
        opens=local.strftime(fmt),
        closes=(local + timedelta(days=days)).strftime(fmt),
        notice_days=0,
        now=now,
    )


async def ballots(harness: Harness, vote_id: int) -> list[Ballot]:
    async with harness.services.uow() as uow:
        return list(
            await uow.session.scalars(select(Ballot).where(Ballot.vote_id == vote_id).order_by(Ballot.id))
        )


async def test_from_proposal_to_published_result(harness: Harness) -> None:
    await link_group(harness)
    # A resident raises a problem; a neighbour supports it once; the admin puts it to an owners' vote.
    await harness.send(USERS.resident, "/propose")
    replies = await harness.send(USERS.resident, "3栋电梯老是坏，建议用维修资金换新的")
    assert "收到了" in (replies[-1].text or "")
    replies = await harness.send(USERS.neighbour, DECISIONS)
    listing = replies[-1]
    assert "3栋电梯老是坏" in (listing.text or "") and "👍 0" in (listing.text or "")
    answer, _ = await harness.press(USERS.neighbour, listing, "👍 支持第1条")
    assert answer is not None and "1 人支持" in answer["text"]
    answer, _ = await harness.press(USERS.neighbour, listing, "👍 支持第1条")
    assert answer is not None and "已经支持过了" in answer["text"]
    replies = await harness.send(USERS.resident, "/proposals")
    assert "交表决" not in " ".join(replies[-1].button_texts)  # residents cannot set the agenda
    replies = await harness.send(USERS.admin, "/proposals")
    assert "👍 1" in (replies[-1].text or "")
    _, replies = await harness.press(USERS.admin, replies[-1], "🗳 第1条交表决")
    assert "列为业主大会表决事项" in (replies[-1].text or "")
    await deliver(harness)
    assert any("要交业主大会表决" in t for t in harness.texts(USERS.resident))

    # The resident claims to own her home; the building leader of 3栋 confirms.
    replies = await harness.send(USERS.resident, "/claim")
    _, replies = await harness.press(USERS.resident, replies[-1], "我是 3栋2单元501 的业主")
    assert "楼栋长确认后" in (replies[-1].text or "")
    await deliver(harness)
    request = harness.last(USERS.building_leader)
    assert "张阿姨" in (request.text or "") and "3栋2单元501" in (request.text or "")
    _, replies = await harness.press(USERS.building_leader, request, "✅ 是业主")
    await deliver(harness)
    assert "可以参加业主大会表决" in harness.texts(USERS.resident)[-1]

    vote_id = await open_vote(harness)
    await settle(harness)
    group_notice = harness.texts(USERS.group)[-1]
    assert "业主大会表决公告" in group_notice and "三分之二" in group_notice
    notice = harness.last(USERS.resident)
    assert "业主大会表决通知" in (notice.text or "")
    assert not any("业主大会表决通知" in t for t in harness.texts(USERS.neighbour))  # not an owner

    # First reminder (3 days before closing) reaches the owner who has not voted.
    harness.clock.advance(timedelta(days=2, minutes=1))
    await settle(harness)
    assert "还没投票" in harness.texts(USERS.resident)[-1]

    _, replies = await harness.press(USERS.resident, notice, "🗳 去投票")
    ballot = replies[-1]
    assert "3栋2单元501：还没投" in (ballot.text or "")
    answer, replies = await harness.press(USERS.resident, ballot, "✅ 同意")
    assert answer is not None and "同意" in answer["text"]
    receipt = replies[-1].text or ""
    assert "投票回执" in receipt and "3栋2单元501" in receipt and "同意" in receipt
    assert "☑️ ✅ 同意" in harness.world.bot_messages(USERS.resident)[-2].button_texts
    # The building leader sees the homes of 3栋 still to visit, privately; no room number in the group.
    replies = await harness.send(USERS.building_leader, "/unvoted")
    assert "19 户（共 20 户）" in (replies[-2].text or "") and "3栋1单元101" in (replies[-2].text or "")
    assert "3栋2单元501" not in (replies[-2].text or "")
    assert "当前计票" in (replies[-1].text or "") and "参与表决：面积 89.50 m²（1.7%）" in (
        replies[-1].text or ""
    )
    assert not any("501" in t or "101" in t for t in harness.texts(USERS.group))

    # Second reminder: she has voted, so nothing more for her.
    before = harness.world.chat_history(USERS.resident)[-1].message_id
    harness.clock.advance(timedelta(days=2))
    await settle(harness)
    assert texts_since(harness, USERS.resident, before) == []

    # Closing: the result with every figure to the group and every owner; a late press is refused.
    harness.clock.advance(timedelta(days=1))
    await settle(harness)
    result = harness.texts(USERS.group)[-1]
    assert "表决结果" in result and "参与表决：面积 89.50 m²" in result and "未通过" in result
    assert "全体业主：面积 5370.00 m²，60 人" in result  # a home with no owner recorded counts as one
    assert "表决结果" in harness.texts(USERS.resident)[-1]
    answer, _ = await harness.press(USERS.resident, ballot, "❌ 反对")
    assert answer is not None and "已经截止" in answer["text"]
    assert len(await ballots(harness, vote_id)) == 1
    report = await votes_evidence.audit(harness.services.uow(), vote_id)
    assert report.ok, report.problems
    async with harness.services.uow() as uow:
        kinds = [
            n.kind for n in await uow.session.scalars(select(VoteNotice).where(VoteNotice.vote_id == vote_id))
        ]
    assert kinds.count("reminder") == 1 and kinds.count("notice") == 2 and kinds.count("result") == 2


async def test_a_paper_ballot_replaces_the_online_one_and_a_tenant_is_refused(harness: Harness) -> None:
    await make_owner(harness, USERS.resident, "3栋", "2单元", "501")
    vote_id = await open_vote(harness)
    replies = await harness.open_link(USERS.resident, f"vt_{vote_id}")
    await harness.press(USERS.resident, replies[-1], "✅ 同意")
    report = await votes_paper.import_paper(
        harness.services.uow(), vote_id, [{"楼栋": "3栋", "单元": "2单元", "房号": "501", "选项": "反对"}],
        harness.clock.now(), entered_by="赵姐", confirmed_by="陈书记",
    )  # fmt: skip
    assert report.ok and report.replaced == 1
    replies = await harness.open_link(USERS.resident, f"vt_{vote_id}")
    assert "3栋2单元501：反对" in (replies[-1].text or "")
    answer, _ = await harness.press(USERS.resident, replies[-1], "✅ 同意")
    assert answer is not None and "纸质选票" in answer["text"]
    rows = await ballots(harness, vote_id)
    assert [(b.seq, b.option, b.channel) for b in rows] == [(1, "yes", "online"), (2, "no", "paper")]
    outcome = votes.result_json(await votes.result(harness.services.uow(), vote_id, harness.clock.now()))
    assert outcome["options"]["反对"] == {"area": 89.5, "owners": 1}  # type: ignore[index]

    # 黄先生 lives in 1栋1单元101 but is not recorded as its owner: no ballot for him.
    replies = await harness.open_link(USERS.neighbour, f"vt_{vote_id}")
    assert "只有登记的业主才能投票" in (replies[-1].text or "")


async def test_two_phones_of_one_home_and_double_presses_leave_one_current_ballot(harness: Harness) -> None:
    home = await make_owner(harness, USERS.resident, "3栋", "2单元", "501")
    await make_owner(harness, USERS.neighbour, "3栋", "2单元", "501")  # co-owners of one home
    vote_id = await open_vote(harness, matter="special")
    mine = (await harness.open_link(USERS.resident, f"vt_{vote_id}"))[-1]
    theirs = (await harness.open_link(USERS.neighbour, f"vt_{vote_id}"))[-1]
    await harness.press(USERS.resident, mine, "✅ 同意")
    _, replies = await harness.press(USERS.neighbour, theirs, "✅ 同意")
    assert not any(
        "投票回执" in (m.text or "") for m in replies
    )  # the home already holds 同意: no new ballot
    await harness.press(USERS.resident, mine, "✅ 同意")
    assert len(await ballots(harness, vote_id)) == 1
    await harness.press(USERS.neighbour, theirs, "❌ 反对")
    rows = await ballots(harness, vote_id)
    assert [(b.household_id, b.seq, b.option) for b in rows] == [(home, 1, "yes"), (home, 2, "no")]
    tally = (await votes.result(harness.services.uow(), vote_id, harness.clock.now())).tally
    assert tally.participated.owners == 1 and tally.options["no"].owners == 1
    # A forged or outdated button is told it has expired; nothing is recorded.
    update = forged_callback(
        harness.world, USERS.resident, USERS.resident, mine.message_id, f"vt:c:{vote_id}:{home}:x"
    )
    await harness.process(update)
    answer = harness.world.callback_answer(update["callback_query"]["id"])
    assert answer is not None and STALE in answer["text"]
    assert len(await ballots(harness, vote_id)) == 2


async def test_listening_day_reminds_the_groups_once_on_the_first_of_the_month(harness: Harness) -> None:
    await link_group(harness)
    harness.clock.set(local("2026-11-30 20:00"))
    await settle(harness)
    assert not any("倾听日" in t for t in harness.texts(USERS.group))
    wakeup = await next_wakeup(harness.services)
    assert wakeup is not None and wakeup <= local("2026-12-01 09:00")
    harness.clock.set(local("2026-12-01 09:00"))
    await settle(harness)
    await settle(harness)
    assert sum("倾听日" in t for t in harness.texts(USERS.group)) == 1
    harness.clock.set(local("2026-12-02 09:00"))
    await settle(harness)
    assert sum("倾听日" in t for t in harness.texts(USERS.group)) == 1


async def test_a_paper_ballot_typed_in_by_the_leader_counts_once_a_second_person_confirms(
    harness: Harness,
) -> None:
    await make_owner(harness, USERS.resident, "3栋", "2单元", "501")
    vote_id = await open_vote(harness)
    replies = await harness.open_link(USERS.resident, f"vt_{vote_id}")
    await harness.press(USERS.resident, replies[-1], "✅ 同意")
    replies = await harness.send(USERS.building_leader, f"/paper {vote_id} 3栋 2单元 501 反对 张阿姨的儿子")
    assert "等另一位监票人确认" in (replies[-1].text or "")
    assert len(await ballots(harness, vote_id)) == 1  # not counted yet
    await deliver(harness)
    request = harness.last(USERS.admin)
    assert "3栋2单元501" in (request.text or "") and "反对" in (request.text or "")
    # The leader cannot confirm her own entry.
    async with harness.services.uow() as uow:
        entry_id = await uow.session.scalar(select(PaperEntry.id))
    assert entry_id is not None
    with pytest.raises(UserFacingError) as refused:
        await votes_paper.decide_paper(harness.services.uow(), harness.services.translator,
                                       USERS.building_leader, entry_id, True,
                                       harness.clock.now())  # fmt: skip
    assert refused.value.key == "votes.paper_same_person"
    assert len(await ballots(harness, vote_id)) == 1
    mine = harness.last(USERS.supervisor)
    answer, _ = await harness.press(USERS.admin, request, "✅ 核对无误")
    assert answer is not None
    answer, _ = await harness.press(USERS.supervisor, mine, "✅ 核对无误")  # a second press changes nothing
    rows = await ballots(harness, vote_id)
    assert [(b.option, b.channel, b.proxy_name) for b in rows] == [
        ("yes", "online", None),
        ("no", "proxy", "张阿姨的儿子"),
    ]
    assert rows[-1].entered_by == "赵姐" and rows[-1].confirmed_by == "刘主任"
    await deliver(harness)
    assert "计入结果" in harness.texts(USERS.building_leader)[-1]
    replies = await harness.send(USERS.resident, f"/paper {vote_id} 3栋 2单元 501 同意")
    assert NOT_ALLOWED in (replies[-1].text or "")
    assert len(await ballots(harness, vote_id)) == 2


async def test_an_admin_creates_a_vote_in_the_chat_with_fifteen_days_notice(harness: Harness) -> None:
    await link_group(harness)
    replies = await harness.send(USERS.resident, "/newvote")
    assert NOT_ALLOWED in (replies[-1].text or "")
    replies = await harness.send(USERS.admin, "/newvote")
    assert "表决什么事" in (replies[-1].text or "")
    replies = await harness.send(USERS.admin, "续聘物业公司")
    _, replies = await harness.press(
        USERS.admin, replies[-1], "一般事项（选聘物业、使用维修资金、管理规约等）"
    )
    assert "提前 15 天" in (replies[-1].text or "")
    replies = await harness.send(USERS.admin, "明天上午")
    assert "2026-12-20 09:00" in (replies[-1].text or "")  # the format, shown again
    await harness.send(USERS.admin, "2026-11-05 09:00")  # only three days ahead
    replies = await harness.send(USERS.admin, "2026-11-20 18:00")
    _, replies = await harness.press(USERS.admin, replies[-1], "📢 发布")
    assert any("提前 15 天公告" in (m.text or "") for m in replies)
    assert len(await ballots(harness, 1)) == 0
    await harness.send(USERS.admin, "2026-11-18 09:00")
    replies = await harness.send(USERS.admin, "2026-11-30 18:00")
    assert "续聘物业公司" in (replies[-1].text or "") and "一般事项" in (replies[-1].text or "")
    _, replies = await harness.press(USERS.admin, replies[-1], "📢 发布")
    assert "表决已创建" in (replies[-1].text or "")
    await settle(harness)
    assert (
        "续聘物业公司" in harness.texts(USERS.group)[-1]
        and "2026-11-18 09:00" in harness.texts(USERS.group)[-1]
    )


async def test_an_owner_of_three_homes_gets_a_row_of_buttons_per_home(harness: Harness) -> None:
    for room in ("101", "102", "201"):
        await make_owner(harness, USERS.resident, "2栋", "1单元", room)
    vote_id = await open_vote(harness)
    replies = await harness.open_link(USERS.resident, f"vt_{vote_id}")
    ballot = replies[-1]
    assert ballot.reply_markup is not None
    rows = ballot.reply_markup["inline_keyboard"]  # type: ignore[index]
    assert len(rows) == 3 and all(len(row) == 3 for row in rows)
    assert [row[0]["text"] for row in rows] == [
        "2栋1单元101 ✅ 同意",
        "2栋1单元102 ✅ 同意",
        "2栋1单元201 ✅ 同意",
    ]
    for button in ("2栋1单元101 ✅ 同意", "2栋1单元102 ✅ 同意", "2栋1单元201 ❌ 反对"):
        ballot = next(
            m for m in harness.world.bot_messages(USERS.resident) if m.message_id == ballot.message_id
        )
        await harness.press(USERS.resident, ballot, button)
    ballot = next(m for m in harness.world.bot_messages(USERS.resident) if m.message_id == ballot.message_id)
    assert "2栋1单元201：反对" in (ballot.text or "") and "2栋1单元101：同意" in (ballot.text or "")
    receipts = [t for t in harness.texts(USERS.resident) if "投票回执" in t]
    assert len(receipts) == 3
    tally = (await votes.result(harness.services.uow(), vote_id, harness.clock.now())).tally
    assert tally.participated.owners == 1 and tally.participated.area == 3 * 8950
    assert tally.options["yes"].owners == 1 and tally.options["yes"].area == 2 * 8950
    assert tally.eligible.owners == 58  # 60 homes; her three count once


async def test_a_vote_created_late_at_night_reaches_owners_in_the_morning(harness: Harness) -> None:
    await link_group(harness)
    harness.clock.set(local("2026-11-02 23:00"))
    await make_owner(harness, USERS.resident, "3栋", "2单元", "501")
    await open_vote(harness)
    await settle(harness)
    assert any("业主大会表决公告" in t for t in harness.texts(USERS.group))
    assert not any("业主大会表决通知" in t for t in harness.texts(USERS.resident))
    harness.clock.set(local("2026-11-03 07:01"))
    await settle(harness)
    assert "业主大会表决通知" in harness.texts(USERS.resident)[-1]


async def test_a_claim_goes_to_who_covers_the_building_and_a_rejected_claimant_cannot_vote(
    harness: Harness,
) -> None:
    vote_id = await open_vote(harness)
    replies = await harness.send(USERS.neighbour, "/claim")
    assert "1栋1单元101：还没认领" in (replies[-1].text or "")
    leader_before = len(harness.texts(USERS.building_leader))
    await harness.press(USERS.neighbour, replies[-1], "我是 1栋1单元101 的业主")
    replies = await harness.send(USERS.neighbour, "/claim")
    assert "1栋1单元101：等楼栋长确认" in (replies[-1].text or "")
    await deliver(harness)
    assert len(harness.texts(USERS.building_leader)) == leader_before  # 赵姐 leads 3栋 only
    request = harness.last(USERS.admin)
    assert "黄先生" in (request.text or "")
    # The 3栋 leader cannot decide a 1栋 claim, even with a forged button.
    async with harness.services.uow() as uow:
        claim_id = await uow.session.scalar(select(HomeOwnership.id).where(HomeOwnership.status == "pending"))
    own_message = (await harness.send(USERS.building_leader, "/claim"))[-1]
    update = forged_callback(
        harness.world,
        USERS.building_leader,
        USERS.building_leader,
        own_message.message_id,
        f"vo:ok:{claim_id}",
    )
    await harness.process(update)
    answer = harness.world.callback_answer(update["callback_query"]["id"])
    assert answer is not None and NOT_ALLOWED in answer["text"]
    await harness.press(USERS.admin, request, "❌ 不是")
    assert "已驳回" in (harness.last(USERS.admin).text or "")

    await deliver(harness)
    assert "没有确认您是 1栋1单元101 的业主" in harness.texts(USERS.neighbour)[-1]
    replies = await harness.open_link(USERS.neighbour, f"vt_{vote_id}")
    assert "只有登记的业主才能投票" in (replies[-1].text or "")


async def test_an_item_put_to_a_vote_starts_the_vote_with_its_text(harness: Harness) -> None:
    await harness.send(USERS.resident, "/propose 小区东门改成人车分流")
    replies = await harness.send(USERS.admin, "/proposals")
    _, replies = await harness.press(USERS.admin, replies[-1], "🗳 第1条交表决")
    _, replies = await harness.press(USERS.admin, replies[-1], "🗳 现在发起表决")
    assert "小区东门改成人车分流" in (replies[0].text or "")
    _, replies = await harness.press(
        USERS.admin, replies[-1], "特别事项（筹集维修资金、改建重建、改变共有部分用途或经营）"
    )
    await harness.send(USERS.admin, "2026-11-20 09:00")
    replies = await harness.send(USERS.admin, "2026-12-05 18:00")
    assert "小区东门改成人车分流" in (replies[-1].text or "") and "特别事项" in (replies[-1].text or "")
    _, replies = await harness.press(USERS.admin, replies[-1], "📢 发布")
    assert "表决已创建" in (replies[-1].text or "")
    async with harness.services.uow() as uow:
        proposal = await uow.session.scalar(select(Proposal))
        vote = await uow.session.scalar(select(OwnerVote))
    assert proposal is not None and vote is not None
    assert proposal.vote_id == vote.id and vote.title == "小区东门改成人车分流" and vote.matter == "special"
    replies = await harness.send(USERS.resident, "/proposals")
    assert "小区东门改成人车分流" not in (replies[-1].text or "")  # decided items leave the open list
