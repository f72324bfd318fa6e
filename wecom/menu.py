"""The application menu: WeCom's menu/create body built from buttons the routes declare. Pure.

Limits as WeCom documents them for menu/create (developer.work.weixin.qq.com path/90231): 1–3 top-level
buttons, 1–5 sub-buttons under one, a top-level name of at most 16 bytes and a sub-button name of at most
40 bytes (UTF-8: a Chinese character is 3 bytes), a key of at most 128 bytes. Only a `scancode_waitmsg`
button gets a passive reply to its scan (path/90241); `scancode_push` shows the raw result instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

MAX_BUTTONS = 3
MAX_SUB_BUTTONS = 5
MAX_NAME_BYTES = 16
MAX_SUB_NAME_BYTES = 40
MAX_KEY_BYTES = 128
# The button types whose event reaches a route: a click carries its key, a waiting scan its key and result.
BUTTON_TYPES = frozenset({"click", "scancode_waitmsg"})


class MenuError(ValueError):
    """The declared buttons do not make a menu WeCom accepts; the message is for the admin, in Chinese."""


@dataclass(frozen=True)
class MenuButton:
    """One button a route answers. `under` names the top-level button it sits beneath (None: top-level itself);
    `position` orders buttons, and a group takes the place of its first button."""

    name: str
    key: str
    type: str = "click"
    under: str | None = None
    position: int = 100


def _bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def _check(button: MenuButton, limit: int) -> list[str]:
    problems = []
    if button.type not in BUTTON_TYPES:
        problems.append(f"按钮「{button.name}」的类型 {button.type} 不受支持（可用：{'、'.join(sorted(BUTTON_TYPES))}）")
    if not button.name.strip():
        problems.append(f"按钮 {button.key} 没有名称")
    elif _bytes(button.name) > limit:
        problems.append(f"按钮名称「{button.name}」有 {_bytes(button.name)} 字节，超过企业微信的 {limit} 字节")
    if not button.key or _bytes(button.key) > MAX_KEY_BYTES:
        problems.append(f"按钮「{button.name}」的 key 须为 1–{MAX_KEY_BYTES} 字节")
    return problems


def _entry(button: MenuButton) -> dict[str, Any]:
    return {"type": button.type, "name": button.name, "key": button.key}


def build_menu(buttons: Iterable[MenuButton]) -> dict[str, Any]:
    """The menu/create body, or MenuError naming every problem (so nothing half-valid is pushed)."""
    ordered = sorted(buttons, key=lambda b: b.position)  # sorted() is stable: equal positions keep route order
    problems: list[str] = []
    seen: dict[str, str] = {}
    for button in ordered:
        if button.key in seen:
            problems.append(f"key {button.key} 同时用于「{seen[button.key]}」和「{button.name}」")
        seen.setdefault(button.key, button.name)
    top: list[tuple[str, list[MenuButton]]] = []  # (group name or "", its buttons) in menu order
    groups: dict[str, list[MenuButton]] = {}
    for button in ordered:
        if button.under is None:
            top.append(("", [button]))
            problems += _check(button, MAX_NAME_BYTES)
            continue
        if button.under not in groups:
            groups[button.under] = []
            top.append((button.under, groups[button.under]))
        groups[button.under].append(button)
        problems += _check(button, MAX_SUB_NAME_BYTES)
    if not top:
        problems.append("没有任何路由声明菜单按钮")
    if len(top) > MAX_BUTTONS:
        names = "、".join(name or members[0].name for name, members in top)
        problems.append(f"一级菜单有 {len(top)} 个（{names}），企业微信最多 {MAX_BUTTONS} 个")
    for name, members in top:
        if not name:
            continue
        if _bytes(name) > MAX_NAME_BYTES:
            problems.append(f"菜单名称「{name}」有 {_bytes(name)} 字节，超过企业微信的 {MAX_NAME_BYTES} 字节")
        if len(members) > MAX_SUB_BUTTONS:
            problems.append(f"「{name}」下有 {len(members)} 个子菜单，企业微信最多 {MAX_SUB_BUTTONS} 个")
    if problems:
        raise MenuError("\n".join(problems))
    body = []
    for name, members in top:
        if name:
            body.append({"name": name, "sub_button": [_entry(b) for b in members]})
        else:
            body.append(_entry(members[0]))
    return {"button": body}


def menu_lines(menu: dict[str, Any]) -> list[str]:
    """A menu/create or menu/get body as the admin reads it: one line per button, its type and key."""
    lines = []
    for button in menu.get("button", []):
        subs = button.get("sub_button") or []
        if not subs:
            lines.append(f"{button.get('name', '')}  [{button.get('type', '')} · {button.get('key', '')}]")
            continue
        lines.append(str(button.get("name", "")))
        for i, sub in enumerate(subs):
            branch = "└" if i == len(subs) - 1 else "├"
            lines.append(f"  {branch} {sub.get('name', '')}  [{sub.get('type', '')} · {sub.get('key', '')}]")
    return lines


def _shape(button: dict[str, Any]) -> tuple[Any, ...]:
    subs = tuple(_shape(sub) for sub in button.get("sub_button") or [])
    if subs:
        return (button.get("name"), subs)
    return (button.get("name"), button.get("type"), button.get("key"), button.get("url"))


def same_menu(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two menu bodies show the same buttons; menu/get may write a leaf's sub_button as []."""
    return [_shape(x) for x in a.get("button", [])] == [_shape(x) for x in b.get("button", [])]
