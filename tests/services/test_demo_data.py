"""The demo plant: deterministic, the right size, and consistent with the reporting and stage rules."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from domain.db import make_engine, make_session_factory
from domain.demo import ALREADY_LOADED, DemoSummary, load_demo_plant
from domain.demo.shifts import DAY_LEAD, DAY_MEMBERS, NIGHT_LEAD, NIGHT_MEMBERS, demo_calendar
from domain.errors import DomainError
from domain.models import (
    Base,
    Customer,
    Operation,
    Person,
    PointsEntry,
    Product,
    SalesOrder,
    SalesOrderLine,
    ShopException,
    WorkOrder,
    WorkReport,
)
from domain.points import day_points
from domain.policy import PlantPolicy
from domain.services.calendar_store import stored_spec_text
from domain.services.stages import derived_stage
from domain.uow import UnitOfWork
from domain.vocab import ExceptionStatus, OperationStatus, OrderStatus, Stage, WorkOrderStatus

TODAY = date(2026, 11, 25)
POLICY = PlantPolicy()
DEMO_CALENDAR = demo_calendar(POLICY.tz)


def _factory(path: Path) -> sessionmaker[Session]:
    engine = make_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    return make_session_factory(engine)


def _load(factory: sessionmaker[Session], *, reset: bool = False, seed: int = 20261125) -> DemoSummary:
    with UnitOfWork(factory) as uow:
        summary = load_demo_plant(uow, today=TODAY, policy=POLICY, seed=seed, reset=reset)
        uow.commit()
    return summary


def _counts(session: Session) -> dict[str, int]:
    models = (Person, Customer, Product, SalesOrder, SalesOrderLine, WorkOrder, WorkReport, ShopException)
    return {m.__tablename__: session.scalar(select(func.count()).select_from(m)) or 0 for m in models}


def _fingerprint(session: Session) -> tuple[Any, ...]:
    orders = session.execute(select(SalesOrder.bill_no, SalesOrder.order_date, SalesOrder.stage)).all()
    lines = session.execute(
        select(SalesOrder.bill_no, SalesOrderLine.entry_id, SalesOrderLine.qty, SalesOrderLine.due_date).join(
            SalesOrderLine.order
        )
    ).all()
    ops = session.execute(
        select(WorkOrder.code, Operation.seq, Operation.good_qty, Operation.defect_qty).join(
            Operation.work_order
        )
    ).all()
    totals = session.execute(
        select(
            func.count(),
            func.sum(WorkReport.good_qty),
            func.sum(WorkReport.defect_qty),
            func.sum(WorkReport.points),
        )
    ).one()
    return tuple(sorted(orders)), tuple(sorted(lines)), tuple(sorted(ops)), tuple(totals)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[sessionmaker[Session], DemoSummary, float]:
    factory = _factory(tmp_path_factory.mktemp("demo") / "plant.db")
    started = time.perf_counter()
    summary = _load(factory)
    return factory, summary, time.perf_counter() - started


@pytest.fixture
def session(loaded: tuple[sessionmaker[Session], DemoSummary, float]) -> Iterator[Session]:
    with loaded[0]() as s:
        yield s


@pytest.fixture
def summary(loaded: tuple[sessionmaker[Session], DemoSummary, float]) -> DemoSummary:
    return loaded[1]


def _work_orders(session: Session) -> list[WorkOrder]:
    return list(session.scalars(select(WorkOrder).options(selectinload(WorkOrder.operations))).all())


def test_load_is_fast(loaded: tuple[sessionmaker[Session], DemoSummary, float]) -> None:
    assert loaded[2] < 15


def test_same_day_and_seed_give_identical_plants(tmp_path: Path, session: Session) -> None:
    other = _factory(tmp_path / "again.db")
    _load(other)
    with other() as s:
        assert _fingerprint(s) == _fingerprint(session)
    different = _factory(tmp_path / "other-seed.db")
    _load(different, seed=7)
    with different() as s:
        assert _fingerprint(s) != _fingerprint(session)


def test_counts_are_plant_sized_and_match_the_store(summary: DemoSummary, session: Session) -> None:
    assert 45 <= summary.people <= 55
    assert 10 <= summary.customers <= 14
    assert 25 <= summary.products <= 35
    assert 520 <= summary.orders <= 620
    assert summary.orders < summary.order_lines <= 3 * summary.orders
    assert summary.order_lines - 20 <= summary.work_orders <= summary.order_lines
    assert summary.reports > 3 * summary.work_orders
    assert 6 <= summary.exceptions <= 10
    assert 0 < summary.late_orders < summary.orders
    assert 0 < summary.open_orders < summary.orders
    assert _counts(session) == {
        "people": summary.people,
        "customers": summary.customers,
        "products": summary.products,
        "sales_orders": summary.orders,
        "sales_order_lines": summary.order_lines,
        "work_orders": summary.work_orders,
        "work_reports": summary.reports,
        "exceptions": summary.exceptions,
    }
    open_orders = session.scalar(select(func.count()).where(SalesOrder.status == OrderStatus.OPEN))
    assert open_orders == summary.open_orders


def test_bill_numbers_follow_order_dates(session: Session) -> None:
    rows = session.execute(
        select(SalesOrder.bill_no, SalesOrder.order_date).order_by(SalesOrder.bill_no)
    ).all()
    assert rows[0].bill_no == "SEORD000001"
    assert [r.bill_no for r in rows] == [f"SEORD{n:06d}" for n in range(1, len(rows) + 1)]
    dates = [r.order_date for r in rows]
    assert dates == sorted(dates)
    assert dates[0] >= TODAY - timedelta(days=93) and dates[-1] == TODAY


@pytest.mark.parametrize(
    ("userid", "name", "roles", "workshop", "zone"),
    [
        ("admin", "系统管理员", "admin", None, None),
        ("boss", "陈总", "executive", None, None),
        ("zhaoliu", "赵六", "ops_manager", None, None),
        ("wangwu", "王五", "supervisor", "注塑车间", None),
        ("sunqi", "孙七", "supervisor", "后加工车间", None),
        ("zhouba", "周八", "supervisor", "质检部", None),
        ("lisi", "李四", "team_lead", "后加工车间", None),
        ("zhangsan", "张三", "worker", "注塑车间", None),
        ("xiaoli", "小李", "worker", "后加工车间", None),
        ("tech01", "刘师傅", "technician", None, "A区"),
    ],
)
def test_fixed_demo_users(
    session: Session, userid: str, name: str, roles: str, workshop: str | None, zone: str | None
) -> None:
    person = session.scalar(select(Person).where(Person.userid == userid))
    assert person is not None
    assert (person.name, person.roles_csv, person.workshop, person.zone, person.active) == (
        name,
        roles,
        workshop,
        zone,
        True,
    )


def test_every_workshop_has_a_team_lead_and_workers(session: Session) -> None:
    people = session.scalars(select(Person)).all()
    for workshop in ("注塑车间", "后加工车间", "质检部"):
        assert any(p.workshop == workshop and p.has_role("team_lead") for p in people), workshop
        assert any(p.workshop == workshop and p.has_role("worker") for p in people), workshop
    assert {p.zone for p in people if p.has_role("technician")} == {"A区", "B区", "C区"}
    injection = sum(1 for p in people if p.workshop == "注塑车间" and p.has_role("worker"))
    assert injection > max(
        sum(1 for p in people if p.workshop == w and p.has_role("worker")) for w in ("后加工车间", "质检部")
    )


def test_operation_quantities_equal_their_reports(session: Session) -> None:
    sums = {
        op_id: (good, defect)
        for op_id, good, defect in session.execute(
            select(
                WorkReport.operation_id, func.sum(WorkReport.good_qty), func.sum(WorkReport.defect_qty)
            ).group_by(WorkReport.operation_id)
        )
    }
    ops = session.scalars(select(Operation)).all()
    for op in ops:
        assert (op.good_qty, op.defect_qty) == sums.get(op.id, (0, 0)), op.id
        assert (op.status == OperationStatus.PENDING) == (op.id not in sums)
        assert (op.started_at is None) == (op.id not in sums)
        assert (op.finished_at is not None) == (op.status == OperationStatus.DONE)


def test_quantities_respect_the_reporting_rules(session: Session) -> None:
    for wo in _work_orders(session):
        ops = wo.operations
        assert [o.seq for o in ops] == list(range(1, len(ops) + 1))
        assert [o.name for o in ops] in (["注塑", "修边", "质检", "包装"], ["注塑", "质检", "包装"])
        first = ops[0]
        assert first.good_qty <= wo.planned_qty + POLICY.tolerance(wo.planned_qty), wo.code
        assert (first.status == OperationStatus.DONE) == (first.good_qty >= wo.planned_qty), wo.code
        for prev, op in zip(ops, ops[1:], strict=False):
            assert op.good_qty + op.defect_qty <= prev.good_qty, wo.code
            done = prev.status == OperationStatus.DONE and op.good_qty + op.defect_qty >= prev.good_qty
            assert (op.status == OperationStatus.DONE) == done, wo.code
        all_done = all(o.status == OperationStatus.DONE for o in ops)
        assert (wo.status == WorkOrderStatus.DONE) == all_done, wo.code
        if wo.status == WorkOrderStatus.DONE:
            assert wo.finished_at == max(o.finished_at for o in ops if o.finished_at), wo.code
            assert first.good_qty >= wo.planned_qty
            for prev, op in zip(ops, ops[1:], strict=False):
                assert op.good_qty + op.defect_qty == prev.good_qty, wo.code
        else:
            assert wo.finished_at is None, wo.code
        started = any(o.status != OperationStatus.PENDING for o in ops)
        assert (wo.status == WorkOrderStatus.PLANNED) == (not started), wo.code
        assert (wo.started_at is not None) == started, wo.code
        if started:
            assert wo.started_at == min(o.started_at for o in ops if o.started_at)


def test_work_order_plan_fields(session: Session) -> None:
    per_day: dict[date, list[str]] = defaultdict(list)
    for wo in _work_orders(session):
        start = wo.planned_start.astimezone(POLICY.tz)
        assert (start.hour, start.minute) == (8, 0), wo.code
        assert 2000 <= wo.daily_plan_qty <= 8000
        days = -(-wo.planned_qty // wo.daily_plan_qty)
        assert wo.planned_finish - wo.planned_start == timedelta(days=days), wo.code
        assert wo.workshop == "注塑车间"
        assert wo.mould and wo.mould.startswith("M-") and wo.machine in {f"P{n:02d}" for n in range(1, 11)}
        assert 1 <= (start.date() - wo.line.order.order_date).days <= 5
        assert wo.planned_qty == wo.line.qty
        per_day[start.date()].append(wo.code)
    for day, codes in per_day.items():
        assert sorted(codes) == [f"WO{day:%Y%m%d}-{n:02d}" for n in range(1, len(codes) + 1)]


def test_reports_are_within_the_shift_and_earn_points(session: Session) -> None:
    reports = session.scalars(select(WorkReport).options(
        selectinload(WorkReport.operation).selectinload(Operation.work_order))).all()
    people = {p.id: p for p in session.scalars(select(Person))}
    points = {e.work_report_id: e for e in session.scalars(select(PointsEntry))}
    shares: dict[tuple[int, date], list[float]] = defaultdict(list)
    held: dict[tuple[int, date], int] = defaultdict(int)
    assert len(points) == len(reports)
    assert len({r.source_key for r in reports}) == len(reports)
    for r in reports:
        # Two shifts (白班 08:00-20:00, 夜班 20:00-08:00): each report on duty, on its shift's production day.
        shift = DEMO_CALENDAR.shift_at(r.reported_at)
        assert shift is not None, r.source_key
        assert (r.work_day, r.shift, r.crew) == (shift.day, shift.name, shift.crew), r.source_key
        assert r.work_day <= TODAY and r.reported_at <= datetime.combine(TODAY, clock(12), POLICY.tz)
        assert r.good_qty >= 0 and r.defect_qty >= 0 and r.good_qty + r.defect_qty > 0
        shares[(r.operator_id, r.work_day)].append(POLICY.points_rule.share(
            r.good_qty, daily_plan_qty=r.operation.work_order.daily_plan_qty,
            day_minutes=DEMO_CALENDAR.day_minutes(r.work_day)))
        held[(r.operator_id, r.work_day)] += r.points
        assert r.points >= 0 and (r.points == 0 or r.good_qty > 0), r.source_key
        assert people[r.operator_id].workshop == r.operation.workshop, r.source_key
        entry = points[r.id]
        assert (entry.person_id, entry.points, entry.work_day) == (r.operator_id, r.points, r.work_day)
        assert entry.reason.startswith("报工 WO") and entry.reason.endswith(r.operation.name)
    # Points follow the work, per person and production day, within the daily cap (domain/points.py).
    assert held == {k: day_points(v, POLICY.points_daily_cap) for k, v in shares.items()}
    assert max(held.values()) <= POLICY.points_daily_cap and sum(held.values()) > 0


def test_the_moulding_shop_runs_two_shifts_with_its_crews(session: Session) -> None:
    assert stored_spec_text(session) == DEMO_CALENDAR.spec.to_json()
    rows = session.execute(
        select(WorkReport.shift, WorkReport.crew, WorkReport.reported_at, WorkReport.work_day, Person.userid,
               Operation.name)
        .join(WorkReport.operator).join(WorkReport.operation)).all()
    nights = [r for r in rows if r.shift == "夜班"]
    assert len(nights) > len(rows) / 20
    for r in nights:
        local = r.reported_at.astimezone(POLICY.tz)
        # Before 08:00: counted on the production day before, by the night crew (乙班).
        assert local.hour < 8 and r.work_day == local.date() - timedelta(days=1), r
        assert r.crew == "乙班" and r.userid in {NIGHT_LEAD, *NIGHT_MEMBERS} and r.name == "注塑", r
    day_moulding = [r for r in rows if r.shift == "白班" and r.name == "注塑"]
    assert day_moulding and all(r.crew == "甲班" and r.userid in {DAY_LEAD, *DAY_MEMBERS} for r in day_moulding)
    # Last night's shift is in: today's picture at noon has the night before it.
    assert any(r.work_day == TODAY - timedelta(days=1) for r in nights)


def test_zhangsan_and_xiaoli_reported_today(session: Session) -> None:
    def today_good(userid: str) -> tuple[int, set[str]]:
        rows = session.execute(
            select(WorkReport.good_qty, Operation.name)
            .join(WorkReport.operator)
            .join(WorkReport.operation)
            .where(Person.userid == userid, WorkReport.work_day == TODAY)
        ).all()
        return sum(r.good_qty for r in rows), {r.name for r in rows}

    good, ops = today_good("zhangsan")
    assert good > 0 and ops == {"注塑"}
    good, ops = today_good("xiaoli")
    assert good > 0 and ops <= {"修边", "包装"}


def _orders(session: Session) -> list[SalesOrder]:
    return list(
        session.scalars(
            select(SalesOrder).options(
                selectinload(SalesOrder.lines)
                .selectinload(SalesOrderLine.work_orders)
                .selectinload(WorkOrder.operations)
            )
        )
        .unique()
        .all()
    )


def test_late_deliveries_are_a_minority(session: Session) -> None:
    finished = [
        o
        for o in _orders(session)
        if o.lines[0].work_orders
        and all(w.status == WorkOrderStatus.DONE for ln in o.lines for w in ln.work_orders)
    ]
    late = [
        o
        for o in finished
        if any(
            w.finished_at and POLICY.work_day(w.finished_at) > ln.due_date
            for ln in o.lines
            for w in ln.work_orders
        )
    ]
    assert len(finished) > 300
    assert 0.10 <= len(late) / len(finished) <= 0.30


def test_stages_follow_the_work(session: Session) -> None:
    stages: dict[Stage, int] = defaultdict(int)
    for order in _orders(session):
        stage = Stage(order.stage)
        stages[stage] += 1
        assert order.created_at <= order.updated_at
        wos = [w for ln in order.lines for w in ln.work_orders]
        assert len(wos) in (0, len(order.lines))
        for ln in order.lines:
            assert 7 <= (ln.due_date - order.order_date).days <= 25
            assert 500 <= ln.qty <= 20000 and ln.qty % 500 == 0
        if not wos:
            assert stage in (Stage.RECEIVED, Stage.REVIEWED)
            assert order.order_date >= TODAY - timedelta(days=1)
            continue
        if stage == Stage.SHIPPED:
            assert derived_stage(order) == Stage.STOCKED
            assert order.status == OrderStatus.CLOSED and order.shipped_at is not None
            finished = max(w.finished_at for w in wos if w.finished_at)
            assert finished < order.shipped_at <= order.updated_at
            assert POLICY.work_day(finished) <= TODAY - timedelta(days=5)
            assert all(ln.shipped_qty == ln.qty for ln in order.lines)
        else:
            assert stage == derived_stage(order), order.bill_no
            assert order.status == OrderStatus.OPEN and order.shipped_at is None
            assert all(ln.shipped_qty == 0 for ln in order.lines)
    for stage in (Stage.RECEIVED, Stage.SCHEDULED, Stage.QC, Stage.STOCKED, Stage.SHIPPED):
        assert stages[stage] > 0, stage


def test_alert_material_is_present(session: Session) -> None:
    wos = _work_orders(session)
    yesterday, three_days_ago = TODAY - timedelta(days=1), TODAY - timedelta(days=3)
    not_started = [
        w
        for w in wos
        if w.status == WorkOrderStatus.PLANNED
        and three_days_ago <= POLICY.work_day(w.planned_start) <= yesterday
    ]
    assert 3 <= len(not_started) <= 5
    assert all(w.started_at is None for w in wos if w.status == WorkOrderStatus.PLANNED)
    assert all(
        POLICY.work_day(w.planned_start) > TODAY
        for w in wos
        if w.status == WorkOrderStatus.PLANNED and w not in not_started
    )
    overdue = [w for w in wos if w.status == WorkOrderStatus.IN_PROGRESS and w.line.due_date < TODAY]
    assert overdue
    running_today = [w for w in wos if w.status == WorkOrderStatus.IN_PROGRESS]
    assert len(running_today) >= 5


def test_exceptions(session: Session) -> None:
    excs = session.scalars(select(ShopException)).all()
    people = {p.id: p for p in session.scalars(select(Person))}
    assert {e.type for e in excs} == set(POLICY.exception_types)
    assert len({e.source_key for e in excs}) == len(excs)
    still_open = [e for e in excs if e.status != ExceptionStatus.CLOSED]
    assert 2 <= len(still_open) <= 3
    assert any(
        e.type == "设备故障"
        and e.status == ExceptionStatus.OPEN
        and e.work_order.status == WorkOrderStatus.IN_PROGRESS
        for e in still_open
    )
    for e in excs:
        assert e.description
        assert e.work_order is not None and e.work_order.started_at is not None
        expected = {"品质异常": "质检部", "其他": "后加工车间"}.get(e.type, "注塑车间")
        assert people[e.reporter_id].workshop == expected
        assert POLICY.work_day(e.opened_at) >= TODAY - timedelta(days=10)
        if e.status == ExceptionStatus.CLOSED:
            assert e.acknowledged_at and e.closed_at and e.resolution and e.closed_by_id
            assert e.opened_at < e.acknowledged_at < e.closed_at
            assert e.closed_at - e.opened_at <= timedelta(hours=8)
        elif e.status == ExceptionStatus.ACKNOWLEDGED:
            assert e.acknowledged_at and e.acknowledged_by_id and e.closed_at is None
        else:
            assert e.acknowledged_at is None and e.closed_at is None


def test_load_only_flushes(tmp_path: Path) -> None:
    factory = _factory(tmp_path / "rollback.db")
    with UnitOfWork(factory) as uow:
        summary = load_demo_plant(uow, today=TODAY, policy=POLICY)
        assert uow.session.scalar(select(func.count()).select_from(SalesOrder)) == summary.orders
    with factory() as s:
        assert set(_counts(s).values()) == {0}


def test_second_load_refuses_and_reset_reloads(tmp_path: Path) -> None:
    factory = _factory(tmp_path / "twice.db")
    first = _load(factory)
    with factory() as s:
        before = (_counts(s), _fingerprint(s))

    with pytest.raises(DomainError) as info, UnitOfWork(factory) as uow:
        load_demo_plant(uow, today=TODAY, policy=POLICY)
    assert info.value.message == ALREADY_LOADED == "数据库中已有数据；如需重建演示工厂请加 --reset。"
    with factory() as s:
        assert (_counts(s), _fingerprint(s)) == before

    assert _load(factory, reset=True) == first
    with factory() as s:
        assert (_counts(s), _fingerprint(s)) == before
        assert s.scalar(select(func.count()).select_from(PointsEntry)) == first.reports
