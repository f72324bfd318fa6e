"""How figures are written for people: one place, so the PDF, the chat and the card agree to the digit."""

from __future__ import annotations

from datetime import date

NONE = "—"


def pct(value: float | None, digits: int = 1) -> str:
    return NONE if value is None else f"{value:.{digits}f}%"


def points(now: float | None, before: float | None) -> str:
    """Change of a percentage, in percentage points (环比)."""
    if now is None or before is None:
        return NONE
    delta = now - before
    return "持平" if abs(delta) < 0.05 else f"{'+' if delta > 0 else '−'}{abs(delta):.1f} 个百分点"


def change(now: int, before: int | None) -> str:
    """Change of a count, as a share of the earlier month (环比)."""
    if before is None or before == 0:
        return NONE
    delta = 100 * (now - before) / before
    return "持平" if abs(delta) < 0.05 else f"{'+' if delta > 0 else '−'}{abs(delta):.1f}%"


def num(value: int | float | None) -> str:
    return NONE if value is None else f"{value:,.0f}"


def minutes(value: float | None) -> str:
    if value is None:
        return NONE
    total = round(value)
    if total < 60:
        return f"{total} 分钟"
    hours, rest = divmod(total, 60)
    return f"{hours} 小时" + (f" {rest} 分" if rest else "")


def day(value: date | None) -> str:
    return NONE if value is None else value.isoformat()
