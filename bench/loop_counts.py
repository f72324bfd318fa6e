"""The counting behind bench/alert_loop.py, on plain records so a test can hand-make them.

A simulation yields two streams, merged by their position in time:
- Sent: one outgoing message as the outbox holds it (a Notice row): its recipients, whether it is a new card,
  an update of a card in place (the row has a response_code) or a text, and the subject it is about
  ("alert:12", "ticket:3", or None for anything else, such as a handover card).
- Changed: a subject's state changed: an alert's status or owner (认领 by someone), a repair ticket's
  status or technician. An escalation (level) or a fact refreshed is not a state change: the issue wants
  escalation to add people, never to send someone a card they already hold.

Both carry `pos`, a number ordering them: the driver gives a message its Notice id and a state change the
highest Notice id queued before the unit of work that changed it, plus one half, so what a unit changed comes
before what it queued (an 认领 is done before the update it causes).
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

NEW_CARD, UPDATE, TEXT = "card", "update", "text"


@dataclass(frozen=True)
class Sent:
    pos: float
    kind: str  # NEW_CARD | UPDATE | TEXT
    userids: tuple[str, ...]
    subject: str | None
    label: str = ""  # what the card is (e.g. 升级, 未关闭提醒), for the breakdown of duplicates


@dataclass(frozen=True)
class Changed:
    pos: float
    subject: str


@dataclass(frozen=True)
class Duplicate:
    pos: float
    userid: str
    subject: str
    label: str


def duplicates(sent: Iterable[Sent], changed: Iterable[Changed]) -> list[Duplicate]:
    """Duplicate cards: a person receiving a NEW card of a subject they already received a new card of, with
    no state change of that subject since their last card of it.

    An update in place or a text is never a duplicate (and does not count as holding a card); after a state
    change a new card to someone who holds one is not counted here (it is a new fact, though the issue wants
    it as an update: the new-card/update split shows that). Messages without a subject are not counted.
    """
    events: list[tuple[float, int, Sent | Changed]] = [(c.pos, 0, c) for c in changed]
    events += [(s.pos, 1, s) for s in sent]
    events.sort(key=lambda e: (e[0], e[1]))
    holding: dict[str, set[str]] = defaultdict(set)  # subject -> people holding a card since its last change
    out: list[Duplicate] = []
    for pos, _, event in events:
        if isinstance(event, Changed):
            holding[event.subject].clear()
            continue
        if event.kind != NEW_CARD or event.subject is None:
            continue
        held = holding[event.subject]
        for userid in event.userids:
            if userid in held:
                out.append(Duplicate(pos, userid, event.subject, event.label))
            held.add(userid)
    return out


def cards_per_person(sent: Iterable[Sent]) -> Counter[str]:
    return Counter(u for s in sent if s.kind == NEW_CARD for u in s.userids)


def max_cards_per_subject(sent: Iterable[Sent], userid: str, prefix: str = "alert:") -> tuple[int, str | None]:
    """The most new cards one person got of one subject (and which subject), among subjects with the prefix."""
    per = Counter(s.subject for s in sent
                  if s.kind == NEW_CARD and userid in s.userids and s.subject and s.subject.startswith(prefix))
    if not per:
        return 0, None
    subject, n = max(per.items(), key=lambda kv: (kv[1], kv[0]))
    return n, subject


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile (p50 is the median of an odd count); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    if pct == 50:
        return float(statistics.median(ordered))
    rank = max(1, -(-len(ordered) * pct // 100))  # ceil without floats going astray
    return float(ordered[int(rank) - 1])


BUCKETS = ((5, "≤5 分钟"), (10, "5-10 分钟"), (30, "10-30 分钟"), (60, "30-60 分钟"))


def bucket(minutes: float | None) -> str:
    if minutes is None:
        return "未接单"
    for limit, label in BUCKETS:
        if minutes <= limit:
            return label
    return ">60 分钟"
