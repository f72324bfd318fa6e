"""The KIS side of the write-back, as a reference: a T-SQL script for the plant's Kingdee implementer that turns
new staging rows into unaudited 产品入库 bills (kis/sql/reference_importer.sql). FactoryBot never runs it; it
prints it (`factorybot kis importer-sql`) with the plant's staging table and KIS_SCHEMA filled in.
"""

from __future__ import annotations

import re
from importlib import resources

from kis.statements import qualify

SCRIPT = "reference_importer.sql"
# The table name the script is written with; the plant's KIS_STAGING_TABLE replaces it.
SCRIPT_TABLE = "FB_InboundStaging"


def reference_importer_sql(staging_table: str = SCRIPT_TABLE, schema: str | None = None) -> str:
    text = resources.files("kis").joinpath("sql", SCRIPT).read_text(encoding="utf-8")
    text = re.sub(rf"\b{SCRIPT_TABLE}\b", staging_table, text)
    return qualify(text, schema)
