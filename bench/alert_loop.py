"""The alert loop over one working day and night of the demo plant: who gets how many cards, how fast alerts
are answered, whether every fault reaches a technician. Prints its figures beside their goals; asserts nothing.

    .venv/bin/python bench/alert_loop.py [--seed 1] [--days 1] [--db sqlite|postgres|URL] [--step 5] [--top 10]

About 35 s for a day on SQLite, 75 s on PostgreSQL (two busy cores).

The demo plant (domain/demo, as `factorybot demo` builds it on 2026-12-02: two shifts, 白班 08:00-20:00 for
甲班 and 夜班 20:00-08:00 for 乙班) is written to a fresh database (a temp SQLite file; `--db postgres` makes a
throw-away PostgreSQL database; a URL, or DATABASE_URL, must name an empty one). A simulated clock runs from
the demo's noon for --days × 24 h. Every --step minutes the scheduled round runs (alerts.tick.tick in a
UnitOfWork, committed) and the outbox is sent as the service sends it (bot/outbox.deliver) to a stand-in for
WeCom that only answers (message ids, response codes): nothing leaves the machine. Between rounds, at their
own minutes, the plant happens:
- moulders on duty report their running work orders every hour (reporting.report_work); a few moulds run
  with many defects (defect streaks); work orders planned in the window start on time, late, or never;
- equipment faults are reported (exceptions.open_exception + alerts.intake.exception_opened): some name the
  press in the text ("P05 …"), some come with a work order, some with neither; other exceptions too;
- people answer the first card they get of an alert after a delay drawn per person and alert (seeded):
  认领, then 已处理 (alerts.actions.acknowledge / close; a fault's alert is left to its repair, and a fault
  without a repair is sent to 转维修); leads on duty answer most, supervisors most (only 08:00-20:00, as the
  ops manager, who answers half), the executive never, nor one supervisor and one technician drawn by the
  seed; technicians answer each dispatch to them with 接单 → 到场 → 完成 (alerts.repair.step). After a tap
  the cards are updated as the bot does (alerts.card_updates.update_cards, while the bot still enqueues it).

What is counted comes from the outbox (Notice rows): a Notice with a card and no response_code is a new card,
one with a response_code an update in place, the rest texts. A duplicate card (goal 0) is a person receiving
a new card of an alert (or repair ticket) they already received a new card of, with no change of its state
since: its status (open → acknowledged → closed) or owner for an alert, its status or technician for a
ticket. An escalation or a reminder changes no state: a second card to the same person then is a duplicate
(bench/loop_counts.py has the counter). Same seed, same plant, same figures.
"""

from __future__ import annotations

import argparse
import heapq
import inspect
import itertools
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script, not only as `-m bench.alert_loop`
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from alerts import actions, repair  # noqa: E402
from alerts.intake import assign_press, exception_opened  # noqa: E402
from alerts.tick import tick  # noqa: E402
from bench.loop_counts import (  # noqa: E402
    BUCKETS,
    NEW_CARD,
    TEXT,
    UPDATE,
    Changed,
    Sent,
    bucket,
    cards_per_person,
    duplicates,
    max_cards_per_subject,
    percentile,
)
from domain.demo import load_demo_plant  # noqa: E402
from domain.errors import DomainError  # noqa: E402
from domain.migrate import upgrade  # noqa: E402
from domain.models import Alert, AlertCard, Notice, Operation, Person, RepairTicket, ShopException, WorkOrder  # noqa: E402
from domain.services.exceptions import open_exception  # noqa: E402
from domain.services.reporting import report_work  # noqa: E402
from domain.uow import UnitOfWork  # noqa: E402
from domain.vocab import AlertStatus, Role, TicketStatus, WorkOrderStatus  # noqa: E402
from factorybot.config import Settings  # noqa: E402
from factorybot.runtime import Runtime  # noqa: E402

DEMO_DAY = date(2026, 12, 2)  # the day the demo was tried
OPS, BOSS = "zhaoliu", "boss"
FAULT = "设备故障"
DAY_STAFF_HOURS = (8, 20)  # people in no crew answer in these hours only (the calendar still calls them reachable)


def call(fn: Callable[..., Any], *args: Any, policy: Any = None, **kwargs: Any) -> Any:
    """Call with only the keyword arguments fn still takes, so a small change of signature upstream does not
    stop the run: extras it dropped (or never had, like a 完成's cause) are left out, and the alert policy is
    passed as `policy` to an action that has come to need it."""
    params = inspect.signature(fn).parameters
    if not any(p.kind == p.VAR_KEYWORD for p in params.values()):
        kwargs = {k: v for k, v in kwargs.items() if k in params}
    wanted = params.get("policy")
    if (policy is not None and wanted is not None and wanted.default is inspect.Parameter.empty
            and (wanted.kind == wanted.KEYWORD_ONLY or len(args) <= list(params).index("policy"))):
        kwargs["policy"] = policy
    return fn(*args, **kwargs)


# --- WeCom's stand-in --------------------------------------------------------------------------------------


class StandInWeCom:
    """Answers like WeCom (a message id, a single-use response code per card) and only counts."""

    def __init__(self) -> None:
        self.n = itertools.count(1)
        self.calls: Counter[str] = Counter()
        self.source = "outbox"

    def send_card(self, users: list[str], card: dict[str, Any], **_: Any) -> dict[str, Any]:
        n = next(self.n)
        self.calls[f"{self.source}:card"] += 1
        return {"errcode": 0, "errmsg": "ok", "msgid": f"sim{n}", "response_code": f"rc{n}"}

    def send_text(self, users: list[str], text: str, **_: Any) -> dict[str, Any]:
        self.calls[f"{self.source}:text"] += 1
        return {"errcode": 0, "errmsg": "ok", "msgid": f"sim{next(self.n)}"}

    def update_card(self, users: list[str], response_code: str, **_: Any) -> dict[str, Any]:
        self.calls[f"{self.source}:update"] += 1
        return {"errcode": 0, "errmsg": "ok"}

    def __getattr__(self, name: str) -> Callable[..., dict[str, Any]]:  # any other API: accepted, counted
        def answer(*_: Any, **__: Any) -> dict[str, Any]:
            self.calls[f"{self.source}:{name}"] += 1
            return {"errcode": 0, "errmsg": "ok"}
        return answer


