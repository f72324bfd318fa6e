"""A message WeCom refuses for good (60020: the server's IP is not trusted) is kept as failed, shown to the
admin (/metrics, `factorybot outbox list`) and sent once by `factorybot outbox retry` after the fix."""

from __future__ import annotations

from click.testing import CliRunner
from prometheus_client import CollectorRegistry, generate_latest

from alerts.outbox import queue_text
from bot.observability import StoreCollector
from bot.outbox import deliver
from factorybot.cli import main
from tests.factories import NOW
from wecom.client import WeComClient

TEXT = "注塑二线停机 35 分钟，请处理"


def _metrics(session_factory) -> str:
    registry = CollectorRegistry()
    registry.register(StoreCollector(session_factory, None))
    return generate_latest(registry).decode()


def test_a_refused_message_is_shown_and_resent_once_by_outbox_retry(db_url, session_factory, make_uow, fake_wecom,
                                                                     monkeypatch):
    fake_wecom.reset()
    for name, value in (("DATABASE_URL", db_url), ("WECOM_CORP_ID", fake_wecom.corp_id),
                        ("WECOM_SECRET", fake_wecom.secret), ("WECOM_AGENT_ID", str(fake_wecom.agent_id)),
                        ("WECOM_API_BASE", fake_wecom.url)):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("REDIS_URL", raising=False)
    with make_uow() as uow:
        queue_text(uow, ["sup"], TEXT, NOW)
        uow.commit()
    fake_wecom.fault("message/send", errcode=60020, from_ip="203.0.113.7")
    client = WeComClient(fake_wecom.corp_id, fake_wecom.secret, fake_wecom.agent_id, fake_wecom.url)
    assert deliver(session_factory, client, lambda: NOW).failed == 1
    # Later rounds leave it alone: resending a refused message would only be refused again.
    assert deliver(session_factory, client, lambda: NOW).failed == 0
    assert "factorybot_notices_failed 1.0" in _metrics(session_factory)

    runner = CliRunner()
    shown = runner.invoke(main, ["outbox", "list"])
    assert shown.exit_code == 0, shown.output
    assert "失败 1" in shown.output and "→ sup" in shown.output and "203.0.113.7" in shown.output
    assert "factorybot outbox retry --all-failed" in shown.output

    # The admin adds the IP in WeCom's console (the fault is spent), then resends.
    resent = runner.invoke(main, ["outbox", "retry", "--all-failed"])
    assert resent.exit_code == 0, resent.output
    assert "成功 1 条" in resent.output
    texts = [c["json"]["text"]["content"] for c in fake_wecom.calls(userid="sup", path="message/send")
             if c["errcode"] == 0]
    assert texts == [TEXT]
    assert "factorybot_notices_failed 0.0" in _metrics(session_factory)

    again = runner.invoke(main, ["outbox", "retry", "--all-failed"])
    assert again.exit_code == 0 and "没有需要重新发送的失败消息" in again.output
    assert runner.invoke(main, ["outbox", "retry", "--id", "999"]).exit_code == 1
