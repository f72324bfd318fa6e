"""The sync rules: who is added, updated, deactivated from a WeCom directory; roles and history untouched."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from domain.models import Person, WorkReport
from domain.services.people_sync import (
    Change,
    Department,
    Directory,
    Member,
    SyncRefused,
    apply_sync,
    parse_department_workshops,
    plan_sync,
)
from domain.services.reporting import report_work
from tests.factories import NOW, ROUTE, small_plant

DEPARTMENTS = (Department(1, "演示工厂", 0), Department(2, "注塑部", 1), Department(3, "注塑一班", 2),
               Department(4, "后加工部", 1), Department(5, "行政部", 1))
MAPPING = parse_department_workshops("注塑部:注塑车间,后加工部:后加工车间")
ROUTE_WORKSHOPS = [w for _, w in ROUTE]


def directory(*members: Member) -> Directory:
    return Directory(DEPARTMENTS, members)


def everyone_but(*left: str, **moved: Member) -> list[Member]:
    """The small plant's people as WeCom lists them, less those who left, with some replaced."""
    home = {"注塑车间": 3, "后加工车间": 4, "质检部": 5, None: 5}
    people = [("w1", "张三", "注塑车间"), ("w2", "王二", "注塑车间"), ("t1", "小李", "后加工车间"),
              ("q1", "钱七", "质检部"), ("lead", "李四", "后加工车间"), ("sup", "王五", "注塑车间"),
              ("boss", "陈总", None), ("admin", "管理员", None)]
    return [moved.get(u, Member(u, n, (home[w],))) for u, n, w in people if u not in left]


@pytest.fixture
def plant(make_uow, policy):
    with make_uow() as uow:
        wo = small_plant(uow)
        report_work(uow, policy, work_order_code=wo.code, userid="w2", good_qty=100, defect_qty=0,
                    source_key="before-sync", now=NOW)
        uow.commit()


def people(make_uow) -> dict[str, tuple[str, str, str | None, bool]]:
    with make_uow() as uow:
        return {p.userid: (p.name, p.roles_csv, p.workshop, p.active) for p in uow.session.scalars(select(Person))}


def test_a_sync_adds_updates_and_deactivates_keeping_roles_and_history(plant, make_uow):
    before = people(make_uow)
    members = everyone_but(
        "w2",  # left the company
        t1=Member("t1", "小李", (3,)),  # moved from finishing to 注塑一班, under 注塑部
        lead=Member("lead", "李小四", (4,)),  # renamed in WeCom
        q1=Member("q1", "钱七", (5,), status=2),  # account disabled
    ) + [Member("new1", "刘洋", (3,)), Member("new2", "陈敏", (5, 4), main_department=5),
         Member("new1", "刘洋", (3,))]  # user/list lists a member once per department
    with make_uow() as uow:
        plan = plan_sync(uow, directory(*members), MAPPING, route_workshops=ROUTE_WORKSHOPS)
        apply_sync(uow, plan)
        uow.commit()
    # 刘洋's 注塑一班 maps through 注塑部; 陈敏's main department 行政部 has none, so her second one counts.
    assert [(a.userid, a.workshop) for a in plan.added] == [("new1", "注塑车间"), ("new2", "后加工车间")]
    assert {u.userid: u.changes for u in plan.updated} == {
        "lead": (Change("姓名", "李四", "李小四"),), "t1": (Change("车间", "后加工车间", "注塑车间"),)}
    assert [(d.userid, d.reason) for d in plan.deactivated] == [("q1", "企业微信账号已禁用"),
                                                                 ("w2", "已不在通讯录中")]
    assert (plan.departments, plan.members, plan.unchanged) == (5, 8, 4)
    after = people(make_uow)
    assert after["new1"] == ("刘洋", "worker", "注塑车间", True)
    assert after["lead"] == ("李小四", before["lead"][1], "后加工车间", True)  # team_lead stays team_lead
    assert after["t1"][2] == "注塑车间" and after["w2"][3] is False and after["q1"][3] is False
    # boss and admin sit in 行政部, which maps to no workshop: theirs stays as the people file set it.
    assert after["boss"] == before["boss"] and after["admin"] == before["admin"]
    with make_uow() as uow:  # who left keeps their reports
        w2 = uow.session.scalar(select(Person).where(Person.userid == "w2"))
        assert uow.session.scalar(select(func.count()).select_from(WorkReport)
                                  .where(WorkReport.operator_id == w2.id)) == 1
    with make_uow() as uow:  # a second run finds nothing to do
        again = plan_sync(uow, directory(*members), MAPPING, route_workshops=ROUTE_WORKSHOPS)
    assert again.changes == 0 and again.unchanged == 8


