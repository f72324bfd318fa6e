"""The handover (交接班) in the alert round: one card to both leads at each shift's end, 确认接班 from the
card, and 交接班未确认 when nobody confirms it within the ack time.

The facts and the rules of who may confirm live in domain/services/handover.py; here: the round, the card
and the alert.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from alerts.engine import EvalResult, apply
from alerts.policy import AlertPolicy
from alerts.rules import RULE_LABELS, Finding, plant_closed
from alerts.store import clear
from domain.models import Handover
from domain.services import handover as service
from domain.services.outbox import queue_message
from domain.uow import UnitOfWork
from wecom.cards import Button, button_card, make_task_id

HANDOVER_UNACKED = "handover_unacked"
CARD_VALUE_CHARS = 60
CARD_SOURCE = "FactoryBot 交接班"


def subject_key(row: Handover) -> str:
    return f"handover:{row.id}"


def _joined(items: list[str], empty: str = "无") -> str:
    if not items:
        return empty
    text = "；".join(items)
    if len(text) <= CARD_VALUE_CHARS:
        return text
    return text[:CARD_VALUE_CHARS - 6].rstrip("；") + f"…共{len(items)}项"


def handover_card(row: Handover, policy: AlertPolicy, acknowledged_by: str | None) -> dict[str, Any]:
    f = row.facts
    assert row.task_id is not None  # set when the row is made
    rows = [
        ("产量/计划", _joined([service.press_line(p) for p in f.get("presses", [])], "本班无计划")),
        ("未结异常", _joined([service.exception_line(e) for e in f.get("exceptions", [])])),
        ("未结维修", _joined([service.repair_line(r) for r in f.get("repairs", [])])),
        ("未关预警", _joined([service.alert_line(a) for a in f.get("alerts", [])])),
        ("换模", _joined(list(f.get("moulds", [])))),
        ("下班开工", _joined([service.work_order_line(w) for w in f.get("next_work_orders", [])])),
    ]
    if row.acknowledged_at is None:
        buttons = [Button("确认接班", f"handover:ack:{row.id}", style=1)]
    else:
        buttons = [Button("已接班", f"handover:noop:{row.id}", style=2)]
    nxt = f" → {f['next']}" if f.get("next") else ""
    return button_card(
        task_id=row.task_id,
        title=f"【交接班】{f.get('label', row.shift)}{nxt}",
        desc=f"交班：{service.side_text(f.get('outgoing', {}))} → 接班：{service.side_text(f.get('incoming', {}))}",
        sub_title=service.state_text(row, policy.tz, acknowledged_by),
        rows=rows,
        buttons=buttons,
        source_desc=CARD_SOURCE,
    )


def make_and_send(uow: UnitOfWork, policy: AlertPolicy, now: datetime) -> Handover | None:
    """The handover of the shift that has just ended, and its one card to both leads (None: none new)."""
    row = service.make_handover(uow, policy.plant, now, alert_labels=RULE_LABELS)
    if row is None:
        return None
    row.task_id = make_task_id("handover", row.day.isoformat(), row.shift, row.id)
    uow.flush()
    queue_message(uow, service.recipients(row), now, card=handover_card(row, policy, None),
                  key=f"handover_card:{row.id}")
    return row


def _finding(row: Handover, policy: AlertPolicy) -> Finding:
    f = row.facts
    label = f.get("label", f"{row.day:%m-%d} {row.shift}")
    presses = f.get("presses", [])
    workshops = {p["workshop"] for p in presses}
    return Finding(HANDOVER_UNACKED, subject_key(row), f"{label} 交接班未确认（接班：{service.side_text(f.get('incoming', {}))}）",
                   workshops.pop() if len(workshops) == 1 else None,
                   {"班次": label, "交班": service.side_text(f.get("outgoing", {})),
                    "接班": service.side_text(f.get("incoming", {})),
                    "时间": row.shift_end.astimezone(policy.tz).strftime("%m-%d %H:%M")})


def ack_due(row: Handover, policy: AlertPolicy) -> datetime:
    """When nobody having confirmed a handover becomes an alert: the ack time after the incoming shift
    starts (the next working shift: Saturday night's handover waits for Monday's lead, not Sunday's nobody),
    or after the card was made if that was later (a card made late gets its whole ack time)."""
    incoming = policy.plant.next_shift(row.shift_start)
    since = row.created_at if incoming is None else max(incoming.start, row.created_at)
    return since + policy.ack_within


def evaluate_unacked(uow: UnitOfWork, policy: AlertPolicy, now: datetime, result: EvalResult) -> None:
    """交接班未确认: a handover nobody confirmed within the ack time (ack_due); it clears once it is confirmed.
    Nothing fires while the plant is closed (nobody is there to confirm); the alerts already open stay."""
    rows = [r for r in service.unacknowledged(uow, made_before=now) if ack_due(r, policy) <= now]
    findings = [_finding(r, policy) for r in rows]
    if plant_closed(now, policy):
        apply(uow, policy, HANDOVER_UNACKED, [], now, result, keep={f.subject_key for f in findings})
    else:
        apply(uow, policy, HANDOVER_UNACKED, findings, now, result)
    still = service.open_alert_count(uow, HANDOVER_UNACKED)
    if still:
        result.by_rule[HANDOVER_UNACKED] = still
    else:
        result.by_rule.pop(HANDOVER_UNACKED, None)


def handover_round(uow: UnitOfWork, policy: AlertPolicy, now: datetime, result: EvalResult) -> Handover | None:
    made = make_and_send(uow, policy, now)
    evaluate_unacked(uow, policy, now, result)
    return made


def acknowledge(uow: UnitOfWork, policy: AlertPolicy, *, handover_id: int, userid: str, now: datetime,
                response_code: str) -> service.AckResult:
    """确认接班 from the card: recorded, its alert cleared, and every copy of the card shows who and when."""
    result = service.acknowledge_handover(uow, handover_id=handover_id, userid=userid, now=now)
    if not result.changed:
        return result
    row = service.get_handover(uow, handover_id)
    assert row is not None  # just acknowledged
    clear(uow, rule=HANDOVER_UNACKED, subject_key=subject_key(row), now=now)
    if response_code:
        # The tap's own code updates the card for everyone it was sent to (one send to both leads).
        queue_message(uow, service.recipients(row), now,
                      card=handover_card(row, policy, service.acknowledger_name(uow, row)),
                      response_code=response_code, key=f"handover_ack:{row.id}")
    return result
