"""The write-back through pyodbc and a real ODBC driver: each completion lands in KIS once and only once."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from decimal import Decimal

import pyodbc
import pytest
from sqlalchemy import select

from domain.calendar_book import CalendarBook
from domain.models import Alert, KisOutbox, Notice, Operation, SalesOrder, SyncState, WorkOrder
from domain.plant_calendar import CalendarSpec, DayPattern, PlantCalendar, parse_shifts
from domain.policy import PlantPolicy
from domain.services.order_timeline import order_timeline
from domain.services.reporting import report_work
from domain.vocab import AlertStatus, OutboxStatus
from factorybot.config import Settings
from kis.config import KisConfig
from kis.jobs import holder_name
from kis.shaped_db import run_inbound_job
from kis.status import kis_status
from kis.texts import status_text
from reports.kis_month import kis_month_end, kis_total
from reports.month import Month
from reports.production import quality
from tests.kis.conftest import STAGING, TZ, local, seed_kis

# Who reports each operation of the default route (the people of tests.factories).
REPORTERS = {"注塑": "w1", "修边": "t1", "质检": "q1", "包装": "t1"}


class Crash(BaseException):
    """The process dies: nothing after this point runs, not even an except clause."""


def complete(plant, code: str, at: datetime, good: int, defect: int = 0, policy: PlantPolicy | None = None) -> None:
    """Report `good` finished pieces through every operation of a work order, as the floor would (on the
    policy's calendar: PlantPolicy() is one 08:00-20:00 shift)."""
    with plant.uow() as uow:
        wo = uow.session.scalar(select(WorkOrder).where(WorkOrder.code == code))
        ops = [(op.seq, op.name) for op in wo.operations]
        uow.session.expunge_all()
    for seq, name in ops:
        last = seq == ops[-1][0]
        with plant.uow() as uow:
            report_work(uow, policy or PlantPolicy(), work_order_code=code, userid=REPORTERS[name],
                        good_qty=good if last else good + defect, defect_qty=defect if last else 0,
                        source_key=f"test:{code}:{at.isoformat()}:{seq}", now=at, operation_seq=seq)
            uow.commit()


@pytest.fixture
def produced(plant):
    """Orders pulled from KIS, one work order from a production task and one made in FactoryBot, with
    completions on 11-23 and 11-24 (finished days) and on 11-25 (today, not over yet)."""
    seed_kis(plant.kis)
    assert plant.pull().ok
    with plant.uow() as uow:
        line = uow.session.scalar(select(SalesOrder).where(SalesOrder.bill_no == "SEORD000102")).lines[0]
        wo = WorkOrder(code="WO20261123-01", line=line, product=line.product, planned_qty=3000, daily_plan_qty=1500,
                       planned_start=local(2026, 11, 23, 8), planned_finish=local(2026, 11, 25, 20), workshop="注塑车间")
        for seq, (name, shop) in enumerate((("注塑", "注塑车间"), ("修边", "后加工车间"), ("质检", "质检部"),
                                            ("包装", "后加工车间")), start=1):
            wo.operations.append(Operation(seq=seq, name=name, workshop=shop))
        uow.session.add(wo)
        uow.commit()
    complete(plant, "WORK000201", local(2026, 11, 23, 10), 1500, defect=5)
    complete(plant, "WORK000201", local(2026, 11, 24, 10), 2000)
    complete(plant, "WO20261123-01", local(2026, 11, 24, 15), 800)
    complete(plant, "WORK000201", local(2026, 11, 25, 9), 500)
    plant.clock.set(local(2026, 11, 25, 10, 30))
    return plant


EXPECTED = [
    ("FB:WO20261123-01:20261124:1", "SEORD000102", 1, None, "3.02.0007", 800, 0, datetime(2026, 11, 24)),
    ("FB:WORK000201:20261123:1", "SEORD000101", 1, "WORK000201", "3.01.0012", 1500, 5, datetime(2026, 11, 23)),
    ("FB:WORK000201:20261124:1", "SEORD000101", 1, "WORK000201", "3.01.0012", 2000, 0, datetime(2026, 11, 24)),
]


def staged(plant) -> list[tuple]:
    return [(r["fsourcekey"], r["forderbillno"], r["forderentryid"], r["ficmobillno"], r["fitemnumber"],
             int(Decimal(str(r["fqty"]))), int(Decimal(str(r["fdefectqty"]))), r["fdate"]) for r in plant.kis.staging()]


def outbox(plant) -> dict[str, KisOutbox]:
    with plant.uow() as uow:
        rows = {r.source_key: r for r in uow.session.scalars(select(KisOutbox))}
        uow.session.expunge_all()
        return rows


def test_a_push_writes_one_row_per_work_order_and_finished_day(produced):
    out = produced.push()
    assert out.ok, out.text
    assert "新增待回写 3 行（良品 4,300 件，生产日 2026-11-23 至 2026-11-24）" in out.text
    assert "写入 KIS 中间表 3 行" in out.text
    assert staged(produced) == EXPECTED  # today's 500 pieces wait until the day is over
    rows = produced.kis.staging()
    assert {r["foperator"] for r in rows} == {"小李"}  # Chinese text written through the driver and read back
    assert {r["fstatus"] for r in rows} == {0} and len({r["fbatchid"] for r in rows}) == 1
    local_rows = outbox(produced)
    assert {r.status for r in local_rows.values()} == {OutboxStatus.SENT}
    assert {r.batch_id for r in local_rows.values()} == {rows[0]["fbatchid"]}


def test_a_repeated_push_writes_nothing_twice_and_picks_up_the_next_day(produced):
    produced.push()
    again = produced.push()
    assert again.ok and "没有新的完工需要回写" in again.text and "写入 KIS 中间表 0 行" in again.text
    assert staged(produced) == EXPECTED

    produced.clock.set(local(2026, 11, 26, 0, 10))  # the 25th is over: its 500 pieces go now
    assert produced.push().push.written == 1
    assert [k for k, *_ in staged(produced)][-1] == "FB:WORK000201:20261125:1"
    assert len(staged(produced)) == 4


def test_the_push_reads_back_bill_numbers_and_rejections(produced):
    produced.push()
    with produced.kis.book() as book:
        book.update("t_ICItem", {"FNumber": "3.02.0007"}, FDeleted=1)  # disabled in KIS meanwhile
    cnxn = produced.kis.connect()
    assert run_inbound_job(cnxn, STAGING) == (2, 1)
    cnxn.close()
    produced.clock.advance(minutes=5)
    out = produced.push()
    assert "KIS 导入结果：新入库 2 行，新被拒 1 行，等待 KIS 导入 0 行" in out.text
    assert "被拒 WO20261123-01 2026-11-24 良品 800 件：物料 3.02.0007 空调面板 已禁用，不能入库" in out.text
    rows = outbox(produced)
    assert (rows["FB:WORK000201:20261123:1"].status, rows["FB:WORK000201:20261123:1"].kis_bill_no) == (
        OutboxStatus.IMPORTED, "CIN000001")
    assert rows["FB:WO20261123-01:20261124:1"].status == OutboxStatus.REJECTED

    with produced.uow() as uow:
        timeline = [e.text for e in order_timeline(uow, "SEORD000101")]
        [alert] = uow.session.scalars(select(Alert).where(Alert.subject_key == "kis:push:rejected")).all()
        assert (alert.rule, alert.status) == ("kis_push_failed", AlertStatus.OPEN)
        status = status_text(kis_status(uow, configured=True, now=produced.clock()), TZ, produced.clock())
    assert "KIS 回写：已入库 CIN000001" in timeline
    assert "WORK000201 2026-11-23 良品 1500 件 → 已入库 CIN000001" in status
    assert "已入库 2 行，被拒 1 行" in status
    # A verdict, once recorded, is not reported again.
    assert "新入库 0 行，新被拒 0 行" in produced.push().text


def _reject_the_panel(plant) -> None:
    """Push, and KIS refuses the panel (item disabled): WO20261123-01's 11-24 row becomes 被拒."""
    plant.push()
    with plant.kis.book() as book:
        book.update("t_ICItem", {"FNumber": "3.02.0007"}, FDeleted=1)
    cnxn = plant.kis.connect()
    assert run_inbound_job(cnxn, STAGING) == (2, 1)
    cnxn.close()
    plant.clock.advance(minutes=5)
    assert "新被拒 1 行" in plant.push().text


PANEL = "FB:WO20261123-01:20261124:1"


def test_a_two_shift_plant_s_day_is_written_once_its_night_shift_is_over(plant):
    # Two 12-hour shifts: production day 11-25 runs from 08:00 on the 25th to 08:00 on the 26th. At 00:30
    # on the 26th its night shift is still running: nothing of the 25th goes to KIS yet, so the night's
    # later reports do not follow as a second, supplementary row.
    shifts = "白班=08:00-20:00,夜班=20:00-08:00"
    plant.config = KisConfig.from_settings(Settings(kis_odbc=plant.kis.conn_str, kis_timeout=5, kis_push_batch=50,
                                                    kis_char_encoding=plant.kis.char_encoding, shifts=shifts))
    two_shifts = PlantCalendar(CalendarSpec(patterns=(DayPattern("两班", parse_shifts(shifts)),)), TZ)
    floor = PlantPolicy(book=CalendarBook(two_shifts))
    seed_kis(plant.kis)
    assert plant.pull().ok
    complete(plant, "WORK000201", local(2026, 11, 25, 21), 900, policy=floor)  # the day's night shift

    plant.clock.set(local(2026, 11, 26, 0, 30))
    early = plant.push()
    assert early.ok, early.text
    assert "没有新的完工需要回写" in early.text and "写入 KIS 中间表 0 行" in early.text
    assert staged(plant) == []

    complete(plant, "WORK000201", local(2026, 11, 26, 2), 600, policy=floor)  # still the 25th's night shift
    plant.clock.set(local(2026, 11, 26, 8, 30))
    out = plant.push()
    assert "新增待回写 1 行（良品 1,500 件，生产日 2026-11-25）" in out.text
    assert staged(plant) == [("FB:WORK000201:20261125:1", "SEORD000101", 1, "WORK000201", "3.01.0012", 1500, 0,
                              datetime(2026, 11, 25))]


def test_a_one_shift_plant_s_day_is_written_after_its_midnight(plant):
    seed_kis(plant.kis)
    assert plant.pull().ok
    complete(plant, "WORK000201", local(2026, 11, 25, 19), 900)
    plant.clock.set(local(2026, 11, 25, 23, 50))
    assert staged(plant) == [] and "写入 KIS 中间表 0 行" in plant.push().text
    plant.clock.set(local(2026, 11, 26, 0, 10))
    assert plant.push().ok
    assert [(k, q) for k, *_, q, _d, _day in staged(plant)] == [("FB:WORK000201:20261125:1", 900)]


def test_a_rejected_row_fixed_in_kis_and_imported_there_becomes_imported(produced):
    _reject_the_panel(produced)
    # The plant enables the item again and has the KIS job take the row once more.
    with produced.kis.book() as book:
        book.update("t_ICItem", {"FNumber": "3.02.0007"}, FDeleted=0)
        book.update(STAGING, {"FSourceKey": PANEL}, FStatus=0, FMessage=None)
    cnxn = produced.kis.connect()
    assert run_inbound_job(cnxn, STAGING) == (1, 0)
    cnxn.close()

    produced.clock.set(local(2026, 12, 2, 9, 0))  # a week on, in the next month: the reconciliation is still open
    out = produced.push()
    assert "KIS 导入结果：新入库 1 行，新被拒 0 行，等待 KIS 导入 1 行" in out.text  # and the 25th, just written
    assert "其中 1 行此前被拒，已在 KIS 处理后入库" in out.text
    row = outbox(produced)[PANEL]
    assert (row.status, row.kis_bill_no, row.kis_message) == (OutboxStatus.IMPORTED, "CIN000003", None)
    with produced.uow() as uow:
        status = status_text(kis_status(uow, configured=True, now=produced.clock()), TZ, produced.clock())
        november = Month(2026, 11)
        kis = kis_total(kis_month_end(uow, november, quality(uow, november)))
    assert "已入库 3 行，被拒 0 行" in status and "最近被拒" not in status
    # November's KIS difference clears: what is left is the 25th's 500, pushed since and waiting in KIS.
    assert (kis.imported, kis.rejected, kis.written, kis.difference) == (4300, 0, 500, 0)
    assert "新入库 0 行" in produced.push().text  # recorded once


def test_a_rejected_row_put_back_waits_again_and_old_rejections_are_left_alone(produced):
    _reject_the_panel(produced)
    with produced.kis.book() as book:  # put back for the KIS job, not imported yet
        book.update(STAGING, {"FSourceKey": PANEL}, FStatus=0, FMessage=None)
    produced.clock.advance(minutes=5)
    out = produced.push()
    assert "等待 KIS 导入 1 行" in out.text and "此前被拒的 1 行已在 KIS 中重新排队，等待导入" in out.text
    assert outbox(produced)[PANEL].status == OutboxStatus.SENT

    # A rejection is read back while its production day is in this month or the last, not for ever.
    cnxn = produced.kis.connect()
    assert run_inbound_job(cnxn, STAGING) == (0, 1)  # the item is still disabled
    cnxn.close()
    produced.push()
    assert outbox(produced)[PANEL].status == OutboxStatus.REJECTED
    with produced.kis.book() as book:
        book.update(STAGING, {"FSourceKey": PANEL}, FStatus=1, FKisBillNo="CIN009999", FMessage=None)
    produced.clock.set(local(2027, 1, 4, 9, 0))  # November's rows are past their month-end
    assert "新入库 0 行" in produced.push().text
    assert outbox(produced)[PANEL].status == OutboxStatus.REJECTED


def test_a_push_while_kis_is_unreachable_loses_nothing_and_catches_up_once(produced):
    with produced.kis.unreachable():
        out = produced.push(scheduled=True)
        assert not out.ok
        assert out.text.startswith("KIS 完工回写失败：无法连接 KIS 数据库：")
        assert "待回写 3 行仍在队列中，不会丢失；将在 10:32 后自动重试" in out.text
        produced.clock.advance(minutes=1)
        assert produced.push(scheduled=True).skipped  # backing off: KIS is not hammered
        produced.clock.advance(minutes=2)
        assert not produced.push(scheduled=True).ok  # tried again, failed again: the next wait is longer
        with produced.uow() as uow:
            state = uow.session.get(SyncState, "kis_push")
            assert (state.failures, state.retry_at) == (2, local(2026, 11, 25, 10, 37))
            [alert] = uow.session.scalars(select(Alert)).all()
            assert (alert.rule, alert.subject_key, alert.status) == ("kis_push_failed", "kis:push", AlertStatus.OPEN)
            assert alert.facts["连续失败"] == "2 次"
            assert [n.userids for n in uow.session.scalars(select(Notice))] == ["admin"]  # one card, not one per try
        # Hours pass; the floor keeps reporting; the 25th ends.
        produced.clock.set(local(2026, 11, 26, 9, 0))

    out = produced.push(scheduled=True)
    assert out.ok and out.push.written == 4
    keys = [k for k, *_ in staged(produced)]
    assert Counter(keys) == Counter(set(keys)) and len(keys) == 4
    assert {r.status for r in outbox(produced).values()} == {OutboxStatus.SENT}
    with produced.uow() as uow:
        [alert] = uow.session.scalars(select(Alert)).all()
        assert (alert.status, alert.resolution) == (AlertStatus.CLOSED, "条件已解除")
        assert uow.session.get(SyncState, "kis_push").failures == 0


def test_a_crash_between_the_kis_insert_and_the_local_commit_doubles_nothing(produced):
    def die(keys: list[str]) -> None:
        raise Crash

    with pytest.raises(Crash):
        produced.push(after_kis_commit=die)
    assert staged(produced) == EXPECTED  # KIS committed the batch …
    assert {r.status for r in outbox(produced).values()} == {OutboxStatus.PENDING}  # … FactoryBot never knew

    out = produced.push()
    assert out.ok and (out.push.written, out.push.already_there) == (0, 3)
    assert "另有 3 行 KIS 中已有（上次写入后未及记录），未重复写入" in out.text
    assert staged(produced) == EXPECTED
    assert {r.status for r in outbox(produced).values()} == {OutboxStatus.SENT}

    # And were FactoryBot's own check ever bypassed, the staging table's key refuses a second row.
    cnxn = produced.kis.connect()
    with pytest.raises(pyodbc.Error):
        cnxn.cursor().execute(f"INSERT INTO {STAGING} (FSourceKey, FBatchID, FOrderBillNo, FOrderEntryID, FItemNumber,"
                              " FQty, FDefectQty, FDate, FCreatedAt) VALUES (?, 'x', 'x', 1, 'x', 1, 0, ?, ?)",
                              EXPECTED[0][0], datetime(2026, 11, 24), datetime(2026, 11, 25))
    cnxn.close()


def test_two_pushes_never_run_at_once(produced):
    inner = []

    def meanwhile(keys: list[str]) -> None:
        inner.append(produced.push())  # beat fires while a person's push is still writing

    assert produced.push(after_kis_commit=meanwhile).ok
    assert inner[0].skipped
    assert inner[0].text == f"另一次 KIS 完工回写正在进行（{holder_name('定时任务')}，11-25 10:30 起），本次跳过。"
    assert staged(produced) == EXPECTED
