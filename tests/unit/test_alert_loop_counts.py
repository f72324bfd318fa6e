"""The alert-loop benchmark's counting (bench/loop_counts.py), on hand-made outbox records: what is a
duplicate card, and what is not."""

from __future__ import annotations

from bench.loop_counts import (
    NEW_CARD,
    TEXT,
    UPDATE,
    Changed,
    Sent,
    bucket,
    cards_per_person,
    duplicates,
    max_cards_per_subject,
    percentile,
)


def card(pos: float, *users: str, subject: str | None = "alert:1", label: str = "first card") -> Sent:
    return Sent(pos, NEW_CARD, users, subject, label)


def test_a_second_card_of_an_unchanged_alert_to_the_same_person_is_one_duplicate() -> None:
    sent = [card(1, "wangwu", "zhaoliu"), card(2, "zhaoliu", "boss", label="【升级】")]
    found = duplicates(sent, [])
    assert [(d.userid, d.subject, d.label) for d in found] == [("zhaoliu", "alert:1", "【升级】")]


def test_updates_and_texts_are_never_duplicates_nor_count_as_holding_a_card() -> None:
    sent = [Sent(1, UPDATE, ("zhaoliu",), "alert:1"), Sent(2, TEXT, ("zhaoliu",), "alert:1"),
            card(3, "zhaoliu"), Sent(4, UPDATE, ("zhaoliu",), "alert:1")]
    assert duplicates(sent, []) == []


def test_a_new_card_after_a_state_change_is_not_a_duplicate_but_a_third_without_one_is() -> None:
    sent = [card(1, "zhaoliu"), card(3, "zhaoliu"), card(4, "zhaoliu", label="【未关闭提醒】")]
    # 认领 between the first and second card (a state change made before the second was queued).
    found = duplicates(sent, [Changed(2.5, "alert:1")])
    assert [(d.pos, d.label) for d in found] == [(4, "【未关闭提醒】")]
    # Without the change both repeats count; a change of another alert changes nothing here.
    assert len(duplicates(sent, [Changed(2.5, "alert:2")])) == 2


def test_a_change_in_the_same_unit_as_the_card_comes_first() -> None:
    # The unit that changed the state (pos = highest notice before it + 0.5) queued notice 3.
    assert duplicates([card(2, "wangwu"), card(3, "wangwu")], [Changed(2.5, "alert:1")]) == []
    assert len(duplicates([card(2, "wangwu"), card(3, "wangwu")], [Changed(3.5, "alert:1")])) == 1


def test_subjects_are_apart_and_messages_without_one_are_not_counted() -> None:
    sent = [card(1, "chenjie"), card(2, "chenjie", subject="alert:2"), card(3, "chenjie", subject="ticket:1"),
            card(4, "chenjie", subject=None), card(5, "chenjie", subject=None)]
    assert duplicates(sent, []) == []


def test_cards_per_person_and_the_most_of_one_alert() -> None:
    sent = [card(1, "zhaoliu", "wangwu"), card(2, "zhaoliu"), card(3, "zhaoliu", subject="alert:2"),
            card(4, "zhaoliu", subject="ticket:9"), card(5, "zhaoliu", subject="ticket:9"),
            Sent(6, UPDATE, ("zhaoliu",), "alert:2")]
    assert cards_per_person(sent) == {"zhaoliu": 5, "wangwu": 1}
    assert max_cards_per_subject(sent, "zhaoliu") == (2, "alert:1")  # tickets and updates not counted
    assert max_cards_per_subject(sent, "boss") == (0, None)


def test_percentiles_and_response_buckets() -> None:
    assert percentile([], 50) is None
    assert percentile([30, 10, 20], 50) == 20
    assert percentile(list(range(1, 11)), 90) == 9
    assert percentile([5], 90) == 5
    assert [bucket(m) for m in (None, 5, 5.5, 30, 61)] == ["未接单", "≤5 分钟", "5-10 分钟", "10-30 分钟", ">60 分钟"]
