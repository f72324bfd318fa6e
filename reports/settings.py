"""Schedule settings' types: a crontab (plant time), or "off", checked with the crontab parser the schedule
runs on (celery's), once, when the settings are built; and the roles a report goes to."""

from __future__ import annotations

from typing import Annotated

from domain.settings_types import from_text, parse_roles
from reports.schedule import OFF, Cron


def parse_cron(text: str, name: str) -> Cron:
    return Cron.parse(text.strip(), name)


def parse_cron_or_off(text: str, name: str) -> Cron | None:
    return None if text.strip().lower() == OFF else parse_cron(text, name)


def parse_report_roles(text: str, name: str) -> tuple[str, ...]:
    return parse_roles(text, name, ",")


CronSetting = Annotated[Cron, from_text(parse_cron, Cron)]
# None: "off". A Cron given in code is taken as it is.
CronOrOffSetting = Annotated[Cron | None, from_text(parse_cron_or_off, (Cron, type(None)))]
ReportRolesSetting = Annotated[tuple[str, ...], from_text(parse_report_roles, tuple)]
