"""The ledger check at the end of a soak: what the simulated workers were told, against what the database
counted and what the fake WeCom delivered.

- every report a worker was told was accepted (or whose delivery WeCom took as answered, or gave up on,
  without a refusal) is counted exactly once, with the quantities sent; a refused one is not counted;
- each operation's totals are the sum of its counted reports (nothing counted twice, nothing lost between);
- every alert card is delivered once to each of its recipients, and each 现场异常 went to the right people;
- every report card a scan was answered with, and every "please arrange the next operation" notice, reaches
  its recipient once;
- nothing is left pending: no notice unsent, no Celery message queued or unacknowledged, no dedup claim
  still pending.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from bench.soak_plant import PEOPLE, ROUTE, exception_recipients
from bench.soak_stack import CELERY_QUEUE, Stack
from bench.soak_traffic import Journal
from bot.dedup import PENDING
from domain.db import make_engine
from domain.models import (
    Alert,
    AlertCard,
    Notice,
    Operation,
    ProcessedMessage,
    ShopException,
    WorkOrder,
    WorkReport,
)

# Celery beat runs these every few seconds and each run does all that is due: one left unacknowledged by a
# killed worker has had its work done by the next.
REPEATED_ROUNDS = frozenset({"alerts.deliver", "alerts.tick", "outbox.deliver"})


def _task_name(raw: bytes) -> str:
    try:
        message = json.loads(raw)[0]
        return str(message.get("headers", {}).get("task") or "?")
    except (ValueError, IndexError, AttributeError, TypeError):
        return "?"


def delivered(call: dict[str, Any]) -> bool:
    """A message/send the fake accepted and delivered (not refused, not a fault, not a duplicate it dropped)."""
    return (call.get("status") == 200 and call.get("errcode") == 0 and not call.get("duplicate")
            and not call.get("deduplicated"))


def leads_of(workshop: str) -> list[str]:
    """Who is told to arrange a workshop's next operation (domain/services/people.py workshop_leads)."""
    for role in ("team_lead", "supervisor"):
        found = [u for u, _, roles, shop in PEOPLE if shop == workshop and roles == role]
        if found:
            return found
    return []


@dataclass
class Pending:
    notices_unsent: int = 0
    notices_failed: int = 0  # refused for good: shown to the admin, resent by `factorybot outbox retry`
    celery_queued: int = 0
    celery_unacked: int = 0
    unacked_tasks: Counter[str] = field(default_factory=Counter)
    celery_unacked_rounds: Counter[str] = field(default_factory=Counter)  # not counted: see pending()
    dedup_pending_redis: int = 0
    dedup_pending_db: int = 0

    @property
    def total(self) -> int:
        return self.moving + self.notices_failed

    @property
    def moving(self) -> int:
        """What the service is still working through by itself (a failed notice waits for the admin)."""
        return (self.notices_unsent + self.celery_queued + self.celery_unacked + self.dedup_pending_redis
                + self.dedup_pending_db)


def pending(stack: Stack) -> Pending:
    out = Pending()
    engine = make_engine(stack.db_url)
    try:
        with engine.connect() as conn:
            # With the message outbox a notice has a state (pending → sending → sent, or failed): anything
            # but sent is not delivered. Before it, an unsent notice had no sent_at.
            state = getattr(Notice, "state", None)
            unsent = Notice.sent_at.is_(None) if state is None else state.in_(("pending", "sending"))
            out.notices_unsent = conn.scalar(select(func.count()).select_from(Notice).where(unsent)) or 0
            if state is not None:
                out.notices_failed = conn.scalar(select(func.count()).select_from(Notice)
                                                 .where(state == "failed")) or 0
            out.dedup_pending_db = conn.scalar(select(func.count()).select_from(ProcessedMessage)
                                               .where(ProcessedMessage.reply_xml.is_(None))) or 0
    finally:
        engine.dispose()
    client = stack.redis_client()
    try:
        out.celery_queued = int(client.llen(CELERY_QUEUE))
        # Messages a worker took and never acknowledged (it was killed): kombu gives them to another worker
        # only after the visibility timeout (an hour by default). A periodic round (the outbox, the alert
        # round) that beat has run again since leaves no work undone; any other task does.
        for raw in client.hvals("unacked"):
            name = _task_name(raw)
            if name in REPEATED_ROUNDS:
                out.celery_unacked_rounds[name] += 1
            else:
                out.celery_unacked += 1
                out.unacked_tasks[name] += 1
        for key in client.scan_iter("wecom:seen:*", count=1000):
            value = client.get(key)
            if value is not None and value.decode(errors="replace").startswith(PENDING):
                out.dedup_pending_redis += 1
    finally:
        client.close()
    return out


