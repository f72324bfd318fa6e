"""The fake's address book: departments and members as department/list, user/list and user/get answer them.

Shapes follow WeCom's docs: department/list returns {"department": [{id, name, parentid, order}]} (root id 1,
its parentid 0), optionally from one department down (`id=`); user/list returns the members directly in
`department_id` ({"userlist": [{userid, name, department, main_department, status}]}; status 1 active,
2 disabled, 4 not yet joined, 5 left), and with fetch_child=1 those of its sub-departments too. An unknown
department is errcode 60123. A test or the demo replaces the directory through /_fake/directory.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

E_INVALID_DEPARTMENT = 60123
ROOT = 1


class DirectoryError(Exception):
    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(errmsg)
        self.errcode = errcode
        self.errmsg = errmsg


class Directory:
    def __init__(self, departments: list[dict[str, Any]], users: list[dict[str, Any]]) -> None:
        self.departments = departments
        self.users = users

    @classmethod
    def flat(cls, users: Mapping[str, str], corp_name: str = "企业") -> Directory:
        """Everyone in the root department: what the fake held before a directory was set."""
        return cls([{"id": ROOT, "name": corp_name, "parentid": 0, "order": 1}],
                   [{"userid": u, "name": n, "department": [ROOT], "main_department": ROOT, "status": 1}
                    for u, n in users.items()])

    @classmethod
    def from_json(cls, spec: Any) -> Directory:
        """Checked, so that a test's typo fails at set-up rather than as a strange sync result."""
        if not isinstance(spec, dict):
            raise ValueError("directory must be an object with departments and users")
        departments = spec.get("departments")
        users = spec.get("users")
        if not isinstance(departments, list) or not isinstance(users, list):
            raise ValueError("departments and users must be lists")
        ids = set()
        for dept in departments:
            if not isinstance(dept, dict) or not isinstance(dept.get("id"), int) or not dept.get("name"):
                raise ValueError(f"bad department {dept!r}: id (int) and name required")
            ids.add(dept["id"])
        out_departments = []
        for i, dept in enumerate(departments):
            parent = dept.get("parentid", 0 if dept["id"] == ROOT else ROOT)
            if dept["id"] != ROOT and parent not in ids:
                raise ValueError(f"department {dept['id']} has an unknown parentid {parent}")
            out_departments.append({"id": dept["id"], "name": str(dept["name"]), "parentid": parent,
                                    "order": int(dept.get("order", i + 1))})
        out_users = []
        for user in users:
            if not isinstance(user, dict) or not user.get("userid") or not user.get("name"):
                raise ValueError(f"bad user {user!r}: userid and name required")
            depts = user.get("department") or [ROOT]
            if any(d not in ids for d in depts):
                raise ValueError(f"user {user['userid']} is in an unknown department {depts}")
            out_users.append({"userid": str(user["userid"]), "name": str(user["name"]), "department": list(depts),
                              "main_department": user.get("main_department", depts[0]),
                              "status": int(user.get("status", 1))})
        return cls(out_departments, out_users)

    def to_json(self) -> dict[str, Any]:
        return {"departments": copy.deepcopy(self.departments), "users": copy.deepcopy(self.users)}

    def _subtree(self, dept_id: int) -> list[int]:
        if dept_id not in {d["id"] for d in self.departments}:
            raise DirectoryError(E_INVALID_DEPARTMENT, "invalid party id")
        found, frontier = [dept_id], [dept_id]
        while frontier:
            children = [d["id"] for d in self.departments if d["parentid"] in frontier and d["id"] not in found]
            found += children
            frontier = children
        return found

    def department_list(self, dept_id: str | None) -> dict[str, Any]:
        if dept_id in (None, ""):
            return {"department": copy.deepcopy(self.departments)}
        try:
            wanted = set(self._subtree(int(dept_id)))
        except ValueError as exc:
            raise DirectoryError(E_INVALID_DEPARTMENT, "invalid party id") from exc
        return {"department": [copy.deepcopy(d) for d in self.departments if d["id"] in wanted]}

    def user_list(self, dept_id: str | None, fetch_child: str | None) -> dict[str, Any]:
        try:
            root = int(dept_id or "")
        except ValueError as exc:
            raise DirectoryError(E_INVALID_DEPARTMENT, "invalid party id") from exc
        wanted = set(self._subtree(root)) if fetch_child == "1" else set(self._subtree(root)[:1])
        return {"userlist": [copy.deepcopy(u) for u in self.users if wanted & set(u["department"])]}

    def user(self, userid: str) -> dict[str, Any] | None:
        for user in self.users:
            if user["userid"].lower() == userid.lower():
                return copy.deepcopy(user)
        return None
