"""Routes: each handler declares what it matches; the first match in ROUTES order wins.

Shapes borrowed from Slack Bolt (one decorator per payload kind, ack-now/finish-later) and
python-telegram-bot (the match result handed to the callback, checks at construction).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from domain.errors import DomainError
from domain.models import Person
from domain.policy import PlantPolicy
from domain.tasks_registry import TaskRef
from domain.uow import UnitOfWork
from wecom.inbound import CardClick, Inbound, MenuClick, ScanEvent, TextMsg
from wecom.menu import MenuButton
from wecom.replies import Reply

Handler = Callable[[Any, "Ctx"], Reply]
# Slow I/O a handler needs (a media download): run before its transaction opens, never inside it.
Prepare = Callable[[Any, Any], Any]
Matcher = Callable[[Inbound], Mapping[str, str] | None]

# The Chinese sentence marks stay as typed: every route reads them, and a person's own words (an exception's
# description, a handover note) keep their punctuation. Every other full-width form (ＳＥＯＲＤ０００５５２,
# －, ／) is a phone keyboard's way of typing ASCII.
_KEPT_FULL_WIDTH = frozenset("，：；（）！？")
_FULL_WIDTH = {cp: unicodedata.normalize("NFKC", chr(cp)) for cp in range(0xFF01, 0xFF5F)
               if chr(cp) not in _KEPT_FULL_WIDTH}
_FULL_WIDTH[0x3000] = " "  # the ideographic space
_SPACES = re.compile(r"[ \t\u00a0]+")


def normalized_text(text: str) -> str:
    """What a person typed, as the routes read it: full-width letters, digits and signs made half-width, runs
    of spaces made one, the ends trimmed (line breaks stay: a note may have several lines)."""
    lines = (_SPACES.sub(" ", line).strip() for line in text.translate(_FULL_WIDTH).split("\n"))
    return "\n".join(lines).strip()


def normalized(msg: Inbound) -> Inbound:
    """The message every route, handler and deferred run sees: a text's content normalised once, here."""
    if isinstance(msg, TextMsg):
        text = normalized_text(msg.content)
        return msg if text == msg.content else replace(msg, content=text)
    return msg


@dataclass(frozen=True)
class Outgoing:
    """An active message to send once the transaction has committed."""

    userids: tuple[str, ...]
    text: str | None = None
    card: Mapping[str, Any] | None = None
    # (filename, content): only deferred routes may send files, since queued tasks carry JSON
    file: tuple[str, bytes] | None = None


@dataclass
class Ctx:
    uow: UnitOfWork
    policy: PlantPolicy
    now: datetime
    user: Person
    key: str  # the delivery's dedup key: the source key for any effect the handler records
    match: Mapping[str, str] = field(default_factory=dict)
    outbox: list[Outgoing] = field(default_factory=list)
    public_url: str = ""
    tools: Any = None  # bot.tools.HandlerTools: the WeCom client and the photo store, for handlers that fetch
    tasks: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # queued once the transaction commits
    prepared: Any = None  # what the route's `prepare` fetched before the transaction opened

    @property
    def userid(self) -> str:
        return self.user.userid

    @property
    def today(self) -> date:
        return self.policy.work_day(self.now)

    def card_record_id(self) -> int:
        """The record id a card button's key ends with ("alert:ack:12" → 12); any other is a stale card."""
        try:
            return int(self.match["arg"])
        except (KeyError, ValueError) as exc:
            raise DomainError("卡片已失效。") from exc

    def send_text(self, userids: Iterable[str], text: str) -> None:
        self.outbox.append(Outgoing(tuple(userids), text=text))

    def send_card(self, userids: Iterable[str], card: Mapping[str, Any]) -> None:
        self.outbox.append(Outgoing(tuple(userids), card=card))

    def enqueue(self, name: TaskRef, **kwargs: Any) -> None:  # a handle from bot/task_refs.py, checked at start-up
        self.tasks.append((name, kwargs))

    def send_file(self, userids: Iterable[str], filename: str, content: bytes) -> None:
        self.outbox.append(Outgoing(tuple(userids), file=(filename, content)))


@dataclass(frozen=True)
class Route:
    name: str
    kind: str
    matcher: Matcher
    fn: Handler
    roles: frozenset[str] = frozenset()
    defer: str | None = None
    help: str | None = None
    catch_all: bool = False
    button: MenuButton | None = None  # the app-menu button whose event this route answers
    # A read: its unit of work takes no write lock on SQLite, and writing in it fails (ReadOnlyViolation).
    read_only: bool = False
    prepare: Prepare | None = None  # (msg, tools) -> ctx.prepared, run outside any transaction
    # An open-text route (a customer-name search, the fallback): a question waiting for this person's answer
    # (domain/services/conversation.py) takes their text instead. Commands still win over a question.
    yields: bool = False
    answers: str | None = None  # an answer route: the conversation kind whose answers it takes

    def allows(self, person: Person) -> bool:
        return not self.roles or bool(person.roles & self.roles)


