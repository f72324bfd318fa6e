"""`factorybot kis …` as an administrator runs it: the staging table, the demo KIS round trip, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from factorybot.cli import main
from tests.kis.conftest import STAGING, KisDb, _pg_kis, _sqlite_kis


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
                ids=["odbc-SQLite3", "odbc-PostgreSQL-Unicode"])
def bare_kis(request: pytest.FixtureRequest, tmp_path: Path) -> KisDb:
    """A KIS database without FactoryBot's staging table yet."""
    if request.param == "sqlite":
        return _sqlite_kis(tmp_path)
    return _pg_kis(request.getfixturevalue("kis_pg_database"))


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/factorybot.db")
    monkeypatch.delenv("KIS_ODBC", raising=False)
    runner = CliRunner()

    def invoke(*args: str, kis: str | None = None):
        return runner.invoke(main, list(args), env={"KIS_ODBC": kis}, catch_exceptions=False)

    assert invoke("db", "upgrade").exit_code == 0
    return invoke


def test_init_staging_creates_the_table_once_or_prints_its_ddl(run, bare_kis):
    printed = run("kis", "init-staging", "--print")
    assert printed.exit_code == 0
    assert "CREATE TABLE FB_InboundStaging (" in printed.stdout and "FOperator     NVARCHAR(80) NULL" in printed.stdout
    assert "CONSTRAINT PK_FB_InboundStaging PRIMARY KEY (FSourceKey)" in printed.stdout
    assert "GRANT SELECT, INSERT ON FB_InboundStaging" in printed.stdout

    unconfigured = run("kis", "init-staging")
    assert unconfigured.exit_code == 0 and "CREATE TABLE" in unconfigured.stdout
    assert "未配置 KIS_ODBC：以上为建表语句" in unconfigured.stderr

    created = run("kis", "init-staging", kis=bare_kis.conn_str)
    assert created.exit_code == 0, created.output
    assert created.stdout.strip() == f"已在 KIS 数据库中创建完工回写中间表 {STAGING}。"
    assert bare_kis.rows(f"SELECT COUNT(*) FROM {STAGING}") == [(0,)]
    again = run("kis", "init-staging", kis=bare_kis.conn_str)
    assert again.stdout.strip() == f"完工回写中间表 {STAGING} 已存在，未做修改。"


def test_without_kis_the_sync_commands_say_what_is_missing(run):
    for command in ("pull", "push"):
        result = run("kis", command)
        assert result.exit_code == 1
        assert "系统未配置 KIS 连接（环境变量 KIS_ODBC），无法与 KIS 同步。" in result.stderr
    status = run("kis", "status")
    assert status.exit_code == 0
    assert "未配置 KIS 连接（KIS_ODBC），定时同步与回写不会运行。" in status.stdout
    assert "订单同步：尚未运行" in status.stdout


def test_a_kis_that_cannot_be_reached_fails_the_command_with_the_reason(run, tmp_path):
    result = run("kis", "pull", kis=f"Driver=SQLite3;Database={tmp_path}/nowhere/kis.db;NoCreat=1")
    assert result.exit_code == 1
    assert "KIS 订单同步失败：无法连接 KIS 数据库：" in result.stderr
    assert "失败（连续 1 次）：无法连接 KIS 数据库" in run("kis", "status").stdout


def test_the_demo_kis_round_trip(run, tmp_path):
    assert run("demo-data").exit_code == 0
    path = tmp_path / "kis-demo.db"
    made = run("kis", "demo-db", str(path))
    assert made.exit_code == 0 and "作废 1 单：SEORD" in made.stdout
    kis = f"Driver=SQLite3;Database={path}"

    pulled = run("kis", "pull", kis=kis)
    assert pulled.exit_code == 0, pulled.output
    assert "新增 3，变更 1，" in pulled.stdout and "作废 1，" in pulled.stdout
    assert "生产任务单：新建工单 3" in pulled.stdout

    pushed = run("kis", "push", kis=kis)
    assert pushed.exit_code == 0 and "新增待回写" in pushed.stdout and "等待 KIS 导入" in pushed.stdout
    imported = run("kis", "demo-import", kis=kis)
    assert imported.stdout.startswith("模拟 KIS 入库作业：生成产品入库单")
    read_back = run("kis", "push", kis=kis)
    assert "没有新的完工需要回写" in read_back.stdout and "已禁用，不能入库" in read_back.stdout

    status = run("kis", "status", kis=kis)
    assert "订单同步：上次" in status.stdout and "成功" in status.stdout and "→ 已入库 CIN" in status.stdout


def test_pull_full_and_since_together_are_refused_before_anything_runs(run):
    result = run("kis", "pull", "--full", "--since", "2026-11-01", kis="Driver=SQLite3;Database=/nonexistent.db")
    assert result.exit_code == 2
    assert "--full 与 --since 不能同时使用：全量核对会读取全部未关闭的订单。" in result.stderr
