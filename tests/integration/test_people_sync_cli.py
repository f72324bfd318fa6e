"""`factorybot people sync` against the fake WeCom's address book over HTTP, through the real CLI."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from domain.models import Person
from factorybot.cli import main
from factorybot.config import ConfigError, Settings
from factorybot.runtime import Runtime
from tests.bot.conftest import AGENT_ID, CORP_ID, SECRET
from wecom.client import WeComClient
from wecom.errors import WeComAPIError

DEPARTMENTS = [{"id": 1, "name": "演示工厂", "parentid": 0}, {"id": 2, "name": "注塑部", "parentid": 1},
               {"id": 3, "name": "注塑一班", "parentid": 2}, {"id": 4, "name": "后加工部", "parentid": 1}]
PEOPLE_CSV = ("userid,name,roles,workshop\nzhangsan,张三,操作工,注塑车间\nlisi,李四,班组长,后加工车间\n"
              "wangwu,王五,车间主管,注塑车间\n")


@pytest.fixture
def cli(fake_wecom, monkeypatch, tmp_path):
    fake_wecom.reset()
    for name, value in (("WECOM_CORP_ID", CORP_ID), ("WECOM_AGENT_ID", str(AGENT_ID)), ("WECOM_SECRET", SECRET),
                        ("WECOM_API_BASE", fake_wecom.url), ("DATABASE_URL", f"sqlite:///{tmp_path}/cli.db"),
                        ("WECOM_DEPARTMENT_WORKSHOPS", "注塑部:注塑车间,后加工部:后加工车间")):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("REDIS_URL", raising=False)
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(main, list(args))

    assert run("db", "upgrade").exit_code == 0
    people = tmp_path / "people.csv"
    people.write_text(PEOPLE_CSV, encoding="utf-8")
    assert run("people", "import", str(people)).exit_code == 0
    fake_wecom.set_directory(DEPARTMENTS, [
        {"userid": "zhangsan", "name": "张三", "department": [3]},
        {"userid": "lisi", "name": "李四", "department": [3]},  # moved to moulding
        {"userid": "liuyang", "name": "刘洋", "department": [3]},  # new
    ])  # 王五 has left
    return run


def roster() -> dict[str, tuple[str, str | None, bool]]:
    rt = Runtime.build(Settings.from_env())
    with rt.uow() as uow:
        return {p.userid: (p.roles_csv, p.workshop, p.active) for p in uow.session.scalars(select(Person))}


def test_dry_run_shows_every_change_and_writes_nothing_then_the_sync_makes_them(cli, fake_wecom):
    before = roster()
    preview = cli("people", "sync", "--dry-run")
    assert preview.exit_code == 0, preview.output
    assert preview.output.splitlines() == [
        "仅预览，未做修改。",
        "企业微信通讯录：4 个部门，3 名在职成员。",
        "将新增 1 人（角色：操作工，其他角色请用 people import 设置）：",
        "· liuyang 刘洋（注塑车间）",
        "将更新 1 人：",
        "· lisi 李四：车间 后加工车间 → 注塑车间",
        "将停用 1 人（其报工记录和积分保留）：",
        "· wangwu 王五（已不在通讯录中）",
        "未变化 1 人。",
        "确认无误后去掉 --dry-run 执行同步。",
    ]
    assert roster() == before
    # One department/list, then user/list for each department: members of sub-departments are read too.
    assert [c["path"] for c in fake_wecom.calls() if c["path"] != "gettoken"] == ["department/list"] + ["user/list"] * 4

    done = cli("people", "sync")
    assert done.exit_code == 0
    assert "新增 1 人" in done.output and "将新增" not in done.output and done.output.endswith("同步完成。\n")
    after = roster()
    assert after["liuyang"] == ("worker", "注塑车间", True)
    assert after["lisi"] == ("team_lead", "注塑车间", True) and after["wangwu"][2] is False
    assert cli("people", "sync").output.splitlines()[-1] == "人员名单已与通讯录一致，无需修改。"


def test_a_wecom_refusal_is_explained_and_nothing_changes(cli, fake_wecom):
    before = roster()
    fake_wecom.fault("department/list", errcode=60011)
    result = cli("people", "sync")
    assert result.exit_code == 1
    assert "读取企业微信通讯录失败：企业微信返回 errcode 60011" in result.output
    assert "可见范围" in result.output and "未做任何修改" in result.output
    assert roster() == before


def test_a_mapping_to_an_unknown_workshop_is_refused(cli, monkeypatch):
    monkeypatch.setenv("WECOM_DEPARTMENT_WORKSHOPS", "注塑部:注塑车间,后加工部:喷涂车间")
    before = roster()
    result = cli("people", "sync")
    assert result.exit_code == 1
    assert "同步失败，未做任何修改" in result.output and "车间「喷涂车间」不存在" in result.output
    assert roster() == before


def test_a_malformed_mapping_names_the_variable(monkeypatch):
    monkeypatch.setenv("WECOM_DEPARTMENT_WORKSHOPS", "注塑部=注塑车间")
    with pytest.raises(ConfigError, match="WECOM_DEPARTMENT_WORKSHOPS: 「注塑部=注塑车间」 must be 部门:车间"):
        Settings.from_env()


def test_the_fake_address_book_answers_as_wecom_does(fake_wecom):
    fake_wecom.reset()
    fake_wecom.set_directory(DEPARTMENTS, [{"userid": "a", "name": "甲", "department": [2]},
                                           {"userid": "b", "name": "乙", "department": [3], "status": 2}])
    client = WeComClient(CORP_ID, SECRET, AGENT_ID, fake_wecom.url)
    assert [d["name"] for d in client.list_departments()] == ["演示工厂", "注塑部", "注塑一班", "后加工部"]
    assert [m["userid"] for m in client.list_members(2)] == ["a"]  # only those directly in it
    (b,) = client.list_members(3)
    assert (b["status"], b["main_department"]) == (2, 3)
    with pytest.raises(WeComAPIError) as info:
        client.list_members(99)
    assert info.value.errcode == 60123
    assert client.get_user("b")["name"] == "乙"
    fake_wecom.reset()  # back to the flat directory the fake started with
    assert [d["id"] for d in client.list_departments()] == [1]
