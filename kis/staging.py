"""The staging table in the KIS account database (kis.md section 6): its DDL per dialect and its SQL.

FactoryBot only INSERTs rows and SELECTs their outcome; a KIS-side job (the plant's SQL Agent job or plug-in)
turns new rows into unaudited 产品入库 bills and fills FStatus, FKisBillNo and FMessage. FSourceKey is the
primary key, so a second insert of one completion is impossible even if FactoryBot's own check were wrong.
"""

from __future__ import annotations

from kis.odbc import MSSQL, POSTGRESQL, marks
from kis.statements import qualify

COLUMNS = (
    "FSourceKey", "FBatchID", "FOrderBillNo", "FOrderEntryID", "FICMOBillNo", "FItemNumber", "FQty", "FDefectQty",
    "FDate", "FOperator", "FCreatedAt", "FStatus",
)


def _types(dialect: str) -> tuple[str, str]:
    """(datetime type, national varchar type) for the dialect; DDL is the one place SQL differs."""
    if dialect == MSSQL:
        return "DATETIME", "NVARCHAR"
    if dialect == POSTGRESQL:
        return "TIMESTAMP", "VARCHAR"
    return "DATETIME", "VARCHAR"


def ddl(table: str, dialect: str) -> list[str]:
    dt, nvarchar = _types(dialect)
    columns = (
        ("FSourceKey", "VARCHAR(64) NOT NULL"),
        ("FBatchID", "VARCHAR(40) NOT NULL"),
        ("FOrderBillNo", "VARCHAR(50) NOT NULL"),
        ("FOrderEntryID", "INT NOT NULL"),
        ("FICMOBillNo", "VARCHAR(50) NULL"),
        ("FItemNumber", "VARCHAR(80) NOT NULL"),
        ("FQty", "DECIMAL(28,10) NOT NULL"),
        ("FDefectQty", "DECIMAL(28,10) NOT NULL"),
        ("FDate", f"{dt} NOT NULL"),
        ("FOperator", f"{nvarchar}(80) NULL"),
        ("FCreatedAt", f"{dt} NOT NULL"),
        ("FStatus", "INT NOT NULL DEFAULT 0"),
        ("FKisBillNo", "VARCHAR(50) NULL"),
        ("FMessage", f"{nvarchar}(255) NULL"),
    )
    body = ",\n".join(f"    {name:<14}{decl}" for name, decl in columns)
    return [
        f"CREATE TABLE {table} (\n{body},\n    CONSTRAINT PK_{table} PRIMARY KEY (FSourceKey)\n)",
        # The KIS-side job looks for FStatus = 0.
        f"CREATE INDEX IX_{table}_FStatus ON {table} (FStatus)",
    ]


def ddl_script(table: str, dialect: str, schema: str | None = None) -> str:
    """The DDL as a script for the plant's DBA, with the grants FactoryBot needs and nothing more; names are
    qualified with KIS_SCHEMA as the statements FactoryBot sends itself are."""
    sep = "\nGO\n" if dialect == MSSQL else ";\n"
    table_ref = f"{schema}.{table}" if schema else table
    head = (
        f"-- FactoryBot 完工回写中间表（KIS 账套数据库中执行）。FactoryBot 只需 {table_ref} 的 SELECT、INSERT 权限；\n"
        "-- KIS 端作业读取 FStatus = 0 的行生成产品入库单（未审核），并回填 FStatus（1 已导入 / 9 拒绝）、FKisBillNo、FMessage。\n"
    )
    grant = f"-- GRANT SELECT, INSERT ON {table_ref} TO factorybot_writer"
    return head + sep.join(qualify(s, schema) for s in ddl(table, dialect)) + sep + grant + "\n"


def insert_sql(table: str) -> str:
    return f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"


def existing_sql(table: str, n: int) -> str:
    return f"SELECT FSourceKey FROM {table} WHERE FSourceKey IN ({marks(n, 'VARCHAR(64)')})"


def status_sql(table: str, n: int) -> str:
    return (f"SELECT FSourceKey, FStatus, FKisBillNo, FMessage FROM {table} "
            f"WHERE FSourceKey IN ({marks(n, 'VARCHAR(64)')})")
