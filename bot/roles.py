"""Roles and what each may do. Every staff action checks these on the server."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    BUTLER = "butler"  # 红管家
    PATROL = "patrol"  # 巡逻志愿者
    BUILDING_LEADER = "building_leader"  # 楼栋长
    GRID_LEADER = "grid_leader"  # 网格长
    SUPERVISOR = "supervisor"  # 社区党组织
    ADMIN = "admin"  # 管理员
    MERCHANT = "merchant"  # 合作商户
    PROPERTY_MANAGER = "property_manager"  # 物业经理
    MEDIATOR = "mediator"  # 调解员
    LEGAL_VOLUNTEER = "legal_volunteer"  # 法律志愿者
    COORDINATOR = "coordinator"  # 巡逻/活动协调员


# How the property office writes roles in its spreadsheet.
ROLE_ALIASES: dict[str, Role] = {
    "红管家": Role.BUTLER,
    "管家": Role.BUTLER,
    "butler": Role.BUTLER,
    "巡逻志愿者": Role.PATROL,
    "巡逻队员": Role.PATROL,
    "志愿者": Role.PATROL,
    "patrol": Role.PATROL,
    "楼栋长": Role.BUILDING_LEADER,
    "building_leader": Role.BUILDING_LEADER,
    "网格长": Role.GRID_LEADER,
    "网格员": Role.GRID_LEADER,
    "grid_leader": Role.GRID_LEADER,
    "社区党组织": Role.SUPERVISOR,
    "监督员": Role.SUPERVISOR,
    "党支部": Role.SUPERVISOR,
    "supervisor": Role.SUPERVISOR,
    "管理员": Role.ADMIN,
    "admin": Role.ADMIN,
    "合作商户": Role.MERCHANT,
    "商户": Role.MERCHANT,
    "merchant": Role.MERCHANT,
    "物业经理": Role.PROPERTY_MANAGER,
    "property_manager": Role.PROPERTY_MANAGER,
    "调解员": Role.MEDIATOR,
    "人民调解员": Role.MEDIATOR,
    "mediator": Role.MEDIATOR,
    "法律志愿者": Role.LEGAL_VOLUNTEER,
    "legal_volunteer": Role.LEGAL_VOLUNTEER,
    "协调员": Role.COORDINATOR,
    "coordinator": Role.COORDINATOR,
}

# Roles that may approve a resident's request to join a home (besides the building's own leader).
APPROVER_ROLES = frozenset({Role.ADMIN, Role.GRID_LEADER})
ROSTER_ADMIN_ROLES = frozenset({Role.ADMIN})


def parse_role(text: str) -> Role | None:
    return ROLE_ALIASES.get(text.strip().lower()) or ROLE_ALIASES.get(text.strip())