def test_someone_back_in_the_directory_is_reactivated(plant, make_uow):
    with make_uow() as uow:
        apply_sync(uow, plan_sync(uow, directory(*everyone_but("w2")), MAPPING, route_workshops=ROUTE_WORKSHOPS))
        uow.commit()
    with make_uow() as uow:
        plan = plan_sync(uow, directory(*everyone_but()), MAPPING, route_workshops=ROUTE_WORKSHOPS)
        apply_sync(uow, plan)
        uow.commit()
    assert [(u.userid, u.changes) for u in plan.updated] == [("w2", (Change("状态", "已停用", "恢复启用"),))]
    assert people(make_uow)["w2"][3] is True


def test_a_plan_alone_changes_nothing(plant, make_uow):
    before = people(make_uow)
    with make_uow() as uow:
        plan = plan_sync(uow, directory(*everyone_but("w1"), Member("new1", "刘洋", (3,))), MAPPING,
                         route_workshops=ROUTE_WORKSHOPS)
        uow.commit()
    assert plan.changes == 2 and people(make_uow) == before


def test_a_mapping_that_does_not_fit_is_refused_whole(plant, make_uow):
    twin = Directory(DEPARTMENTS + (Department(6, "注塑部", 4),), tuple(everyone_but("w1")))
    mapping = parse_department_workshops("注塑部:注塑车间,装配部:后加工车间,4:喷涂车间")
    before = people(make_uow)
    with make_uow() as uow, pytest.raises(SyncRefused) as info:
        plan_sync(uow, twin, mapping, route_workshops=ROUTE_WORKSHOPS)
    message = info.value.message
    assert "通讯录中有 2 个部门叫「注塑部」（id 2、6），请改用部门 id" in message
    assert "部门「装配部」不在企业微信通讯录中（应用可见的部门：演示工厂、注塑部、注塑一班、后加工部、行政部、注塑部）" in message
    assert "车间「喷涂车间」不存在（已知车间：后加工车间、注塑车间、质检部）" in message
    assert people(make_uow) == before
    # By id the twin is no longer ambiguous.
    with make_uow() as uow:
        plan = plan_sync(uow, twin, parse_department_workshops("2:注塑车间"), route_workshops=ROUTE_WORKSHOPS)
    assert [d.userid for d in plan.deactivated] == ["w1"]


def test_an_empty_directory_deactivates_nobody(plant, make_uow):
    with make_uow() as uow, pytest.raises(SyncRefused, match="没有任何在职成员.*可见范围"):
        plan_sync(uow, directory(Member("gone", "离职", (3,), status=5)), MAPPING, route_workshops=ROUTE_WORKSHOPS)


@pytest.mark.parametrize(("text", "error"), [
    ("注塑部", "「注塑部」 must be 部门:车间"),
    ("注塑部:,后加工部:后加工车间", "「注塑部:」 must be 部门:车间"),
    ("注塑部:注塑车间,注塑部:后加工车间", "「注塑部」 is mapped twice"),
])
def test_the_mapping_text_is_checked(text, error):
    with pytest.raises(ValueError, match=error):
        parse_department_workshops(text)


def test_the_mapping_accepts_full_width_punctuation_and_ids():
    assert parse_department_workshops("注塑部：注塑车间，7:质检部,") == (("注塑部", "注塑车间"), ("7", "质检部"))