def _sender() -> Callable[..., Any] | None:
    try:
        from bot.outbox import deliver  # the bot's own sender, as alerts.deliver runs it
    except ImportError:
        return None
    return deliver


def _card_updater() -> Callable[..., Any] | None:
    """What the bot enqueues after 认领 / 已处理 / 转维修 to update every copy of the card, as long as its alert
    handlers still do (a change that queues the updates in the outbox instead needs no second pass here)."""
    try:
        import bot.handlers.alerts as handlers  # read, not run: does a tap still enqueue alerts.update_cards?
        from alerts.card_updates import update_cards
    except ImportError:
        return None
    return update_cards if "ALERTS_UPDATE_CARDS" in inspect.getsource(handlers) else None


# --- the people --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    answers: float  # share of the alerts this person acts on
    delay: tuple[int, int]  # minutes before acting, uniform
    day_staff: bool  # acts only in DAY_STAFF_HOURS


def profiles(people: list[Person], silent: set[str]) -> dict[str, Profile]:
    out = {}
    for p in people:
        if p.userid in silent or p.has_role(Role.EXECUTIVE, Role.ADMIN, Role.WORKER):
            out[p.userid] = Profile(0.0, (0, 0), True)
        elif p.has_role(Role.OPS_MANAGER):
            out[p.userid] = Profile(0.5, (15, 60), True)
        elif p.has_role(Role.SUPERVISOR):
            out[p.userid] = Profile(0.8, (3, 30), True)
        elif p.has_role(Role.TEAM_LEAD):
            out[p.userid] = Profile(0.9, (2, 20), False)
        elif p.has_role(Role.TECHNICIAN):
            out[p.userid] = Profile(1.0, (2, 20), False)
        else:  # a maintenance lead, or a role added later: answers like a supervisor
            out[p.userid] = Profile(0.8, (5, 30), True)
    return out


# --- the simulation ----------------------------------------------------------------------------------------


