"""`factorybot doctor`: each go-live step that can be checked from the server, one line each, with what to do.

The database, Redis and access-token checks are the ones /readyz runs (bot/readiness.py); the rest are what
an IT person otherwise learns from WeCom's admin console one failed save at a time.
"""

from __future__ import annotations

import email.utils
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests
from sqlalchemy import text

from bot import readiness
from bot.app import build_client
from domain import qr_payload
from domain.errors import DomainError
from domain.migrate import current_revision, head_revision
from domain.services import label_keys
from factorybot.config import DEFAULT_WECOM_API, ConfigError, Settings
from factorybot.demo_env import DEMO_LABEL_KEY
from factorybot.runtime import Runtime
from wecom.client import WeComClient
from wecom.crypto import WeComCrypto
from wecom.errors import TransientError, WeComAPIError

CALLBACK_PATH = "/wecom/callback"
HTTP_TIMEOUT = 5.0
CLOCK_SKEW_LIMIT_SECONDS = 30
E_MENU_MISSING = 46003
MENU_PUSH = "运行 factorybot wecom menu push"
# A payload no work order has; signed and read back exactly as a printed label is.
PROBE_WORK_ORDER = "WO-DOCTOR-CHECK"

# What an errcode of gettoken or of any API call means at go-live, and what to do about it.
ERRCODE_FIXES: dict[int, tuple[str, str]] = {
    40013: ("企业ID无效", "WECOM_CORP_ID 应为「我的企业 → 企业信息」底部的企业ID（ww 开头）"),
    40001: ("应用 Secret 无效", "WECOM_SECRET 应为「应用管理 → 本应用 → Secret」的值（点「查看」后发到企业微信里复制）"),
    40056: ("AgentId 无效", "WECOM_AGENT_ID 应为「应用管理 → 本应用」页上的 AgentId"),
    60020: ("本服务器的 IP 不在应用的「企业可信IP」中",
            "在「应用管理 → 本应用 → 企业可信IP」中加入本服务器访问外网用的 IP{ip}；"
            "该项要先设置好接收消息 URL（或可信域名）才能填写"),
    41001: ("缺少 access_token", "WECOM_API_BASE 是否指向企业微信（https://qyapi.weixin.qq.com/cgi-bin/）"),
    45009: ("接口调用超过频率限制", "稍等一分钟后重试"),
}


@dataclass(frozen=True)
class Finding:
    ok: bool | None  # None: a notice, neither passed nor failed
    title: str
    detail: str
    fix: str = ""

    def lines(self) -> list[str]:
        mark = {True: "✓", False: "✗", None: "ℹ"}[self.ok]
        out = [f"{mark} {self.title}：{self.detail}"]
        if self.fix:
            out.append(f"    → {self.fix}")
        return out


def render(findings: list[Finding]) -> str:
    return "\n".join(line for f in findings for line in f.lines())


def failed(findings: list[Finding]) -> bool:
    return any(f.ok is False for f in findings)


def _wecom_error(exc: Exception, api: str) -> tuple[str, str]:
    if isinstance(exc, WeComAPIError):
        if exc.errcode in ERRCODE_FIXES:
            what, fix = ERRCODE_FIXES[exc.errcode]
            found = re.search(r"from ip: ?([0-9a-fA-F.:]+)", exc.errmsg)
            return f"{what}（errcode {exc.errcode}）", fix.format(ip=f" {found.group(1)}" if found else "")
        if exc.errcode is None:
            return (f"{api} 答复 {exc.errmsg}，不是企业微信的答复（WECOM_API_BASE 所指的服务没有这个接口）",
                    f"WECOM_API_BASE 应指向企业微信 {DEFAULT_WECOM_API}（生产环境不设即可）")
        return f"errcode {exc.errcode}：{exc.errmsg[:120]}", f"在 https://open.work.weixin.qq.com/devtool/query?e={exc.errcode} 查询"
    return (f"无法连接企业微信（{str(exc)[:120]}）",
            "检查本服务器能否访问外网 qyapi.weixin.qq.com:443（防火墙、代理、DNS）")


# --- the checks ------------------------------------------------------------------------------


