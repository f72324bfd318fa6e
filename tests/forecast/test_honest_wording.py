"""Forecast words that never contradict the data: a late line says how late it is and when it will finish,
a press that has just moulded is not 停机中, and advice with nothing in it is not given."""

from __future__ import annotations

from datetime import date

from factorybot.config import Settings
from factorybot.runtime import build_forecast_policy
from forecast.projection import OrderForecast, forecast_line, project_work_order
from forecast.suggest import overtime
from forecast.text import eta_text, order_finish_text, overdue_days, overdue_text, risk_text
from tests.forecast import test_suggest as sg
from tests.forecast.test_projection import NOW, POLICY, line, wo


def _order(*lines):  # type: ignore[no-untyped-def]
    return OrderForecast(7, "SEORD000007", "美的集团", tuple(lines))


def test_a_line_past_due_says_how_late_never_that_it_will_be_late():
    stopped = project_work_order(wo(first_report_day=date(2026, 11, 20), window_good=0), NOW, POLICY)
    gone = forecast_line(line(date(2026, 11, 22)), [stopped], POLICY)
    today = date(2026, 11, 25)
    # Was "已逾期，至少晚 4 天完工" next to a header's 已逾期; the eta says when.
    assert risk_text(gone, today) == "已逾期 3 天"
    order = _order(gone)
    assert overdue_days(order, today) == 3
    assert overdue_text(3, order) == "已逾期 3 天，停机中，恢复后最早 11-26 完工"
    running = forecast_line(line(date(2026, 11, 22)), [project_work_order(wo(), NOW, POLICY)], POLICY)
    assert overdue_text(3, _order(running)) == "已逾期 3 天，预计 11-26 完工"
    assert order_finish_text(_order(running)) == "预计 11-26 完工"


def test_a_press_that_moulded_within_the_set_minutes_is_not_stopped():
    idle_window = dict(first_report_day=date(2026, 11, 20), window_good=0)
    assert project_work_order(wo(**idle_window), NOW, POLICY).stopped  # nothing lately: 停机
    moulding = project_work_order(wo(**idle_window, press_running=True), NOW, POLICY)
    assert not moulding.stopped and moulding.rate.basis == "plan"
    line_now = forecast_line(line(date(2026, 11, 30)), [moulding], POLICY)
    assert eta_text(line_now) == "预计 11-26 完工" and "停机" not in risk_text(line_now)


def test_a_shortfall_that_rounds_to_nothing_is_not_one():
    # 93.3 an hour: 8.4 h short over two days, 0.4 h more than four hours a day: the most overtime closes it.
    wo_ = project_work_order(sg.running(window_good=3360), sg.NOW, sg.POLICY)
    advice = overtime(wo_, date(2026, 11, 26), sg.NOW, sg.POLICY)
    assert advice.text == "加班约 8 小时可赶上（2 个工作日，每天约 4.0 小时）"  # was "…仍差约 0 小时"
    # 0.3 h short, and 0.3 h to spare: neither "加班约 0 小时" nor "约余 0 小时", and nothing to act on.
    for good in (5414, 5669):
        close = overtime(project_work_order(sg.running(window_good=good), sg.NOW, sg.POLICY), date(2026, 11, 26),
                         sg.NOW, sg.POLICY)
        assert close.text == "按当前速度可按期完工，请保持进度" and not close.acts


def test_press_stopped_minutes_reaches_the_forecast():
    assert build_forecast_policy(Settings(database_url="sqlite://")).press_stopped_minutes == 60
    assert build_forecast_policy(Settings(database_url="sqlite://", press_stopped_minutes=15)).press_stopped_minutes == 15
