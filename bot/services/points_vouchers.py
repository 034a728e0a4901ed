"""Redeeming points at partner shops: the catalogue, holding and confirming, the merchant's check, expiry.

Redeeming holds the points at once (a "held" voucher, stock taken); the resident confirms within HOLD_MINUTES
or the scheduler releases the hold. A voucher's points come back at most once (cancelled, released, expired).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.db.models.points import EntryKind, PointsEntry, RewardService, Voucher, VoucherStatus
from bot.db.repositories.points import Overdraft, PointsRepository
from bot.db.uow import UnitOfWork
from bot.delivery.notify import notify_person
from bot.i18n import Translator
from bot.roles import Role
from bot.services.errors import UserFacingError
from bot.services.points import (
    CODE_RE,
    HOLD_MINUTES,
    ServiceView,
    VoucherView,
    compound_place,
    new_voucher_code,
    normalise_voucher_code,
    person_and_compound,
    points_person,
)

if TYPE_CHECKING:
    from bot.context import Services


def _service_view(service: RewardService, partner_name: str, address: str = "") -> ServiceView:
    return ServiceView(
        service.id,
        service.category,
        service.name,
        partner_name,
        address,
        service.cost,
        service.stock,
        service.per_person_limit,
        service.validity_days,
    )


async def _voucher_view(repo: PointsRepository, uow: UnitOfWork, voucher: Voucher) -> VoucherView:
    service = await repo.service(voucher.service_id)
    partner = await repo.partner(voucher.partner_id)
    account = await repo.account(voucher.account_id)
    owner = await uow.community.person(voucher.person_id)
    _, tz = await compound_place(uow, voucher.compound_id)
    return VoucherView(
        id=voucher.id,
        code=voucher.code,
        status=voucher.status,
        service=service.name if service else "",
        partner=partner.name if partner else "",
        cost=voucher.cost,
        hold_until=voucher.hold_until,
        expires_at=voucher.expires_at,
        used_at=voucher.used_at,
        balance=account.balance if account else 0,
        timezone=tz,
        owner_name=owner.display_name if owner else "",
    )


def _local(when: datetime | None, tz: str) -> str:
    return "" if when is None else f"{when.astimezone(ZoneInfo(tz)):%Y-%m-%d %H:%M}"


# Catalogue and redeeming ----------


async def categories(uow: UnitOfWork, telegram_id: int) -> list[str]:
    async with uow:
        repo = uow.points
        _, compound_id = await person_and_compound(uow, repo, telegram_id)
        return await repo.categories(compound_id)


async def services_in(uow: UnitOfWork, telegram_id: int, category: str | None) -> list[ServiceView]:
    async with uow:
        repo = uow.points
        _, compound_id = await person_and_compound(uow, repo, telegram_id)
        return [_service_view(s, p.name, p.address) for s, p in await repo.services_in(compound_id, category)]


async def service_detail(uow: UnitOfWork, telegram_id: int, service_id: int) -> ServiceView:
    async with uow:
        repo = uow.points
        _, compound_id = await person_and_compound(uow, repo, telegram_id)
        service = await repo.service(service_id)
        partner = await repo.partner(service.partner_id) if service else None
        if service is None or partner is None or service.compound_id != compound_id:
            raise UserFacingError("points.service_gone")
        if not service.active or not partner.active:
            raise UserFacingError("points.service_gone")
        return _service_view(service, partner.name, partner.address)


async def hold_redemption(
    uow: UnitOfWork, telegram_id: int, service_id: int, request_key: str, now: datetime
) -> VoucherView:
    """Hold the points and one unit of stock at once. The same request_key again returns the same hold."""
    async with uow:
        repo = uow.points
        person, compound_id = await person_and_compound(uow, repo, telegram_id)
        key = f"{person.id}:{request_key}"[:120]
        service = await repo.service(service_id)
        partner = await repo.partner(service.partner_id) if service else None
        if (
            service is None
            or partner is None
            or service.compound_id != compound_id
            or not service.active
            or not partner.active
        ):
            raise UserFacingError("points.service_gone")
        account_id = await repo.ensure_account(person.id, compound_id, now)
        # Everything below runs holding this person's balance row, so one person's requests queue up.
        balance = await repo.lock_balance(account_id)
        earlier = await repo.voucher_by_request(key)
        if earlier is not None:
            return await _voucher_view(repo, uow, earlier)
        if balance < service.cost:
            raise UserFacingError("points.not_enough", balance=balance, cost=service.cost)
        if service.per_person_limit is not None and (
            await repo.count_vouchers(person.id, service.id) >= service.per_person_limit
        ):
            raise UserFacingError("points.over_limit", limit=service.per_person_limit)
        if not await repo.take_stock(service.id):
            raise UserFacingError("points.out_of_stock")
        code = new_voucher_code()
        while await repo.voucher_by_code(code) is not None:
            code = new_voucher_code()
        voucher = Voucher(
            code=code,
            request_key=key,
            compound_id=compound_id,
            person_id=person.id,
            account_id=account_id,
            service_id=service.id,
            partner_id=partner.id,
            cost=service.cost,
            status=VoucherStatus.HELD,
            hold_until=now + timedelta(minutes=HOLD_MINUTES),
            created_at=now,
        )
        await repo.add_voucher(voucher)
        try:
            await repo.append(
                account_id=account_id,
                person_id=person.id,
                compound_id=compound_id,
                amount=-service.cost,
                kind=EntryKind.HOLD,
                key=f"voucher:{voucher.id}:hold",
                reason=f"{partner.name} {service.name}",
                ref_type="voucher",
                ref_id=str(voucher.id),
                actor_id=person.id,
                now=now,
            )
        except Overdraft:
            raise UserFacingError("points.not_enough", balance=balance, cost=service.cost) from None
        view = await _voucher_view(repo, uow, voucher)
        uow.schedule_changed()  # the hold lapses at hold_until
        await uow.commit()
        return view


async def confirm_redemption(
    uow: UnitOfWork, telegram_id: int, voucher_id: int, now: datetime
) -> VoucherView:
    """The resident confirms a hold: the voucher becomes valid. Confirming twice gives the same answer."""
    async with uow:
        repo = uow.points
        person = await points_person(uow, telegram_id)
        voucher = await repo.voucher(voucher_id)
        if voucher is None or voucher.person_id != person.id:
            raise UserFacingError("points.voucher_not_found")
        service = await repo.service(voucher.service_id)
        validity = service.validity_days if service else 30
        changed = voucher.status == VoucherStatus.HELD and voucher.hold_until > now
        if changed:
            changed = await repo.change_voucher_status(
                voucher.id,
                (VoucherStatus.HELD,),
                status=VoucherStatus.ACTIVE,
                expires_at=now + timedelta(days=validity),
            )
            await repo.reload_voucher(voucher)
        if voucher.status == VoucherStatus.ACTIVE:
            view = await _voucher_view(repo, uow, voucher)
            if changed:
                uow.schedule_changed()  # the voucher now expires at expires_at instead
            await uow.commit()
            return view
        raise _status_error(voucher, await compound_place(uow, voucher.compound_id))


def _status_error(voucher: Voucher, place: tuple[str, str]) -> UserFacingError:
    _, tz = place
    if voucher.status == VoucherStatus.USED:
        return UserFacingError("points.voucher_used", when=_local(voucher.used_at, tz))
    if voucher.status == VoucherStatus.CANCELLED:
        return UserFacingError("points.voucher_cancelled")
    if voucher.status == VoucherStatus.EXPIRED:
        return UserFacingError("points.voucher_expired")
    if voucher.status in (VoucherStatus.RELEASED, VoucherStatus.HELD):
        return UserFacingError("points.hold_lapsed")
    return UserFacingError("points.voucher_not_found")


async def _return_points(
    uow: UnitOfWork, repo: PointsRepository, voucher: Voucher, now: datetime
) -> PointsEntry:
    """Give a voucher's points and stock back (the caller changed its status first, so this runs once)."""
    await repo.lock_balance(voucher.account_id)
    await repo.return_stock(voucher.service_id)
    service = await repo.service(voucher.service_id)
    partner = await repo.partner(voucher.partner_id)
    return await repo.append(
        account_id=voucher.account_id,
        person_id=voucher.person_id,
        compound_id=voucher.compound_id,
        amount=voucher.cost,
        kind=EntryKind.RELEASE,
        key=f"voucher:{voucher.id}:release",
        reason=f"{partner.name if partner else ''} {service.name if service else ''}".strip(),
        ref_type="voucher",
        ref_id=str(voucher.id),
        now=now,
    )