@dataclass
class Sim:
    rt: Runtime
    seed: int
    start: datetime
    end: datetime
    step: timedelta
    rng: random.Random
    tz: ZoneInfo
    names: dict[str, str] = field(default_factory=dict)
    roles: dict[str, set[str]] = field(default_factory=dict)
    profile: dict[str, Profile] = field(default_factory=dict)
    queue: list[tuple[datetime, int, str, dict[str, Any]]] = field(default_factory=list)
    seq: itertools.count[int] = field(default_factory=itertools.count)
    client: StandInWeCom = field(default_factory=StandInWeCom)
    scanned: int = 0  # the highest Notice id looked at
    state: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    changes: list[Changed] = field(default_factory=list)
    seen: set[tuple[str, str]] = field(default_factory=set)  # (userid, subject) answered or being answered
    asks: Counter[tuple[str, int]] = field(default_factory=Counter)  # (technician, ticket): dispatches seen
    handovers: list[tuple[datetime, int, Counter[str]]] = field(default_factory=list)
    faults: list[dict[str, Any]] = field(default_factory=list)
    tally: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    finished: set[str] = field(default_factory=set)  # work orders whose moulding is done: no more reports
    tick_seconds: list[float] = field(default_factory=list)
    top: int = 10
    silent: list[str] = field(default_factory=list)
    moulders: list[str] = field(default_factory=list)

    # -- plumbing

    def at(self, when: datetime, event: str, **payload: Any) -> None:
        heapq.heappush(self.queue, (when, next(self.seq), event, payload))

    def unit(self, now: datetime, work: Callable[[UnitOfWork], Any], what: str = "actions") -> Any:
        """One transaction as an entry point runs it, then the outbox sent and looked at."""
        before = self.scanned
        with self.rt.uow() as uow:
            try:
                out = work(uow)
            except DomainError as exc:  # what the user would be told instead
                self.tally[f"{what} refused"] += 1
                if what == "actions":
                    self.refusals[re.sub(r"#\d+", "#N", str(exc))[:60]] += 1
                out = None
            else:
                uow.commit()
        if what == "reports":
            return out  # a report changes no alert: what it might queue is sent and seen after the next unit
        self.deliver(now)
        self.observe(before)
        self.react(now)
        return out

    def deliver(self, now: datetime) -> None:
        sender = _sender()
        if sender is not None:
            try:
                call(sender, self.rt.session_factory, self.client, lambda: now)
                return
            except TypeError:  # a changed sender: mark the rows sent as it would
                pass
        with self.rt.uow() as uow:
            for n in uow.session.scalars(select(Notice).where(Notice.sent_at.is_(None))):
                n.sent_at = now
                if n.alert_card_id is not None and n.response_code is None:
                    row = uow.session.get(AlertCard, n.alert_card_id)
                    if row is not None:
                        row.response_code, row.sent_at = f"rc-n{n.id}", now
            uow.commit()

    def observe(self, before: int) -> None:
        """State changes of alerts and tickets made by the unit just run, placed before what it queued."""
        with self.rt.uow(read_only=True) as uow:
            now_state: dict[str, tuple[Any, ...]] = {f"alert:{i}": (s, a) for i, s, a in uow.session.execute(
                select(Alert.id, Alert.status, Alert.acknowledged_by_id))}
            now_state |= {f"ticket:{i}": (s, t) for i, s, t in uow.session.execute(
                select(RepairTicket.id, RepairTicket.status, RepairTicket.technician_id))}
        for subject, st in now_state.items():
            if self.state.get(subject) != st:
                self.changes.append(Changed(before + 0.5, subject))
        self.state = now_state

    def react(self, now: datetime) -> None:
        """Each new card someone gets of an alert or ticket: their answer (or silence) is decided once."""
        with self.rt.uow(read_only=True) as uow:
            rows = uow.session.execute(
                select(Notice.id, Notice.userids, Notice.card, Notice.response_code, Notice.alert_card_id,
                       Notice.created_at).where(Notice.id > self.scanned).order_by(Notice.id)).all()
            card_alert = dict(uow.session.execute(select(AlertCard.id, AlertCard.alert_id)).all())
            alerts = {a.id: (a.rule, a.subject_key) for a in uow.session.scalars(select(Alert))}
            # A ticket is named by its fault (or press) for the draws: its id depends on the engine's order.
            ticket_names = {i: f"exc{e}" if e is not None else f"{m}@{o:%H%M}" for i, e, m, o in uow.session.execute(
                select(RepairTicket.id, RepairTicket.exception_id, RepairTicket.machine, RepairTicket.opened_at))}
        for nid, userids, card, code, card_id, created in rows:
            self.scanned = max(self.scanned, nid)
            if card is None or code is not None:
                continue
            got = aware(created, self.tz)
            alert_id = card_alert.get(card_id) if card_id is not None else None
            ticket_id = None if alert_id is not None else ticket_of(card)
            for u in userids.split("|"):
                if alert_id is not None and (u, f"alert:{alert_id}") not in self.seen:
                    self.seen.add((u, f"alert:{alert_id}"))
                    rule, key = alerts.get(alert_id, ("?", "?"))
                    self.answer(u, got, "ack", alert_id=alert_id, key=f"{rule}|{key}")
                elif ticket_id is not None and (u, f"ticket:{ticket_id}") not in self.seen:
                    # A technician answers each time a ticket is dispatched to them (it may come back after a
                    # round of the others): one answer at a time, each drawn for its own ask.
                    self.seen.add((u, f"ticket:{ticket_id}"))
                    self.asks[(u, ticket_id)] += 1
                    if not self.answer(u, got, "accept", ticket_id=ticket_id,
                                       key=f"ticket|{ticket_names.get(ticket_id)}|{self.asks[(u, ticket_id)]}"):
                        self.seen.discard((u, f"ticket:{ticket_id}"))

    def answer(self, userid: str, got: datetime, kind: str, **payload: Any) -> bool:
        """Schedule this person's answer, or not (silence); whether one was scheduled."""
        prof = self.profile.get(userid)
        if prof is None:
            return False
        draw = random.Random(f"{self.seed}|{userid}|{payload['key']}")  # the same whatever order cards come in
        if draw.random() >= prof.answers:
            self.tally["cards never answered (person, alert)" if kind == "ack" else "ticket cards never answered"] += 1
            return False
        when = self.awake(userid, got) + timedelta(minutes=draw.randint(*prof.delay))
        self.at(when, kind, userid=userid, draw=draw.random(), **payload)
        return True

    def awake(self, userid: str, t: datetime) -> datetime:
        prof = self.profile[userid]
        if not prof.day_staff:
            return t
        local = t.astimezone(self.tz)
        lo, hi = DAY_STAFF_HOURS
        if lo <= local.hour < hi:
            return t
        day = local.date() + (timedelta(days=1) if local.hour >= hi else timedelta())
        return datetime(day.year, day.month, day.day, lo, tzinfo=self.tz)

    # -- the plan of the day

    def plan(self) -> None:
        rng, policy = self.rng, self.rt.alert_policy
        with self.rt.uow(read_only=True) as uow:
            people = list(uow.session.scalars(select(Person).where(Person.active.is_(True)).order_by(Person.userid)))
            running = list(uow.session.scalars(
                select(WorkOrder).join(Operation, (Operation.work_order_id == WorkOrder.id) & (Operation.seq == 1))
                .where(WorkOrder.status == WorkOrderStatus.IN_PROGRESS, Operation.good_qty < WorkOrder.planned_qty)
                .order_by(WorkOrder.code)))
            planned = list(uow.session.scalars(
                select(WorkOrder).where(WorkOrder.status == WorkOrderStatus.PLANNED,
                                        WorkOrder.planned_start >= self.start, WorkOrder.planned_start < self.end)
                .order_by(WorkOrder.code)))
            running_codes = [(w.code, w.machine, w.mould, w.daily_plan_qty, w.workshop) for w in running]
            planned_codes = [(w.code, aware(w.planned_start, self.tz), w.daily_plan_qty) for w in planned]
            self.names = {p.userid: p.name for p in people}
            self.roles = {p.userid: {r for r in Role if p.has_role(r)} for p in people}
            techs = [p.userid for p in people if p.has_role(Role.TECHNICIAN)]
            supervisors = [p.userid for p in people if p.has_role(Role.SUPERVISOR)]
            silent = {rng.choice(techs), rng.choice(supervisors)} if techs and supervisors else set()
            self.silent = sorted(silent)
            self.profile = profiles(people, silent)
            self.moulders = [p.userid for p in people if p.has_role(Role.WORKER) and p.workshop == "注塑车间"]

        # Hourly reports on every running work order; a few moulds run bad (defect streaks).
        bad = set(rng.sample([m for _, _, m, _, _ in running_codes if m], k=min(3, len(running_codes))))
        self.tally["moulds running with many defects"] = len(bad)
        for code, _machine, mould, per_day, _ in running_codes:
            first = self.start + timedelta(minutes=rng.randint(5, 55))
            t = first
            while t < self.end:
                good = max(1, int((per_day or 2000) / 24 * rng.uniform(0.7, 1.1)))
                rate = rng.uniform(0.08, 0.15) if mould in bad else rng.uniform(0.0, 0.015)
                self.at(t, "report", code=code, good=good, defect=int(good * rate))
                t += timedelta(minutes=60)
        # Work orders planned in the window: on time, late, or never started (late starts).
        for code, planned_at, per_day in planned_codes:
            fate = rng.random()
            if fate < 0.55:
                first = planned_at + timedelta(minutes=rng.randint(0, 20))
            elif fate < 0.85:
                first = planned_at + timedelta(minutes=rng.randint(45, 150))
            else:
                self.tally["planned work orders never started"] += 1
                continue
            t = first
            while t < self.end:
                good = max(1, int((per_day or 2000) / 24 * rng.uniform(0.7, 1.1)))
                self.at(t, "report", code=code, good=good, defect=int(good * rng.uniform(0, 0.015)))
                t += timedelta(minutes=60)
        # Faults and other exceptions, spread over the window.
        minutes = int((self.end - self.start).total_seconds() // 60)
        presses = sorted(policy.machine_zones) or [f"P{i:02d}" for i in range(1, 11)]
        faults_per_day = 8
        # Of every 8 faults: 3 name the press in the text, 3 come with a work order, 2 with neither.
        hows = ["typed"] * 3 + ["work_order"] * 3 + ["none"] * 2
        for i in range(faults_per_day * max(1, minutes // 1440)):
            t = self.start + timedelta(minutes=rng.randint(10, minutes - 60))
            how = hows[i % len(hows)]
            wo_code: str | None = None
            machine: str | None = None
            if how == "work_order" and running_codes:
                wo_code, machine, *_ = rng.choice(running_codes)
            elif how == "typed":
                machine = rng.choice(presses)
            what = rng.choice(("液压漏油，已停机", "异响严重", "加热圈不升温", "机械手取件不到位", "报警停机"))
            text = f"{machine} {what}" if how == "typed" else what
            self.at(t, "exception", kind=FAULT, code=wo_code, text=text, how=how, n=i)
        others = ("品质异常", "材料不符", "模具问题")
        for i in range(3 * max(1, minutes // 1440)):
            t = self.start + timedelta(minutes=rng.randint(10, minutes - 60))
            other_code = rng.choice(running_codes)[0] if running_codes else None
            self.at(t, "exception", kind=others[i % len(others)], code=other_code, text="现场反馈，请确认", how="other", n=100 + i)

    def reporter(self, t: datetime) -> str:
        on = [u for u in self.moulders if self.rt.alert_policy.plant.on_duty(u, t)] or self.moulders
        return self.rng.choice(on)

    # -- events

    def run_event(self, t: datetime, kind: str, p: dict[str, Any]) -> None:
        getattr(self, f"on_{kind}")(t, p)

    def on_report(self, t: datetime, p: dict[str, Any]) -> None:
        if p["code"] in self.finished:
            return
        who = self.reporter(t)
        done = self.unit(t, lambda uow: call(report_work, uow, self.rt.policy, work_order_code=p["code"], userid=who,
                                             good_qty=p["good"], defect_qty=p["defect"],
                                             source_key=f"sim:r:{self.seq_no()}", now=t, operation_seq=1),
                         what="reports")
        if done is None:
            self.finished.add(p["code"])  # the plan is met (or the last report overshot it): the press moves on
        else:
            self.tally["reports"] += 1

    def seq_no(self) -> int:
        return next(self.seq)

    def on_exception(self, t: datetime, p: dict[str, Any]) -> None:
        who = self.reporter(t)
        policy = self.rt.alert_policy

        def work(uow: UnitOfWork) -> dict[str, Any]:
            res = call(open_exception, uow, self.rt.policy, userid=who, type=p["kind"],
                       source_key=f"sim:exc:{p['n']}", now=t, work_order_code=p["code"], description=p["text"],
                       known_machines=policy.machine_zones)
            call(exception_opened, uow, policy, exception_id=res.id, now=t)
            exc = uow.session.get(ShopException, res.id)
            assert exc is not None
            machine = exc.machine or (exc.work_order.machine if exc.work_order else None)
            ticket = uow.session.scalar(select(RepairTicket.id).where(RepairTicket.exception_id == exc.id))
            if ticket is None and machine:  # a second call for a press joins the repair already open on it
                ticket = uow.session.scalar(select(RepairTicket.id).where(
                    RepairTicket.machine == machine, RepairTicket.status != TicketStatus.DONE,
                    RepairTicket.opened_at <= t).order_by(RepairTicket.id.desc()).limit(1))
            return {"exception_id": exc.id, "machine": machine, "ticket_id": ticket, "at": t, "how": p["how"],
                    "kind": p["kind"]}

        got = self.unit(t, work)
        if got is not None and p["kind"] == FAULT:
            self.faults.append(got)
            if not got["machine"]:
                # Asked which press: most reporters answer within minutes; some never do, and ten minutes
                # later the supervisor on duty is told and names it with 转维修 N P05 (if they answer at all).
                draw = random.Random(f"{self.seed}|press|{p['n']}")
                press = draw.choice(sorted(self.rt.alert_policy.machine_zones) or ["P01"])
                if draw.random() < 0.6:
                    self.at(t + timedelta(minutes=draw.randint(1, 6)), "press", userid=who,
                            exception_id=got["exception_id"], machine=press)
                else:
                    self.tally["press question left unanswered"] += 1
                    sup = self.supervisor_on_duty(t + timedelta(minutes=12))
                    if sup is not None:
                        self.at(t + timedelta(minutes=12 + draw.randint(2, 20)), "press", userid=sup,
                                exception_id=got["exception_id"], machine=press)

    def supervisor_on_duty(self, t: datetime) -> str | None:
        """The first supervisor or team lead of the moulding workshop awake and on duty then (who is told)."""
        for u, prof in sorted(self.profile.items()):
            roles = self.roles.get(u, set())
            if ({Role.SUPERVISOR, Role.TEAM_LEAD} & roles and prof.answers > 0
                    and self.rt.alert_policy.plant.on_duty(u, t) and self.awake(u, t) == t):
                return u
        return None

    def on_press(self, t: datetime, p: dict[str, Any]) -> None:
        res = self.unit(t, lambda uow: call(assign_press, uow, self.rt.alert_policy, exception_id=p["exception_id"],
                                            userid=p["userid"], machine=p["machine"], now=t))
        if res is not None:
            self.tally["press named after the question"] += 1

    def on_ack(self, t: datetime, p: dict[str, Any]) -> None:
        u, alert_id = p["userid"], p["alert_id"]
        with self.rt.uow(read_only=True) as uow:
            alert = uow.session.get(Alert, alert_id)
            if alert is None or alert.status == AlertStatus.CLOSED:
                return
            if alert.acknowledged_by_id is not None:
                return  # someone has it: the card says so (or should)
            fault = self.fault_alert(uow, alert)
        res = self.unit(t, lambda uow: call(actions.acknowledge, uow, alert_id=alert_id, userid=u, now=t,
                                                       policy=self.rt.alert_policy))
        if res is None or not getattr(res, "changed", True):
            return
        self.tally["acknowledged (认领)"] += 1
        self.after_action(t, alert_id, u)
        minutes = 10 + int(p["draw"] * 80)
        if fault == "with repair":
            return  # closed by its repair
        self.at(t + timedelta(minutes=minutes), "to_repair" if fault == "no repair" else "close",
                userid=u, alert_id=alert_id)

    def fault_alert(self, uow: UnitOfWork, alert: Alert) -> str | None:
        if not alert.subject_key.startswith("exc:"):
            return None
        exc = uow.session.get(ShopException, int(alert.subject_key.split(":", 1)[1]))
        if exc is None or exc.type != FAULT:
            return None
        has = uow.session.scalar(select(func.count()).select_from(RepairTicket).where(RepairTicket.exception_id == exc.id))
        return "with repair" if has else "no repair"

    def on_close(self, t: datetime, p: dict[str, Any]) -> None:
        res = self.unit(t, lambda uow: call(actions.close, uow, alert_id=p["alert_id"], userid=p["userid"], now=t,
                                            resolution="已处理", policy=self.rt.alert_policy))
        if res is not None and getattr(res, "changed", True):
            self.tally["closed by hand (已处理)"] += 1
            self.after_action(t, p["alert_id"], p["userid"])

    def on_to_repair(self, t: datetime, p: dict[str, Any]) -> None:
        self.tally["转维修 tapped"] += 1
        res = self.unit(t, lambda uow: call(actions.to_repair, uow, self.rt.alert_policy, alert_id=p["alert_id"],
                                            userid=p["userid"], now=t))
        if res is None:
            self.tally["转维修 refused"] += 1
        else:
            self.after_action(t, p["alert_id"], p["userid"])

    def after_action(self, t: datetime, alert_id: int, userid: str) -> None:
        """The bot's follow-up of a tap: every copy of the card updated (direct API calls on today's code)."""
        updater = _card_updater()
        if updater is None:
            return
        with self.rt.uow(read_only=True) as uow:
            task = uow.session.scalar(select(AlertCard.task_id).where(
                AlertCard.alert_id == alert_id, AlertCard.userids.contains(userid)).order_by(AlertCard.id.desc()))
        before = self.scanned
        self.client.source = "direct"
        try:
            call(updater, self.rt.session_factory, self.client, self.rt.alert_policy, alert_id=alert_id,
                 tapped_task_id=task or "", response_code=f"tap{self.seq_no()}", now=t)
        except TypeError:
            pass
        finally:
            self.client.source = "outbox"
        self.deliver(t)
        self.observe(before)
        self.react(t)

    def on_accept(self, t: datetime, p: dict[str, Any]) -> None:
        self.ticket_step(t, p, "accept", "arrive", (5, 15))

    def on_arrive(self, t: datetime, p: dict[str, Any]) -> None:
        self.ticket_step(t, p, "arrive", "done", (20, 120))

    def on_done(self, t: datetime, p: dict[str, Any]) -> None:
        self.ticket_step(t, p, "done", None, (0, 0))

    def ticket_step(self, t: datetime, p: dict[str, Any], action: str, then: str | None, wait: tuple[int, int]) -> None:
        cause = random.Random(f"{self.seed}|{p['key']}|cause").choice(
            getattr(self.rt.alert_policy, "repair_causes", None) or ("其他",))
        res = self.unit(t, lambda uow: call(repair.step, uow, ticket_id=p["ticket_id"], userid=p["userid"],
                                            action=action, now=t, cause=cause, parts="",
                                            policy=self.rt.alert_policy))
        if res is None or not getattr(res, "changed", True) or then is None:
            self.seen.discard((p["userid"], f"ticket:{p['ticket_id']}"))  # free to answer a later dispatch
        if res is None or not getattr(res, "changed", True):
            return
        self.tally[f"repair {action}"] += 1
        if then is not None:
            draw = random.Random(f"{self.seed}|{p['userid']}|{p['key']}|{action}")
            self.at(t + timedelta(minutes=draw.randint(*wait)), then, **p)

    # -- the clock

    def run(self) -> None:
        policy = self.rt.alert_policy
        t = self.start
        last_shift_end = None
        while t <= self.end:
            while self.queue and self.queue[0][0] <= t:
                when, _, kind, payload = heapq.heappop(self.queue)
                self.run_event(when, kind, payload)
            started = time.perf_counter()
            def round_at(uow: UnitOfWork, t: datetime = t) -> Any:
                return call(tick, uow, policy, now=t)

            result = self.unit(t, round_at)
            self.tick_seconds.append(time.perf_counter() - started)
            for name in ("escalated", "reminded", "redispatched"):
                self.tally[f"round: {name}"] += len(getattr(result, name, None) or [])
            ended = policy.plant.previous_shift(t)
            if ended is not None and ended.end != last_shift_end:
                if last_shift_end is not None:
                    self.handovers.append((ended.end, *self.open_alerts()))
                last_shift_end = ended.end
            t += self.step

    def open_alerts(self) -> tuple[int, Counter[str]]:
        with self.rt.uow(read_only=True) as uow:
            rules = Counter(uow.session.scalars(select(Alert.rule).where(Alert.status != AlertStatus.CLOSED)))
        return sum(rules.values()), rules


def aware(t: datetime, tz: ZoneInfo) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=ZoneInfo("UTC")).astimezone(tz)


TICKET_KEY = re.compile(r"repair:[a-z]+:(\d+)")


def ticket_of(card: dict[str, Any] | None) -> int | None:
    """The repair ticket a card is about, from its buttons (repair:accept:7), else its title (【维修工单】#7)."""
    if not card:
        return None
    m = TICKET_KEY.search(json.dumps(card, ensure_ascii=False))
    if m:
        return int(m.group(1))
    title = str((card.get("main_title") or {}).get("title", ""))
    m = re.search(r"维修工单】#(\d+)", title)
    return int(m.group(1)) if m else None


def card_label(card: dict[str, Any] | None) -> str:
    title = str(((card or {}).get("main_title") or {}).get("title", ""))
    # Only the sends' own prefixes (【升级】, 【未关闭提醒】); a severity mark (【严重】, 【紧急】) is the card itself.
    m = re.match(r"^(【[^】]+】)(?=【)", title.removeprefix("【严重】").removeprefix("【紧急】"))
    return m.group(1) if m else "first card"


# --- reading the outbox ------------------------------------------------------------------------------------


def read_outbox(sim: Sim) -> list[Sent]:
    with sim.rt.uow(read_only=True) as uow:
        card_alert = dict(uow.session.execute(select(AlertCard.id, AlertCard.alert_id)).all())
        code_alert = {c: a for c, a in uow.session.execute(select(AlertCard.response_code, AlertCard.alert_id)) if c}
        rows = uow.session.execute(select(Notice.id, Notice.userids, Notice.card, Notice.response_code,
                                          Notice.alert_card_id).order_by(Notice.id)).all()
    out = []
    for nid, userids, card, code, card_id in rows:
        kind = UPDATE if code is not None else NEW_CARD if card is not None else TEXT
        alert_id = card_alert.get(card_id) if card_id is not None else code_alert.get(code) if code else None
        if alert_id is not None:
            subject: str | None = f"alert:{alert_id}"
        else:
            ticket = ticket_of(card)
            subject = f"ticket:{ticket}" if ticket is not None else None
        out.append(Sent(float(nid), kind, tuple(u for u in userids.split("|") if u), subject, card_label(card)))
    return out


# --- the figures -------------------------------------------------------------------------------------------


class Row(SimpleNamespace):
    """A row read out of its session, to count after the session has closed."""


def minutes(a: datetime | None, b: datetime | None) -> float | None:
    if a is None or b is None:
        return None
    return (b - a).total_seconds() / 60


def fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.0f}"


def report(sim: Sim, sent: list[Sent], wall: float) -> None:
    policy = sim.rt.alert_policy
    names = sim.names
    line = "-" * 78

    def who(u: str) -> str:
        return f"{u} ({names.get(u, '?')})"

    def col(u: str, width: int = 24) -> str:  # a CJK character takes two columns
        text = who(u)
        return text + " " * max(0, width - sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text))

    print(line)
    print("Outgoing messages (outbox)")
    kinds = Counter(s.kind for s in sent)
    alert_cards = [s for s in sent if s.kind == NEW_CARD and s.subject and s.subject.startswith("alert:")]
    ticket_cards = [s for s in sent if s.kind == NEW_CARD and s.subject and s.subject.startswith("ticket:")]
    print(f"  new cards {kinds[NEW_CARD]:6d}   (alert cards {len(alert_cards)}, repair ticket cards {len(ticket_cards)}, "
          f"other {kinds[NEW_CARD] - len(alert_cards) - len(ticket_cards)})")
    labels = Counter(s.label for s in alert_cards)
    print("    alert cards by kind: " + ", ".join(f"{k} {v}" for k, v in sorted(labels.items())))
    print(f"  updates in place (response_code) {kinds[UPDATE]:6d}")
    print(f"  texts     {kinds[TEXT]:6d}")
    direct = {k.split(':', 1)[1]: v for k, v in sim.client.calls.items() if k.startswith("direct:")}
    if direct:
        print("  besides the outbox, alerts.card_updates called WeCom directly: "
              + ", ".join(f"{k} {v}" for k, v in sorted(direct.items())))

    print(line)
    per = cards_per_person(sent)
    print(f"New cards per person (recipient deliveries: {sum(per.values())}; top {sim.top})")
    for u, n in per.most_common(sim.top):
        print(f"  {col(u)} {n:5d}")
    for u in (OPS, BOSS):
        print(f"  {col(u)} {per.get(u, 0):5d}   ← {'ops manager' if u == OPS else 'executive'}")

    dups = duplicates(sent, sim.changes)
    print(line)
    print(f"Duplicate cards (a new card of an alert/ticket the person holds, no state change since)  "
          f"{len(dups):5d}   goal 0")
    by = Counter(f"{d.subject.split(':')[0]} {d.label}" for d in dups)
    for k, v in sorted(by.items()):
        print(f"    {k:30} {v:5d}")
    top_people = Counter(d.userid for d in dups).most_common(5)
    if top_people:
        print("    most to: " + ", ".join(f"{who(u)} {n}" for u, n in top_people))
    n_ops, subject = max_cards_per_subject(sent, OPS)
    print(f"Ops manager's most cards of one alert  {n_ops:5d}   goal ≤ 1   ({subject or '-'})")
    n_boss, _ = max_cards_per_subject(sent, BOSS)
    with sim.rt.uow(read_only=True) as uow:
        created = {i: aware(c, sim.tz) for i, c in uow.session.execute(select(Notice.id, Notice.created_at))}
    quiet = getattr(policy, "quiet_hours", None) or (dt_time(22, 0), dt_time(7, 0))

    def in_quiet(t: datetime) -> bool:
        local = t.astimezone(sim.tz).time()
        lo, hi = quiet
        return (lo <= local or local < hi) if lo > hi else lo <= local < hi

    boss_cards = [s for s in sent if s.kind == NEW_CARD and BOSS in s.userids]
    boss_quiet = sum(in_quiet(created[int(s.pos)]) for s in boss_cards)
    print(f"Executive's most cards of one alert    {n_boss:5d};  cards in quiet hours "
          f"({quiet[0]:%H:%M}-{quiet[1]:%H:%M}) {boss_quiet} of {len(boss_cards)}")
    per_shift: Counter[tuple[str, datetime]] = Counter()
    for s in sent:
        if s.kind == NEW_CARD and s.subject and s.subject.startswith("alert:") and "提醒" in s.label:
            per_shift[(s.subject, policy.plant.shift_of(created[int(s.pos)]).start)] += 1
    most = max(per_shift.values(), default=0)
    print(f"Most reminder cards of one alert in one shift  {most:3d}   goal ≤ "
          f"{getattr(policy, 'reminders_per_shift', '-')} (ALERT_REMINDERS_PER_SHIFT)")

    with sim.rt.uow(read_only=True) as uow:
        alerts = [Row(rule=a.rule, fired_at=a.fired_at, acknowledged_at=a.acknowledged_at, closed_at=a.closed_at,
                      closed_by_id=a.closed_by_id)
                  for a in uow.session.scalars(select(Alert).where(Alert.fired_at >= sim.start))]
        tickets = [Row(id=t.id, exception_id=t.exception_id, opened_at=t.opened_at, accepted_at=t.accepted_at,
                       finished_at=t.finished_at, escalated_at=getattr(t, "escalated_at", None))
                   for t in uow.session.scalars(select(RepairTicket))]
        leads = {p.userid for p in uow.session.scalars(select(Person)) if p.has_role(Role.MAINTENANCE_LEAD)}
    fired = Counter(a.rule for a in alerts)
    ack = [m for a in alerts if (m := minutes(a.fired_at, a.acknowledged_at)) is not None]
    closed = [m for a in alerts if (m := minutes(a.fired_at, a.closed_at)) is not None]
    by_hand = [m for a in alerts if a.closed_by_id is not None and (m := minutes(a.fired_at, a.closed_at)) is not None]
    print(line)
    print(f"Alerts fired {len(alerts)}: " + ", ".join(f"{k} {v}" for k, v in sorted(fired.items())))
    print(f"  to acknowledge (min)  median {fmt(percentile(ack, 50)):>5}  p90 {fmt(percentile(ack, 90)):>5}   "
          f"({len(ack)} acknowledged, {len(alerts) - len(ack)} never)")
    print(f"  to close (min)        median {fmt(percentile(closed, 50)):>5}  p90 {fmt(percentile(closed, 90)):>5}   "
          f"({len(closed)} closed, {len(alerts) - len(closed)} still open at the end)")
    print(f"    closed by a person  median {fmt(percentile(by_hand, 50)):>5}  p90 {fmt(percentile(by_hand, 90)):>5}   "
          f"({len(by_hand)}; the rest cleared by themselves)")
    print("Alerts left open at handover (the round at the shift's end):")
    for at, n, rules in sim.handovers:
        print(f"  {at.astimezone(sim.tz):%m-%d %H:%M}  {n:4d}   " + ", ".join(f"{k} {v}" for k, v in sorted(rules.items())))

    print(line)
    ticket_sends: dict[int, list[tuple[float, str]]] = defaultdict(list)
    for s in ticket_cards:
        assert s.subject is not None
        for u in s.userids:
            ticket_sends[int(s.subject.split(":")[1])].append((s.pos, u))

    def reached(ticket_id: int | None) -> bool:
        if ticket_id is None:
            return False
        for pos, u in ticket_sends.get(ticket_id, []):
            at = created[int(pos)]
            if Role.TECHNICIAN in sim.roles.get(u, set()) and policy.plant.on_duty(u, at):
                return True
        return False

    by_exc = {t.exception_id: t.id for t in tickets if t.exception_id is not None}
    with_press = [f for f in sim.faults if f["machine"]]
    without = [f for f in sim.faults if not f["machine"]]
    ok = [f for f in with_press if reached(f["ticket_id"] or by_exc.get(f["exception_id"]))]
    print(f"Equipment faults {len(sim.faults)}: with a press {len(with_press)} "
          f"(typed {sum(f['how'] == 'typed' for f in with_press)}, from the work order "
          f"{sum(f['how'] == 'work_order' for f in with_press)}), without {len(without)}")
    print(f"  with a press, dispatched to a technician on duty  {len(ok):3d} / {len(with_press)}   goal all")
    print(f"  with a press, never dispatched                    {len(with_press) - len(ok):3d}   goal 0")
    late = [f for f in without if reached(by_exc.get(f["exception_id"]))]
    print(f"  without a press, dispatched later (press asked)   {len(late):3d} / {len(without)}")
    print(f"  转维修 tapped {sim.tally['转维修 tapped']}, refused {sim.tally['转维修 refused']}")
    sim_tickets = [t for t in tickets if aware(t.opened_at, sim.tz) >= sim.start]
    first_sent = {tid: min(p for p, _ in sends) for tid, sends in ticket_sends.items()}
    response: Counter[str] = Counter()
    for t in sim_tickets:
        first = created[int(first_sent[t.id])] if t.id in first_sent else None
        response[bucket(minutes(first, t.accepted_at) if first and t.accepted_at else None)] += 1
    order = [label for _, label in BUCKETS] + [">60 分钟", "未接单"]
    print(f"Repairs opened {len(sim_tickets)} by response (first dispatch → 接单): "
          + ", ".join(f"{k} {response[k]}" for k in order))
    redispatch = sum(max(0, len(v) - 1) for v in ticket_sends.values())
    most = max((len(v) - 1 for v in ticket_sends.values()), default=0)
    print(f"  re-dispatches {redispatch} (ticket cards beyond each ticket's first; most for one ticket {most}, "
          f"cap {getattr(policy, 'max_redispatch', '-')}); rounds that re-dispatched: {sim.tally['round: redispatched']}")
    done = [m for t in sim_tickets if (m := minutes(t.opened_at, t.finished_at)) is not None]
    print(f"  repaired {len(done)}: opened → 完成 median {fmt(percentile(done, 50))} min, p90 {fmt(percentile(done, 90))}")
    escalated = [t for t in tickets if getattr(t, "escalated_at", None) is not None]
    to_leads = sum(1 for s in sent if set(s.userids) & leads)
    print(f"  escalated to the maintenance lead {len(escalated)} tickets; messages to 设备主管 {to_leads}"
          + ("" if leads else " (the demo plant has no 设备主管)"))
    print(line)
    print(f"Rounds {len(sim.tick_seconds)} every {sim.step.total_seconds() / 60:.0f} min: escalated "
          f"{sim.tally['round: escalated']}, reminded {sim.tally['round: reminded']}; round time median "
          f"{(percentile(sim.tick_seconds, 50) or 0) * 1000:.0f} ms, max {max(sim.tick_seconds) * 1000:.0f} ms")
    print(f"People who never answer: {', '.join(who(u) for u in sim.silent)}, and every 陈总/admin/worker; "
          f"(person, alert) pairs left unanswered by chance or silence {sim.tally['cards never answered (person, alert)']}, "
          f"ticket cards unanswered {sim.tally['ticket cards never answered']}")
    acted = {k: v for k, v in sim.tally.items() if k.startswith(("acknowledged", "closed", "repair "))}
    print("Actions: " + ", ".join(f"{k} {v}" for k, v in acted.items())
          + f"; reports {sim.tally['reports']}")
    print(f"Actions refused {sim.tally['actions refused']}: "
          + ("; ".join(f"{k} ×{v}" for k, v in sim.refusals.most_common()) or "-"))
    print(f"Wall time {wall:.1f} s")


# --- main --------------------------------------------------------------------------------------------------


def database(arg: str | None, workdir: Path) -> tuple[str, Callable[[], None]]:
    arg = arg or os.environ.get("DATABASE_URL") or "sqlite"
    if arg == "sqlite":
        url = f"sqlite:///{workdir}/loop.db"
        upgrade(url)
        return url, lambda: None
    if arg == "postgres":
        from bench.soak_stack import drop_database, make_database  # PostgreSQL only: a throw-away database

        url, name = make_database("postgres", workdir)
        return url, (lambda: drop_database(name)) if name else (lambda: None)
    upgrade(arg)
    return arg, lambda: None


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--db", default=None, help="sqlite (default) | postgres (a throw-away database) | an empty "
                        "database's URL; default: DATABASE_URL if set, else sqlite")
    parser.add_argument("--step", type=int, default=5, help="minutes between rounds (the service: 2)")
    parser.add_argument("--top", type=int, default=10, help="people listed by cards received")
    args = parser.parse_args()
    wall = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="factorybot-loop-"))
    url, cleanup = database(args.db, workdir)
    try:
        rt = Runtime.build(Settings(database_url=url))
        tz = rt.alert_policy.tz
        start = datetime(DEMO_DAY.year, DEMO_DAY.month, DEMO_DAY.day, 12, 0, tzinfo=tz)  # the demo's "now"
        with rt.uow() as uow:
            try:
                load_demo_plant(uow, today=DEMO_DAY, policy=rt.policy)
            except DomainError as exc:  # a database with a plant in it already: never touched
                sys.exit(f"{url.split('@')[-1]}: {exc} (alert_loop needs an empty database)")
            try:  # as `factorybot demo` does: its one recorded KIS failure shows the KIS rule
                from factorybot.demo_cmd import DEMO_NO_KIS
                from kis import state as sync_state
                sync_state.record_failure(uow, sync_state.PULL, start, DEMO_NO_KIS).retry_at = None
            except ImportError:
                pass
            uow.commit()
        rt.calendar.refresh()
        sim = Sim(rt, args.seed, start, start + timedelta(days=args.days), timedelta(minutes=args.step),
                  random.Random(args.seed), tz, top=args.top)
        sim.plan()
        print(f"Demo plant on {DEMO_DAY}, {url.split(':')[0]}, seed {args.seed}: simulating "
              f"{start:%m-%d %H:%M} → {sim.end:%m-%d %H:%M} (白班 08:00-20:00 甲班, 夜班 20:00-08:00 乙班), "
              f"a round every {args.step} min")
        sim.run()
        report(sim, read_outbox(sim), time.perf_counter() - wall)
        rt.engine.dispose()
    finally:
        cleanup()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
