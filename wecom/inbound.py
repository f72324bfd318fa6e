"""Typed view of a decrypted WeCom callback.

We parse with xmltodict ourselves because wechatpy 1.8.18 turns template_card_event into an
UnknownMessage and hides its fields. Values are plain frozen dataclasses so they can cross
a Celery boundary via to_dict()/from_dict().
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar
from xml.parsers.expat import ExpatError

import xmltodict


class InboundParseError(ValueError):
    """The plaintext is not a WeCom message we can trust."""


@dataclass(frozen=True)
class SelectedItem:
    question_key: str
    option_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Inbound:
    userid: str
    corp_id: str
    create_time: int
    agent_id: int
    # WeCom's MsgId: digits until client 5.0 (2025-09), since then also base64-like text such as
    # "CAIQg/PKxgYY2sC9tpuAgAMg9/zKaw=="; "" when the callback has none (every event).
    msg_id: str

    kind: ClassVar[str] = "unknown"

    def _event_parts(self) -> tuple[str, str, str]:
        """(event, event_key, task_id) used to dedupe callbacks that have no MsgId."""
        return (self.kind, "", "")

    @property
    def dedup_key(self) -> str:
        if self.msg_id:
            return f"msg:{self.msg_id}"
        # FromUserName+CreateTime alone collides (two clicks in one second), hence the extra parts.
        event, event_key, task_id = self._event_parts()
        return f"evt:{self.userid}:{self.create_time}:{event}:{event_key}:{task_id}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (tuples become lists) carrying `kind` so from_dict can rebuild it."""
        data = _jsonable(dataclasses.asdict(self))
        data["kind"] = self.kind
        return data


@dataclass(frozen=True)
class TextMsg(Inbound):
    content: str = ""
    kind: ClassVar[str] = "text"


@dataclass(frozen=True)
class ImageMsg(Inbound):
    media_id: str = ""
    pic_url: str = ""
    kind: ClassVar[str] = "image"


@dataclass(frozen=True)
class LocationMsg(Inbound):
    x: float = 0.0
    y: float = 0.0
    scale: int = 0
    label: str = ""
    kind: ClassVar[str] = "location"


@dataclass(frozen=True)
class EnterAgent(Inbound):
    kind: ClassVar[str] = "enter_agent"

    def _event_parts(self) -> tuple[str, str, str]:
        return ("enter_agent", "", "")


@dataclass(frozen=True)
class MenuClick(Inbound):
    key: str = ""
    kind: ClassVar[str] = "click"

    def _event_parts(self) -> tuple[str, str, str]:
        return ("click", self.key, "")


@dataclass(frozen=True)
class MenuView(Inbound):
    url: str = ""
    kind: ClassVar[str] = "view"

    def _event_parts(self) -> tuple[str, str, str]:
        return ("view", self.url, "")


@dataclass(frozen=True)
class ScanEvent(Inbound):
    event: str = "scancode_push"  # scancode_waitmsg | scancode_push
    key: str = ""
    scan_type: str = ""
    scan_result: str = ""
    kind: ClassVar[str] = "scan"

    def _event_parts(self) -> tuple[str, str, str]:
        # Two different labels scanned in the same second are two scans; a retry repeats the result too.
        return (self.event, self.key, self.scan_result)


@dataclass(frozen=True)
class CardClick(Inbound):
    event: str = "template_card_event"  # template_card_event | template_card_menu_event
    event_key: str = ""
    task_id: str = ""
    card_type: str = ""
    response_code: str = ""
    selected_items: tuple[SelectedItem, ...] = field(default_factory=tuple)
    kind: ClassVar[str] = "card"

    def _event_parts(self) -> tuple[str, str, str]:
        return (self.event, self.event_key, self.task_id)

    def selected(self, question_key: str) -> tuple[str, ...]:
        """Option ids chosen for one question, () when the card had no such selector."""
        for item in self.selected_items:
            if item.question_key == question_key:
                return item.option_ids
        return ()


