"""SQL Server without a SQL Server: every statement FactoryBot sends to KIS, recorded from real runs through real
ODBC drivers, checked against T-SQL's grammar (tests/kis/tsql.py); KIS_SCHEMA qualifying every KIS table; the
FreeTDS driver loading; fast_executemany only with Microsoft's driver; the reference importer's T-SQL; and the
demo's stand-in importer keeping the same row states.
"""

from __future__ import annotations

import socket
from dataclasses import replace

import pyodbc
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from domain.db import make_engine
from domain.models import KisOutbox
from domain.vocab import OutboxStatus
from factorybot.cli import main
from kis.gateway import open_kis
from kis.importer import reference_importer_sql
from kis.odbc import MSSQL, array_binding_ok
from kis.shaped_db import run_inbound_job
from kis.staging import ddl, ddl_script
from kis.statements import qualify
from tests.kis.conftest import STAGING, _pg_kis, _truncate_pg, local, make_plant, seed_kis
from tests.kis.test_push import complete, produced  # noqa: F401 - the fixture is used by name
from tests.kis.tsql import pieces, problems, script_problems


def _round_trip(plant) -> list[str]:
    """A first pull, completions, a push, the KIS job, the read-back push: every statement sent to KIS."""
    sent = plant.record()
    seed_kis(plant.kis)
    assert plant.pull().ok
    complete(plant, "WORK000201", local(2026, 11, 23, 10), 1500, defect=5)
    complete(plant, "WORK000201", local(2026, 11, 24, 10), 2000)
    plant.clock.set(local(2026, 11, 25, 10, 30))
    out = plant.push()
    assert out.ok and "写入 KIS 中间表 2 行" in out.text, out.text
    cnxn = plant.kis.connect()
    assert run_inbound_job(cnxn, STAGING) == (2, 0)
    cnxn.close()
    plant.clock.advance(minutes=5)
    out = plant.push()
    assert "新入库 2 行" in out.text, out.text
    with open_kis(plant.config, recorder=sent.append) as kis:
        assert kis.staging_exists()
    return sent


def test_every_statement_of_a_pull_and_push_is_tsql(plant):
    sent = _round_trip(plant)
    kinds = {s.split()[0].upper() for s in sent}
    assert kinds == {"SELECT", "INSERT"}, kinds
    assert any("FROM SEOrder h" in s for s in sent) and any("FROM ICMO m" in s for s in sent)
    assert any(s.startswith(f"INSERT INTO {STAGING} ") for s in sent)
    assert {s: problems(s) for s in sent if problems(s)} == {}


def test_the_sql_server_variant_of_the_staging_ddl_is_tsql():
    # The DDL is the one per-dialect branch: the SQL Server variant is checked though no test server speaks it.
    for schema in (None, "dbo"):
        statements = [qualify(s, schema) for s in ddl(STAGING, MSSQL)]
        assert [problems(s, schema=schema) for s in statements] == [[], []]
        script = ddl_script(STAGING, MSSQL, schema)
        batches = [b.strip() for b in script.split("\nGO\n")]
        assert [problems(b, schema=schema) for b in batches[:2]] == [[], []]
        assert batches[2].startswith("-- GRANT SELECT, INSERT ON " + (f"{schema}." if schema else "") + STAGING)


def test_the_checker_refuses_what_sql_server_lacks():
    # The grammar test could not fail if the checker passed everything: each of these is refused.
    assert problems("SELECT FBillNo FROM SEOrder LIMIT 5")
    assert problems("SELECT FBillNo FROM SEOrder WHERE FClosed = FALSE")
    assert problems("SELECT FNumber || FName FROM t_ICItem")
    assert problems("SELECT IFNULL(FClosed, 0) FROM SEOrder")
    assert problems("SELECT NOW()")
    assert problems("INSERT INTO T (a) VALUES (?) ON CONFLICT DO NOTHING")
    assert problems("INSERT INTO T (a) VALUES (?) RETURNING a")
    assert problems("SELECT a FROM T OFFSET 5")
    assert problems("SELECT a FROM T WHERE FDate >= ?::date")
    assert problems("SELECT a FROM SEOrder", schema="dbo") == ["SEOrder is not dbo-qualified"]
    assert problems("SELECT a FROM dbo.SEOrder ORDER BY a OFFSET 5 ROWS", schema="dbo") == []
    assert problems("SELECT 'LIMIT 1 || TRUE' AS x -- LIMIT") == []  # literals and comments are not code
    assert script_problems("BEGIN\nSELECT 1;\n") == ["line 1: BEGIN is never closed"]
    assert script_problems("SELECT 1\n") == ["line 1: statement without its ending ';': SELECT 1"]
    assert script_problems("IF FDate = NOW()\n    SELECT 1;\n")