async def cancel_voucher(uow: UnitOfWork, telegram_id: int, voucher_id: int, now: datetime) -> VoucherView:
    """Before use, the owner may cancel: the points and the stock come back once."""
    async with uow:
        repo = uow.points
        person = await points_person(uow, telegram_id)
        voucher = await repo.voucher(voucher_id)
        if voucher is None or voucher.person_id != person.id:
            raise UserFacingError("points.voucher_not_found")
        if not await repo.change_voucher_status(
            voucher.id,
            (VoucherStatus.HELD, VoucherStatus.ACTIVE),
            status=VoucherStatus.CANCELLED,
            closed_at=now,
        ):
            await repo.reload_voucher(voucher)
            raise _status_error(voucher, await compound_place(uow, voucher.compound_id))
        await repo.reload_voucher(voucher)
        await _return_points(uow, repo, voucher, now)
        view = await _voucher_view(repo, uow, voucher)
        await uow.commit()
        return view


async def my_vouchers(uow: UnitOfWork, telegram_id: int) -> list[VoucherView]:
    async with uow:
        repo = uow.points
        person = await points_person(uow, telegram_id)
        return [
            await _voucher_view(repo, uow, v)
            for v in await repo.open_vouchers(person.id)
            if v.status == VoucherStatus.ACTIVE
        ]


