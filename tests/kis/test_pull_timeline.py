"""What a KIS pull did to an order shows on the order's timeline: imported, changed, its production task
made a work order, voided, closed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from domain.services.order_timeline import order_timeline
from kis.shaped_db import Line
from tests.kis.conftest import TZ, kis_dt, local, seed_kis


def timeline(plant, bill_no: str) -> list[tuple[str, str]]:
    with plant.uow() as uow:
        return [(e.at.astimezone(TZ).strftime("%m-%d %H:%M"), e.text)
                for e in order_timeline(uow, bill_no) if e.kind == "kis"]


def test_each_pull_leaves_what_it_did_on_the_orders_timeline(plant):
    seed_kis(plant.kis)
    assert plant.pull().ok
    assert timeline(plant, "SEORD000101") == [
        ("11-25 02:00", "KIS 同步：导入订单：美的集团，2 行，最早交期 12-05"),
        ("11-25 02:00", "KIS 同步：生产任务单建工单：WORK000201：第 1 行 6000 件，工单 WORK000201"),
    ]

    with plant.kis.book() as book:
        book.update("SEOrderEntry", {"FInterID": 102, "FEntryID": 1}, FQty=Decimal(3500), FDate=kis_dt(2026, 12, 3))
        book.lines(102, [Line(2, 2003, 1000, date(2026, 12, 6))])
        book.update("SEOrder", {"FInterID": 102}, FCheckDate=kis_dt(2026, 11, 25, 9, 0))
    plant.clock.set(local(2026, 11, 26, 2, 0))
    assert plant.pull().ok
    assert timeline(plant, "SEORD000102")[-1] == (
        "11-26 02:00", "KIS 同步：订单变更：第 1 行数量 3000→3500；第 1 行交期 12-01→12-03；"
                       "新增第 2 行（插座外壳 1000 件，交期 12-06）")
    plant.pull()  # nothing new in KIS: nothing new on the timeline
    assert len(timeline(plant, "SEORD000102")) == 2

    with plant.kis.book() as book:
        book.update("SEOrder", {"FInterID": 101}, FCancellation=1)
        book.update("SEOrder", {"FInterID": 102}, FStatus=3, FClosed=1)  # every line shipped
    plant.clock.set(local(2026, 11, 27, 2, 0))
    assert plant.pull().ok
    assert timeline(plant, "SEORD000101")[-1] == ("11-27 02:00", "KIS 同步：订单作废：KIS 中已作废，停止工单 WORK000201")
    assert timeline(plant, "SEORD000102")[-1] == ("11-27 02:00", "KIS 同步：订单关闭（KIS 中已执行完毕或关闭）")
