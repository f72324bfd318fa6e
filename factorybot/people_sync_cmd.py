"""`factorybot people sync`: read WeCom's address book (HTTP, before any transaction), then plan and apply."""

from __future__ import annotations

from typing import Any

from domain.services.people_sync import NEW_PERSON_ROLE, Department, Directory, Member, SyncPlan
from domain.vocab import ROLE_LABELS
from wecom.client import WeComClient


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def directory_from_wecom(departments: list[dict[str, Any]], members: list[dict[str, Any]]) -> Directory:
    """department/list and user/list answers as the domain's plain values."""
    return Directory(
        departments=tuple(Department(_int(d.get("id")), str(d.get("name") or d.get("id")), _int(d.get("parentid")))
                          for d in departments),
        members=tuple(
            Member(str(m["userid"]), str(m.get("name") or m["userid"]),
                   tuple(_int(x) for x in m.get("department") or []),
                   _int(m["main_department"]) if m.get("main_department") is not None else None,
                   _int(m.get("status"), 1))
            for m in members if m.get("userid")
        ),
    )


def read_directory(client: WeComClient) -> Directory:
    """Every department the app may see, and the members of each (user/list per department, so a member of
    a sub-department is read whether or not WeCom still honours fetch_child)."""
    departments = client.list_departments()
    members: list[dict[str, Any]] = []
    for dept in departments:
        members += client.list_members(_int(dept.get("id")))
    return directory_from_wecom(departments, members)


def summary_lines(plan: SyncPlan, *, dry_run: bool) -> list[str]:
    """The admin's read-out: every person added, changed or deactivated, by name."""
    verb = "将" if dry_run else ""
    lines = ["仅预览，未做修改。"] if dry_run else []
    lines.append(f"企业微信通讯录：{plan.departments} 个部门，{plan.members} 名在职成员。")
    if plan.added:
        lines.append(f"{verb}新增 {len(plan.added)} 人（角色：{ROLE_LABELS[NEW_PERSON_ROLE]}，其他角色请用 people import 设置）：")
        lines += [f"· {a.userid} {a.name}（{a.workshop or '未对应车间'}）" for a in plan.added]
    if plan.updated:
        lines.append(f"{verb}更新 {len(plan.updated)} 人：")
        for u in plan.updated:
            what = "；".join(f"{c.field} {c.old} → {c.new}" for c in u.changes)
            lines.append(f"· {u.userid} {u.name}：{what}")
    if plan.deactivated:
        lines.append(f"{verb}停用 {len(plan.deactivated)} 人（其报工记录和积分保留）：")
        lines += [f"· {d.userid} {d.name}（{d.reason}）" for d in plan.deactivated]
    if not plan.changes:
        lines.append("人员名单已与通讯录一致，无需修改。")
    else:
        lines.append(f"未变化 {plan.unchanged} 人。")
    if dry_run and plan.changes:
        lines.append("确认无误后去掉 --dry-run 执行同步。")
    elif plan.changes:
        lines.append("同步完成。")
    return lines
