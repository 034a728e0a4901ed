"""A fictional demo community for `redbutler demo`: two compounds, homes, residents and staff with roles.

Capabilities add their own demo data (patrol routes, events, a points catalogue, public spots) through
DEMO_SEEDERS; each seeder runs once, on an empty database.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update

from bot.db.models import Person, Residency
from bot.db.uow import UnitOfWork, UnitOfWorkFactory
from bot.services.invites import create_invites
from bot.services.roster import import_roster

DEMO_COMPOUND = "幸福里小区"
DEMO_OTHER_COMPOUND = "和谐家园"


@dataclass(frozen=True)
class DemoPerson:
    telegram_id: int
    name: str
    description: str
    phone: str | None = None  # staff: their roster phone
    home: tuple[str, str, str] | None = None  # resident: building, unit, room


DEMO_PEOPLE = [
    DemoPerson(10001, "张阿姨", "居民 · 3栋2单元501"),
    DemoPerson(10002, "李大爷", "新住户 · 用邀请链接绑定 3栋1单元102"),
    DemoPerson(10003, "黄先生", "居民 · 1栋1单元101"),
    DemoPerson(20001, "王师傅", "红管家 · 1-3栋 水电/电梯", phone="13800138001"),
    DemoPerson(20002, "赵姐", "楼栋长 · 3栋", phone="13800138002"),
    DemoPerson(20003, "刘主任", "管理员", phone="13800138003"),
    DemoPerson(20004, "陈书记", "社区党组织 · 监督", phone="13800138004"),
    DemoPerson(20005, "孙队长", "巡逻志愿者", phone="13800138005"),
    DemoPerson(20006, "钱老板", "合作商户 · 理发店", phone="13800138006"),
    DemoPerson(20007, "吴经理", "物业经理", phone="13800138007"),
    DemoPerson(20008, "周律师", "法律志愿者", phone="13800138008"),
    DemoPerson(20009, "郑大姐", "调解员", phone="13800138009"),
    DemoPerson(20010, "冯老师", "协调员 · 巡逻与活动", phone="13800138010"),
]
DEMO_HOMES = {10001: ("3栋", "2单元", "501"), 10003: ("1栋", "1单元", "101")}
DEMO_GROUP_ID = -1002000001
DEMO_STAFF_GROUP_ID = -1002000002

STAFF_ROWS = [
    ("王师傅", "13800138001", "红管家", "1栋、2栋、3栋", "水电、电梯、门禁与公共设施"),
    ("赵姐", "13800138002", "楼栋长", "3栋", ""),
    ("刘主任", "13800138003", "管理员", "", ""),
    ("陈书记", "13800138004", "社区党组织", "", ""),
    ("孙队长", "13800138005", "巡逻志愿者", "", ""),
    ("钱老板", "13800138006", "合作商户", "", ""),
    ("吴经理", "13800138007", "物业经理", "", ""),
    ("周律师", "13800138008", "法律志愿者", "", ""),
    ("郑大姐", "13800138009", "调解员", "", "邻里纠纷"),
    ("冯老师", "13800138010", "协调员", "", ""),
]

Seeder = Callable[[UnitOfWorkFactory, int, datetime], Awaitable[None]]  # (uow factory, compound id, now)


def demo_tables() -> list[tuple[str, list[dict[str, str]]]]:
    households = [
        {
            "compound": DEMO_COMPOUND,
            "building": f"{b}栋",
            "unit": f"{u}单元",
            "room": f"{f}0{r}",
            "area": "89.6",
        }
        for b in (1, 2, 3)
        for u in (1, 2)
        for f in range(1, 7)
        for r in (1, 2)
    ] + [
        {
            "compound": DEMO_OTHER_COMPOUND,
            "building": f"{b}座",
            "unit": "1单元",
            "room": f"{f}0{r}",
            "area": "110",
        }
        for b in ("A", "B")
        for f in range(1, 4)
        for r in (1, 2)
    ]
    staff = [
        {"name": n, "phone": p, "role": r, "compound": DEMO_COMPOUND, "buildings": b, "kinds": k}
        for n, p, r, b, k in STAFF_ROWS
    ]
    compounds = [{"compound": DEMO_COMPOUND, "duty_phone": "02888886666"}]
    return [("小区", compounds), ("住户", households), ("人员", staff)]


@dataclass(frozen=True)
class DemoInfo:
    compound_id: int
    newcomer_invite: str  # a home invite code for the unregistered demo person


async def seed_demo(uow_factory: UnitOfWorkFactory, now: datetime, *, bot_username: str) -> DemoInfo:
    report = await import_roster(uow_factory(), demo_tables(), now)  # type: ignore[arg-type]
    if not report.ok:
        raise RuntimeError(f"demo roster is invalid: {report.problems}")
    uow: UnitOfWork
    async with uow_factory() as uow:
        compound = await uow.community.compound_by_name(DEMO_COMPOUND)
        assert compound is not None
        compound_id = compound.id
        for person in DEMO_PEOPLE:
            if person.phone:
                await uow.session.execute(
                    update(Person).where(Person.phone == person.phone).values(telegram_id=person.telegram_id)
                )
        for telegram_id, (building, unit, room) in DEMO_HOMES.items():
            name = next(p.name for p in DEMO_PEOPLE if p.telegram_id == telegram_id)
            b = await uow.community.building_by_name(compound_id, building)
            u = await uow.community.unit_by_name(b.id, unit) if b else None
            h = await uow.community.household_by_room(u.id, room) if u else None
            assert h is not None
            resident = await uow.community.add_person(
                telegram_id=telegram_id, name=name, language="zh_CN", now=now
            )
            uow.session.add(Residency(person_id=resident.id, household_id=h.id, created_at=now))
        await uow.commit()
    invites = await create_invites(
        uow_factory(),
        bot_username=bot_username,
        compound_name=DEMO_COMPOUND,
        now=now,
        building="3栋",
        unit="1单元",
        room="102",
        valid_days=None,
    )
    for seeder in DEMO_SEEDERS:
        await seeder(uow_factory, compound_id, now)
    return DemoInfo(compound_id, invites[0].code)


async def unused_home_invite(uow_factory: UnitOfWorkFactory) -> str | None:
    """An invite of the demo that nobody has used yet (shown again when the demo restarts)."""
    from sqlalchemy import select

    from bot.db.models import InviteCode

    async with uow_factory() as uow:
        return await uow.session.scalar(
            select(InviteCode.code)
            .where(InviteCode.kind == "household", InviteCode.uses == 0, InviteCode.revoked.is_(False))
            .order_by(InviteCode.id)
            .limit(1)
        )


async def is_empty(uow_factory: UnitOfWorkFactory) -> bool:
    async with uow_factory() as uow:
        return not await uow.community.compounds()


def web_presets() -> list[dict[str, Any]]:
    return [{"user_id": p.telegram_id, "name": p.name, "description": p.description} for p in DEMO_PEOPLE]


# What the capabilities need in the demo: public spots for QR posters, a patrol route with nightly shifts, a
# monthly party day and a Saturday clinic, a points catalogue with partner shops.
DEMO_PLACES = ["东门", "西门", "地下车库B1", "3栋电梯", "中心花园"]
DEMO_CHECKPOINTS = [
    ("东门岗亭", 30.65980, 104.06330),
    ("中心花园", 30.66050, 104.06410),
    ("地下车库B1入口", 30.66110, 104.06290),
]


def demo_places() -> list[dict[str, Any]]:
    """The patrol checkpoints, proposed by the web chat's location dialog so a check-in can be tried."""
    return [{"name": name, "latitude": lat, "longitude": lon} for name, lat, lon in DEMO_CHECKPOINTS]


