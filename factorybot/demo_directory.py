"""The demo plant's WeCom address book, held by the demo's fake WeCom for `factorybot people sync --demo`.

It is the demo's people as WeCom would list them a few weeks after the people file was imported: two new
hires, one worker moved from finishing to moulding, one who left and one whose account was disabled. So a
dry run against the demo has something real to show, and the departments are named as an admin console
names them (注塑部, 注塑一班…), not as the workshops are, which is what WECOM_DEPARTMENT_WORKSHOPS maps.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from domain.demo import FINISHING, INJECTION, QUALITY
from domain.models import Person
from wecom.fake.directory import ROOT, Directory

# (id, name, parent id); 注塑一班 is under 注塑部 and gets its workshop through it.
DEPARTMENTS = ((ROOT, "华南精密注塑（演示）", 0), (2, "注塑部", ROOT), (3, "注塑一班", 2), (4, "后加工部", ROOT),
               (5, "质检部", ROOT), (6, "设备科", ROOT), (7, "管理层", ROOT))
DEPARTMENT_WORKSHOPS = "注塑部:注塑车间,后加工部:后加工车间,质检部:质检部"
_BY_WORKSHOP = {INJECTION: 3, FINISHING: 4, QUALITY: 5}

NEW_HIRES = (("liuyang", "刘洋", 3), ("chenmin", "陈敏", 4))
MOVED = {"xiaoli": 3}  # 小李 moved from 后加工车间 to 注塑一班
LEFT = frozenset({"fengqin"})  # 冯琴 left: no longer in the address book
DISABLED = frozenset({"tangchao"})  # 唐超's account was disabled (status 2)


def demo_directory(people: Iterable[Person]) -> Directory:
    users: list[dict[str, Any]] = []
    hires = {u for u, _, _ in NEW_HIRES}
    for p in people:
        if p.userid in LEFT or p.userid in hires:  # a demo database synced once already holds the new hires
            continue
        dept = MOVED.get(p.userid) or _BY_WORKSHOP.get(p.workshop or "") or (6 if p.has_role("technician", "maintenance_lead") else 7)
        users.append({"userid": p.userid, "name": p.name, "department": [dept], "main_department": dept,
                      "status": 2 if p.userid in DISABLED else 1})
    users += [{"userid": u, "name": n, "department": [d], "main_department": d, "status": 1} for u, n, d in NEW_HIRES]
    return Directory.from_json({
        "departments": [{"id": i, "name": n, "parentid": parent, "order": i} for i, n, parent in DEPARTMENTS],
        "users": users,
    })
