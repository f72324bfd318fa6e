"""Is FactoryBot used, and does it work? Daily active people, actions, success rate, scan-to-report time,
exception closure and the adoption curve, from what the store already records.

A person counts as active on a day when they did anything through WeCom (an action event) or reported work
(a report made through the form or before action events existed counts too).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import select

from domain.models import ActionEvent, Person, ShopException, WorkReport
from domain.month import Month
from domain.uow import UnitOfWork
from domain.vocab import ROLE_LABELS, ExceptionStatus, Role

SCAN_ROUTE = "scan_report.scan_traveller"
REPORT_ROUTES = frozenset({"scan_report.tap_done", "text_report.report_by_text", "forms.report"})
QUERY_PREFIXES = ("orders.", "my_day.", "forecast.")
EXCEPTION_PREFIXES = ("exceptions.", "alerts.", "repairs.")
SCAN_TO_REPORT_WITHIN = timedelta(minutes=30)  # a report later than this is not "the scan's" report
ADOPTION_DAYS = 90  # the adoption curve: a workshop's first 90 days of use, week by week
WEEK = 7


@dataclass(frozen=True)
class GroupActivity:
    label: str
    enrolled: int
    mean_daily_active: float

    @property
    def share_pct(self) -> float:
        return 100 * self.mean_daily_active / self.enrolled if self.enrolled else 0.0


@dataclass(frozen=True)
class UsageReport:
    month: str
    days: int
    enrolled: int
    mean_daily_active: float
    by_role: list[GroupActivity]
    by_workshop: list[GroupActivity]
    reports_per_day: float
    queries_per_day: float
    exception_actions_per_day: float
    callbacks: int
    outcomes: dict[str, int]
    median_scan_to_report_s: float | None
    exceptions_opened: int
    exceptions_closed: int
    adoption: dict[str, list[float]] = field(default_factory=dict)  # workshop → weekly active share, from go-live

    @property
    def success_pct(self) -> float | None:
        """Actions the system carried out: a refusal of bad input is a success of the system, a crash is not.

        Over people's actions (action events) only. A callback rejected before anything ran (signature or
        decryption failed) is nobody's action and is not in it, nor is a WeCom retry of one already answered;
        /metrics counts those (outcomes "rejected" and "duplicate")."""
        return 100 * (1 - self.outcomes.get("failed", 0) / self.callbacks) if self.callbacks else None

    @property
    def closure_pct(self) -> float | None:
        return 100 * self.exceptions_closed / self.exceptions_opened if self.exceptions_opened else None


def month_days(month: str) -> tuple[date, date]:
    """[first day, first day of the next month)."""
    m = Month.parse(month)
    return m.first, m.next().first


def _active_by_day(uow: UnitOfWork, first: date, end: date) -> dict[date, set[str]]:
    active: dict[date, set[str]] = defaultdict(set)
    for day, userid in uow.session.execute(
            select(ActionEvent.day, ActionEvent.userid).where(ActionEvent.day >= first, ActionEvent.day < end,
                                                              ActionEvent.outcome != "refused").distinct()):
        active[day].add(userid)
    for day, userid in uow.session.execute(
            select(WorkReport.work_day, Person.userid).join(Person, Person.id == WorkReport.operator_id)
            .where(WorkReport.work_day >= first, WorkReport.work_day < end).distinct()):
        active[day].add(userid)
    return active


def usage_report(uow: UnitOfWork, month: str, *, today: date, tz: tzinfo) -> UsageReport:
    first, end = month_days(month)
    end = min(end, today + timedelta(days=1))  # a running month counts the days so far
    days = max((end - first).days, 1)
    s = uow.session
    people = [p for p in s.scalars(select(Person).where(Person.active.is_(True)))]
    active = _active_by_day(uow, first, end)

    def group(label: str, members: set[str]) -> GroupActivity:
        daily = [len(active.get(first + timedelta(days=i), set()) & members) for i in range(days)]
        return GroupActivity(label, len(members), sum(daily) / days)

    everyone = {p.userid for p in people}
    by_role = [group(ROLE_LABELS[r], {p.userid for p in people if p.has_role(r)}) for r in Role
               if any(p.has_role(r) for p in people)]
    workshops = sorted({p.workshop for p in people if p.workshop})
    by_workshop = [group(w, {p.userid for p in people if p.workshop == w}) for w in workshops]

    events = s.execute(select(ActionEvent.at, ActionEvent.userid, ActionEvent.route, ActionEvent.outcome,
                              ActionEvent.subject)
                       .where(ActionEvent.day >= first, ActionEvent.day < end).order_by(ActionEvent.at)).all()
    outcomes: dict[str, int] = defaultdict(int)
    for e in events:
        outcomes[e.outcome] += 1
    reports = len(s.scalars(select(WorkReport.id).where(WorkReport.work_day >= first, WorkReport.work_day < end)).all())
    queries = sum(1 for e in events if e.route.startswith(QUERY_PREFIXES))
    exception_actions = sum(1 for e in events if e.route.startswith(EXCEPTION_PREFIXES))

    opened = s.scalars(select(ShopException).where(
        ShopException.opened_at >= datetime.combine(first, time.min, tzinfo=tz),
        ShopException.opened_at < datetime.combine(end, time.min, tzinfo=tz))).all()
    return UsageReport(
        month=month, days=days, enrolled=len(everyone),
        mean_daily_active=sum(len(active.get(first + timedelta(days=i), set()) & everyone) for i in range(days)) / days,
        by_role=by_role, by_workshop=by_workshop,
        reports_per_day=reports / days, queries_per_day=queries / days, exception_actions_per_day=exception_actions / days,
        callbacks=len(events), outcomes=dict(outcomes),
        median_scan_to_report_s=_median_scan_to_report(events),
        exceptions_opened=len(opened),
        exceptions_closed=sum(1 for e in opened if e.status == ExceptionStatus.CLOSED),
        adoption=adoption_curves(uow, people, today=today),
    )


def _median_scan_to_report(events: Sequence[Any]) -> float | None:
    """Seconds from a successful scan to the same person's next successful report on the same work order."""
    waiting: dict[tuple[str, str], datetime] = {}
    gaps = []
    for e in events:
        if e.outcome != "ok" or not e.subject:
            continue
        key = (e.userid, e.subject)
        if e.route == SCAN_ROUTE:
            waiting[key] = e.at
        elif e.route in REPORT_ROUTES and key in waiting:
            gap = e.at - waiting.pop(key)
            if gap <= SCAN_TO_REPORT_WITHIN:
                gaps.append(gap.total_seconds())
    return statistics.median(gaps) if gaps else None