@dataclass(frozen=True)
class LocationEvent(Inbound):
    latitude: float = 0.0
    longitude: float = 0.0
    precision: float = 0.0
    kind: ClassVar[str] = "location_event"

    def _event_parts(self) -> tuple[str, str, str]:
        return ("location", "", "")


@dataclass(frozen=True)
class UnknownMsg(Inbound):
    msg_type: str = ""
    event: str = ""
    kind: ClassVar[str] = "unknown"

    def _event_parts(self) -> tuple[str, str, str]:
        return (self.event or self.msg_type, "", "")


_KINDS: dict[str, type[Inbound]] = {
    cls.kind: cls
    for cls in (
        TextMsg,
        ImageMsg,
        LocationMsg,
        EnterAgent,
        MenuClick,
        MenuView,
        ScanEvent,
        CardClick,
        LocationEvent,
        UnknownMsg,
    )
}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


# --- parsing -------------------------------------------------------------------------------


def _str(root: dict[str, Any], name: str) -> str:
    value = root.get(name)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    raise InboundParseError(f"{name} must be text")


def _int(root: dict[str, Any], name: str, *, required: bool = False) -> int:
    raw = _str(root, name).strip()
    if not raw:
        if required:
            raise InboundParseError(f"missing {name}")
        return 0
    try:
        return int(raw)
    except ValueError as exc:
        raise InboundParseError(f"{name} is not an integer: {raw!r}") from exc


MAX_MSG_ID_CHARS = 128  # a 64-bit number has 20 digits, the string form seen so far 32 characters


def _msg_id(raw: str) -> str:
    """MsgId as dedup text. A numeric id keeps the key it had when ids were parsed as integers (no leading
    zeros, "0" meaning none), so callbacks remembered before an upgrade still match their retries."""
    value = raw.strip()
    if value.isascii() and value.isdigit():
        number = int(value)
        return str(number) if number else ""
    if len(value) > MAX_MSG_ID_CHARS or not all("!" <= ch <= "~" for ch in value):
        raise InboundParseError(f"MsgId is neither a number nor printable text of at most "
                                f"{MAX_MSG_ID_CHARS} characters: {value[:40]!r}")
    return value


def _float(root: dict[str, Any], name: str) -> float:
    raw = _str(root, name).strip()
    if not raw:
        return 0.0
    try:
        return float(raw)
    except ValueError as exc:
        raise InboundParseError(f"{name} is not a number: {raw!r}") from exc


def _as_list(value: Any) -> list[Any]:
    # xmltodict yields a dict/str for one child element and a list for several.
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def _selected_items(root: dict[str, Any]) -> tuple[SelectedItem, ...]:
    container = root.get("SelectedItems")
    if not isinstance(container, dict):
        return ()
    items: list[SelectedItem] = []
    for raw in _as_list(container.get("SelectedItem")):
        if not isinstance(raw, dict):
            raise InboundParseError("SelectedItem must be an element")
        option_ids_el = raw.get("OptionIds")
        option_ids: list[str] = []
        if isinstance(option_ids_el, dict):
            option_ids = [str(o) for o in _as_list(option_ids_el.get("OptionId")) if o is not None]
        items.append(SelectedItem(question_key=_str(raw, "QuestionKey"), option_ids=tuple(option_ids)))
    return tuple(items)


