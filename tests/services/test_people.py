from __future__ import annotations

import pytest
from sqlalchemy import func, select

from domain.models import Person
from domain.services.people import PeopleFileError, import_people, parse_people_csv

GOOD = "userid,name,roles,workshop\nzhangsan,张三,worker,注塑车间\nlisi,李四,班组长;worker,后加工车间\n"


def count(make_uow):
    with make_uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(Person))


def test_import_creates_then_updates(make_uow):
    with make_uow() as uow:
        res = import_people(uow, parse_people_csv("\ufeff" + GOOD))
        uow.commit()
    assert (res.created, res.updated) == (2, 0)
    with make_uow() as uow:
        res = import_people(uow, parse_people_csv(GOOD.replace("后加工车间", "质检部")))
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
