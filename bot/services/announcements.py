"""Announcements (公告): to compound groups and/or every registered resident of a compound, building or unit;
optionally pinned in the groups, optionally scheduled. 三公开 public accounts carry a small table."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.db.errors import Conflict
from bot.db.models import Compound
from bot.db.models.announcements import Announcement, AnnouncementKind, AnnouncementStatus
from bot.db.uow import UnitOfWork
from bot.delivery.notify import clip, notify_person
from bot.i18n import Translator
from bot.services.common import fmt_when, zone
from bot.services.errors import UserFacingError
from bot.services.people import require_person, require_staff

KINDS = tuple(AnnouncementKind)
SCOPES = ("none", "compound", "building", "unit")
TITLE_LIMIT = 60
BODY_LIMIT = 3000
ROW_LIMIT = 30
PIN_RECHECK = timedelta(seconds=10)  # how soon to look again for group posts still waiting to be sent


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    gap = " " * max(0, width - _width(text))
    return gap + text if right else text + gap


# "12,000.50": commas that group thousands (first group of 1-3 digits) belong to the number, not the line.
_GROUPED = re.compile(r"(?<![\d.])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\d,])")
TABLE_WIDTH = 28  # wider lines wrap on a phone and the columns fall apart


def parse_amount(token: str) -> Decimal | None:
    """ "12000", "12,000.50", "1.2万", "¥300元", "-" (none) → Decimal; None when it is not an amount."""
    text = unicodedata.normalize("NFKC", token).strip().lstrip("¥").removesuffix("元")
    if text in ("-", "—", "－"):
        return Decimal(0)
    factor = Decimal(1)
    if text.endswith("万"):
        factor, text = Decimal(10000), text[:-1]
    try:
        value = Decimal(text.replace(",", "")) * factor
    except InvalidOperation:
        return None
    if not value.is_finite() or value < 0 or value > Decimal("1e10"):
        return None
    return value.quantize(Decimal("0.01"))


def parse_accounts(text: str) -> list[list[str]]:
    """One line per item: "停车费 12000 3000" (item, income, spending). Amounts may be written as the office
    writes them: 12,000.50, 1.2万, full-width digits, 0 or "-" for none."""
    rows: list[list[str]] = []
    for raw in (text or "").splitlines():
        line = raw.replace("，", " ").replace("、", " ").replace("\t", " ")
        line = unicodedata.normalize("NFKC", line)
        line = _GROUPED.sub(lambda m: m.group().replace(",", ""), line).replace(",", " ")
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 3:
            raise UserFacingError("announcements.bad_row", line=raw.strip()[:40])
        item, *amounts = parts
        values = [parse_amount(a) for a in amounts]
        if any(v is None for v in values):
            raise UserFacingError("announcements.bad_row", line=raw.strip()[:40])
        rows.append([item[:12], *(f"{v:.2f}" for v in values if v is not None)])
    if not rows or len(rows) > ROW_LIMIT:
        raise UserFacingError("announcements.no_rows", limit=ROW_LIMIT)
    return rows


def render_table(rows: list[list[str]], headers: tuple[str, ...], total_label: str) -> str:
    """A monospace table with a total line: item | income | spending | balance. When the four columns would
    be wider than a phone's line, each item is stacked instead (its name, then one amount a line)."""
    body = []
    total_in = total_out = Decimal(0)
    for item, income, spent in rows:
        balance = Decimal(income) - Decimal(spent)
        total_in += Decimal(income)
        total_out += Decimal(spent)
        body.append([item, income, spent, f"{balance:.2f}"])
    body.append([total_label, f"{total_in:.2f}", f"{total_out:.2f}", f"{total_in - total_out:.2f}"])
    table = [list(headers), *body]
    widths = [max(_width(r[i]) for r in table) for i in range(4)]
    if sum(widths) + 3 <= TABLE_WIDTH:
        lines = []
        for index, row in enumerate(table):
            lines.append(" ".join(_pad(cell, widths[i], right=i > 0) for i, cell in enumerate(row)))
            if index == 0 or index == len(table) - 2:
                lines.append("-" * (sum(widths) + 3))
        return "\n".join(lines)
    label = max(_width(h) for h in headers[1:])
    amount = max(widths[1:])
    stacked = []
    for index, row in enumerate(body):
        if index == len(body) - 1:
            stacked.append("-" * min(TABLE_WIDTH, 2 + label + 1 + amount))
        stacked.append(row[0])
        for header, cell in zip(headers[1:], row[1:], strict=True):
            stacked.append(f"  {_pad(header, label)} {_pad(cell, amount, right=True)}")
    return "\n".join(stacked)


