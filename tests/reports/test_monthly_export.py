"""`factorybot report monthly`: the PDF and the Excel workbook from the command line, and refusals."""

from __future__ import annotations

from io import BytesIO

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from factorybot.cli import main
from reports.monthly_xlsx import monthly_xlsx
from tests.reports.conftest import pdf_pages


def _rows(ws) -> dict[str, list]:
    return {str(r[0]): list(r[1:]) for r in ws.iter_rows(min_row=2, values_only=True)}


def test_the_workbook_has_every_number_as_a_number(hand_report) -> None:
    wb = load_workbook(BytesIO(monthly_xlsx(hand_report)))
    assert wb.sheetnames == ["概览", "趋势", "按客户", "按产品", "逾期明细", "客户接单", "质量", "现场异常", "预警",
                             "KIS月末"]
    overview = {k: v[0] for k, v in _rows(wb["概览"]).items()}
    assert overview["交期达成率"] == pytest.approx(0.4)
    assert (overview["应交（行）"], overview["按期（行）"], overview["逾期（行）"]) == (5, 2, 3)
    assert (overview["接单（单）"], overview["接单数量（件）"], overview["出货数量（件）"]) == (4, 6400, 4000)
    assert overview["计划完成率"] == pytest.approx(3000 / 3500)
    assert wb["概览"]["B13"].number_format == "0.0%"  # 交期达成率 reads as a percentage in Excel
    assert _rows(wb["按客户"])["美的集团"] == [4, 1, 3, 0, 3600, pytest.approx(0.25)]
    late = list(wb["逾期明细"].iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[1], r[8]) for r in late] == [("SEORD000102", 2, 16), ("SEORD000102", 1, 3), ("SEORD000106", 1, 2)]
    assert late[0][7] == "未完成" and late[1][9] == "模具问题：顶针断裂（处理：更换顶针）"
    quality = list(wb["质量"].iter_rows(min_row=2, values_only=True))
    assert quality[0][:6] == ("3.01.0112", "电饭煲上盖", "M-012", 2750, 70, 18)
    kis = _rows(wb["KIS月末"])
    assert kis["3.01.0112"] == ["电饭煲上盖", 3070, 700, 320, 0, 2050, 2050]


@pytest.fixture
def cli_env(hand_url, monkeypatch) -> CliRunner:
    monkeypatch.setenv("DATABASE_URL", hand_url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    return CliRunner()


def test_cli_writes_the_pdf(cli_env: CliRunner, tmp_path) -> None:
    out = tmp_path / "report.pdf"
    result = cli_env.invoke(main, ["report", "monthly", "2026-10", "--as-of", "2026-11-05", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "已生成2026年10月月度订单达成分析表（PDF，" in result.output and str(out) in result.output
    assert "交期达成率 40.0%，应交 5 行，逾期 3 行；接单 4 单，出货 2 单。" in result.output
    assert "40.0%" in pdf_pages(out)[0]


def test_cli_as_of_a_past_day_judges_what_was_done_by_then(cli_env: CliRunner, tmp_path) -> None:
    # On 10-16 (tests/reports/test_as_of.py): 101-1 on time, 102-1 late (finished only on 10-18), the other
    # three not yet due; 102, 103 and 104 taken, 101 shipped.
    out = tmp_path / "report.xlsx"
    result = cli_env.invoke(main, ["report", "monthly", "2026-10", "--as-of", "2026-10-16", "--format", "xlsx",
                                   "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "交期达成率 50.0%，应交 5 行，逾期 1 行；接单 3 单，出货 1 单。" in result.output
    overview = {row[0]: row[1] for row in load_workbook(out)["概览"].iter_rows(min_row=2, values_only=True)}
    assert (overview["按期（行）"], overview["逾期（行）"], overview["未到期（行）"]) == (1, 1, 3)


def test_cli_writes_the_workbook(cli_env: CliRunner, tmp_path) -> None:
    out = tmp_path / "report.xlsx"
    result = cli_env.invoke(main, ["report", "monthly", "2026-10", "--as-of", "2026-11-05", "--format", "xlsx",
                                   "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert load_workbook(out)["按客户"]["A2"].value == "美的集团"


@pytest.mark.parametrize(("month", "message"), [
    ("2026-12", "2026年12月还没有到，无法生成月报。"),
    ("2025-10", "2025年10月没有订单和报工数据，无法生成月报。系统中的数据从 2026年9月开始。"),
    ("2026-13", "无法识别月份「2026-13」。"),
])
def test_cli_refuses_a_month_it_cannot_report_and_writes_nothing(cli_env: CliRunner, tmp_path, month, message) -> None:
    out = tmp_path / "report.pdf"
    result = cli_env.invoke(main, ["report", "monthly", month, "--as-of", "2026-11-05", "-o", str(out)])
    assert result.exit_code == 1
    assert message in result.output
    assert not out.exists()
