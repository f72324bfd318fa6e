"""One typed configuration, read from the environment only by entry points (CLI, wsgi, worker)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from alerts.settings import (
    AlertRoutesSetting,
    DefectScopeSetting,
    EscalationChainSetting,
    MachineZonesSetting,
    QuietHoursSetting,
    SeveritySetting,
    TechnicianMachinesSetting,
    WordsSetting,
    ZoneDistancesSetting,
)
from domain.errors import ConfigError
from domain.services.people_sync import parse_department_workshops
from domain.settings_types import (
    ClocksSetting,
    HolidaysSetting,
    PointsRuleSetting,
    RestDaysSetting,
    SameDayShiftSetting,
    ShiftsSetting,
)
from kis.settings import IntegersSetting, RouteSetting
from reports.schedule import Cron
from reports.settings import CronOrOffSetting, CronSetting, ReportRolesSetting
from wecom.aes_key import decode_aes_key

__all__ = ["DEFAULT_WECOM_API", "ConfigError", "Settings"]

DEFAULT_WECOM_API = "https://qyapi.weixin.qq.com/cgi-bin/"
DEFAULT_EXCEPTION_TYPES = ("设备故障", "材料不符", "模具问题", "品质异常", "其他")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
REDIS_SCHEMES = ("redis", "rediss", "unix")
LABEL_KEY_MIN_CHARS = 12
# A WeCom corp id is "ww" and 16 hex digits; corps from the 企业号 days have "wx" ids. Only the prefix and
# the alphabet are checked: the exact length is WeCom's business, a stray space or quote is ours.
_CORP_ID = re.compile(r"w[wx][A-Za-z0-9]+")


def _typed(default: str) -> Any:
    """A typed setting's default, written as the environment would write it and parsed like it."""
    return Field(default=default, validate_default=True)


