from __future__ import annotations

import pytest
from sqlalchemy import func, select

from domain.models import Person
from domain.services.people import PeopleFileError, import_people, parse_people_csv
from tests.factories import add_order

GOOD = "userid,name,roles,workshop\nzhangsan,张三,worker,注塑车间\nlisi,李四,班组长;worker,后加工车间\n"
# The workshops of the default route for new work orders (KIS_DEFAULT_ROUTE), as the CLI passes them.
ROUTE_WORKSHOPS = ("注塑车间", "后加工车间", "质检部", "后加工车间")


def count(make_uow):
    with make_uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(Person))


def test_import_creates_then_updates(make_uow):
    with make_uow() as uow:
        res = import_people(uow, parse_people_csv("\ufeff" + GOOD), route_workshops=ROUTE_WORKSHOPS)
        uow.commit()
    assert (res.created, res.updated) == (2, 0)
    with make_uow() as uow:
        res = import_people(uow, parse_people_csv(GOOD.replace("后加工车间", "质检部")), route_workshops=ROUTE_WORKSHOPS)
        uow.commit()
        assert (res.created, res.updated) == (0, 2)
    with make_uow() as uow:
        lisi = uow.session.scalar(select(Person).where(Person.userid == "lisi"))
        assert lisi.roles == {"team_lead", "worker"} and lisi.workshop == "质检部"


def test_every_bad_row_is_reported_and_nothing_is_imported(make_uow):
    text = GOOD + "bad id!,王五,worker,注塑车间\nzhangsan,张三二,worker,注塑车间\nzhaoliu,赵六,厨师,注塑车间\nqian,,worker,x\n"
    with pytest.raises(PeopleFileError) as info:
        parse_people_csv(text)
    message = info.value.message
    assert "第 4 行" in message and "userid「bad id!」无效" in message
    assert "第 5 行" in message and "与第 2 行重复" in message
    assert "第 6 行" in message and "未知角色「厨师」" in message
    assert "第 7 行" in message and "姓名不能为空" in message
    assert count(make_uow) == 0


def test_missing_columns():
    with pytest.raises(PeopleFileError, match="缺少列：roles"):
        parse_people_csv("userid,name,workshop\nx,y,z\n")


def test_an_unknown_workshop_is_refused_and_nothing_is_imported(make_uow):
    text = GOOD + "wangwu,王五,worker,不存在车间\nzhaoliu,赵六,supervisor,注塑 车间\n"
    with make_uow() as uow, pytest.raises(PeopleFileError) as info:
        import_people(uow, parse_people_csv(text), route_workshops=ROUTE_WORKSHOPS)
    message = info.value.message
    assert "第 4 行：车间「不存在车间」不存在（已知车间：后加工车间、注塑车间、质检部）" in message
    assert "第 5 行：车间「注塑 车间」不存在" in message and "第 2 行" not in message
    assert count(make_uow) == 0


def test_workshops_of_the_work_orders_in_the_store_are_known(make_uow):
    with make_uow() as uow:
        add_order(uow, route=(("吹塑", "吹塑车间"), ("包装", "包装组")))
        uow.commit()
    with make_uow() as uow:
        res = import_people(uow, parse_people_csv(
            "userid,name,roles,workshop\nw9,吴九,worker,吹塑车间\nw8,郑八,worker,包装组\nboss,陈总,executive,\n"))
        uow.commit()
    assert (res.created, res.updated) == (3, 0)


def test_with_no_workshop_known_anywhere_the_message_says_where_they_come_from(make_uow):
    with make_uow() as uow, pytest.raises(PeopleFileError) as info:
        import_people(uow, parse_people_csv(GOOD))
    assert "系统里还没有任何车间" in info.value.message and "KIS_DEFAULT_ROUTE" in info.value.message