def check_settings(settings: Settings, *, demo: bool) -> Finding:
    try:
        settings.require_wecom()
    except ConfigError as exc:
        return Finding(False, "设置", str(exc),
                       "在企业微信管理后台复制这些值，写入机器人与 factorybot 命令共用的环境文件")
    try:
        settings.require_ops_token_behind_proxy()
    except ConfigError as exc:
        return Finding(False, "设置", str(exc),
                       "设置 OPS_TOKEN（openssl rand -hex 24），监控以 Authorization: Bearer <OPS_TOKEN> 访问 "
                       "/readyz 与 /metrics；否则机器人不会启动")
    if not demo and not settings.public_url.startswith("https://"):
        return Finding(False, "设置", f"PUBLIC_URL 是 {settings.public_url}，不是 https:// 地址",
                       "企业微信只回调 HTTPS：把 PUBLIC_URL 设为反向代理上的 https://域名（与接收消息 URL 同一域名）")
    if not demo and settings.wecom_api_base != DEFAULT_WECOM_API:
        return Finding(False, "设置", f"WECOM_API_BASE 是 {settings.wecom_api_base}，不是企业微信",
                       f"生产环境不设 WECOM_API_BASE（默认 {DEFAULT_WECOM_API}）")
    return Finding(True, "设置", f"企业微信 5 项齐全（企业ID {settings.wecom_corp_id}，AgentId "
                   f"{settings.wecom_agent_id}），PUBLIC_URL {settings.public_url}")


def check_database(rt: Runtime) -> Finding:
    try:
        readiness.database(rt.engine)
        current = current_revision(rt.settings.database_url)
    except Exception as exc:  # any failure to reach the database is this check's answer
        return Finding(False, "数据库", f"无法连接（{type(exc).__name__}: {str(exc).splitlines()[0][:120]}）",
                       "检查 DATABASE_URL 和数据库服务是否在运行")
    head = head_revision()
    if current != head:
        return Finding(False, "数据库", f"已连接，结构版本 {current or '空库'}，本程序需要 {head}",
                       "运行 factorybot db upgrade")
    return Finding(True, "数据库", f"已连接，结构为最新版本 {head}")


def check_redis(settings: Settings) -> Finding:
    if not settings.redis_url:
        return Finding(None, "Redis", "未配置（REDIS_URL 为空），任务在 Web 进程内运行（单机可用；多进程部署请配置 Redis）")
    import redis as redis_lib  # only when configured, as bot/app.py does

    client = redis_lib.Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=5)
    try:
        readiness.redis(client)
    except redis_lib.RedisError as exc:
        return Finding(False, "Redis", f"无法连接 {settings.redis_url}（{str(exc)[:120]}）",
                       "检查 REDIS_URL 和 Redis 服务是否在运行")
    finally:
        client.close()
    return Finding(True, "Redis", f"已连接 {settings.redis_url}")


def check_token(client: WeComClient) -> Finding:
    try:
        readiness.wecom(client)
    except (WeComAPIError, TransientError) as exc:
        what, fix = _wecom_error(exc, "gettoken")
        return Finding(False, "access_token", what, fix)
    return Finding(True, "access_token", "已从企业微信取得（企业ID、Secret 正确）")


def check_menu(client: WeComClient) -> Finding:
    try:
        menu = client.get_menu()
    except WeComAPIError as exc:
        if exc.errcode == E_MENU_MISSING:
            return Finding(False, "应用菜单", "应用还没有菜单（errcode 46003 menu no exist）", MENU_PUSH)
        what, fix = _wecom_error(exc, "menu/get")
        return Finding(False, "应用菜单", f"无法读取：{what}", fix)
    except TransientError as exc:
        what, fix = _wecom_error(exc, "menu/get")
        return Finding(False, "应用菜单", f"无法读取：{what}", fix)
    if menu is None:
        return Finding(False, "应用菜单", "应用还没有菜单（errcode 46003 menu no exist）", MENU_PUSH)
    buttons = menu.get("button") or []
    names = [str(b.get("name", "")) for b in buttons]
    kinds = {b.get("type") for b in buttons} | {s.get("type") for b in buttons for s in b.get("sub_button") or []}
    if not buttons:
        return Finding(False, "应用菜单", "菜单是空的", MENU_PUSH)
    if "scancode_waitmsg" not in kinds:
        return Finding(False, "应用菜单", f"有 {len(buttons)} 个按钮（{'、'.join(names)}），但没有扫码报工按钮"
                       "（scancode_waitmsg），扫码后收不到回复", MENU_PUSH)
    return Finding(True, "应用菜单", f"已设置 {len(buttons)} 个按钮：{'、'.join(names)}（含扫码报工）")