async def my_voucher(uow: UnitOfWork, telegram_id: int, voucher_id: int) -> VoucherView:
    async with uow:
        repo = uow.points
        person = await points_person(uow, telegram_id)
        voucher = await repo.voucher(voucher_id)
        if voucher is None or voucher.person_id != person.id:
            raise UserFacingError("points.voucher_not_found")
        return await _voucher_view(repo, uow, voucher)


async def my_voucher_by_code(uow: UnitOfWork, telegram_id: int, code_text: str) -> VoucherView | None:
    """The owner opening their own voucher's link: show it (None when it is not theirs)."""
    async with uow:
        repo = uow.points
        person = await uow.community.person_by_telegram(telegram_id)
        code = normalise_voucher_code(code_text)
        voucher = await repo.voucher_by_code(code) if person is not None and CODE_RE.match(code) else None
        if voucher is None or person is None or voucher.person_id != person.id:
            return None
        return await _voucher_view(repo, uow, voucher)


async def verify_voucher(
    uow: UnitOfWork, t: Translator, merchant_telegram_id: int, code_text: str, now: datetime
) -> VoucherView:
    """A partner's merchant marks a voucher used, once. Every refusal changes nothing."""
    async with uow:
        repo = uow.points
        merchant = await points_person(uow, merchant_telegram_id)
        partners = await repo.partners_of_member(merchant.id)
        roles = {role for role, _ in await repo.role_compounds(merchant.id)}
        if not partners or Role.MERCHANT.value not in roles:
            raise UserFacingError("points.not_merchant")
        code = normalise_voucher_code(code_text)
        voucher = await repo.voucher_by_code(code) if CODE_RE.match(code) else None
        if voucher is None:
            raise UserFacingError("points.voucher_not_found")
        if voucher.compound_id not in {p.compound_id for p in partners}:
            raise UserFacingError("points.voucher_other_compound")
        if voucher.partner_id not in {p.id for p in partners}:
            partner = await repo.partner(voucher.partner_id)
            raise UserFacingError("points.voucher_other_partner", partner=partner.name if partner else "")
        place = await compound_place(uow, voucher.compound_id)
        if (
            voucher.status == VoucherStatus.ACTIVE
            and voucher.expires_at is not None
            and voucher.expires_at <= now
        ):
            raise UserFacingError("points.voucher_expired")
        if voucher.status != VoucherStatus.ACTIVE or not await repo.change_voucher_status(
            voucher.id,
            (VoucherStatus.ACTIVE,),
            status=VoucherStatus.USED,
            used_at=now,
            used_by=merchant.id,
            closed_at=now,
        ):
            await repo.reload_voucher(voucher)
            raise _status_error(voucher, place)
        await repo.reload_voucher(voucher)
        view = await _voucher_view(repo, uow, voucher)
        owner = await uow.community.person(voucher.person_id)
        if owner is not None:
            await notify_person(
                uow,
                t,
                owner,
                "points.voucher_used_notice",
                now=now,
                dedupe_key=f"points-used:{voucher.id}",
                service=view.service,
                partner=view.partner,
                code=voucher.code,
            )
        await uow.commit()
        return view


# Expiry (scheduler) ----------


async def close_due_voucher(uow: UnitOfWork, t: Translator, voucher_id: int, now: datetime) -> bool:
    """Release a lapsed hold or expire an unused voucher: points and stock come back, the owner is told."""
    async with uow:
        repo = uow.points
        voucher = await repo.voucher(voucher_id)
        if voucher is None:
            return False
        if voucher.status == VoucherStatus.HELD and voucher.hold_until <= now:
            new_status, notice = VoucherStatus.RELEASED, "points.hold_released_notice"
        elif (
            voucher.status == VoucherStatus.ACTIVE
            and voucher.expires_at is not None
            and voucher.expires_at <= now
        ):
            new_status, notice = VoucherStatus.EXPIRED, "points.voucher_expired_notice"
        else:
            return False
        if not await repo.change_voucher_status(
            voucher.id, (voucher.status,), status=new_status, closed_at=now
        ):
            return False
        await repo.reload_voucher(voucher)
        entry = await _return_points(uow, repo, voucher, now)
        view = await _voucher_view(repo, uow, voucher)
        owner = await uow.community.person(voucher.person_id)
        if owner is not None:
            await notify_person(
                uow,
                t,
                owner,
                notice,
                now=now,
                dedupe_key=f"points-{new_status}:{voucher.id}",
                service=view.service,
                partner=view.partner,
                points=voucher.cost,
                balance=entry.balance_after,
            )
        await uow.commit()
        return True


async def process_due_vouchers(services: Services, now: datetime) -> int:
    async with services.uow() as uow:
        ids = await uow.points.due_voucher_ids(now)
    handled = 0
    for voucher_id in ids:
        if await close_due_voucher(services.uow(), services.translator, voucher_id, now):
            handled += 1
    return handled


async def next_voucher_due(services: Services, now: datetime) -> datetime | None:
    async with services.uow() as uow:
        return await uow.points.next_voucher_due()
