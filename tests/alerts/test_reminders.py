"""The end-of-shift reminder: alerts not closed by the shift's end are raised once, and an alert that fires
after the shift has ended waits for the next shift's end instead of being "reminded" as it is first sent."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from alerts.cards import REMINDER
from domain.models import Alert, AlertCard, Notice
from tests.alerts.test_alert_lifecycle import alerts, run
from tests.factories import NOW

SHIFT_END = NOW + timedelta(hours=10)  # 20:00 plant time


def reminders(make_uow, alert_id: int) -> list[str]:
    """Who was reminded of the alert, by what: "card:ops" (a reminder card), "text:sup" (a reminder text)."""
    with make_uow() as uow:
        titles = [(n.userids, n.card["main_title"]["title"]) for n in uow.session.scalars(
            select(Notice).join(AlertCard, AlertCard.id == Notice.alert_card_id)
            .where(AlertCard.alert_id == alert_id).order_by(Notice.id))]
        texts = [(n.userids, n.text) for n in uow.session.scalars(
            select(Notice).where(Notice.text.startswith(REMINDER), Notice.response_code.is_(None)).order_by(Notice.id))]
    return ([f"card:{users}" for users, t in titles if t.startswith(REMINDER)]
            + [f"text:{users}" for users, t in texts if f"预警 #{alert_id} " in t])


def test_an_alert_fired_after_the_shift_ended_is_reminded_at_the_next_shift_end_not_at_once(
        plant, make_uow, alert_policy):
    run(make_uow, alert_policy, SHIFT_END + timedelta(minutes=30))  # the first round that sees it: 20:30
    [late] = alerts(make_uow, "late_start")
    assert reminders(make_uow, late.id) == []  # its first card is news, not a reminder
    run(make_uow, alert_policy, SHIFT_END + timedelta(minutes=31))
    run(make_uow, alert_policy, SHIFT_END + timedelta(hours=12))  # 08:00 the next morning
    assert reminders(make_uow, late.id) == []
    run(make_uow, alert_policy, SHIFT_END + timedelta(days=1))  # the next shift's end
    run(make_uow, alert_policy, SHIFT_END + timedelta(days=1, minutes=5))
    # Both already have its card (the supervisor, and the ops manager it climbed to): a text each, no card.
    assert reminders(make_uow, late.id) == ["text:ops", "text:sup"]


def test_an_alert_fired_during_the_shift_is_reminded_at_its_end(plant, make_uow, alert_policy):
    run(make_uow, alert_policy, SHIFT_END - timedelta(minutes=1))
    [late] = alerts(make_uow, "late_start")
    run(make_uow, alert_policy, SHIFT_END)
    run(make_uow, alert_policy, SHIFT_END + timedelta(hours=3))
    assert reminders(make_uow, late.id) == ["text:ops", "text:sup"]  # once each this shift


def test_reminders_per_shift_bounds_them_and_the_next_shift_counts_again(plant, make_uow, alert_policy):
    twice = replace(alert_policy, reminders_per_shift=2)
    run(make_uow, twice, SHIFT_END - timedelta(minutes=1))
    [late] = alerts(make_uow, "late_start")
    for hours in (0, 1, 2, 3, 5, 8, 12):  # every round of the evening and the next morning
        run(make_uow, twice, SHIFT_END + timedelta(hours=hours))
    assert reminders(make_uow, late.id) == ["text:ops", "text:sup"] * 2  # 20:00 and 22:00, then no more
    run(make_uow, twice, SHIFT_END + timedelta(days=1))  # the next shift's end: its own count
    assert reminders(make_uow, late.id) == ["text:ops", "text:sup"] * 3
    with make_uow() as uow:
        assert uow.session.get(Alert, late.id).reminders == 1
    run(make_uow, alert_policy, SHIFT_END + timedelta(days=2, hours=3))
    assert len(reminders(make_uow, late.id)) == 8  # the default, one a shift
