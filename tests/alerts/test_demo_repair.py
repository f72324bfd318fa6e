"""The demo's open breakdown stays with the technician it was sent to when the demo starts, whatever the
hour (the README's technician walk-through: tech01 接单 → 到场 → 完成), and the demo has a 设备主管."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from alerts import repair
from alerts.tick import tick
from domain.db import make_engine, make_session_factory
from domain.demo import load_demo_plant
from domain.models import Base, Person, RepairTicket
from domain.policy import PlantPolicy
from domain.uow import UnitOfWork
from domain.vocab import Role, TicketStatus
from factorybot.config import Settings
from factorybot.runtime import build_alert_policy

TODAY = date(2026, 12, 3)
# Started in the afternoon: hours after the demo's breakdown (late morning), past REPAIR_ANSWER_MINUTES.
STARTED = datetime(2026, 12, 3, 15, 0, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


def test_the_demo_breakdown_is_still_the_first_technicians_after_the_first_rounds(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/demo.db")
    Base.metadata.create_all(engine)
    factory = make_session_factory(engine)
    policy = build_alert_policy(Settings())
    with UnitOfWork(factory) as uow:
        load_demo_plant(uow, today=TODAY, policy=PlantPolicy(), now=STARTED)
        uow.commit()
    with UnitOfWork(factory) as uow:
        [ticket] = uow.session.scalars(select(RepairTicket).where(RepairTicket.status == TicketStatus.OPEN)).all()
        first, ticket_id = ticket.tried_userids, ticket.id
        assert first == "tech01" and ticket.requested_by_id is not None
        lead = uow.session.scalars(select(Person).where(Person.userid == "wugong")).one()
        assert lead.name == "吴工" and lead.has_role(Role.MAINTENANCE_LEAD) and lead.workshop is None

    for minutes in (0, 5):  # the demo's first round, and the next one
        with UnitOfWork(factory) as uow:
            assert tick(uow, policy, STARTED + timedelta(minutes=minutes)).redispatched == []
            uow.commit()
    with UnitOfWork(factory) as uow:
        assert uow.session.get(RepairTicket, ticket_id).tried_userids == first
        for action, minutes in (("accept", 6), ("arrive", 15), ("done", 40)):
            step = repair.step(uow, ticket_id=ticket_id, userid=first, action=action,
                               now=STARTED + timedelta(minutes=minutes))
            assert step.changed
        uow.commit()
    engine.dispose()
