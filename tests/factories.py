"""A seeded compound with residents and staff, built through our own roster import."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update

from bot.db.models import Person
from bot.db.uow import UnitOfWork
from bot.services.roster import Table, import_roster

COMPOUND = "幸福里小区"
OTHER_COMPOUND = "和谐家园"

HOUSEHOLD_ROWS = [
    {"compound": COMPOUND, "building": f"{b}栋", "unit": f"{u}单元", "room": f"{f}0{r}", "area": "89.5"}
    for b in (1, 2, 3)
    for u in (1, 2)
    for f in (1, 2, 3, 4, 5)
    for r in (1, 2)
] + [
    {"compound": OTHER_COMPOUND, "building": "A座", "unit": "1单元", "room": "101", "area": "120"},
    {"compound": OTHER_COMPOUND, "building": "A座", "unit": "1单元", "room": "102", "area": "120"},
]

STAFF_ROWS = [
    {
        "name": "王师傅",
        "phone": "13800000001",
        "role": "红管家",
        "compound": COMPOUND,
        "buildings": "1栋、2栋、3栋",
        "kinds": "水电、电梯",
    },
    {
        "name": "赵姐",
        "phone": "13800000002",
        "role": "楼栋长",
        "compound": COMPOUND,
        "buildings": "3栋",
        "kinds": "",
    },
    {
        "name": "刘主任",
        "phone": "13800000003",
        "role": "管理员",
        "compound": COMPOUND,
        "buildings": "",
        "kinds": "",
    },
    {
        "name": "陈书记",
        "phone": "13800000004",
        "role": "社区党组织",
        "compound": COMPOUND,
        "buildings": "",
        "kinds": "",
    },
    {
        "name": "孙队长",
        "phone": "13800000005",
        "role": "巡逻志愿者",
        "compound": COMPOUND,
        "buildings": "",
        "kinds": "",
    },
    {
        "name": "周律师",
        "phone": "13800000006",
        "role": "法律志愿者",
        "compound": COMPOUND,
        "buildings": "",
        "kinds": "",
    },
    {
        "name": "吴经理",
        "phone": "13800000007",
        "role": "物业经理",
        "compound": COMPOUND,
        "buildings": "",
        "kinds": "",
    },
    {
        "name": "郑大姐",
        "phone": "13800000008",
        "role": "调解员",
        "compound": COMPOUND,
        "buildings": "",
        "kinds": "邻里纠纷",
    },
    {
        "name": "钱老板",
        "phone": "13800000009",
        "role": "合作商户",
        "compound": COMPOUND,
        "buildings": "",
        "kinds": "",
    },
    {
        "name": "冯老师",
        "phone": "13800000010",
        "role": "协调员",
        "compound": COMPOUND,
        "buildings": "",
        "kinds": "",
    },
]


@dataclass(frozen=True)
class Users:
    """Telegram user ids of the seeded people."""

    resident: int = 1001  # 张阿姨, 3栋2单元501
    newcomer: int = 1002  # 李大爷, not registered
    neighbour: int = 1003  # 黄先生, 1栋1单元101
    butler: int = 2001
    building_leader: int = 2002
    admin: int = 2003
    supervisor: int = 2004
    patrol: int = 2005
    legal: int = 2006
    manager: int = 2007
    mediator: int = 2008
    merchant: int = 2009
    coordinator: int = 2010
    outsider: int = 3001  # someone who never registered
    group: int = -1001000  # 幸福里业主群
    staff_group: int = -1001001  # 幸福里工作群


USERS = Users()
STAFF_TELEGRAM = {
    "13800000001": USERS.butler,
    "13800000002": USERS.building_leader,
    "13800000003": USERS.admin,
    "13800000004": USERS.supervisor,
    "13800000005": USERS.patrol,
    "13800000006": USERS.legal,
    "13800000007": USERS.manager,
    "13800000008": USERS.mediator,
    "13800000009": USERS.merchant,
    "13800000010": USERS.coordinator,
}
NAMES = {
    USERS.resident: "张阿姨",
    USERS.newcomer: "李大爷",
    USERS.neighbour: "黄先生",
    USERS.outsider: "路人甲",
    **{
        tid: next(r["name"] for r in STAFF_ROWS if r["phone"] == phone)
        for phone, tid in STAFF_TELEGRAM.items()
    },
}


def roster_tables() -> list[Table]:
    return [("住户", list(HOUSEHOLD_ROWS)), ("人员", list(STAFF_ROWS))]


async def seed_community(uow_factory: Any, now: datetime) -> None:
    report = await import_roster(uow_factory(), roster_tables(), now)
    assert report.ok, report.problems
    async with uow_factory() as uow:
        for phone, telegram_id in STAFF_TELEGRAM.items():
            await uow.session.execute(
                update(Person).where(Person.phone == phone).values(telegram_id=telegram_id)
            )
        await uow.commit()
    await _bind_resident(uow_factory, USERS.resident, "张阿姨", "3栋", "2单元", "501", now)
    await _bind_resident(uow_factory, USERS.neighbour, "黄先生", "1栋", "1单元", "101", now)


async def _bind_resident(
    uow_factory: Any, telegram_id: int, name: str, building: str, unit: str, room: str, now: datetime
) -> None:
    from bot.db.models import Residency

    uow: UnitOfWork
    async with uow_factory() as uow:
        compound = await uow.community.compound_by_name(COMPOUND)
        assert compound is not None
        b = await uow.community.building_by_name(compound.id, building)
        assert b is not None
        u = await uow.community.unit_by_name(b.id, unit)
        assert u is not None
        h = await uow.community.household_by_room(u.id, room)
        assert h is not None
        person = await uow.community.add_person(telegram_id=telegram_id, name=name, language="zh_CN", now=now)
        uow.session.add(Residency(person_id=person.id, household_id=h.id, created_at=now))
        await uow.commit()
