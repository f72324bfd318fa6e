"""A question waits for one person's next text in the database: replaced by a new one, gone once answered,
ignored once it has expired."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.services import conversation

NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)


def test_a_question_waits_until_it_expires(make_uow):
    with make_uow() as uow:
        conversation.ask(uow, userid="w1", kind="fault_press", subject="exc:3", now=NOW,
                         ttl=timedelta(minutes=10), data={"type": "设备故障"})
        uow.commit()
    with make_uow() as uow:
        waiting = conversation.pending(uow, "w1", NOW + timedelta(minutes=9))
        assert waiting is not None and (waiting.kind, waiting.subject, waiting.data) == (
            "fault_press", "exc:3", {"type": "设备故障"})
        assert conversation.pending(uow, "w2", NOW) is None
        assert conversation.pending(uow, "w1", NOW + timedelta(minutes=10)) is None
        assert [p.subject for p in conversation.expired(uow, NOW + timedelta(minutes=10))] == ["exc:3"]
        assert conversation.expired(uow, NOW + timedelta(minutes=9)) == []


def test_a_new_question_replaces_the_old_and_an_answer_ends_it(make_uow):
    with make_uow() as uow:
        conversation.ask(uow, userid="w1", kind="fault_press", subject="exc:3", now=NOW)
        conversation.ask(uow, userid="w1", kind="exc_description", subject="exc:4", now=NOW)
        uow.commit()
    with make_uow() as uow:
        waiting = conversation.pending(uow, "w1", NOW)
        assert waiting is not None and (waiting.kind, waiting.subject) == ("exc_description", "exc:4")
        assert not conversation.finish(uow, "w1", kind="fault_press")  # not the question waiting
        assert conversation.finish(uow, "w1")
        uow.commit()
    with make_uow() as uow:
        assert conversation.pending(uow, "w1", NOW) is None


def test_cancel_words():
    assert conversation.is_cancel(" 取消 ") and conversation.is_cancel("Cancel")
    assert not conversation.is_cancel("P05")
