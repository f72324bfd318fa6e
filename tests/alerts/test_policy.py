"""Alert settings parsed at start-up: an escalation level may name several roles, and a bad chain stops
start-up with a message naming the setting."""

from __future__ import annotations

from datetime import timedelta

import pytest

from factorybot.config import ConfigError, Settings
from factorybot.runtime import build_alert_policy
from tests.alerts.test_alert_lifecycle import alerts, cards, run
from tests.factories import NOW


def test_an_escalation_level_may_name_several_roles():
    policy = build_alert_policy(Settings(alert_escalation_chain="supervisor, ops_manager|admin ,executive"))
    assert policy.chain == (("supervisor",), ("ops_manager", "admin"), ("executive",))
    assert policy.level_roles(1) == ("ops_manager", "admin") and policy.level_roles(7) == ("executive",)
    assert build_alert_policy(Settings()).chain == (("supervisor",), ("ops_manager",), ("executive",))


@pytest.mark.parametrize("chain", ["supervisor,ops_manger,executive", "supervisor,ops_manager|boss", " , "])
def test_a_bad_escalation_chain_stops_start_up_naming_the_setting(chain):
    with pytest.raises(ConfigError, match="ALERT_ESCALATION_CHAIN"):
        build_alert_policy(Settings(alert_escalation_chain=chain))


def test_an_alert_climbing_to_a_level_of_two_roles_reaches_both(plant, make_uow):
    policy = build_alert_policy(Settings(alert_escalation_chain="supervisor,ops_manager|admin,executive"))
    run(make_uow, policy, NOW)
    [late] = alerts(make_uow, "late_start")
    run(make_uow, policy, NOW + timedelta(minutes=15))
    # The ops manager had the card from the start: the climb adds only the administrator.
    assert cards(make_uow, late.id) == [(0, "ops|sup"), (1, "admin")]
