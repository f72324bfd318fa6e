"""KIS settings' types: the default route and the ICMO type filters, parsed from their environment strings
once, when the settings are built (factorybot/config.py composes them into `Settings`)."""

from __future__ import annotations

import re
from typing import Annotated

from domain.errors import ConfigError
from domain.settings_types import from_text

Route = tuple[tuple[str, str], ...]


def parse_route(text: str, name: str = "KIS_DEFAULT_ROUTE") -> Route:
    """'注塑@注塑车间,修边@后加工车间' → (('注塑', '注塑车间'), ('修边', '后加工车间'))."""
    steps = []
    for part in text.replace("，", ",").split(","):
        if not part.strip():
            continue
        step, sep, workshop = part.partition("@")
        if not sep or not step.strip() or not workshop.strip():
            raise ConfigError(f"{name}: 「{part.strip()}」应写作 工序@车间")
        steps.append((step.strip(), workshop.strip()))
    if not steps:
        raise ConfigError(f"{name}: 至少需要一道工序")
    return tuple(steps)


def parse_integers(text: str, name: str) -> tuple[int, ...]:
    """'11060,1067' (or with a full-width comma) → (11060, 1067); empty: no filter."""
    parts = [p.strip() for p in text.replace("，", ",").split(",") if p.strip()]
    if not all(re.fullmatch(r"-?\d{1,9}", p) for p in parts):
        raise ConfigError(f"{name}: must be integers separated by commas, e.g. '85' or '11060,1067'")
    return tuple(int(p) for p in parts)


RouteSetting = Annotated[Route, from_text(parse_route, tuple)]
IntegersSetting = Annotated[tuple[int, ...], from_text(parse_integers, tuple)]
