"""The fake's menu/create checks: WeCom's own limits and errcodes, kept apart from our builder's so that a
builder mistake is caught here rather than shared.

Limits from the menu/create doc (path/90231): 1–3 buttons, 1–5 sub-buttons, names at most 16 bytes
(top level) and 40 bytes (sub-buttons), keys at most 128 bytes, urls at most 1024 bytes. Errcodes from
WeCom's global error list (path/90313), shared with the Official Account API.
"""

from __future__ import annotations

import copy
from typing import Any

E_BUTTON_COUNT = 40016
E_BUTTON_TYPE = 40017
E_BUTTON_NAME = 40018
E_BUTTON_KEY = 40019
E_BUTTON_URL = 40020
E_SUB_BUTTON_COUNT = 40023
E_SUB_BUTTON_TYPE = 40024
E_SUB_BUTTON_NAME = 40025
E_SUB_BUTTON_KEY = 40026
E_SUB_BUTTON_URL = 40027
E_MENU_NOT_FOUND = 46003

BUTTON_TYPES = frozenset({
    "click", "view", "scancode_push", "scancode_waitmsg", "pic_sysphoto", "pic_photo_or_album", "pic_weixin",
    "location_select", "view_miniprogram",
})
KEYED_TYPES = BUTTON_TYPES - {"view", "view_miniprogram"}


class MenuRefused(Exception):
    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(errmsg)
        self.errcode = errcode
        self.errmsg = errmsg


def _size(value: Any) -> int:
    return len(value.encode("utf-8")) if isinstance(value, str) else 0


def _check_leaf(button: dict[str, Any], sub: bool) -> None:
    codes = ((E_SUB_BUTTON_TYPE, E_SUB_BUTTON_NAME, E_SUB_BUTTON_KEY, E_SUB_BUTTON_URL) if sub
             else (E_BUTTON_TYPE, E_BUTTON_NAME, E_BUTTON_KEY, E_BUTTON_URL))
    name_limit = 40 if sub else 16
    kind = button.get("type")
    if kind not in BUTTON_TYPES:
        raise MenuRefused(codes[0], f"invalid button type {kind!r}")
    if not 1 <= _size(button.get("name")) <= name_limit:
        raise MenuRefused(codes[1], f"invalid button name size (1..{name_limit} bytes)")
    if kind in KEYED_TYPES and not 1 <= _size(button.get("key")) <= 128:
        raise MenuRefused(codes[2], "invalid button key size (1..128 bytes)")
    if kind == "view" and not 1 <= _size(button.get("url")) <= 1024:
        raise MenuRefused(codes[3], "invalid button url size (1..1024 bytes)")


def check_menu(body: Any) -> list[dict[str, Any]]:
    """The buttons to store, or MenuRefused with the errcode WeCom would answer."""
    buttons = body.get("button") if isinstance(body, dict) else None
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        raise MenuRefused(E_BUTTON_COUNT, "invalid button size (1..3)")
    for button in buttons:
        if not isinstance(button, dict):
            raise MenuRefused(E_BUTTON_TYPE, "button must be an object")
        if "sub_button" not in button:
            _check_leaf(button, sub=False)
            continue
        subs = button["sub_button"]
        if not 1 <= _size(button.get("name")) <= 16:
            raise MenuRefused(E_BUTTON_NAME, "invalid button name size (1..16 bytes)")
        if not isinstance(subs, list) or not 1 <= len(subs) <= 5:
            raise MenuRefused(E_SUB_BUTTON_COUNT, "invalid sub button size (1..5)")
        for sub in subs:
            if not isinstance(sub, dict):
                raise MenuRefused(E_SUB_BUTTON_TYPE, "sub button must be an object")
            _check_leaf(sub, sub=True)
    return copy.deepcopy(buttons)