async def _seed_places(uow_factory: UnitOfWorkFactory, compound_id: int, now: datetime) -> None:
    from bot.services.repairs import ensure_places

    await ensure_places(uow_factory(), compound_id, DEMO_PLACES, now)


async def _seed_patrols(uow_factory: UnitOfWorkFactory, compound_id: int, now: datetime) -> None:
    from bot.services.patrols import create_route, create_template, generate_shifts

    route = await create_route(
        uow_factory(), compound_id=compound_id, name="平安夜巡", checkpoints=DEMO_CHECKPOINTS, now=now
    )
    async with uow_factory() as uow:
        leader = await uow.community.person_by_phone("13800138005")
        leader_id = leader.id if leader else None
    await create_template(
        uow_factory(),
        route_id=route.id,
        weekdays=list(range(7)),
        start_time="19:30",
        duration_minutes=120,
        capacity=6,
        now=now,
        leader_id=leader_id,
    )
    await generate_shifts(uow_factory(), now)


async def _seed_events(uow_factory: UnitOfWorkFactory, compound_id: int, now: datetime) -> None:
    from datetime import timedelta

    from bot.i18n import default_translator
    from bot.services.events import EventDraft, create_event

    start = (now + timedelta(days=3)).replace(hour=6, minute=30, second=0, microsecond=0)  # 14:30 in Shanghai
    drafts = [
        EventDraft(
            compound_id,
            "主题党日：小区议事会",
            "党群服务中心",
            start,
            start + timedelta(hours=2),
            40,
            "everyone",
            "party_day",
            "monthly",
        ),
        EventDraft(
            compound_id,
            "义诊和免费理发",
            "中心花园",
            start + timedelta(days=1),
            start + timedelta(days=1, hours=3),
            30,
            "everyone",
            "clinic",
            "none",
        ),
    ]
    for draft in drafts:
        await create_event(uow_factory(), default_translator(), 20010, draft, now)


DEMO_MERCHANT_SHOPS = {"13800138006": "巧手理发店"}  # 钱老板 verifies his own shop's vouchers
DEMO_STARTING_POINTS = 20  # 张阿姨 can try a redemption (理发一次 costs 6) straight away


async def _seed_points(uow_factory: UnitOfWorkFactory, compound_id: int, now: datetime) -> None:
    from bot.i18n import default_translator
    from bot.services.points_awards import award_points
    from bot.services.points_catalogue import seed_demo_catalogue

    async with uow_factory() as uow:
        await seed_demo_catalogue(uow, compound_id, now, merchant_shops=DEMO_MERCHANT_SHOPS)
        await uow.commit()
    await award_points(
        uow_factory(),
        default_translator(),
        20003,  # 刘主任, the admin
        "3栋2单元501",
        DEMO_STARTING_POINTS,
        "社区志愿服务",
        "demo-starting-points",
        now,
    )


DEMO_SEEDERS: tuple[Seeder, ...] = (_seed_places, _seed_patrols, _seed_events, _seed_points)