def check_callback(settings: Settings, http: requests.Session) -> Finding:
    """The GET WeCom sends when the receive-message URL is saved: a signed, encrypted echostr to decrypt."""
    assert settings.wecom_token and settings.wecom_aes_key and settings.wecom_corp_id
    crypto = WeComCrypto(settings.wecom_token, settings.wecom_aes_key, settings.wecom_corp_id)
    url = settings.public_url.rstrip("/") + CALLBACK_PATH
    echo, nonce, timestamp = secrets.token_hex(8), secrets.token_hex(5), str(int(time.time()))
    echostr, signature = crypto.seal_echostr(echo, timestamp, nonce)
    params = {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce, "echostr": echostr}
    started = time.perf_counter()
    try:
        resp = http.get(url, params=params, timeout=HTTP_TIMEOUT, allow_redirects=False)
    except requests.exceptions.SSLError as exc:
        return Finding(False, "回调 URL", f"{url} 的 HTTPS 证书不被信任（{str(exc)[:100]}）",
                       "检查反向代理的证书：域名要与证书一致，Caddy 自动申请证书需要 80 和 443 端口对外开放")
    except requests.RequestException as exc:
        return Finding(False, "回调 URL", f"本机访问不到 {url}（{type(exc).__name__}）",
                       "检查 gunicorn 是否在运行、反向代理是否转发到它、域名是否解析到本服务器"
                       "（路由器不支持内网访问自己公网地址时，此项会误报，可在外网再试）")
    ms = (time.perf_counter() - started) * 1000
    if resp.status_code == 200 and resp.text == echo:
        return Finding(True, "回调 URL", f"{url} 通过了企业微信保存 URL 时的同一校验（{ms:.0f} ms）")
    if resp.status_code == 403:
        return Finding(False, "回调 URL", f"{url} 拒绝了签名（HTTP 403）",
                       "运行中的机器人与本命令的 WECOM_TOKEN / WECOM_AES_KEY / WECOM_CORP_ID 不同："
                       "让两者使用同一份环境文件，并重启机器人")
    if resp.status_code in (301, 302, 307, 308):
        return Finding(False, "回调 URL", f"{url} 被重定向到 {resp.headers.get('Location', '?')}",
                       "PUBLIC_URL 应直接写最终的 https:// 地址（企业微信不跟随重定向）")
    return Finding(False, "回调 URL", f"{url} 答复 HTTP {resp.status_code}，不是解密后的 echostr"
                   f"（{resp.text[:60].strip() or '空'}）",
                   f"反向代理要把 {CALLBACK_PATH} 原样转发给 gunicorn（见 README 的 Caddy 配置）")


def check_clock(settings: Settings, rt: Runtime, http: requests.Session,
                now: Callable[[], float] = time.time) -> Finding:
    """Local time against the Date header of WeCom's API answer, else against the database server's now()."""
    url = settings.wecom_api_base.rstrip("/") + "/gettoken"
    try:
        before = now()
        resp = http.get(url, timeout=HTTP_TIMEOUT)  # no corpid: a cheap error answer, but a dated one
        after = now()
        stamp = email.utils.parsedate_to_datetime(resp.headers["Date"]).timestamp()
        # Date has one-second resolution: compare it with the middle of the exchange, less that second.
        skew, source = stamp - (before + after) / 2, "企业微信 API 答复的 Date 头"
        margin = 1 + (after - before) / 2
    except (requests.RequestException, KeyError, TypeError, ValueError):
        if rt.engine.dialect.name != "postgresql":
            return Finding(None, "时钟", "无法比较：企业微信 API 不可达，且数据库不是 PostgreSQL（SQLite 的时间即本机时间）")
        try:
            with rt.engine.connect() as conn:
                before = now()
                db_now = conn.execute(text("SELECT now()")).scalar_one()
                after = now()
        except Exception as exc:  # the database check above reports why it cannot be reached
            return Finding(None, "时钟", f"无法比较（{type(exc).__name__}）")
        skew, source, margin = db_now.timestamp() - (before + after) / 2, "数据库服务器的 now()", 0.5
    shown = f"本机时钟比{source}{'慢' if skew > 0 else '快'} {abs(skew):.0f} 秒"
    if abs(skew) - margin > CLOCK_SKEW_LIMIT_SECONDS:
        return Finding(False, "时钟", shown,
                       "开启时间同步：timedatectl set-ntp true（或安装 chrony），预警与报工时间都按本机时钟")
    return Finding(True, "时钟", f"本机时钟与{source}相差 {abs(skew):.0f} 秒（误差 ±{margin:.0f} 秒）")


