"""A small plant with managers up the chain and technicians in three zones."""

from __future__ import annotations

import pytest

from alerts.policy import AlertPolicy
from domain.models import Person
from factorybot.config import Settings
from factorybot.runtime import build_alert_policy
from tests.factories import small_plant

EXTRA = (
    ("ops", "赵六", "ops_manager", None, None),
    ("chief", "陈总", "executive", None, None),
    ("techA", "刘师傅", "technician", None, "A区"),
    ("techB", "何师傅", "technician", None, "B区"),
    ("techC", "郭师傅", "technician", None, "C区"),
)


@pytest.fixture
def alert_policy() -> AlertPolicy:
    return build_alert_policy(Settings())


@pytest.fixture
def plant(make_uow):
    with make_uow() as uow:
        small_plant(uow)
        for userid, name, roles, workshop, zone in EXTRA:
            uow.session.add(Person(userid=userid, name=name, roles_csv=roles, workshop=workshop, zone=zone))
        uow.commit()