@pytest.fixture
def dbo_plant(kis_pg_database: str, pg_database_url: str):
    """KIS on PostgreSQL with its tables in schema dbo, off FactoryBot's search path; KIS_SCHEMA=dbo."""
    _truncate_pg(pg_database_url)
    engine = make_engine(pg_database_url)
    kis = _pg_kis(kis_pg_database, schema="dbo")
    plant = make_plant(kis, pg_database_url, engine, staging=False, kis_schema="dbo")
    yield plant
    engine.dispose()


@pytest.mark.postgres
def test_with_kis_schema_dbo_every_kis_table_is_qualified(dbo_plant):
    # The staging table is created by FactoryBot itself, as `factorybot kis init-staging` does: it must land
    # in dbo, where the KIS job (here KIS's own connection, unqualified on its search path) finds it.
    created = dbo_plant.record()
    with open_kis(dbo_plant.config, recorder=created.append) as kis:
        assert not kis.staging_exists()
        kis.create_staging()
    assert created[-2].startswith(f"CREATE TABLE dbo.{STAGING} (")
    assert created[-1] == f"CREATE INDEX IX_{STAGING}_FStatus ON dbo.{STAGING} (FStatus)"
    assert dbo_plant.kis.rows(f"SELECT COUNT(*) FROM {STAGING}") == [(0,)]

    sent = created + _round_trip(dbo_plant)
    assert {s: problems(s, schema="dbo") for s in sent if problems(s, schema="dbo")} == {}


@pytest.mark.postgres
def test_without_kis_schema_a_kis_outside_the_default_schema_is_not_found(dbo_plant):
    # The same KIS with KIS_SCHEMA unset: the names resolve in FactoryBot's default schema, where KIS is not.
    plain = replace(dbo_plant, config=replace(dbo_plant.config, schema=None))
    seed_kis(plain.kis)
    out = plain.pull()
    assert not out.ok and "KIS 读取订单失败" in out.text and "seorder" in out.text.lower()


def test_array_binding_only_with_microsofts_driver(plant):
    # FreeTDS reports the server's own DBMS name, so the DBMS name alone switched fast_executemany on for it.
    assert array_binding_ok("Microsoft SQL Server", "libtdsodbc.so") is False
    assert array_binding_ok("Microsoft SQL Server", "libmsodbcsql-18.3.so.3.1") is True
    assert array_binding_ok("Microsoft SQL Server", "msodbcsql17.dll") is True
    assert array_binding_ok("SQLite", "sqlite3odbc.so") is False
    with open_kis(plant.config) as kis:
        assert kis.array_binding is False  # the test drivers (sqliteodbc, psqlODBC) insert row by row


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


FREETDS = "Driver={{FreeTDS}};Server=127.0.0.1;Port={port};Database=AIS20240101;UID=fb;PWD=x;TDS_Version=7.3;" \
          "ClientCharset=UTF-8"


def test_the_freetds_driver_loads_and_a_server_that_is_not_there_is_a_connection_error():
    # No SQL Server here: what can be shown is that unixODBC finds and loads libtdsodbc.so (registered as
    # [FreeTDS] by ./run), which then fails to reach the port, not "Can't open lib".
    with pytest.raises(pyodbc.OperationalError) as failed:
        pyodbc.connect(FREETDS.format(port=_closed_port()), timeout=2)
    assert failed.value.args[0] == "08S01" and "[FreeTDS]" in str(failed.value)
    assert "Can't open lib" not in str(failed.value)


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/factorybot.db")
    runner = CliRunner()

    def invoke(*args: str, **env: str):
        return runner.invoke(main, list(args), env={"KIS_ODBC": None, "KIS_SCHEMA": None, **env},
                             catch_exceptions=False)

    assert invoke("db", "upgrade").exit_code == 0
    return invoke


def test_kis_pull_over_freetds_to_no_server_says_so_in_chinese(cli):
    result = cli("kis", "pull", KIS_ODBC=FREETDS.format(port=_closed_port()), KIS_TIMEOUT="2")
    assert result.exit_code == 1
    assert "KIS 订单同步失败：无法连接 KIS 数据库：Unable to connect: Adaptive Server is unavailable" in result.stderr
    assert "失败（连续 1 次）：无法连接 KIS 数据库" in cli("kis", "status").stdout