def check_label(settings: Settings, rt: Runtime, *, demo: bool) -> Finding:
    key = rt.policy.label_key
    if not key:
        return Finding(False, "工单标签", "未设置 LABEL_KEY，无法打印或识别工单二维码",
                       "生成一个：openssl rand -base64 24，写入机器人与 factorybot 命令共用的环境文件，重启机器人")
    if not demo and key == DEMO_LABEL_KEY.encode():
        return Finding(False, "工单标签", "LABEL_KEY 是演示用的密钥，任何人都能伪造标签",
                       "生成一个：openssl rand -base64 24，换上后重启机器人，并按 README 的「更换标签密钥」保留旧密钥")
    try:
        payload = qr_payload.encode(PROBE_WORK_ORDER, key)
        decoded = rt.policy.read_label(payload, rt.now())
    except DomainError as exc:
        return Finding(False, "工单标签", f"刚签发的标签无法识别：{exc.message}", "检查 LABEL_KEY")
    if decoded != PROBE_WORK_ORDER:
        return Finding(False, "工单标签", "刚签发的标签读出了别的工单号", "检查 LABEL_KEY")
    previous = ""
    until = settings.label_key_previous_until
    if until is not None:
        days = (until - rt.today()).days
        previous = (f"；旧密钥到 {until} 为止仍有效（还有 {days} 天）" if days >= 0
                    else f"；旧密钥已于 {until} 过期，可删除 LABEL_KEY_PREVIOUS 和 LABEL_KEY_PREVIOUS_UNTIL")
    try:
        with rt.uow(read_only=True) as uow:
            bot = label_keys.in_use(uow)
    except Exception:  # the database check reports why; the key itself was checked above
        bot = None
    if bot is None:
        return Finding(None, "工单标签", f"刚签发的标签可以识别{previous}；机器人尚未在此数据库上启动，无法核对它的密钥")
    if bot.fingerprint is None:
        return Finding(False, "工单标签", "运行中的机器人没有 LABEL_KEY，扫码时会拒绝所有标签",
                       "机器人与 factorybot 命令使用同一份环境文件（同一个 LABEL_KEY），重启机器人")
    if bot.fingerprint != qr_payload.fingerprint(key):
        return Finding(False, "工单标签", "本机的 LABEL_KEY 与运行中的机器人不同，这里打印的标签扫码时会被拒绝",
                       "机器人与 factorybot 命令使用同一份环境文件（同一个 LABEL_KEY），重启机器人")
    recorded = bot.recorded_at.astimezone(rt.policy.tz).strftime("%Y-%m-%d %H:%M")
    return Finding(True, "工单标签", f"刚签发的标签可以识别，与机器人用的是同一把密钥（机器人 {recorded} 启动时记录）{previous}")


def run_checks(settings: Settings, *, demo: bool = False, http: requests.Session | None = None) -> list[Finding]:
    http = http or requests.Session()
    findings = [check_settings(settings, demo=demo)]
    try:
        rt = Runtime.build(settings)
    except ConfigError as exc:
        return [*findings, Finding(False, "设置", str(exc), "按提示修正环境变量")]
    findings += [check_database(rt), check_redis(settings)]
    client = _client(settings)
    if client is not None:
        token = check_token(client)
        findings.append(token)
        findings.append(check_menu(client) if token.ok else
                        Finding(False, "应用菜单", "未检查：没有 access_token", "先解决 access_token 一项"))
    if settings.wecom_token and settings.wecom_aes_key and settings.wecom_corp_id:
        findings.append(check_callback(settings, http))
    findings += [check_clock(settings, rt, http), check_label(settings, rt, demo=demo)]
    rt.engine.dispose()
    return findings


def _client(settings: Settings) -> WeComClient | None:
    if not (settings.wecom_corp_id and settings.wecom_secret and settings.wecom_agent_id is not None):
        return None
    # No Redis: a fresh token fetch is the point of the check, not the one cached for the bot.
    return build_client(settings, None)


def settings_or_finding(load: Callable[[], Settings]) -> Settings | Finding:
    try:
        return load()
    except ConfigError as exc:
        return Finding(False, "设置", str(exc).replace("\n", " "), "按提示修正环境变量后重试")

