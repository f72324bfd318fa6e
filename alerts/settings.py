"""Alert settings' types: the escalation chain, per-rule routes, machine zones and distances, technicians'
machines, the defect scope — each parsed from its environment string once, when the settings are built."""

from __future__ import annotations

from datetime import time
from typing import Annotated

from domain.errors import ConfigError
from domain.plant_calendar import parse_clock
from domain.settings_types import from_text, parse_pairs, parse_roles

SCOPES = ("mould", "product", "machine")
# How much an alert matters, lowest first: the top of the chain (executives) hears only of severe ones, and
# in quiet hours only of critical ones.
SEVERITIES = ("normal", "severe", "critical")

# Levels an unacknowledged alert climbs; a level may name several roles ("ops_manager|admin").
EscalationChain = tuple[tuple[str, ...], ...]


def parse_chain(text: str, name: str = "ALERT_ESCALATION_CHAIN") -> EscalationChain:
    """'supervisor,ops_manager|admin,executive' → (('supervisor',), ('ops_manager', 'admin'), ('executive',))."""
    levels = tuple(parse_roles(level, name, "|") for level in text.split(",") if level.strip())
    if not levels:
        raise ConfigError(f"{name}: needs at least one role, e.g. supervisor,ops_manager,executive")
    return levels


def parse_routes(text: str, name: str = "ALERT_ROUTES") -> dict[str, tuple[str, ...]]:
    """'exception:team_lead|supervisor;kis_pull_failed:admin' → each rule's first recipients."""
    return {rule: parse_roles(roles, name, "|") for rule, roles in parse_pairs(text, ";")}


def _pairs(text: str, sep: str, name: str, shape: str) -> list[tuple[str, str]]:
    """parse_pairs, refusing an item with no colon or an empty side (a value that would silently mean nothing)."""
    pairs = parse_pairs(text, sep)
    for key, value in pairs:
        if not key or not value:
            raise ConfigError(f"{name}: 「{key}:{value}」应写作 {shape}")
    return pairs


def parse_machine_zones(text: str, name: str = "MACHINE_ZONES") -> dict[str, str]:
    """'P01:A区,P02:A区' → machine → zone."""
    return dict(_pairs(text, ",", name, "机台:区域 (e.g. P01:A区)"))


def parse_zone_distances(text: str, name: str = "ZONE_DISTANCES") -> dict[frozenset[str], int]:
    """'A区-B区:1,B区-C区:1' → {zones}: distance."""
    distances: dict[frozenset[str], int] = {}
    for pair, value in _pairs(text, ",", name, "区域-区域:距离 (e.g. A区-B区:1)"):
        a, _, b = pair.partition("-")
        if not a.strip() or not b.strip():
            raise ConfigError(f"{name}: 「{pair}:{value}」应写作 区域-区域:距离 (e.g. A区-B区:1)")
        try:
            distances[frozenset((a.strip(), b.strip()))] = int(value)
        except ValueError:
            raise ConfigError(f"{name}: '{pair}:{value}' needs a whole number") from None
    return distances


def parse_technician_machines(text: str, name: str = "TECHNICIAN_MACHINES") -> dict[str, frozenset[str]]:
    """'tech01:P01|P02;tech02:P05' → the machines each listed technician may repair."""
    shape = "技术员:机台|机台 (e.g. tech01:P01|P02)"
    out = {}
    for tech, machines in _pairs(text, ";", name, shape):
        allowed = frozenset(m.strip() for m in machines.split("|") if m.strip())
        if not allowed:
            raise ConfigError(f"{name}: 「{tech}:{machines}」应写作 {shape}")
        out[tech] = allowed
    return out


def parse_severity(text: str, name: str = "ALERT_SEVERITY") -> dict[str, str]:
    """'exception:severe,repair_unanswered:critical' → rule → severity (a rule not listed is normal)."""
    out = {}
    for rule, level in _pairs(text, ",", name, "规则:级别 (e.g. repair_unanswered:severe)"):
        if level not in SEVERITIES:
            raise ConfigError(f"{name}: 「{rule}:{level}」的级别须为 {' / '.join(SEVERITIES)}")
        out[rule] = level
    return out


def parse_quiet_hours(text: str, name: str = "ALERT_QUIET_HOURS") -> tuple[time, time] | None:
    """'22:00-07:00' → (start, end), which may cross midnight; empty: no quiet hours."""
    if not text.strip():
        return None
    start, sep, end = text.partition("-")
    if not sep:
        raise ConfigError(f"{name}: 应写作 HH:MM-HH:MM，如 22:00-07:00")
    quiet = (parse_clock(start, name), parse_clock(end, name))
    if quiet[0] == quiet[1]:
        raise ConfigError(f"{name}: 开始和结束不能相同")
    return quiet


def parse_words(text: str, name: str = "REPAIR_CAUSES") -> tuple[str, ...]:
    """'电气,液压,机械' → the words, in order, without blanks or repeats."""
    words = tuple(dict.fromkeys(w.strip() for w in text.replace("，", ",").split(",") if w.strip()))
    if not words:
        raise ConfigError(f"{name}: 至少写一项，如 电气,液压,机械,其他")
    return words


def parse_scope(text: str, name: str = "ALERT_DEFECT_SCOPE") -> str:
    if text not in SCOPES:
        raise ConfigError(f"{name}: must be one of {', '.join(SCOPES)}")
    return text


EscalationChainSetting = Annotated[EscalationChain, from_text(parse_chain, tuple)]
AlertRoutesSetting = Annotated[dict[str, tuple[str, ...]], from_text(parse_routes, dict)]
MachineZonesSetting = Annotated[dict[str, str], from_text(parse_machine_zones, dict)]
ZoneDistancesSetting = Annotated[dict[frozenset[str], int], from_text(parse_zone_distances, dict)]
TechnicianMachinesSetting = Annotated[dict[str, frozenset[str]], from_text(parse_technician_machines, dict)]
# A plain string checked against SCOPES (`()`: no value is taken without parsing).
DefectScopeSetting = Annotated[str, from_text(parse_scope, ())]
SeveritySetting = Annotated[dict[str, str], from_text(parse_severity, dict)]
QuietHoursSetting = Annotated[tuple[time, time] | None, from_text(parse_quiet_hours, (tuple, type(None)))]
WordsSetting = Annotated[tuple[str, ...], from_text(parse_words, tuple)]