def parse(xml: str | bytes) -> Inbound:
    """Parse decrypted callback plaintext into an Inbound value."""
    if isinstance(xml, bytes):
        try:
            xml = xml.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InboundParseError("plaintext is not UTF-8") from exc
    if not isinstance(xml, str) or not xml.strip():
        raise InboundParseError("empty plaintext")
    lowered = xml.lower()
    if "<!doctype" in lowered or "<!entity" in lowered:
        raise InboundParseError("DOCTYPE/ENTITY not allowed")
    try:
        doc = xmltodict.parse(xml)
    except (ExpatError, ValueError) as exc:
        raise InboundParseError(f"not XML: {exc}") from exc
    root = doc.get("xml") if isinstance(doc, dict) else None
    if not isinstance(root, dict):
        raise InboundParseError("root element must be <xml>")

    msg_type = _str(root, "MsgType").strip().lower()
    userid = _str(root, "FromUserName").strip()
    if not msg_type:
        raise InboundParseError("missing MsgType")
    if not userid:
        raise InboundParseError("missing FromUserName")
    base: dict[str, Any] = {
        "userid": userid,
        "corp_id": _str(root, "ToUserName").strip(),
        "create_time": _int(root, "CreateTime", required=True),
        "agent_id": _int(root, "AgentID"),
        "msg_id": _msg_id(_str(root, "MsgId")),
    }

    if msg_type == "event":
        return _parse_event(root, base)
    if msg_type == "text":
        return TextMsg(**base, content=_str(root, "Content"))
    if msg_type == "image":
        return ImageMsg(**base, media_id=_str(root, "MediaId"), pic_url=_str(root, "PicUrl"))
    if msg_type == "location":
        return LocationMsg(
            **base,
            x=_float(root, "Location_X"),
            y=_float(root, "Location_Y"),
            scale=_int(root, "Scale"),
            label=_str(root, "Label"),
        )
    return UnknownMsg(**base, msg_type=msg_type, event="")


def _parse_event(root: dict[str, Any], base: dict[str, Any]) -> Inbound:
    event = _str(root, "Event").strip().lower()
    if not event:
        raise InboundParseError("event without Event")
    # Events carry no MsgId; force "" so dedup uses the event key even if one sneaks in.
    base = {**base, "msg_id": ""}
    if event == "enter_agent":
        return EnterAgent(**base)
    if event == "click":
        return MenuClick(**base, key=_str(root, "EventKey"))
    if event == "view":
        return MenuView(**base, url=_str(root, "EventKey"))
    if event in ("scancode_waitmsg", "scancode_push"):
        info = root.get("ScanCodeInfo")
        info = info if isinstance(info, dict) else {}
        return ScanEvent(
            **base,
            event=event,
            key=_str(root, "EventKey"),
            scan_type=_str(info, "ScanType"),
            scan_result=_str(info, "ScanResult"),
        )
    if event in ("template_card_event", "template_card_menu_event"):
        return CardClick(
            **base,
            event=event,
            event_key=_str(root, "EventKey"),
            task_id=_str(root, "TaskId"),
            card_type=_str(root, "CardType"),
            response_code=_str(root, "ResponseCode"),
            selected_items=_selected_items(root),
        )
    if event == "location":
        return LocationEvent(
            **base,
            latitude=_float(root, "Latitude"),
            longitude=_float(root, "Longitude"),
            precision=_float(root, "Precision"),
        )
    return UnknownMsg(**base, msg_type="event", event=event)


def from_dict(d: dict[str, Any]) -> Inbound:
    """Inverse of Inbound.to_dict(); accepts lists where tuples were (JSON round trip)."""
    data = dict(d)
    kind = data.pop("kind", None)
    cls = _KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise InboundParseError(f"unknown kind {kind!r}")
    if isinstance(data.get("msg_id"), int):  # queued before ids were text
        data["msg_id"] = _msg_id(str(data["msg_id"]))
    names = {f.name for f in dataclasses.fields(cls)}
    unexpected = set(data) - names
    if unexpected:
        raise InboundParseError(f"unexpected fields for {kind}: {sorted(unexpected)}")
    if cls is CardClick:
        data["selected_items"] = tuple(
            item
            if isinstance(item, SelectedItem)
            else SelectedItem(
                question_key=str(item["question_key"]),
                option_ids=tuple(str(o) for o in item.get("option_ids", ())),
            )
            for item in data.get("selected_items", ())
        )
    try:
        return cls(**data)
    except TypeError as exc:
        raise InboundParseError(f"bad fields for {kind}: {exc}") from exc
