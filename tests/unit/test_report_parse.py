"""The typed report as workers actually type it."""

from __future__ import annotations

import pytest

from bot.report_parse import ParsedReport, parse_report_text
from domain.errors import DomainError


@pytest.mark.parametrize("typed, expected", [
    (" WO20251101-03 良品 800 不良 12", ParsedReport("WO20251101-03", 800, 12, None)),
    (" wo20251101-03 良品800不良12", ParsedReport("WO20251101-03", 800, 12, None)),
    (" WO20251101-03 800 12", ParsedReport("WO20251101-03", 800, 12, None)),
    (" WO20251101-03 不良 5", ParsedReport("WO20251101-03", 0, 5, None)),
    (" WO20251101-03 修边 良品：１，２００", ParsedReport("WO20251101-03", 1200, 0, "修边")),
])
def test_spellings_workers_use(typed, expected):
    assert parse_report_text(typed) == expected


@pytest.mark.parametrize("typed, message", [
    (" WO20251101-03 良品", "「良品」后面缺少数量"),
    (" WO20251101-03 800 12 3", "数量太多：「3」"),
    (" WO20251101-03 良品 八百", "良品数量「八百」不是整数"),
    (" 你好 良品 800", "「你好」不是工单号"),
    (" WO20251101-03 良品 800 谢谢", "看不懂「谢谢」"),
])
def test_what_cannot_be_read_is_named(typed, message):
    with pytest.raises(DomainError) as info:
        parse_report_text(typed)
    assert message in info.value.message and "报工格式" in info.value.message