def test_a_kis_schema_that_is_not_a_plain_name_is_refused(cli):
    result = cli("kis", "status", KIS_SCHEMA="dbo; DROP TABLE SEOrder")
    assert result.exit_code == 1 and "KIS_SCHEMA" in result.output and "配置错误" in result.output


# --- the reference importer ------------------------------------------------------------------------------------

def test_the_reference_importer_is_tsql(cli):
    printed = cli("kis", "importer-sql", KIS_SCHEMA="dbo", KIS_STAGING_TABLE="FB_Completions")
    assert printed.exit_code == 0
    script = printed.stdout
    assert "【这是一份参考脚本，交本厂金蝶实施顾问审阅。请勿直接在正式账套上运行" in script
    assert "请交金蝶实施顾问审阅" in printed.stderr
    assert script == reference_importer_sql("FB_Completions", "dbo")
    assert script_problems(script, schema="dbo") == []
    assert script_problems(reference_importer_sql()) == []
    kinds = [p.kind for p in pieces(script)]
    assert "unterminated" not in kinds and kinds.count("statement") >= 40  # DML, DECLARE/SET, EXEC by sqlglot
    code = [p.text for p in pieces(script)]
    assert "EXEC dbo.GetICMaxNum 'ICStockBill', @InterID OUTPUT, 1, @BillerID" in code
    assert any(t.startswith("INSERT INTO dbo.ICStockBill (") and ", 2, @Day," in t for t in code)
    assert any(t.startswith("SELECT @Prefix = ") and "FROM dbo.ICBillNo WITH (UPDLOCK) WHERE FBillID = 2" in t
               for t in code)
    assert "UPDATE dbo.FB_Completions SET FStatus = 1, FKisBillNo = @BillNo, FMessage = NULL WHERE FSourceKey = @Key" \
        in code
    assert "SET XACT_ABORT ON" in code and "BEGIN TRY" in code and "BEGIN CATCH" in code


# --- the demo's stand-in importer keeps the same row states ----------------------------------------------------

PANEL = "FB:WO20261123-01:20261124:1"


def _outbox(plant) -> dict[str, KisOutbox]:
    with plant.uow() as uow:
        rows = {r.source_key: r for r in uow.session.scalars(select(KisOutbox))}
        uow.session.expunge_all()
        return rows


def test_a_row_imported_after_a_rejection_keeps_no_old_message(produced):  # noqa: F811
    produced.push()
    with produced.kis.book() as book:
        book.update("t_ICItem", {"FNumber": "3.02.0007"}, FDeleted=1)
    cnxn = produced.kis.connect()
    assert run_inbound_job(cnxn, STAGING) == (2, 1)
    produced.clock.advance(minutes=5)
    assert "已禁用，不能入库" in produced.push().text
    with produced.kis.book() as book:  # fixed in KIS, and only the state put back, as the script's header says
        book.update("t_ICItem", {"FNumber": "3.02.0007"}, FDeleted=0)
        book.update(STAGING, {"FSourceKey": PANEL}, FStatus=0)
    assert run_inbound_job(cnxn, STAGING) == (1, 0)
    cnxn.close()
    assert produced.kis.rows(f"SELECT FStatus, FKisBillNo, FMessage FROM {STAGING} WHERE FSourceKey = ?", PANEL) \
        == [(1, "CIN000003", None)]
    produced.clock.advance(minutes=5)
    assert "其中 1 行此前被拒，已在 KIS 处理后入库" in produced.push().text
    row = _outbox(produced)[PANEL]
    assert (row.status, row.kis_bill_no, row.kis_message) == (OutboxStatus.IMPORTED, "CIN000003", None)


def test_rows_of_an_order_voided_in_kis_are_rejected_as_the_script_would(produced):  # noqa: F811
    produced.push()
    with produced.kis.book() as book:
        book.update("SEOrder", {"FBillNo": "SEORD000101"}, FCancellation=1)
    cnxn = produced.kis.connect()
    assert run_inbound_job(cnxn, STAGING) == (1, 2)
    cnxn.close()
    states = produced.kis.rows(f"SELECT FSourceKey, FStatus, FKisBillNo, FMessage FROM {STAGING} ORDER BY FSourceKey")
    assert states == [
        (PANEL, 1, "CIN000001", None),
        ("FB:WORK000201:20261123:1", 9, None, "销售订单 SEORD000101 第 1 行在 KIS 中不存在或已作废"),
        ("FB:WORK000201:20261124:1", 9, None, "销售订单 SEORD000101 第 1 行在 KIS 中不存在或已作废"),
    ]
