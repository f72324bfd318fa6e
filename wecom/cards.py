"""Template-card builders (message/send `template_card` shape) and their validation.

Builders truncate cosmetic text instead of failing; validate_card enforces the limits WeCom
rejects or silently mangles, and is shared with the fake WeCom server.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

CARD_TYPES = frozenset(
    {"text_notice", "news_notice", "button_interaction", "vote_interaction", "multiple_interaction"}
)
# Card types whose send result carries a response_code (72 h, single use) for updates.
INTERACTIVE_CARD_TYPES = frozenset({"button_interaction", "vote_interaction", "multiple_interaction"})

MAX_BUTTONS = 6
MAX_ROWS = 6
MAX_TITLE_CHARS = 36
MAX_KEY_BYTES = 1024
MAX_TASK_ID_BYTES = 128
_TASK_ID_RE = re.compile(r"^[0-9A-Za-z_\-@]+$")
_TASK_ID_BAD_CHARS = re.compile(r"[^0-9A-Za-z_\-@]+")


@dataclass(frozen=True)
class Button:
    text: str
    key: str = ""
    style: int = 1  # 1..4; WeCom's colour scheme, 1 = primary blue
    url: str | None = None  # a link button (type 1) opens this page instead of calling back


def _truncate_chars(s: str, limit: int) -> str:
    return s if len(s) <= limit else s[: limit - 1] + "…"


def make_task_id(prefix: str, *parts: object) -> str:
    """A legal task_id: sanitised readable part plus a hash of the raw inputs.

    Deterministic: the same inputs give the same id. WeCom requires task_id to be unique per
    app, so include something that varies (a version, a timestamp) to send a second card for
    the same subject.
    """
    raw = "\x1f".join(str(p) for p in (prefix, *parts))
    digest = hashlib.sha1(raw.encode("utf-8")).hexdigest()[:10]
    readable = "_".join(
        cleaned for p in (prefix, *parts) if (cleaned := _TASK_ID_BAD_CHARS.sub("_", str(p)).strip("_"))
    )
    room = MAX_TASK_ID_BYTES - len(digest) - 1
    readable = readable[:room].rstrip("_")
    return f"{readable}-{digest}" if readable else digest


def _rows(rows: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"keyname": str(k), "value": str(v)} for k, v in rows]


def _main_title(title: str, desc: str) -> dict[str, str]:
    main: dict[str, str] = {"title": _truncate_chars(title, MAX_TITLE_CHARS)}
    if desc:
        main["desc"] = desc
    return main


def button_card(
    *,
    task_id: str,
    title: str,
    desc: str = "",
    rows: Sequence[tuple[str, str]] = (),
    buttons: Sequence[Button],
    sub_title: str = "",
    source_desc: str = "FactoryBot",
    url: str | None = None,
    replace_text: str | None = None,
) -> dict[str, Any]:
    """A button_interaction card; each button's key comes back as the callback's EventKey."""
    card: dict[str, Any] = {"card_type": "button_interaction"}
    if source_desc:
        card["source"] = {"desc": source_desc}
    card["main_title"] = _main_title(title, desc)
    if sub_title:
        card["sub_title_text"] = sub_title
    if rows:
        card["horizontal_content_list"] = _rows(rows)
    if url:
        card["card_action"] = {"type": 1, "url": url}
    card["task_id"] = task_id
    card["button_list"] = [
        {"text": b.text, "style": b.style, "type": 1, "url": b.url} if b.url
        else {"text": b.text, "style": b.style, "key": b.key}
        for b in buttons
    ]
    if replace_text:
        card["replace_text"] = replace_text
    validate_card(card)
    return card


def text_notice_card(
    *,
    task_id: str,
    title: str,
    desc: str = "",
    rows: Sequence[tuple[str, str]] = (),
    emphasis: tuple[str, str] | None = None,
    sub_title: str = "",
    url: str | None = None,
    jump_text: str = "查看详情",
) -> dict[str, Any]:
    """A text_notice card. WeCom requires card_action on text_notice, so `url` is mandatory
    in practice: without it this raises ValueError (via validate_card)."""
    card: dict[str, Any] = {"card_type": "text_notice", "source": {"desc": "FactoryBot"}}
    card["main_title"] = _main_title(title, desc)
    if emphasis:
        card["emphasis_content"] = {"title": emphasis[0], "desc": emphasis[1]}
    if sub_title:
        card["sub_title_text"] = sub_title
    if rows:
        card["horizontal_content_list"] = _rows(rows)
    if url:
        card["jump_list"] = [{"type": 1, "title": jump_text, "url": url}]
        card["card_action"] = {"type": 1, "url": url}
    card["task_id"] = task_id
    validate_card(card)
    return card


def _check_task_id(task_id: object) -> None:
    if not isinstance(task_id, str) or not task_id:
        raise ValueError("task_id must be a non-empty string")
    if len(task_id.encode("utf-8")) > MAX_TASK_ID_BYTES:
        raise ValueError(f"task_id longer than {MAX_TASK_ID_BYTES} bytes")
    if not _TASK_ID_RE.match(task_id):
        raise ValueError(f"task_id may only contain 0-9 a-z A-Z _ - @: {task_id!r}")


def _check_buttons(buttons: object) -> None:
    if not isinstance(buttons, list | tuple) or not buttons:
        raise ValueError("button_interaction needs a non-empty button_list")
    if len(buttons) > MAX_BUTTONS:
        raise ValueError(f"at most {MAX_BUTTONS} buttons, got {len(buttons)}")
    seen: set[str] = set()
    for button in buttons:
        if not isinstance(button, Mapping):
            raise ValueError("each button must be an object")
        if not button.get("text"):
            raise ValueError("button text must not be empty")
        style = button.get("style", 1)
        if not isinstance(style, int) or not 1 <= style <= 4:
            raise ValueError(f"button style must be 1..4, got {style!r}")
        btn_type = button.get("type", 0)
        if btn_type == 1:
            if not button.get("url"):
                raise ValueError("a type-1 button needs a url")
            continue
        key = button.get("key")
        if not isinstance(key, str) or not key:
            raise ValueError("button key must be a non-empty string")
        if len(key.encode("utf-8")) > MAX_KEY_BYTES:
            raise ValueError(f"button key longer than {MAX_KEY_BYTES} bytes")
        if key in seen:
            raise ValueError(f"duplicate button key {key!r}")
        seen.add(key)


def validate_card(card: Mapping[str, Any]) -> None:
    """Raise ValueError if WeCom would reject (or mangle) this template_card."""
    if not isinstance(card, Mapping):
        raise ValueError("card must be an object")
    card_type = card.get("card_type")
    if card_type not in CARD_TYPES:
        raise ValueError(f"unknown card_type {card_type!r}")

    main_title = card.get("main_title") or {}
    if not isinstance(main_title, Mapping):
        raise ValueError("main_title must be an object")
    title = main_title.get("title") or ""
    if len(str(title)) > MAX_TITLE_CHARS:
        raise ValueError(f"main_title.title longer than {MAX_TITLE_CHARS} characters")
    if card_type in ("text_notice", "news_notice", "button_interaction") and not (
        title or card.get("sub_title_text")
    ):
        raise ValueError("main_title.title or sub_title_text is required")

    rows = card.get("horizontal_content_list") or []
    if not isinstance(rows, list | tuple):
        raise ValueError("horizontal_content_list must be a list")
    if len(rows) > MAX_ROWS:
        raise ValueError(f"horizontal_content_list allows at most {MAX_ROWS} rows, got {len(rows)}")
    for row in rows:
        if not isinstance(row, Mapping) or not row.get("keyname"):
            raise ValueError("each horizontal_content_list row needs a keyname")

    needs_task_id = card_type in INTERACTIVE_CARD_TYPES or "action_menu" in card
    if needs_task_id or "task_id" in card:
        _check_task_id(card.get("task_id"))

    if card_type == "button_interaction":
        _check_buttons(card.get("button_list"))
    elif "button_list" in card:
        raise ValueError(f"button_list is not allowed on {card_type}")

    if card_type in ("text_notice", "news_notice"):
        action = card.get("card_action")
        if not isinstance(action, Mapping) or action.get("type") not in (1, 2):
            raise ValueError(f"{card_type} requires card_action with type 1 (url) or 2 (mini program)")
        if action.get("type") == 1 and not action.get("url"):
            raise ValueError("card_action type 1 requires a url")
