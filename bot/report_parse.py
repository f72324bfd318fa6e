"""Reading a typed report: `WO20251101-03 良品 800 不良 12`, `WO… 800 12`, `WO… 修边 良品 500`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from domain.errors import DomainError

USAGE = "报工格式：报工 工单号 良品 数量 不良 数量\n例如：报工 WO20261125-01 良品 800 不良 12"
_GOOD = {"良品", "良", "合格", "好品"}
_DEFECT = {"不良", "不良品", "次品", "废品", "不合格"}
_WO = re.compile(r"^[A-Za-z]{2}[A-Za-z0-9-]{3,38}$")
# Split keywords glued to numbers ("良品800", "不良12") so both spellings read the same.
_GLUE = re.compile(r"(不良品|不良|不合格|良品|合格|好品|次品|废品|良)")


@dataclass(frozen=True)
class ParsedReport:
    work_order_code: str
    good_qty: int
    defect_qty: int
    operation: str | None


def parse_qty(token: str, what: str, hint: str = "") -> int:
    """A piece count as typed (full-width digits and thousands separators allowed); `hint` follows a refusal."""
    suffix = f"\n{hint}" if hint else ""
    try:
        value = int(token.replace(",", "").replace("，", ""))
    except ValueError:
        raise DomainError(f"{what}「{token}」不是整数，请填写件数。{suffix}") from None
    if value < 0:
        raise DomainError(f"{what}不能为负数。{suffix}")
    return value


def _qty(token: str, what: str) -> int:
    return parse_qty(token, what, USAGE)


def parse_report_text(rest: str) -> ParsedReport:
    tokens = _GLUE.sub(r" \1 ", rest.replace("：", " ").replace(":", " ")).split()
    if not tokens:
        raise DomainError(USAGE)
    code = tokens.pop(0)
    if not _WO.match(code):
        raise DomainError(f"「{code}」不是工单号。\n{USAGE}")
    good: int | None = None
    defect: int | None = None
    operation: str | None = None
    bare: list[str] = []
    while tokens:
        tok = tokens.pop(0)
        if tok in _GOOD or tok in _DEFECT:
            if not tokens:
                raise DomainError(f"「{tok}」后面缺少数量。\n{USAGE}")
            if tok in _GOOD:
                good = _qty(tokens.pop(0), "良品数量")
            else:
                defect = _qty(tokens.pop(0), "不良数量")
        elif re.fullmatch(r"[-+]?[\d,，.]+", tok):
            bare.append(tok)
        elif operation is None and not bare and good is None and defect is None:
            operation = tok
        else:
            raise DomainError(f"看不懂「{tok}」。\n{USAGE}")
    # Bare numbers fill good first, then defect, as workers say them: "800 12".
    for tok in bare:
        if good is None:
            good = _qty(tok, "良品数量")
        elif defect is None:
            defect = _qty(tok, "不良数量")
        else:
            raise DomainError(f"数量太多：「{tok}」。\n{USAGE}")
    if good is None and defect is None:
        raise DomainError(f"请填写数量。\n{USAGE}")
    return ParsedReport(code.upper(), good or 0, defect or 0, operation)