@dataclass
class Ledger:
    # reports
    reports_sent: int = 0
    reports_acked: int = 0
    reports_refused: int = 0
    refusals: Counter[str] = field(default_factory=Counter)  # the reply's first words: why reports were refused
    reports_counted: int = 0
    reports_lost: int = 0
    lost_by_answer: Counter[str] = field(default_factory=Counter)  # acked | empty | given_up
    reports_doubled: int = 0
    reports_wrong_qty: int = 0
    reports_phantom: int = 0  # refused to the worker, counted all the same
    reports_given_up_counted: int = 0
    unknown_rows: int = 0
    op_mismatches: list[str] = field(default_factory=list)
    # alert cards
    exceptions_acked: int = 0
    exceptions_lost: int = 0
    exceptions_phantom: int = 0
    exceptions_without_card: int = 0
    exceptions_misrouted: int = 0
    alert_cards: int = 0
    alert_cards_expected: int = 0  # card × recipient
    alert_cards_delivered: int = 0
    alert_cards_missing: int = 0
    alert_cards_doubled: int = 0
    # direct messages
    scan_cards_expected: int = 0
    scan_cards_delivered: int = 0
    scan_cards_missing: int = 0
    scan_cards_doubled: int = 0
    notices_expected: int = 0
    notices_delivered: int = 0
    notices_missing: int = 0
    notices_doubled: int = 0
    pending: Pending = field(default_factory=Pending)
    examples: list[str] = field(default_factory=list)

    def note(self, line: str) -> None:
        if len(self.examples) < 25:
            self.examples.append(line)

    @property
    def failures(self) -> list[str]:
        checks = {
            "reports lost": self.reports_lost, "reports doubled": self.reports_doubled,
            "reports with wrong quantities": self.reports_wrong_qty,
            "reports refused yet counted": self.reports_phantom, "rows nobody sent": self.unknown_rows,
            "operation totals off": len(self.op_mismatches), "exceptions lost": self.exceptions_lost,
            "exceptions refused yet opened": self.exceptions_phantom,
            "exceptions without an alert card": self.exceptions_without_card,
            "exception cards to the wrong people": self.exceptions_misrouted,
            "alert cards missing": self.alert_cards_missing, "alert cards doubled": self.alert_cards_doubled,
            "scan cards missing": self.scan_cards_missing, "scan cards doubled": self.scan_cards_doubled,
            "next-operation notices missing": self.notices_missing,
            "next-operation notices doubled": self.notices_doubled, "left pending": self.pending.total,
        }
        return [f"{name}: {n}" for name, n in checks.items() if n]


def check(stack: Stack, journal: Journal) -> Ledger:
    assert stack.fake is not None
    led = Ledger()
    sends = stack.fake.calls(path="message/send")
    engine = make_engine(stack.db_url)
    try:
        with engine.connect() as conn:
            rows = {k: (g, d, op) for k, g, d, op in conn.execute(
                select(WorkReport.source_key, WorkReport.good_qty, WorkReport.defect_qty, WorkReport.operation_id))}
            ops = list(conn.execute(select(Operation.id, Operation.seq, Operation.name, Operation.good_qty,
                                           Operation.defect_qty, Operation.status, WorkOrder.code)
                                    .join(WorkOrder, WorkOrder.id == Operation.work_order_id)))
            exceptions = {k: i for i, k in conn.execute(select(ShopException.id, ShopException.source_key))}
            alerts = {s: i for i, s in conn.execute(select(Alert.id, Alert.subject_key))}
            cards = list(conn.execute(select(AlertCard.alert_id, AlertCard.task_id, AlertCard.userids,
                                             AlertCard.level)))
    finally:
        engine.dispose()
    _reports(led, journal, rows, ops, sends)
    _alerts(led, journal, exceptions, alerts, cards, sends)
    _direct(led, journal, ops, sends)
    led.pending = pending(stack)
    return led


def _reports(led: Ledger, journal: Journal, rows: dict[str, tuple[int, int, int]], ops: list[Any],
             sends: list[dict[str, Any]]) -> None:
    sent_keys = set()
    for r in journal.reports:
        sent_keys.add(r.source_key)
        led.reports_sent += 1
        status = r.status
        if status == "empty" and r.via == "card" and _refusal_text_after(sends, r.delivery.userid, r.delivery.started):
            status = "refused"  # a card tap's refusal comes as a text message, its passive reply is empty
        row = rows.get(r.source_key)
        led.reports_acked += status == "acked"
        led.reports_refused += status == "refused"
        if status == "refused":
            led.refusals[_content(r.delivery.reply)[:20] or "(text after an empty answer)"] += 1
        if row is not None:
            led.reports_counted += 1
            led.reports_given_up_counted += status == "given_up"
            if (row[0], row[1]) != (r.good, r.defect):
                led.reports_wrong_qty += 1
                led.note(f"{r.source_key}: sent {r.good}/{r.defect}, counted {row[0]}/{row[1]}")
            if status == "refused":
                led.reports_phantom += 1
                led.note(f"{r.source_key}: refused ({_content(r.delivery.reply)!r}) yet counted")
        elif status != "refused":
            led.reports_lost += 1
            led.lost_by_answer[status] += 1
            led.note(f"{r.source_key} ({r.via} {r.wo} {r.good}/{r.defect}) lost: answered {status} "
                     f"after {r.delivery.attempts}")
    led.unknown_rows = len(set(rows) - sent_keys)
    sums: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for good, defect, op_id in rows.values():
        sums[op_id][0] += good
        sums[op_id][1] += defect
    for op_id, _seq, name, good, defect, _status, code in ops:
        if [good, defect] != sums[op_id]:
            led.op_mismatches.append(f"{code} {name}: totals {good}/{defect}, reports add up to {sums[op_id]}")
            if good + defect > sum(sums[op_id]):
                led.reports_doubled += 1


