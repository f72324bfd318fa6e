"""Typed settings: every structured variable (shift hours, checkpoints, rest days, holidays, escalation chain,
routes, zones, technicians, crontabs, roles, KIS route and filters) is parsed once, when Settings is built,
from the same strings as before; a malformed one stops the build naming it, and the policies get the typed
values."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, time

import pytest

from bot.undelivered import build_digest_policy
from domain.errors import ConfigError as DomainConfigError
from domain.settings_types import ShiftHours, parse_shift_hours
from factorybot.config import ConfigError, Settings
from factorybot.runtime import build_alert_policy, build_forecast_policy
from forecast.calendar import CalendarError
from kis.config import KisConfig
from reports.schedule import ScheduleError, build_report_policy
from wecom.crypto import validate_aes_key

MALFORMED = [
    ("SHIFT_HOURS", "8-20"), ("SHIFT_HOURS", "08:00-25:00"), ("SHIFT_HOURS", "20:00-08:00"), ("SHIFT_HOURS", ""),
    ("ALERT_PLAN_CHECKPOINTS", "11点,15:00"),
    ("REST_DAYS", "sunday"), ("REST_DAYS", "mon,tue,wed,thu,fri,sat,sun"),
    ("HOLIDAYS", "2027-02-30"), ("HOLIDAYS", "2027-02-13..2027-02-05"),
    ("ALERT_ESCALATION_CHAIN", "supervisor,chef"), ("ALERT_ESCALATION_CHAIN", " , "),
    ("ALERT_ROUTES", "exception:boss"), ("ALERT_DEFECT_SCOPE", "press"),
    ("MACHINE_ZONES", "P01"), ("ZONE_DISTANCES", "A区-B区:far"), ("ZONE_DISTANCES", "A区:1"),
    ("TECHNICIAN_MACHINES", "tech01"), ("TECHNICIAN_MACHINES", "tech01:|"),
    ("REPORT_MONTHLY_SCHEDULE", "0 8 1 *"), ("REPORT_DAILY_SCHEDULE", "0 25 * * *"),
    ("REPORT_MONTHLY_TO", "executive,boss"), ("REPORT_DAILY_TO", ","),
    ("WECOM_UNDELIVERED_SCHEDULE", "9 点"),
    ("KIS_PULL_SCHEDULE", "nightly"), ("KIS_PULL_SCHEDULE", "0 25 * * *"), ("KIS_PULL_SCHEDULE", "off"),
    ("KIS_RECONCILE_SCHEDULE", "0 2 * * mon-xyz"),
    ("KIS_TASK_TRAN_TYPES", "85,ICMO"), ("KIS_TASK_EXCLUDE_TYPES", "11060,委外"),
    ("KIS_DEFAULT_ROUTE", "注塑"), ("KIS_DEFAULT_ROUTE", ","),
    ("WECOM_AES_KEY", "short"),
]


@pytest.mark.parametrize(("variable", "value"), MALFORMED)
def test_a_malformed_variable_stops_the_settings_build_naming_it(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as err:
        Settings.from_env()
    message = str(err.value)
    assert message.startswith("配置错误 / invalid configuration:") and f"\n  {variable}: " in message
    assert f"{variable}: {variable}" not in message and "Value error" not in message


@pytest.mark.parametrize(("variable", "value"), MALFORMED)
def test_settings_built_in_code_refuse_it_too(variable, value):
    with pytest.raises(ConfigError, match=variable):
        Settings(**{variable.lower(): value})


def test_every_bad_variable_is_named_at_once():
    with pytest.raises(ConfigError) as err:
        Settings(shift_hours="20-08", alert_escalation_chain="chef", kis_default_route="注塑")
    assert [line.split(":")[0].strip() for line in str(err.value).splitlines()[1:]] == [
        "KIS_DEFAULT_ROUTE", "SHIFT_HOURS", "ALERT_ESCALATION_CHAIN"]


def test_the_environment_strings_reach_the_policies_typed(monkeypatch):
    for name, value in {
        "SHIFT_HOURS": "7:30-19:30", "ALERT_PLAN_CHECKPOINTS": "19:00, 11:00", "REST_DAYS": "sat,周日",
        "HOLIDAYS": "2027-02-05..2027-02-06,2027-05-01", "ALERT_ESCALATION_CHAIN": "supervisor, ops_manager|admin",
        "ALERT_ROUTES": "exception:team_lead|supervisor;kis_pull_failed:admin", "ALERT_DEFECT_SCOPE": "machine",
        "MACHINE_ZONES": "P01:A区,P02:B区", "ZONE_DISTANCES": "A区-B区:3", "TECHNICIAN_MACHINES": "tech01:P01|P02",
        "REPORT_MONTHLY_SCHEDULE": "off", "REPORT_MONTHLY_TO": "executive,admin", "REPORT_DAILY_TO": "ops_manager",
        "WECOM_UNDELIVERED_SCHEDULE": "30 7 * * 1-6", "KIS_PULL_SCHEDULE": "15 1 * * *",
        "KIS_RECONCILE_SCHEDULE": "OFF", "KIS_TASK_TRAN_TYPES": "85，54", "KIS_TASK_EXCLUDE_TYPES": "",
        "KIS_DEFAULT_ROUTE": "注塑@注塑车间，包装@后加工车间",
    }.items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env()
    assert settings.shift_hours == ShiftHours(time(7, 30), time(19, 30))

    alerts = build_alert_policy(settings)
    assert (alerts.shift_start, alerts.shift_end) == (time(7, 30), time(19, 30))
    assert alerts.checkpoints == (time(11, 0), time(19, 0))
    assert alerts.chain == (("supervisor",), ("ops_manager", "admin"))
    assert alerts.routes == {"exception": ("team_lead", "supervisor"), "kis_pull_failed": ("admin",)}
    assert alerts.defect_scope == "machine" and alerts.machine_zones == {"P01": "A区", "P02": "B区"}
    assert alerts.distance("A区", "B区") == 3 and alerts.technician_machines == {"tech01": frozenset({"P01", "P02"})}

    calendar = build_forecast_policy(settings).calendar
    assert (calendar.shift_start, calendar.shift_end, calendar.rest_weekdays) == (time(7, 30), time(19, 30), {5, 6})
    assert calendar.holidays == {date(2027, 2, 5), date(2027, 2, 6), date(2027, 5, 1)}
    assert alerts.calendar == calendar

    reports = build_report_policy(settings)
    assert reports.monthly is None and reports.daily is not None and reports.daily.text == "30 7 * * *"
    assert (reports.monthly_to, reports.daily_to) == (("executive", "admin"), ("ops_manager",))
    digest = build_digest_policy(settings).cron
    assert digest is not None and digest.hours == {7} and digest.weekdays == {1, 2, 3, 4, 5, 6}

    kis = KisConfig.from_settings(settings)
    assert (kis.day_start, kis.day_end) == (time(7, 30), time(19, 30))
    assert kis.pull_schedule.text == "15 1 * * *" and kis.reconcile_schedule is None
    assert (kis.task_tran_types, kis.task_exclude_types) == ((85, 54), ())
    assert kis.default_route == (("注塑", "注塑车间"), ("包装", "后加工车间"))


def test_the_defaults_are_the_documented_strings_parsed():
    settings = Settings()
    assert settings.shift_hours == ShiftHours(time(8, 0), time(20, 0))
    assert settings.alert_plan_checkpoints == (time(11, 0), time(15, 0), time(19, 0))
    assert settings.alert_escalation_chain == (("supervisor",), ("ops_manager",), ("executive",))
    assert settings.rest_days == frozenset() and settings.holidays == frozenset() and settings.alert_routes == {}
    assert settings.report_daily_schedule is not None and settings.report_daily_schedule.text == "0 8 * * *"
    assert settings.kis_reconcile_schedule is not None and settings.kis_reconcile_schedule.text == "30 2 * * *"
    assert (settings.kis_task_tran_types, settings.kis_task_exclude_types) == ((85,), (11060, 1067))


def test_the_shift_type_can_hold_a_night_shift_which_the_settings_still_refuse():
    night = parse_shift_hours("20:00-08:00")
    assert night == ShiftHours(time(20, 0), time(8, 0)) and night.overnight and str(night) == "20:00-08:00"
    with pytest.raises(ConfigError, match="SHIFT_HOURS: the shift must end after it starts on the same day"):
        Settings(shift_hours="20:00-08:00")


def test_there_is_one_configuration_error_type():
    assert ConfigError is DomainConfigError is CalendarError is ScheduleError
    assert issubclass(ConfigError, RuntimeError) and issubclass(ConfigError, ValueError)


@pytest.mark.parametrize("key", ["short", "x" * 42, "!" * 43, "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C=",
                                 "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"])
def test_the_settings_and_the_callback_crypto_agree_on_the_aes_key(key):
    try:
        validate_aes_key(key)
        crypto_accepts = True
    except ValueError as exc:
        crypto_accepts = False
        assert str(exc).startswith("WECOM_AES_KEY ")
    try:
        Settings(wecom_aes_key=key)
        settings_accept = True
    except ConfigError:
        settings_accept = False
    assert crypto_accepts == settings_accept == (key == "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C")


def test_the_packages_get_their_settings_without_importing_the_entry_points():
    code = ("import sys, kis.config, kis.settings, alerts.policy, alerts.settings, forecast.policy, "
            "reports.schedule, reports.settings, domain.settings_types; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('factorybot', 'bot')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"


def test_several_shifts_parse_and_the_daily_summary_goes_out_at_the_first_shift_s_start():
    settings = Settings(shifts="早班=06:00-14:00,中班=14:00-22:00,夜班=22:00-06:00")
    assert [s.name for s in settings.shifts] == ["早班", "中班", "夜班"]
    assert settings.shifts[2].overnight and settings.report_daily_schedule.hours == frozenset({6})
    with pytest.raises(ConfigError, match="SHIFTS: '25:00' is not HH:MM|SHIFTS"):
        Settings(shifts="白班=08:00-25:00")
    assert Settings().shifts == ()
