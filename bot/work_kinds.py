"""Kinds of work a report can be, and how the property office writes them in its roster."""

from __future__ import annotations

from enum import StrEnum


class WorkKind(StrEnum):
    PLUMBING_ELECTRIC = "plumbing_electric"  # 水电
    ELEVATOR = "elevator"  # 电梯
    FACILITIES = "facilities"  # 门禁与公共设施
    SANITATION = "sanitation"  # 环境卫生
    GREENING = "greening"  # 绿化
    SAFETY = "safety"  # 安全隐患
    NOISE = "noise"  # 噪音扰民
    DISPUTE = "dispute"  # 邻里纠纷
    OTHER = "other"  # 其他


WORK_KIND_ALIASES: dict[str, WorkKind] = {
    "水电": WorkKind.PLUMBING_ELECTRIC,
    "水电维修": WorkKind.PLUMBING_ELECTRIC,
    "电梯": WorkKind.ELEVATOR,
    "门禁与公共设施": WorkKind.FACILITIES,
    "公共设施": WorkKind.FACILITIES,
    "门禁": WorkKind.FACILITIES,
    "环境卫生": WorkKind.SANITATION,
    "保洁": WorkKind.SANITATION,
    "卫生": WorkKind.SANITATION,
    "绿化": WorkKind.GREENING,
    "安全隐患": WorkKind.SAFETY,
    "安全": WorkKind.SAFETY,
    "消防": WorkKind.SAFETY,
    "噪音扰民": WorkKind.NOISE,
    "噪音": WorkKind.NOISE,
    "邻里纠纷": WorkKind.DISPUTE,
    "纠纷调解": WorkKind.DISPUTE,
    "调解": WorkKind.DISPUTE,
    "其他": WorkKind.OTHER,
    **{kind.value: kind for kind in WorkKind},
}


def parse_work_kind(text: str) -> WorkKind | None:
    return WORK_KIND_ALIASES.get(text.strip()) or WORK_KIND_ALIASES.get(text.strip().lower())