def _alerts(led: Ledger, journal: Journal, exceptions: dict[str, int], alerts: dict[str, int],
            cards: list[Any], sends: list[dict[str, Any]]) -> None:
    by_alert: dict[int, list[Any]] = defaultdict(list)
    for card in cards:
        by_alert[card.alert_id].append(card)
    for e in journal.exceptions:
        exc_id = exceptions.get(e.source_key)
        led.exceptions_acked += e.acked
        answered_refusal = e.delivery.answered and e.delivery.reply and not e.acked
        if exc_id is None:
            if not answered_refusal:
                led.exceptions_lost += 1
                led.note(f"exception {e.source_key} lost after {e.delivery.attempts}")
            continue
        if answered_refusal:
            led.exceptions_phantom += 1
        alert_id = alerts.get(f"exc:{exc_id}")
        first = [c for c in by_alert.get(alert_id or -1, []) if c.level == 0]
        if not first:
            led.exceptions_without_card += 1
            led.note(f"exception #{exc_id} has no alert card")
            continue
        got = {u for c in first for u in c.userids.split("|")}
        if got != exception_recipients("注塑车间"):
            led.exceptions_misrouted += 1
            led.note(f"exception #{exc_id} card to {sorted(got)}")
    per_card: dict[str, Counter[str]] = defaultdict(Counter)
    for call in sends:
        task_id = ((call.get("json") or {}).get("template_card") or {}).get("task_id")
        if task_id and delivered(call):
            for user in call["touser"]:
                per_card[task_id][user.lower()] += 1
    for card in cards:
        led.alert_cards += 1
        for user in card.userids.split("|"):
            led.alert_cards_expected += 1
            n = per_card[card.task_id][user.lower()]
            led.alert_cards_delivered += min(n, 1)
            if n == 0:
                led.alert_cards_missing += 1
                led.note(f"alert card {card.task_id} never reached {user}")
            elif n > 1:
                led.alert_cards_doubled += 1
                led.note(f"alert card {card.task_id} reached {user} {n} times")


def _direct(led: Ledger, journal: Journal, ops: list[Any], sends: list[dict[str, Any]]) -> None:
    per_card: dict[str, Counter[str]] = defaultdict(Counter)
    texts: list[tuple[str, str]] = []
    for call in sends:
        if not delivered(call):
            continue
        body = call.get("json") or {}
        task_id = (body.get("template_card") or {}).get("task_id")
        for user in call["touser"]:
            if task_id:
                per_card[task_id][user.lower()] += 1
            elif body.get("msgtype") == "text":
                texts.append((user.lower(), body["text"]["content"]))
    for scan in journal.scans:
        if scan.task_id is None:
            continue
        led.scan_cards_expected += 1
        n = per_card[scan.task_id][scan.delivery.userid.lower()]
        led.scan_cards_delivered += min(n, 1)
        if n == 0:
            led.scan_cards_missing += 1
            led.note(f"scan card {scan.task_id} never reached {scan.delivery.userid}")
        elif n > 1:
            led.scan_cards_doubled += 1
            led.note(f"scan card {scan.task_id} reached {scan.delivery.userid} {n} times")
    names = [name for name, _ in ROUTE]
    for _op_id, seq, name, _good, _defect, status, code in ops:
        if str(status).lower().rsplit(".", 1)[-1] != "done" or seq >= len(ROUTE):
            continue
        next_name, next_shop = ROUTE[seq]
        assert names[seq - 1] == name
        for lead in leads_of(next_shop):
            led.notices_expected += 1
            n = sum(1 for user, text in texts if user == lead and text.startswith(f"{name}完成 ")
                    and f"请安排{next_name}\n工单 {code} " in text)
            led.notices_delivered += min(n, 1)
            if n == 0:
                led.notices_missing += 1
                led.note(f"{code} {name} done: {lead} was never told to arrange {next_name}")
            elif n > 1:
                led.notices_doubled += 1
                led.note(f"{code} {name} done: {lead} told {n} times")


def _refusal_text_after(sends: list[dict[str, Any]], userid: str, since: float) -> bool:
    for call in sends:
        body = call.get("json") or {}
        if (delivered(call) and call.get("time", 0) >= since - 1 and userid.lower() in (u.lower() for u in call["touser"])
                and body.get("msgtype") == "text" and not body["text"]["content"].startswith("已完成")):
            return True
    return False


def _content(reply_xml: str) -> str:
    if "<Content>" in reply_xml:
        return reply_xml.split("<Content>", 1)[1].split("</Content>", 1)[0].removeprefix("<![CDATA[")[:80]
    return reply_xml[:80]
