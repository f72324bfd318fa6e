"""KIS sync: the nightly pull of approved orders and the exactly-once write-back of completions.

Everything that talks to KIS goes through pyodbc (kis.odbc, kis.gateway); what the rows mean is decided in
kis.mapping (pure), what they change locally in kis.pull and kis.push, and kis.jobs wraps both as runs that
hold a lease, record their outcome and raise an alert when they fail.
"""

from __future__ import annotations
