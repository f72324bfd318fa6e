"""`factorybot chat --as USERID`: type as a WeCom user; each line goes out as a real signed, encrypted callback."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlencode

import click
import requests
import xmltodict

from domain import qr_payload
from factorybot.config import Settings
from wecom.crypto import WeComCrypto
from wecom.simulate import CallbackBuilder

HELP = """输入文字即发送给机器人。特殊命令：
  /enter                进入应用（enter_agent 事件）
  /menu KEY             点击应用菜单（click 事件）
  /scan 内容            扫一扫（scancode_waitmsg 事件）
  /scanwo 工单号         扫工单流转卡上打印的二维码（内容由标签密钥签名）
  /tap 按钮文字          点击最近一张卡片上的按钮（如 /tap 完成、/tap 设备故障）
  /click KEY TASKID     点击卡片按钮（template_card_event）
  /image 文件路径        发送图片
  /quit                 退出"""


class ChatSession:
    def __init__(self, settings: Settings, userid: str, bot_url: str) -> None:
        assert settings.wecom_token and settings.wecom_aes_key and settings.wecom_corp_id
        self.crypto = WeComCrypto(settings.wecom_token, settings.wecom_aes_key, settings.wecom_corp_id)
        self.builder = CallbackBuilder(self.crypto, settings.wecom_corp_id, settings.wecom_agent_id or 0)
        self.userid = userid
        self.bot_url = bot_url.rstrip("/") + "/wecom/callback"
        self.fake_url = settings.wecom_api_base.split("/cgi-bin")[0].rstrip("/")
        self.http = requests.Session()
        self.label_key = settings.label_secret
        self.cards: list[dict[str, Any]] = []  # cards received, newest last, for /tap
        earlier = self._calls()
        # Cards that arrived before this session (an alert sent while nobody was chatting) can be tapped too.
        self.cards = [c["json"]["template_card"] for c in earlier
                      if c.get("errcode") in (0, None) and (c.get("json") or {}).get("msgtype") == "template_card"]
        self.seen_calls = len(earlier)

    def _calls(self) -> list[dict[str, Any]]:
        try:
            resp = self.http.get(f"{self.fake_url}/_fake/calls", params={"userid": self.userid}, timeout=5)
            resp.raise_for_status()
            return resp.json()
        except requests.RequestException:
            return []

    def plain_for(self, line: str) -> str:
        b = self.builder
        cmd, _, rest = line.partition(" ")
        if cmd == "/enter":
            return b.event(self.userid, "enter_agent")
        if cmd == "/menu":
            return b.event(self.userid, "click", key=rest.strip())
        if cmd == "/scan":
            return b.scan(self.userid, rest.strip())
        if cmd == "/scanwo":
            return b.scan(self.userid, qr_payload.encode(rest.strip(), self.label_key))
        if cmd == "/tap":
            key, task_id = self._button(rest.strip())
            return self._click(key, task_id)
        if cmd == "/click":
            key, _, task_id = rest.strip().partition(" ")
            return self._click(key, task_id)
        if cmd == "/image":
            data = Path(rest.strip()).expanduser().read_bytes()
            resp = self.http.post(
                f"{self.fake_url}/_fake/media", files={"media": (Path(rest.strip()).name, data)},
                data={"type": "image"}, timeout=10,
            )
            resp.raise_for_status()
            return b.image(self.userid, resp.json()["media_id"])
        return b.text(self.userid, line)

    def _save_file(self, media_id: str) -> str:
        """Keep a file the bot sent, as the WeCom app would let the member open it."""
        try:
            resp = self.http.get(f"{self.fake_url}/_fake/media/{media_id}", timeout=10)
            resp.raise_for_status()
        except requests.RequestException:
            return f"media_id={media_id}（无法下载）"
        target = Path("received") / Path(unquote(resp.headers.get("X-Filename", media_id))).name
        target.parent.mkdir(exist_ok=True)
        target.write_bytes(resp.content)
        return f"已保存到 {target}（{len(resp.content) // 1024} KB）"

    def _button(self, text: str) -> tuple[str, str]:
        for card in reversed(self.cards):
            for button in card.get("button_list", []):
                if button.get("key") and button["text"].startswith(text):
                    return button["key"], card["task_id"]
        raise click.ClickException(f"最近的卡片上没有「{text}」按钮")

    def _click(self, key: str, task_id: str) -> str:
        # A real click carries a fresh single-use ResponseCode; ask the fake WeCom for one.
        resp = self.http.post(
            f"{self.fake_url}/_fake/response_code", json={"userid": self.userid, "task_id": task_id.strip()},
            timeout=5,
        )
        resp.raise_for_status()
        return self.builder.card_click(self.userid, key, task_id.strip(), resp.json()["response_code"])

    def send(self, line: str) -> list[str]:
        signed = self.builder.sign(self.plain_for(line))
        resp = self.http.post(self.bot_url, params=signed.query, data=signed.body.encode(), timeout=15)
        out: list[str] = []
        if resp.status_code != 200:
            out.append(f"[HTTP {resp.status_code}] {resp.text[:200]}")
        elif resp.content:
            reply = xmltodict.parse(self.crypto.open_reply(resp.text))["xml"]
            if reply.get("MsgType") == "update_template_card":
                self.cards.append(_card_from_xml(reply.get("TemplateCard") or {}))
            out.append(describe_reply(reply, self.fake_url, self.userid))
        return out

    def active_messages(self, wait: float) -> list[str]:
        """Messages the bot sent this user through the (fake) WeCom API since we last looked."""
        deadline = time.monotonic() + wait
        out: list[str] = []
        while True:
            calls = self._calls()
            for call in calls[self.seen_calls :]:
                if call.get("errcode") in (0, None):
                    body = call.get("json") or {}
                    if body.get("template_card"):  # a card sent, or one updated through the API
                        self.cards.append(body["template_card"])
                    if body.get("msgtype") == "file":
                        out.append("[主动消息] 文件 " + self._save_file(body["file"]["media_id"]))
                        continue
                    out.append("[主动消息] " + describe_call(call, self.fake_url, self.userid))
            self.seen_calls = len(calls)
            if out or time.monotonic() >= deadline:
                return out
            time.sleep(0.2)


def _card_from_xml(card: dict[str, Any]) -> dict[str, Any]:
    """The tappable part of a card that came back as passive-reply XML, in message/send shape."""
    buttons = card.get("ButtonList") or []
    buttons = buttons if isinstance(buttons, list) else [buttons]
    return {"task_id": card.get("TaskId", ""),
            "button_list": [{"text": b.get("Text", ""), "key": b.get("Key", ""), "url": b.get("Url", ""),
                             "type": int(b.get("Type") or 0)} for b in buttons if isinstance(b, dict)]}


def describe_reply(reply: dict[str, Any], fake_url: str = "", userid: str = "") -> str:
    kind = reply.get("MsgType")
    if kind == "text":
        return reply.get("Content", "")
    if kind == "update_button":
        return f"[按钮已更新为「{reply.get('Button', {}).get('ReplaceName', '')}」]"
    if kind == "update_template_card":
        card = reply.get("TemplateCard", {})
        main = card.get("MainTitle", {})
        rows = card.get("HorizontalContentList") or []
        rows = rows if isinstance(rows, list) else [rows]
        facts = "；".join(f"{r.get('KeyName') or r.get('Keyname')}: {r.get('Value')}" for r in rows if isinstance(r, dict))
        text = "[卡片已更新] " + " ".join(str(x) for x in (main.get("Title", ""), main.get("Desc", ""), facts) if x)
        # Its buttons as a sent card's are shown: the 撤销 on a 完成 card is only ever on an updated card.
        buttons = " ".join(_button_text(b, fake_url, userid) for b in _card_from_xml(card)["button_list"])
        return text + (f"\n  按钮：{buttons}（/tap 按钮文字 点击）" if buttons else "")
    return f"[{kind}]"


def _button_text(button: dict[str, Any], fake_url: str, userid: str) -> str:
    if button.get("type") == 1:
        # The fake WeCom's login stands for "this member is signed in to the WeCom app" before the page opens.
        link = f"{fake_url}/_fake/login?" + urlencode({"userid": userid, "next": button.get("url", "")})
        return f"[{button['text']} → 浏览器打开 {link}]"
    return f"[{button['text']}]"


def describe_call(call: dict[str, Any], fake_url: str = "", userid: str = "") -> str:
    body = call.get("json") or {}
    kind = body.get("msgtype")
    if kind == "text":
        return body["text"]["content"]
    if kind == "markdown":
        return body["markdown"]["content"]
    if kind == "template_card":
        card = body["template_card"]
        rows = "；".join(f"{r.get('keyname')}: {r.get('value')}" for r in card.get("horizontal_content_list", []))
        buttons = " ".join(_button_text(b, fake_url, userid) for b in card.get("button_list", []))
        main = card.get("main_title", {})
        title = " ".join(x for x in (main.get("title", ""), main.get("desc", "")) if x)
        sub = f"{card['sub_title_text']}；" if card.get("sub_title_text") else ""  # e.g. why there is no 完成
        return f"卡片《{title}》{sub}{rows}\n  按钮：{buttons}（/tap 按钮文字 点击）"
    if "update_template_card" in call.get("path", ""):
        card = body.get("template_card") or {}
        main = card.get("main_title", {})
        return f"卡片已更新《{main.get('title', '')} {main.get('desc', '')}》{card.get('sub_title_text', '')}"
    if kind == "file":
        return f"文件 media_id={body['file']['media_id']}"
    return f"{call.get('path')} {kind}"


def run_chat(settings: Settings, userid: str, bot_url: str, lines: Iterable[str] | None, wait: float) -> None:
    session = ChatSession(settings, userid, bot_url)
    interactive = lines is None and sys.stdin.isatty()
    if interactive:
        click.echo(f"以 {userid} 的身份与 FactoryBot 对话（/help 查看命令）")
    source = lines if lines is not None else _stdin_lines(interactive, userid)
    for line in source:
        line = line.strip()
        if not line:
            continue
        if line in ("/quit", "/exit"):
            break
        if line == "/help":
            click.echo(HELP)
            continue
        if not interactive:
            click.echo(f"{userid}> {line}")
        try:
            for out in session.send(line):
                click.echo(out)
        except requests.RequestException as exc:
            raise click.ClickException(f"无法连接 FactoryBot（{bot_url}）：请先运行 ./run demo。{exc}") from exc
        for out in session.active_messages(wait):
            click.echo(out)


def _stdin_lines(interactive: bool, userid: str) -> Iterable[str]:
    while True:
        try:
            line = input(f"{userid}> ") if interactive else sys.stdin.readline()
        except EOFError:
            return
        if not interactive and line == "":
            return
        yield line