class Settings(BaseSettings):
    # enable_decoding=False: a typed setting (shift hours, a chain, a crontab) is read from its plain string,
    # as .env files write it, by its own validator; pydantic-settings would otherwise expect JSON.
    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_file=None, enable_decoding=False)

    database_url: str = Field(default="sqlite:///var/factorybot.db")
    redis_url: str | None = None
    wecom_corp_id: str | None = None
    wecom_agent_id: int | None = None
    wecom_secret: str | None = None
    wecom_token: str | None = None
    wecom_aes_key: str | None = None
    wecom_api_base: str = DEFAULT_WECOM_API
    # `factorybot people sync`: which WeCom department is which workshop, 部门:车间,… (a department by its name
    # or numeric id; a sub-department takes its parent's workshop). Departments not listed leave workshops alone.
    wecom_department_workshops: str = ""
    kis_odbc: str | None = None
    # KIS sync (kis/). The nightly pull runs on this crontab (minute hour day month weekday, plant time);
    # each pull re-reads orders approved this many days before the last one seen, since KIS may store
    # FCheckDate without a time.
    kis_pull_schedule: CronSetting = _typed("0 2 * * *")
    kis_lookback_days: int = Field(default=3, ge=0)
    # The full reconcile: every open order and its production tasks read again whatever their audit or change
    # date, so an edit KIS stamps with no date is still seen (crontab, plant time; "off" stops it).
    kis_reconcile_schedule: CronOrOffSetting = _typed("30 2 * * *")
    # Which ICMO rows are production tasks: K/3's own reports take FTranType 85 (ICMO also holds 54, the
    # repetitive production plans) and leave out FType 11060 and 1067 (outsourced). Comma-separated integers.
    kis_task_tran_types: IntegersSetting = _typed("85")
    kis_task_exclude_types: IntegersSetting = _typed("11060,1067")
    # Write-back: staging rows per KIS transaction, and how often the push runs (it backs off while KIS is down).
    kis_push_batch: int = Field(default=500, ge=1, le=2000)
    kis_push_every_minutes: int = Field(default=5, ge=1)
    # Seconds to wait for KIS to accept a connection, and for any one statement.
    kis_timeout: int = Field(default=30, ge=1)
    # The staging table in the KIS account database (`factorybot kis init-staging` creates it).
    kis_staging_table: str = "FB_InboundStaging"
    # Schema that holds the KIS tables, written before every KIS table name (dbo.SEOrder). Empty: names stay
    # unqualified and SQL Server looks in the login's default schema, then in dbo; a table FactoryBot creates
    # (the staging table) then lands in the login's default schema, which need not be dbo.
    kis_schema: str = ""
    # First production day written back; earlier completions are taken to be in KIS already.
    kis_push_start: date | None = None
    # Only for a driver that returns GBK bytes for varchar (FreeTDS without ClientCharset): e.g. "gbk".
    kis_char_encoding: str | None = None
    # Route of a work order made from a KIS production task when its product has none yet: 工序@车间,…
    kis_default_route: RouteSetting = _typed("注塑@注塑车间,修边@后加工车间,质检@质检部,包装@后加工车间")
    plant_tz: str = "Asia/Shanghai"
    # Public base URL of the bot, used in links inside cards (mini-forms, detail pages).
    public_url: str = "http://127.0.0.1:8000"

    # Reporting policy: share of the planned quantity a press may over-produce; what a point is worth
    # (minute:30, piece:100 or batch:1; domain/points.py) and a person's most points a production day.
    report_tolerance_pct: float = 5.0
    points_rule: PointsRuleSetting = _typed("minute:30")
    points_daily_cap: int = Field(default=30, ge=0)
    # How long a worker may take back their own report with 撤销; after that a team lead corrects it.
    undo_minutes: int = Field(default=10, ge=0)
    # A press counts as 停机中 (risk orders, board) only after this long with nothing reported on it.
    press_stopped_minutes: int = Field(default=60, ge=1)
    exception_types: str = ",".join(DEFAULT_EXCEPTION_TYPES)
    # WeCom sends each callback up to ~4 times; seen keys are kept this long.
    dedup_ttl_seconds: int = 600
    # A claim whose process died is free again after this lease: longer than any synchronous handler (WeCom
    # gives 5 s), shorter than WeCom's last retry (~15 s after the first delivery). A repeat inside the lease
    # waits up to DEDUP_WAIT_SECONDS for the first reply, then gets 503 so that WeCom asks again.
    dedup_lease_seconds: int = Field(default=10, ge=1)
    dedup_wait_seconds: float = Field(default=2.0, ge=0, le=4)
    # Redis for dedup: each call waits at most this long; after a failure the database dedup (and in-process
    # tasks) are used and Redis is tried again every REDIS_RETRY_SECONDS.
    redis_timeout_seconds: float = Field(default=0.5, gt=0, le=2)
    redis_retry_seconds: float = Field(default=5.0, gt=0)
    max_callback_bytes: int = 64 * 1024
    # A signed callback whose timestamp is further than this from our clock is refused (400): a replay caught
    # after the dedup window has passed must not run again. WeCom signs with the current time.
    callback_max_skew_seconds: int = Field(default=600, ge=1)
    # Logs: JSON lines on stderr, or "text" for a developer at a terminal.
    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"
    # Alerts (alerts/): thresholds, the shift, who hears first, and who next when nobody acknowledges.
    alert_start_grace_minutes: int = 30
    alert_plan_threshold_pct: float = 70.0
    # The day shift, start-end (HH:MM-HH:MM, plant time); it must end after it starts on the same day.
    shift_hours: SameDayShiftSetting = _typed("08:00-20:00")
    # Several shifts a day, in order from the first (a shift may end the next morning), each NAME=HH:MM-HH:MM
    # with its breaks after a "/": "白班=08:00-20:00/12:00-12:30,夜班=20:00-08:00". Empty: SHIFT_HOURS is the
    # one shift. `factorybot calendar set` stores a calendar in the database, which then wins over these.
    shifts: ShiftsSetting = _typed("")
    alert_plan_checkpoints: ClocksSetting = _typed("11:00,15:00,19:00")
    alert_defect_limit_pct: float = 3.0
    alert_defect_scope: DefectScopeSetting = _typed("mould")  # mould | product | machine: whose consecutive orders are compared
    alert_ack_minutes: int = 15
    # Levels, comma-separated; a level may name several roles: "supervisor,ops_manager|admin,executive".
    alert_escalation_chain: EscalationChainSetting = _typed("supervisor,ops_manager,executive")
    # Per-rule first recipients, e.g. "exception:team_lead|supervisor;kis_pull_failed:admin".
    alert_routes: AlertRoutesSetting = _typed("")
    repair_answer_minutes: int = 10
    machine_zones: MachineZonesSetting = _typed(
        ",".join(f"P{n:02d}:{'A区' if n <= 4 else 'B区' if n <= 7 else 'C区'}" for n in range(1, 11)))
    zone_distances: ZoneDistancesSetting = _typed("A区-B区:1,B区-C区:1,A区-C区:2")
    # e.g. "tech01:P01|P02;tech02:P05"; a technician not listed may repair any machine.
    technician_machines: TechnicianMachinesSetting = _typed("")
    # How often an alert still open is raised again in one shift (to its owner, or the people on duty).
    alert_reminders_per_shift: int = Field(default=1, ge=0)
    # rule:normal|severe|critical; the top of the chain (executives) hears only of severe alerts.
    alert_severity: SeveritySetting = _typed("exception:severe,repair_unanswered:severe,defect_streak:severe")
    # When the top of the chain hears only of critical alerts (may cross midnight); empty: never quiet.
    alert_quiet_hours: QuietHoursSetting = _typed("22:00-07:00")
    # A repair nobody accepts goes to the next technician on duty at most this often, then to the 设备主管.
    repair_max_redispatch: int = Field(default=2, ge=0)
    # The causes a technician picks from on 完成 (or types another).
    repair_causes: WordsSetting = _typed("电气,液压,机械,加热,模具,其他")
    # How long a question the bot asked (which press? what happened?) waits for the person's answer.
    conversation_minutes: int = Field(default=10, ge=1, le=24 * 60)
    # Forecast (forecast/): the shift calendar beyond SHIFT_HOURS, and when an order counts as at risk.
    rest_days: RestDaysSetting = _typed("")  # weekdays the plant does not run, e.g. "sun" or "sat,sun"; empty: every day
    holidays: HolidaysSetting = _typed("")  # e.g. "2027-02-05..2027-02-13,2027-05-01"
    # Make-up working days (调休上班): worked although they fall on a rest weekday, e.g. "2027-02-20".
    workdays: HolidaysSetting = _typed("")
    # How soon a calendar stored with `factorybot calendar set` reaches every running process.
    calendar_refresh_seconds: float = Field(default=5.0, ge=0)
    forecast_rate_days: int = Field(default=3, ge=1, le=30)
    forecast_at_risk_days: int = Field(default=2, ge=0)
    forecast_warn_days: int = Field(default=5, ge=0)
    forecast_finishing_hours: float = Field(default=4.0, ge=0)
    forecast_overtime_max_hours: float = Field(default=4.0, ge=0)
    # /readyz and /metrics: with a token, they need "Authorization: Bearer <token>"; without, loopback only,
    # and a request a proxy forwarded (any forwarding header: Via, X-Forwarded-*, X-Client-IP, …) is not loopback.
    ops_token: str | None = None
    # How many reverse proxies (Caddy: 1) stand between the internet and gunicorn. Set, the client's address,
    # scheme and host are read from their X-Forwarded-For/-Proto/-Host (werkzeug's ProxyFix), and OPS_TOKEN
    # is required: behind a proxy every request comes from loopback, so "this machine" means nothing.
    trusted_proxies: int = Field(default=0, ge=0, le=5)
    # Signs the pages' session cookies. Unset: a random key made once and kept in SESSION_SECRET_FILE
    # (0600), which every gunicorn worker on this machine reads. Never derived from the WeCom secret.
    session_secret: str | None = None
    session_secret_file: str = "var/session.key"
    # How long a sign-in on the pages lasts (hours, from the sign-in): a shift and a margin.
    session_lifetime_hours: float = Field(default=12.0, gt=0, le=24 * 31)
    # Key that signs the work-order QR codes on travellers: the bot, the CLI and the chat command all read
    # this one setting (nothing is derived from the WeCom keys, which would void every label on rotation).
    # After a rotation the previous key still verifies labels through LABEL_KEY_PREVIOUS_UNTIL (plant day,
    # inclusive), so travellers on the floor stay valid until they are reprinted.
    label_key: str | None = None
    label_key_previous: str | None = None
    label_key_previous_until: date | None = None
    # Where normalised exception photos are kept (served to managers from the bot).
    media_dir: str = "var/media"
    # WeCom's OAuth page for mini-forms; the demo and tests point it at the fake WeCom.
    wecom_oauth_base: str = "https://open.weixin.qq.com"
    # Reports (reports/): when the monthly report and the daily summary go out (cron, plant time; "off"
    # stops one) and to which roles. An empty daily schedule means the start of the day's first shift, every day.
    report_monthly_schedule: CronOrOffSetting = _typed("0 8 1 * *")
    report_daily_schedule: CronOrOffSetting = _typed("")
    report_monthly_to: ReportRolesSetting = _typed("executive")
    report_daily_to: ReportRolesSetting = _typed("supervisor,ops_manager")
    # When the administrators hear who could not receive WeCom messages in the last 24 hours (cron, plant
    # time; "off" stops it). Sent only on a day someone was missed.
    wecom_undelivered_schedule: CronOrOffSetting = _typed("0 9 * * *")

    @field_validator("plant_tz")
    @classmethod
    def _tz_exists(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("report_daily_schedule", mode="before")
    @classmethod
    def _daily_at_shift_start(cls, value: object, info: ValidationInfo) -> object:
        # Empty: at the start of the shift, every day (SHIFT_HOURS is a field above, so already parsed).
        if isinstance(value, str) and not value.strip():
            shift = info.data.get("shift_hours")
            shifts = info.data.get("shifts")
            if shifts:  # several shifts: the first of the day (08:00 on two 12-hour shifts)
                shift = shifts[0]
            if shift is None:  # SHIFT_HOURS itself is malformed, and reported
                return "off"
            return Cron.parse(f"{shift.start.minute} {shift.start.hour} * * *", "REPORT_DAILY_SCHEDULE")
        return value

    @field_validator("kis_staging_table")
    @classmethod
    def _plain_identifier(cls, value: str) -> str:
        # It is written into SQL as is: only a plain, unquoted identifier is accepted.
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", value):
            raise ValueError("must be a plain table name (letters, digits, underscore)")
        return value

    @field_validator("kis_schema")
    @classmethod
    def _plain_schema(cls, value: str) -> str:
        # Also written into SQL as is, before every KIS table name.
        value = value.strip()
        if value and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", value):
            raise ValueError("must be empty or a plain schema name such as dbo (letters, digits, underscore)")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url_shape(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None  # no Redis: tasks run in the process
        example = "e.g. redis://127.0.0.1:6379/0"
        if value != value.strip() or any(c.isspace() for c in value):
            raise ValueError(f"must not contain spaces or line breaks ({example})")
        parts = urlsplit(value)
        if parts.scheme not in REDIS_SCHEMES or "://" not in value:
            raise ValueError(f"must be a Redis URL starting with redis://, rediss:// or unix:// ({example})")
        try:
            parts.port  # noqa: B018 - urlsplit checks the port only when asked
        except ValueError as exc:
            raise ValueError(f"has a port that is not a number ({example})") from exc
        if parts.scheme == "unix":
            if not parts.path:
                raise ValueError("must name the socket file, e.g. unix:///run/redis/redis.sock")
        elif parts.path.strip("/") and not parts.path.strip("/").isdigit():
            raise ValueError(f"must end with the database number, if any ({example})")
        return value

    @field_validator("wecom_corp_id", "wecom_token", "wecom_secret")
    @classmethod
    def _no_blank_secret(cls, value: str | None) -> str | None:
        # Unset means "this process needs no WeCom"; set, it must be exactly what the admin console shows.
        if value is None:
            return value
        if not value.strip():
            raise ValueError("must not be empty (unset it where WeCom is not used)")
        if any(c.isspace() for c in value):
            raise ValueError("must not contain spaces or line breaks (copied with one?)")
        return value

    @field_validator("wecom_corp_id")
    @classmethod
    def _corp_id_shape(cls, value: str | None) -> str | None:
        if value is not None and not _CORP_ID.fullmatch(value):
            raise ValueError("must be the 企业ID from 我的企业 → 企业信息: letters and digits starting with ww "
                             "(or wx for older corps)")
        return value

    @field_validator("wecom_department_workshops")
    @classmethod
    def _department_workshops_shape(cls, value: str) -> str:
        parse_department_workshops(value)
        return value

    @field_validator("label_key", "label_key_previous")
    @classmethod
    def _label_key_shape(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if any(c.isspace() for c in value) or len(value) < LABEL_KEY_MIN_CHARS:
            raise ValueError(f"must be at least {LABEL_KEY_MIN_CHARS} characters without spaces, e.g. the output "
                             "of `openssl rand -base64 24`")
        return value

    @field_validator("session_secret")
    @classmethod
    def _session_secret_shape(cls, value: str | None) -> str | None:
        if value is not None and len(value.strip()) < 16:
            raise ValueError("must be at least 16 characters, e.g. the output of `openssl rand -hex 32` "
                             "(or unset it to keep a generated key in SESSION_SECRET_FILE)")
        return value

    @field_validator("label_key_previous_until")
    @classmethod
    def _previous_key_pair(cls, value: date | None, info: ValidationInfo) -> date | None:
        # Validated after both keys (field order), so the pair is checked here, named by the variable to fix.
        previous, current = info.data.get("label_key_previous"), info.data.get("label_key")
        if previous and value is None:
            raise ValueError("must be set with LABEL_KEY_PREVIOUS: the last day old labels are accepted, "
                             "e.g. 2027-01-31")
        if value is not None and not previous:
            raise ValueError("is set but LABEL_KEY_PREVIOUS is not: give the previous key, or unset both")
        if previous and previous == current:
            raise ValueError("LABEL_KEY_PREVIOUS is the same as LABEL_KEY: give the key used before the rotation")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level_known(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("wecom_aes_key")
    @classmethod
    def _aes_key_shape(cls, value: str | None) -> str | None:
        if value is not None:
            decode_aes_key(value)  # the crypto's own check, so the two cannot disagree
        return value

    def __init__(self, **values: Any) -> None:
        # Whoever builds the settings (an entry point, a test) gets ConfigError naming each bad variable.
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise _config_error(exc) from exc

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Build from the environment (and the overrides), every setting parsed and checked here, once."""
        return cls(**overrides)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.plant_tz)

    @property
    def exception_type_list(self) -> tuple[str, ...]:
        return tuple(t.strip() for t in self.exception_types.split(",") if t.strip())

    @property
    def department_workshops(self) -> tuple[tuple[str, str], ...]:
        return parse_department_workshops(self.wecom_department_workshops)

    @property
    def label_secret(self) -> bytes:
        if self.label_key:
            return self.label_key.encode()
        raise ConfigError("缺少标签密钥 / missing LABEL_KEY")

    @property
    def label_previous_secret(self) -> bytes:
        return self.label_key_previous.encode() if self.label_key_previous else b""

    def require_wecom(self) -> None:
        """Called when the WeCom part is built, so a missing secret fails at start-up, not in a request."""
        missing = [
            name.upper()
            for name in ("wecom_corp_id", "wecom_agent_id", "wecom_secret", "wecom_token", "wecom_aes_key")
            if getattr(self, name) in (None, "")
        ]
        if missing:
            raise ConfigError("缺少企业微信配置 / missing WeCom settings: " + ", ".join(missing))

    def require_ops_token_behind_proxy(self) -> None:
        """Behind a trusted proxy the ops endpoints cannot tell this machine from the internet."""
        if self.trusted_proxies and not self.ops_token:
            raise ConfigError("TRUSTED_PROXIES 已设置但缺少 OPS_TOKEN / TRUSTED_PROXIES is set but OPS_TOKEN is "
                              "not: behind a reverse proxy /readyz and /metrics need a token (openssl rand -hex 24)")

    def sqlite_path(self) -> Path | None:
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix) and ":memory:" not in self.database_url:
            return Path(self.database_url[len(prefix) :])
        return None


def _config_error(exc: ValidationError) -> ConfigError:
    """pydantic's report as one line per bad variable, each starting with the variable's name."""
    lines = []
    for err in exc.errors():
        name = str(err["loc"][0]).upper() if err["loc"] else "?"
        message = err["msg"].removeprefix("Value error, ")
        lines.append(message if message.startswith(f"{name}: ") else f"{name}: {message}")
    return ConfigError("配置错误 / invalid configuration:\n  " + "\n  ".join(lines))