@dataclass(frozen=True)
class AnnouncementDraft:
    compound_id: int
    title: str
    body: str = ""
    kind: str = AnnouncementKind.NOTICE
    table_rows: tuple[tuple[str, ...], ...] = ()
    to_groups: bool = True
    scope: str = "none"
    building_id: int | None = None
    unit_id: int | None = None
    pin: bool = False
    send_at: datetime | None = None
    # Derived from the draft: publishing the same draft again returns the first announcement.
    request_key: str | None = None


@dataclass(frozen=True)
class AnnouncementView:
    id: int
    title: str
    status: str
    send_at: datetime
    recipients: int
    groups: int
    tz: str


class Postable(Protocol):
    """What a post is made of: a stored announcement, or the author's draft shown as a preview."""

    @property
    def kind(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def body(self) -> str | None: ...
    @property
    def table_rows(self) -> Sequence[Sequence[str]]: ...


def render(t: Translator, language: str | None, ann: Postable) -> str:
    if ann.kind == AnnouncementKind.ACCOUNTS:
        headers = tuple(t(language, f"announcements.col_{c}") for c in ("item", "income", "spent", "balance"))
        table = render_table(
            [list(r) for r in ann.table_rows], headers, t(language, "announcements.col_total")
        )
        return t(language, "announcements.accounts_text", title=ann.title, table=table, body=ann.body or "")
    return t(language, "announcements.notice_text", title=ann.title, body=ann.body)


def table_entities(t: Translator, language: str | None, ann: Postable, text: str) -> list[dict[str, object]]:
    """The accounts table inside `text` (the post, or the author's preview) as a monospace ("pre") block, so
    its columns line up; Telegram counts offsets in UTF-16 units."""
    if ann.kind != AnnouncementKind.ACCOUNTS:
        return []
    headers = tuple(t(language, f"announcements.col_{c}") for c in ("item", "income", "spent", "balance"))
    table = render_table([list(r) for r in ann.table_rows], headers, t(language, "announcements.col_total"))
    index = text.find(table)
    if index < 0:
        return []
    offset = len(text[:index].encode("utf-16-le")) // 2
    return [{"type": "pre", "offset": offset, "length": len(table.encode("utf-16-le")) // 2}]


def render_payload(t: Translator, language: str | None, ann: Announcement) -> dict[str, object]:
    """sendMessage fields; the accounts table is sent as a monospace ("pre") block so its columns line up."""
    text = clip(render(t, language, ann))
    payload: dict[str, object] = {"text": text}
    entities = table_entities(t, language, ann, text)
    if entities:
        payload["entities"] = entities
    return payload


def _validate(draft: AnnouncementDraft, now: datetime) -> None:
    if not draft.title.strip() or len(draft.title) > TITLE_LIMIT:
        raise UserFacingError("announcements.bad_title", limit=TITLE_LIMIT)
    if len(draft.body) > BODY_LIMIT:
        raise UserFacingError("announcements.too_long", limit=BODY_LIMIT)
    if draft.kind not in KINDS or draft.scope not in SCOPES:
        raise UserFacingError("common.stale_button")
    if draft.kind == AnnouncementKind.NOTICE and not draft.body.strip():
        raise UserFacingError("announcements.empty")
    if draft.kind == AnnouncementKind.ACCOUNTS and not draft.table_rows:
        raise UserFacingError("announcements.no_rows", limit=ROW_LIMIT)
    if not draft.to_groups and draft.scope == "none":
        raise UserFacingError("announcements.no_audience")
    if (draft.scope == "building" and draft.building_id is None) or (
        draft.scope == "unit" and draft.unit_id is None
    ):
        raise UserFacingError("announcements.no_audience")
    if draft.send_at is not None and draft.send_at < now - timedelta(minutes=1):
        raise UserFacingError("announcements.in_past")


async def create(
    uow: UnitOfWork, t: Translator, telegram_id: int, draft: AnnouncementDraft, now: datetime
) -> AnnouncementView:
    _validate(draft, now)
    async with uow:
        author = await require_person(uow, telegram_id)
        await require_staff(uow, author, draft.compound_id)
        compound = await uow.community.compound(draft.compound_id)
        if compound is None:
            raise UserFacingError("announcements.gone")
        if draft.building_id is not None:
            building = await uow.community.building(draft.building_id)
            if building is None or building.compound_id != compound.id:
                raise UserFacingError("announcements.gone")
        if draft.unit_id is not None:
            unit = await uow.community.unit(draft.unit_id)
            if unit is None or unit.building.compound_id != compound.id:
                raise UserFacingError("announcements.gone")
        if draft.request_key is not None:
            earlier = await uow.announcements.by_request_key(draft.request_key)
            if earlier is not None:
                return await _view_of(uow, earlier, compound)
        ann = Announcement(
            request_key=draft.request_key,
            compound_id=compound.id,
            author_id=author.id,
            kind=draft.kind,
            title=draft.title.strip(),
            body=draft.body.strip(),
            table_rows=[list(r) for r in draft.table_rows],
            to_groups=draft.to_groups,
            scope=draft.scope,
            building_id=draft.building_id,
            unit_id=draft.unit_id,
            pin=draft.pin and draft.to_groups,
            pins_done=not (draft.pin and draft.to_groups),
            send_at=draft.send_at or now,
            status=AnnouncementStatus.SCHEDULED,
            recipients=0,
            created_at=now,
        )
        uow.announcements.add(ann)
        await uow.announcements.flush()
        if ann.send_at <= now:
            await _send(uow, t, ann, now)
        view = await _view_of(uow, ann, compound)
        try:
            uow.schedule_changed()
            await uow.commit()
        except Conflict:
            await uow.rollback()  # the same draft published at the same moment from another phone
            if draft.request_key is None:
                raise
            earlier = await uow.announcements.by_request_key(draft.request_key)
            if earlier is None:
                raise
            return await _view_of(uow, earlier, await _compound_of(uow, earlier.compound_id))
        return view


async def _compound_of(uow: UnitOfWork, compound_id: int) -> Compound:
    compound = await uow.community.compound(compound_id)
    if compound is None:
        raise UserFacingError("announcements.gone")
    return compound


async def _view_of(uow: UnitOfWork, ann: Announcement, compound: Compound) -> AnnouncementView:
    groups = len(await uow.community.groups_of(compound.id)) if ann.to_groups else 0
    return AnnouncementView(
        ann.id, ann.title, ann.status, ann.send_at, ann.recipients, groups, str(zone(compound))
    )


async def _send(uow: UnitOfWork, t: Translator, ann: Announcement, now: datetime) -> None:
    repo = uow.announcements
    if not await repo.claim(ann.id, now):
        return
    count = 0
    if ann.to_groups:
        for group in await uow.community.groups_of(ann.compound_id):
            payload = render_payload(t, t.default_language, ann)
            await uow.outbox.add(
                chat_id=group.chat_id,
                payload=payload,
                now=now,
                dedupe_key=f"ann:{ann.id}:group:{group.chat_id}",
                purpose="announcement",
            )
    if ann.scope != "none":
        people = await uow.community.residents_of(
            compound_id=ann.compound_id,
            building_id=ann.building_id if ann.scope == "building" else None,
            unit_id=ann.unit_id if ann.scope == "unit" else None,
        )
        payloads: dict[str | None, dict[str, object]] = {}
        for person in people:
            if person.telegram_id is None:
                continue
            if person.language not in payloads:
                payloads[person.language] = render_payload(t, person.language, ann)
            await uow.outbox.add(
                chat_id=person.telegram_id,
                person_id=person.id,
                payload=dict(payloads[person.language]),
                now=now,
                dedupe_key=f"ann:{ann.id}:person:{person.id}",
                purpose="announcement",
            )
            count += 1
    await uow.announcements.flush()
    ann.recipients = count
    ann.status, ann.sent_at = AnnouncementStatus.SENT, now


async def cancel(uow: UnitOfWork, telegram_id: int, announcement_id: int, now: datetime) -> None:
    async with uow:
        person = await require_person(uow, telegram_id)
        ann = await uow.announcements.get(announcement_id)
        if ann is None:
            raise UserFacingError("announcements.gone")
        await require_staff(uow, person, ann.compound_id)
        if ann.status != AnnouncementStatus.SCHEDULED:
            raise UserFacingError("announcements.already_sent")
        ann.status = AnnouncementStatus.CANCELLED
        await uow.commit()


async def scheduled(uow: UnitOfWork, telegram_id: int) -> list[AnnouncementView]:
    async with uow:
        person = await require_person(uow, telegram_id)
        ids = await require_staff(uow, person)
        out = []
        for ann in await uow.announcements.scheduled(ids):
            compound = await uow.community.compound(ann.compound_id)
            out.append(
                AnnouncementView(ann.id, ann.title, ann.status, ann.send_at, 0, 0, str(zone(compound)))
            )
        return out


async def process_due(uow: UnitOfWork, t: Translator, now: datetime) -> int:
    """Send scheduled announcements that are due; pin group posts once Telegram has given them an id."""
    handled = 0
    async with uow:
        repo = uow.announcements
        for ann in await repo.due(now):
            await _send(uow, t, ann, now)
            handled += 1
        for ann in await repo.awaiting_pins():
            posts = await repo.group_posts(ann.id)
            waiting = False
            for post in posts:
                if post.status == "pending":
                    waiting = True
                elif post.status == "sent" and post.telegram_message_id is not None:
                    key = f"ann-pin:{ann.id}:{post.chat_id}"
                    added = await uow.outbox.add(
                        chat_id=post.chat_id,
                        method="pinChatMessage",
                        now=now,
                        payload={"message_id": post.telegram_message_id, "disable_notification": True},
                        dedupe_key=key,
                        purpose=PIN_PURPOSE,
                    )
                    handled += added is not None
                    pin = added or await repo.queued_pin(key)
                    if pin is None or pin.status == "pending":
                        waiting = True  # stay awaiting until Telegram has answered the pin
                    elif pin.status == "failed" and _lacks_rights(pin.last_error):
                        await _tell_pin_refused(uow, t, ann, post.chat_id, now)
            if not waiting:
                ann.pins_done = True
        await uow.commit()
    return handled


PIN_PURPOSE = "announcement-pin"


def _lacks_rights(error: str | None) -> bool:
    return error is not None and ("rights" in error or "not an administrator" in error)


async def _tell_pin_refused(
    uow: UnitOfWork, t: Translator, ann: Announcement, chat_id: int, now: datetime
) -> None:
    """Telegram refused the pin: the author hears it was not pinned and what to grant; the group's admins read
    the same in the group. The pin is retried when the bot is given the right (`retry_pins`)."""
    group = await uow.community.group(chat_id)
    title = group.title if group is not None else ""
    author = await uow.community.person(ann.author_id) if ann.author_id else None
    if author is not None:
        await notify_person(
            uow,
            t,
            author,
            "announcements.pin_refused_author",
            now=now,
            dedupe_key=f"ann-pin-refused:{ann.id}:{chat_id}",
            title=ann.title,
            group=title,
        )
    await uow.outbox.add(
        chat_id=chat_id,
        payload={"text": t(None, "announcements.pin_refused_group", title=ann.title)},
        now=now,
        dedupe_key=f"ann-pin-refused-group:{ann.id}:{chat_id}",
        purpose="announcement-pin-refused",
    )


async def retry_pins(uow: UnitOfWork, chat_id: int, now: datetime) -> int:
    """The bot was given the right to pin in this group: the pins it was refused are sent again."""
    async with uow:
        retried = await uow.outbox.retry_failed_pins(chat_id, PIN_PURPOSE, now)
        await uow.commit()
        return retried


async def next_due(uow: UnitOfWork, now: datetime) -> datetime | None:
    async with uow:
        repo = uow.announcements
        times = [t for t in [await repo.next_send_at()] if t is not None]
        if await repo.awaiting_pins():
            times.append(now + PIN_RECHECK)
        return min(times) if times else None


def when_label(t: Translator, language: str | None, view: AnnouncementView) -> str:
    return fmt_when(t, language, view.send_at, ZoneInfo(view.tz))
