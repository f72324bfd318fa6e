"""The alert card: facts, state, and 认领 / 已处理 (/ 转维修 where a press needs a technician) until closed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from alerts.policy import AlertPolicy
from alerts.rules import EXCEPTION, RULE_LABELS
from alerts.severity import LABELS as SEVERITY_LABELS
from domain.models import Alert, Person
from domain.uow import UnitOfWork
from domain.vocab import ROLE_ALIASES, AlertStatus
from wecom.cards import MAX_ROWS, Button, button_card

# PostgreSQL keeps JSON objects as JSONB, which reorders their keys: the card shows facts in this order.
FACT_ORDER = ("订单", "工单", "产品", "车间", "班次", "机台", "模具", "类型", "报告人", "说明", "计划开工", "检查点",
              "应完成", "实际完成", "完成率", "当日计划", "班次计划", "前一单", "本单", "上限", "维修单", "已派给", "等待",
              "时间", "预计完工", "原因", "建议")
REMINDER = "【未关闭提醒】"
# 转维修 needs a press to send a technician to, and only a fault report is about one: a late start or a
# defect streak names a press too, but a technician is not what fixes it; a waiting repair already has its
# ticket (the round moves it on, then tells the 设备主管), so 转维修 there would only close the alarm.
REPAIRABLE = (EXCEPTION,)


def can_repair(alert: Alert) -> bool:
    machine = str(alert.facts.get("机台") or "").strip()
    return alert.rule in REPAIRABLE and machine not in ("", "-")


def people_by_id(uow: UnitOfWork, ids: set[int | None]) -> dict[int, Person]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return {p.id: p for p in uow.session.scalars(select(Person).where(Person.id.in_(wanted)))}


def level_label(policy: AlertPolicy, level: int) -> str:
    """The people a level of the chain reaches, by role: "运营经理", "管理层"."""
    roles = policy.level_roles(level)
    return "/".join(ROLE_ALIASES[r].label if r in ROLE_ALIASES else r for r in roles)


def _who(person: Person | None) -> str:
    return person.name if person else "系统"


def state_line(alert: Alert, policy: AlertPolicy, people: dict[int, Person]) -> str:
    if alert.status == AlertStatus.CLOSED:
        when = policy.local(alert.closed_at).strftime("%H:%M") if alert.closed_at else ""
        who = _who(people.get(alert.closed_by_id)) if alert.closed_by_id else "系统"
        return f"已关闭：{who} {when}（{alert.resolution or '已处理'}）"
    if alert.status == AlertStatus.ACKNOWLEDGED:
        when = policy.local(alert.acknowledged_at).strftime("%H:%M") if alert.acknowledged_at else ""
        return f"已认领：{_who(people.get(alert.acknowledged_by_id or 0))} {when}，处理中"
    fired = f"触发于 {policy.local(alert.fired_at).strftime('%m-%d %H:%M')}"
    if alert.level > 0:
        # Everyone who already has the card sees it climb, instead of getting it again as a new card.
        return f"待认领 · 已升级至 {level_label(policy, alert.level)}（第 {alert.level} 级）· {fired}"
    return f"待认领 · {fired}"


def ordered_facts(facts: dict[str, Any]) -> list[tuple[str, Any]]:
    rank = {k: i for i, k in enumerate(FACT_ORDER)}
    return sorted(facts.items(), key=lambda kv: rank.get(kv[0], len(FACT_ORDER)))


def severity_tag(alert: Alert) -> str:
    label = SEVERITY_LABELS.get(alert.severity or "")
    return f"【{label}】" if label else ""


def alert_card(alert: Alert, *, task_id: str, policy: AlertPolicy, people: dict[int, Person],
               prefix: str = "") -> dict[str, Any]:
    rows = [(k, str(v)[:40]) for k, v in ordered_facts(alert.facts)[:MAX_ROWS]]
    if alert.status == AlertStatus.CLOSED:
        buttons = [Button("已关闭", f"alert:noop:{alert.id}", style=2)]
    else:
        buttons = [Button("已处理", f"alert:close:{alert.id}", style=1)]
        if can_repair(alert):
            buttons.append(Button("转维修", f"alert:repair:{alert.id}", style=3))
        if alert.status == AlertStatus.OPEN:
            buttons.insert(0, Button("认领", f"alert:ack:{alert.id}", style=1))
    return button_card(
        task_id=task_id,
        title=f"{prefix}{severity_tag(alert)}【{RULE_LABELS.get(alert.rule, alert.rule)}】#{alert.id}",
        desc=alert.title,
        sub_title=state_line(alert, policy, people),
        rows=rows,
        buttons=buttons,
        source_desc="FactoryBot 预警",
        url=policy.detail_url(alert.facts),
    )