class Routes:
    """A module's routes, like a Flask blueprint: no global app at import time."""

    def __init__(self, module: str) -> None:
        self.module = module
        self.routes: list[Route] = []

    def _add(self, kind: str, matcher: Matcher, *, roles: Iterable[str] = (), defer: str | None = None,
             help: str | None = None, catch_all: bool = False, button: MenuButton | None = None,
             read_only: bool = False, prepare: Prepare | None = None, yields: bool = False,
             answers: str | None = None) -> Callable[[Handler], Handler]:
        def decorate(fn: Handler) -> Handler:
            self.routes.append(
                Route(f"{self.module}.{fn.__name__}", kind, matcher, fn, frozenset(roles), defer, help, catch_all,
                      button, read_only, prepare, yields, answers)
            )
            return fn

        return decorate

    def text(self, pattern: str, **kw: Any) -> Callable[[Handler], Handler]:
        """re.fullmatch on the stripped text; named groups land in ctx.match."""
        rx = re.compile(pattern, re.IGNORECASE | re.DOTALL)

        def match(msg: Inbound) -> Mapping[str, str] | None:
            if not isinstance(msg, TextMsg):
                return None
            m = rx.fullmatch(msg.content.strip())
            return {k: v for k, v in m.groupdict().items() if v is not None} if m else None

        return self._add("text", match, catch_all=pattern in (".*", ".+", r"[\s\S]*"), **kw)

    def menu(self, key: str, *, name: str | None = None, under: str | None = None, position: int = 100,
             **kw: Any) -> Callable[[Handler], Handler]:
        """A click on the app-menu button `key`; with a `name` the button is part of the menu pushed to WeCom."""
        button = MenuButton(name, key, "click", under, position) if name else None
        return self._add("menu", lambda m: {} if isinstance(m, MenuClick) and m.key == key else None,
                         button=button, **kw)

    def event(self, kind: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self._add("event", lambda m: {} if m.kind == kind else None, **kw)

    def scan(self, *, menu_key: str | None = None, name: str | None = None, under: str | None = None,
             position: int = 100, **kw: Any) -> Callable[[Handler], Handler]:
        """Any scan, whichever button it came from; with `menu_key` and `name` the menu gets a scan button, of
        type scancode_waitmsg since only that type lets the route's reply reach the worker."""
        button = MenuButton(name, menu_key, "scancode_waitmsg", under, position) if menu_key and name else None
        return self._add("scan", lambda m: {"scan_result": m.scan_result} if isinstance(m, ScanEvent) else None,
                         button=button, **kw)

    def card(self, *, key_prefix: str, **kw: Any) -> Callable[[Handler], Handler]:
        def match(msg: Inbound) -> Mapping[str, str] | None:
            if isinstance(msg, CardClick) and msg.event_key.startswith(key_prefix):
                return {"arg": msg.event_key[len(key_prefix) :]}
            return None

        return self._add("card", match, **kw)

    def image(self, **kw: Any) -> Callable[[Handler], Handler]:
        return self._add("image", lambda m: {} if m.kind == "image" else None, **kw)

    def answer(self, kind: str, **kw: Any) -> Callable[[Handler], Handler]:
        """The answer to a question of `kind` the bot asked (conversation.ask): never matched in route order,
        only when an open-text route would otherwise take the text of someone with that question waiting.
        ctx.match holds "text" (what they typed) and "subject" (what the question was about)."""
        return self._add("answer", lambda m: None, answers=kind, **kw)

    def fallback(self, **kw: Any) -> Callable[[Handler], Handler]:
        return self._add("fallback", lambda m: {}, catch_all=True, **kw)


class RouterError(RuntimeError):
    pass


class Router:
    def __init__(self, groups: Iterable[Routes]) -> None:
        self.routes: tuple[Route, ...] = tuple(r for g in groups for r in g.routes)
        self.by_name: dict[str, Route] = {}
        self.answers: dict[str, Route] = {}
        self._freeze()

    def _freeze(self) -> None:
        """Misconfiguration fails at start-up, not on a user's message."""
        for route in self.routes:
            if route.name in self.by_name:
                raise RouterError(f"duplicate route name {route.name}")
            self.by_name[route.name] = route
        for route in self.routes:
            if route.prepare is not None and route.defer is None:
                # Its slow step would hold WeCom's 5 seconds; a deferred route runs it in a task.
                raise RouterError(f"route {route.name} prepares slow work and must be deferred")
        for route in self.routes:
            if route.answers is None:
                continue
            if route.answers in self.answers:
                raise RouterError(f"conversation {route.answers} is answered by {self.answers[route.answers].name} "
                                  f"and {route.name}")
            if route.defer is not None:
                raise RouterError(f"answer route {route.name} cannot be deferred")
            self.answers[route.answers] = route
        fallbacks = [i for i, r in enumerate(self.routes) if r.kind == "fallback"]
        if fallbacks != [len(self.routes) - 1]:
            raise RouterError("exactly one fallback route is required, and it must come last")
        menu_keys: dict[str, str] = {}
        for route in self.routes:
            if route.button is None:
                continue
            if route.button.key in menu_keys:
                raise RouterError(f"menu key {route.button.key} of {route.name} is already {menu_keys[route.button.key]}'s")
            menu_keys[route.button.key] = route.name
        seen_catch_all: set[str] = set()
        for route in self.routes[:-1]:
            if route.kind in seen_catch_all:
                raise RouterError(f"route {route.name} is shadowed by an earlier catch-all {route.kind} route")
            if route.catch_all:
                seen_catch_all.add(route.kind)

    @property
    def menu_buttons(self) -> tuple[MenuButton, ...]:
        """The app-menu buttons the routes declare, in route order: the menu is built from these only, so
        every button pushed to WeCom has a route that answers it."""
        return tuple(r.button for r in self.routes if r.button is not None)

    def answer_route(self, kind: str) -> Route | None:
        return self.answers.get(kind)

    def match(self, msg: Inbound) -> tuple[Route, Mapping[str, str]]:
        for route in self.routes:
            found = route.matcher(msg)
            if found is not None:
                return route, found
        raise RouterError("no route matched; the fallback should have")  # unreachable after _freeze