def adoption_curves(uow: UnitOfWork, people: list[Person], *, today: date) -> dict[str, list[float]]:
    """Per workshop, its first 90 days from its first day of use, week by week: the mean share of its people
    active each day. 90 days are 12 weeks and a 13th of 6 days, which is averaged over its 6 days.

    The curve ends today: a week still running is averaged over its days so far, weeks to come are not
    there (they are not weeks of 0%)."""
    members: dict[str, set[str]] = defaultdict(set)
    for p in people:
        if p.workshop:
            members[p.workshop].add(p.userid)
    first_days = {}
    for workshop, users in members.items():
        candidates = [uow.session.scalar(select(ActionEvent.day).where(ActionEvent.userid.in_(users))
                                         .order_by(ActionEvent.day).limit(1)),
                      uow.session.scalar(select(WorkReport.work_day).join(Person, Person.id == WorkReport.operator_id)
                                         .where(Person.userid.in_(users)).order_by(WorkReport.work_day).limit(1))]
        found = [d for d in candidates if d is not None]
        if found:
            first_days[workshop] = min(found)
    curves = {}
    for workshop, start in first_days.items():
        span = min(ADOPTION_DAYS, (today - start).days + 1)
        if span <= 0:
            continue
        active = _active_by_day(uow, start, start + timedelta(days=span))
        users = members[workshop]
        weekly = []
        for first_of_week in range(0, span, WEEK):
            last_of_week = min(first_of_week + WEEK, span)
            days = [start + timedelta(days=i) for i in range(first_of_week, last_of_week)]
            weekly.append(100 * sum(len(active.get(d, set()) & users) for d in days) / (len(days) * len(users)))
        curves[workshop] = weekly
    return curves
