"""The demo's open breakdown reaches tech01 with a card in the demo's first round, whatever the hour, and
stays his (the README's technician walk-through: 接单 → 到场 → 完成); the demo has a 设备主管."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from alerts import repair
from alerts.tick import tick
from domain.db import make_engine, make_session_factory
from domain.demo import load_demo_plant
from domain.models import Base, Notice, Person, RepairTicket
from domain.policy import PlantPolicy
from domain.uow import UnitOfWork
from domain.vocab import Role, TicketStatus
from factorybot.config import Settings
from factorybot.runtime import build_alert_policy

TODAY = date(2026, 12, 3)
# Started in the afternoon: hours after the demo's breakdown (late morning), past REPAIR_ANSWER_MINUTES.
STARTED = datetime(2026, 12, 3, 15, 0, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


def test_the_demo_breakdown_reaches_tech01_in_the_first_round_and_stays_his(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/demo.db")
    Base.metadata.create_all(engine)
    factory = make_session_factory(engine)
    policy = build_alert_policy(Settings())
    with UnitOfWork(factory) as uow:
        load_demo_plant(uow, today=TODAY, policy=PlantPolicy())
        uow.commit()
    with UnitOfWork(factory) as uow:
        [ticket] = uow.session.scalars(select(RepairTicket).where(RepairTicket.status == TicketStatus.OPEN)).all()
        ticket_id = ticket.id
        assert ticket.requested_by_id is not None and ticket.machine in ("P01", "P02", "P03", "P04")
        lead = uow.session.scalars(select(Person).where(Person.userid == "wugong")).one()
        assert lead.name == "吴工" and lead.has_role(Role.MAINTENANCE_LEAD) and lead.workshop is None

    # The demo's first round, at whatever hour it starts, asks tech01 (A区), card and all; the next leaves it.
    for minutes, moved in ((0, [ticket_id]), (2, []), (8, [])):
        with UnitOfWork(factory) as uow:
            assert tick(uow, policy, STARTED + timedelta(minutes=minutes)).redispatched == moved
            uow.commit()
    with UnitOfWork(factory) as uow:
        ticket = uow.session.get(RepairTicket, ticket_id)
        assert ticket.tried_userids == "tech01" and ticket.dispatched_at is not None
        [card] = [n.card for n in uow.session.scalars(select(Notice).where(Notice.userids == "tech01"))]
        assert card["main_title"]["title"] == f"【维修工单】#{ticket_id} {ticket.machine}"
        for action, minutes in (("accept", 9), ("arrive", 15), ("done", 40)):
            step = repair.step(uow, ticket_id=ticket_id, userid="tech01", action=action,
                               now=STARTED + timedelta(minutes=minutes))
            assert step.changed
        uow.commit()
    engine.dispose()
