"""The factorybot command: migrations, people import, order display, and its refusals."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from factorybot.cli import main


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(main, list(args), catch_exceptions=False)

    assert run("db", "upgrade").exit_code == 0
    return run


def test_people_import_is_all_or_nothing(cli, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("userid,name,roles,workshop\nzhangsan,张三,worker,注塑车间\nlisi,李四,厨师,后加工车间\n",
                   encoding="utf-8")
    result = cli("people", "import", str(bad))
    assert result.exit_code == 1 and "第 3 行：未知角色「厨师」" in result.output and "未做任何修改" in result.output
    good = tmp_path / "good.csv"
    good.write_text("userid,name,roles,workshop\nzhangsan,张三,操作工,注塑车间\n", encoding="gb18030")
    result = cli("people", "import", str(good))
    assert result.exit_code == 0 and "新增 1 人" in result.output


def test_orders_show_after_a_report_shows_the_new_quantity(cli):
    assert cli("demo-data", "--today", "2026-11-25").exit_code == 0
    again = cli("demo-data", "--today", "2026-11-25")
    assert again.exit_code == 1 and "--reset" in again.output
    order = json.loads(cli("orders", "show", "SEORD000560", "--json").output)
    wo = order["lines"][0]["work_orders"][0]
    first = wo["operations"][0]
    assert first["name"] == "注塑" and order["stage_label"]

    from domain.services.reporting import report_work
    from factorybot.config import Settings
    from factorybot.runtime import Runtime

    rt = Runtime.build(Settings.from_env())
    from sqlalchemy import select

    from domain.models import Person

    with rt.uow() as uow:
        worker = uow.session.scalar(select(Person).where(Person.workshop == first["workshop"],
                                                         Person.roles_csv == "worker"))
        report_work(uow, rt.policy, work_order_code=wo["code"], userid=worker.userid, good_qty=120, defect_qty=2,
                    source_key="cli-test", now=rt.now())
        uow.commit()
    after = json.loads(cli("orders", "show", "SEORD000560", "--json").output)
    moulding = after["lines"][0]["work_orders"][0]["operations"][0]
    assert (moulding["good_qty"], moulding["defect_qty"]) == (first["good_qty"] + 120, first["defect_qty"] + 2)
    text = cli("orders", "show", "SEORD000560").output
    assert "订单 SEORD000560" in text and "阶段：" in text


def test_unknown_bill_is_a_clear_message(cli):
    result = cli("orders", "show", "SEORD999999")
    assert result.exit_code == 1 and "没有找到订单 SEORD999999" in result.output


def test_bad_configuration_names_the_variable(monkeypatch):
    monkeypatch.setenv("PLANT_TZ", "Mars/Olympus")
    monkeypatch.setenv("WECOM_AES_KEY", "short")
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code != 0
    assert "PLANT_TZ" in result.output and "WECOM_AES_KEY" in result.output


def test_missing_wecom_secret_fails_at_start_up_naming_it(tmp_path):
    from bot.app import create_app
    from factorybot.config import ConfigError, Settings

    settings = Settings(database_url=f"sqlite:///{tmp_path}/x.db", wecom_corp_id="wwx", wecom_agent_id=1)
    with pytest.raises(ConfigError, match="WECOM_SECRET, WECOM_TOKEN, WECOM_AES_KEY"):
        create_app(settings)


def test_display_tokens_are_shown_once_listed_and_revoked(cli):
    created = cli("board", "token", "create", "注塑车间大屏", "--workshop", "注塑车间")
    assert created.exit_code == 0 and "/board/wall?token=" in created.output
    assert cli("board", "token", "create", "注塑车间大屏").exit_code == 1
    assert "注塑车间大屏（注塑车间）" in cli("board", "token", "list").output and "有效" in cli("board", "token", "list").output
    assert cli("board", "token", "revoke", "注塑车间大屏").exit_code == 0
    assert "已吊销" in cli("board", "token", "list").output
    assert cli("board", "token", "revoke", "没有这个").exit_code == 1


@pytest.mark.parametrize(("variable", "value"), [("REDIS_URL", "notaurl"), ("WECOM_AES_KEY", "short"),
                                                 ("WECOM_CORP_ID", "ww 1"), ("LOG_LEVEL", "loud")])
def test_serve_with_a_bad_setting_says_which_without_a_traceback(monkeypatch, tmp_path, variable, value):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/serve.db")
    monkeypatch.setenv(variable, value)
    result = CliRunner().invoke(main, ["serve", "--port", "8800"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert variable in result.output and "配置错误" in result.output and "Traceback" not in result.output


def test_serve_without_the_wecom_secrets_names_them(monkeypatch, tmp_path):
    for name in ("WECOM_CORP_ID", "WECOM_AGENT_ID", "WECOM_SECRET", "WECOM_TOKEN", "WECOM_AES_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/serve.db")
    result = CliRunner().invoke(main, ["serve", "--port", "8800"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "WECOM_SECRET" in result.output and "缺少企业微信配置" in result.output


@pytest.mark.parametrize("raw", [b"\xff\xfeu\x00s\x00e\x00r\x00", b"userid,name,roles,workshop\nzs,\xff\xff,worker,x\n"])
def test_people_import_of_a_file_in_no_known_encoding_is_refused(cli, tmp_path, raw):
    odd = tmp_path / "people.csv"
    odd.write_bytes(raw)
    result = cli("people", "import", str(odd))
    assert result.exit_code == 1 and "未做任何修改" in result.output
    assert "既不是 UTF-8 也不是 GB18030" in result.output and "CSV UTF-8" in result.output

    from sqlalchemy import func, select

    from domain.models import Person
    from factorybot.config import Settings
    from factorybot.runtime import Runtime

    with Runtime.build(Settings.from_env()).uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Person)) == 0


def test_people_import_refuses_a_workshop_no_route_runs_through(cli, tmp_path, monkeypatch):
    people = tmp_path / "people.csv"
    people.write_text("userid,name,roles,workshop\nzhangsan,张三,worker,注塑车间\nlisi,李四,worker,不存在车间\n",
                      encoding="utf-8")
    result = cli("people", "import", str(people))
    assert result.exit_code == 1 and "未做任何修改" in result.output
    assert "第 3 行：车间「不存在车间」不存在" in result.output and "注塑车间" in result.output
    # One answer names every bad row: an unknown workshop beside a bad role.
    people.write_text("userid,name,roles,workshop\nwangwu,王五,厨师,注塑车间\nlisi,李四,worker,不存在车间\n",
                      encoding="utf-8")
    result = cli("people", "import", str(people))
    assert "第 2 行：未知角色「厨师」" in result.output and "第 3 行：车间「不存在车间」不存在" in result.output
    # The default route's workshops are known before any work order exists; so are a custom route's.
    people.write_text("userid,name,roles,workshop\nlisi,李四,worker,不存在车间\n", encoding="utf-8")
    monkeypatch.setenv("KIS_DEFAULT_ROUTE", "注塑@不存在车间")
    assert cli("people", "import", str(people)).exit_code == 0
