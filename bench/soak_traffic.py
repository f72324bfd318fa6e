"""The soak's traffic: simulated workers sending real encrypted, signed WeCom callbacks, delivered as WeCom
delivers them (no answer in 5 s or a non-2xx: the same request again, up to three more times), and a journal
of what each delivery was and how it was answered, for the ledger check.
"""

from __future__ import annotations

import itertools
import random
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import requests

from bench.soak_plant import ROUTE, WORKERS, PlantOrder
from bench.soak_stack import AGENT_ID, CORP_ID, LABEL_KEY, Stack
from domain import qr_payload
from wecom.cards import make_task_id
from wecom.crypto import WeComCrypto
from wecom.simulate import CallbackBuilder, SignedRequest

WECOM_DEADLINE = 5.0  # WeCom drops the connection after 5 s without an answer and sends again
WECOM_RETRIES = 3  # "总共重试三次": four deliveries in all
ACK = "已完成!"  # the headline of an accepted report, in a text reply or on the updated card
RECORDED = ("已记录",)  # a repeat of a report already counted ("这条报工之前已记录…", "该报工已记录…")
EXCEPTION_ACK = "已报告异常 #"
SCAN_ACK = "已识别工单"
_LEFT = re.compile(r"最多还能报 (\d+) 件")
_msg_ids = itertools.count(int(time.time() * 1000) * 1000 + 7_000_000)


@dataclass
class Delivery:
    kind: str
    userid: str
    started: float  # wall clock of the first attempt, as the fake WeCom's call log keeps time
    attempts: list[str] = field(default_factory=list)  # 200, 200-empty, 502, timeout, conn…
    reply: str = ""  # the decrypted reply XML of the answer WeCom took, '' for an empty body

    @property
    def answered(self) -> bool:
        """WeCom took an answer (any 2xx): it sends no more."""
        return bool(self.attempts) and self.attempts[-1].startswith("200")

    @property
    def retried(self) -> bool:
        return len(self.attempts) > 1


@dataclass
class ReportSent:
    delivery: Delivery
    source_key: str
    wo: str
    good: int
    defect: int
    via: str  # text | card

    @property
    def status(self) -> str:
        reply = self.delivery.reply
        if not self.delivery.answered:
            return "given_up"
        if ACK in reply or any(r in reply for r in RECORDED):
            return "acked"
        return "refused" if reply else "empty"


@dataclass
class ExceptionSent:
    delivery: Delivery
    source_key: str
    wo: str

    @property
    def acked(self) -> bool:
        return EXCEPTION_ACK in self.delivery.reply


@dataclass
class ScanSent:
    delivery: Delivery
    wo: str
    task_id: str | None  # the report card's task id the bot names it by, when the scan was recognised


@dataclass
class Journal:
    lock: threading.Lock = field(default_factory=threading.Lock)
    reports: list[ReportSent] = field(default_factory=list)
    exceptions: list[ExceptionSent] = field(default_factory=list)
    scans: list[ScanSent] = field(default_factory=list)
    deliveries: Counter[str] = field(default_factory=Counter)  # by kind
    attempts: Counter[str] = field(default_factory=Counter)  # HTTP requests, by outcome
    inflight: int = 0

    def add(self, item: Any) -> None:
        with self.lock:
            if isinstance(item, ReportSent):
                self.reports.append(item)
            elif isinstance(item, ExceptionSent):
                self.exceptions.append(item)
            elif isinstance(item, ScanSent):
                self.scans.append(item)


class WeComSender:
    """One simulated WeCom delivery channel (a requests session per thread)."""

    def __init__(self, stack: Stack, journal: Journal, rng: random.Random) -> None:
        from bench.soak_stack import AES_KEY, TOKEN

        self.url = stack.bot_url + "/wecom/callback"
        self.crypto = WeComCrypto(TOKEN, AES_KEY, CORP_ID)
        self.builder = CallbackBuilder(self.crypto, CORP_ID, AGENT_ID)
        self.journal, self.rng = journal, rng
        self.http = requests.Session()

    def deliver(self, kind: str, userid: str, plain_xml: str) -> Delivery:
        # Signed with the current time; every retry is the very same request, as WeCom's is.
        signed = self.builder.sign(plain_xml)
        delivery = Delivery(kind, userid, time.time())
        with self.journal.lock:
            self.journal.deliveries[kind] += 1
        began = time.monotonic()
        for attempt in range(1 + WECOM_RETRIES):
            if attempt:
                # WeCom asks again when its 5 s are up: an attempt that failed sooner (a reset, a 503) is
                # followed by the next one 5 s after it began, not at once.
                time.sleep(max(0.0, began + WECOM_DEADLINE - time.monotonic()) + self.rng.uniform(0.0, 0.3))
            began = time.monotonic()
            outcome = self._attempt(signed, delivery)
            delivery.attempts.append(outcome)
            with self.journal.lock:
                self.journal.attempts[outcome] += 1
            if outcome.startswith("200"):
                break
        return delivery

    def _attempt(self, signed: SignedRequest, delivery: Delivery) -> str:
        with self.journal.lock:
            self.journal.inflight += 1
        try:
            resp = self.http.post(self.url, params=signed.query, data=signed.body.encode(),
                                  timeout=WECOM_DEADLINE)
        except requests.Timeout:
            return "timeout"
        except requests.ConnectionError:
            return "conn"
        finally:
            with self.journal.lock:
                self.journal.inflight -= 1
        if not 200 <= resp.status_code < 300:
            return str(resp.status_code)
        if not resp.content:
            return "200-empty"
        delivery.reply = self.crypto.open_reply(resp.text)
        return "200"


class Line(threading.Thread):
    """A production line's worth of people: reports by text, scans and taps on the report card, 报异常, and
    order questions, on the work orders this line owns (lines never share an order)."""

    def __init__(self, name: str, stack: Stack, journal: Journal, orders: list[PlantOrder], seed: int,
                 stop: threading.Event) -> None:
        super().__init__(name=name, daemon=True)
        self.stack, self.journal, self.orders, self.stop = stack, journal, orders, stop
        self.rng = random.Random(seed)
        self.sender = WeComSender(stack, journal, self.rng)
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                self.step()
                # Paced like people, not a load test: WeCom lets an app send one member 30 messages a minute, and
                # every scan, refusal and alert card is a message to someone.
                time.sleep(self.rng.uniform(0.3, 1.0))
        except BaseException as exc:  # noqa: BLE001 - reported by the harness, not lost in a thread
            self.error = exc

    def step(self) -> None:
        order = self.rng.choice(self.orders)
        roll = self.rng.random()
        if roll < 0.50:
            self.text_report(order)
        elif roll < 0.70:
            self.scan_and_tap(order)
        elif roll < 0.74:
            self.report_exception(order)
        else:
            self.query(order)

    def _worker(self) -> str:
        shop = self.rng.choice([w for _, w in ROUTE])
        return self.rng.choice(WORKERS[shop])

    def _qty(self) -> tuple[int, int]:
        # A defect now and then, under the 3 % limit, so the defect-streak alert stays the exception.
        good = self.rng.randint(20, 90)
        return good, 1 if good >= 40 and self.rng.random() < 0.2 else 0

    def text_report(self, order: PlantOrder, userid: str | None = None, good: int | None = None) -> None:
        if userid is None or good is None:
            userid, (good, defect) = self._worker(), self._qty()
        else:
            defect = 0
        msg_id = next(_msg_ids)
        text = f"报工 {order.wo_code} 良品 {good}" + (f" 不良 {defect}" if defect else "")
        delivery = self.sender.deliver("text_report", userid, self.sender.builder.text(userid, text, msg_id=msg_id))
        sent = ReportSent(delivery, f"msg:{msg_id}", order.wo_code, good, defect, "text")
        self.journal.add(sent)
        left = _LEFT.search(delivery.reply)
        if sent.status == "refused" and left and int(left.group(1)) > 0 and not self.stop.is_set():
            # Told how many are left, a worker reports just that: what finishes an operation.
            self.text_report(order, userid, int(left.group(1)))

    def scan_and_tap(self, order: PlantOrder) -> None:
        userid = self._worker()
        payload = qr_payload.encode(order.wo_code, LABEL_KEY.encode())
        xml = self.sender.builder.scan(userid, payload, key="scan_report")
        delivery = self.sender.deliver("scan", userid, xml)
        task_id = None
        reply = delivery.reply
        if SCAN_ACK in reply:
            op = next((name for name, _ in ROUTE if f"（{name}）" in reply), None)
            create_time = xml.split("<CreateTime>")[1].split("</CreateTime>")[0]
            key = f"evt:{userid}:{create_time}:scancode_waitmsg:scan_report:{payload}"
            if op is not None:
                seq = [name for name, _ in ROUTE].index(op) + 1
                task_id = make_task_id("rpt", order.wo_code, seq, key)
        self.journal.add(ScanSent(delivery, order.wo_code, task_id))
        if task_id is None:
            return
        card = self._card(userid, task_id, timeout=8.0)
        if card is None:
            return  # not (yet) delivered: the ledger says so
        done = next((b for b in card.get("button_list", []) if str(b.get("key", "")).startswith("rpt:done:")), None)
        if done is None:
            return
        _, _, code, seq_s, qty = str(done["key"]).split(":")
        response_code = self.stack.fake.response_code(userid, task_id) if self.stack.fake else ""
        tap = self.sender.builder.card_click(userid, done["key"], task_id, response_code)
        tapped = self.sender.deliver("card_tap", userid, tap)
        self.journal.add(ReportSent(tapped, f"card:{task_id}:{done['key']}", code, int(qty), 0, "card"))

    def _card(self, userid: str, task_id: str, timeout: float) -> dict[str, Any] | None:
        assert self.stack.fake is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.stop.is_set():
            try:
                calls = self.stack.fake.calls(userid=userid, path="message/send")
            except requests.RequestException:
                calls = []
            for call in reversed(calls):
                card = (call.get("json") or {}).get("template_card") or {}
                if call.get("errcode") == 0 and card.get("task_id") == task_id:
                    return card
            time.sleep(0.3)
        return None

    def report_exception(self, order: PlantOrder) -> None:
        userid = self._worker()
        msg_id = next(_msg_ids)
        xml = self.sender.builder.text(userid, f"报异常 {order.wo_code} 品质异常 soak-{msg_id % 100000}", msg_id=msg_id)
        delivery = self.sender.deliver("exception", userid, xml)
        self.journal.add(ExceptionSent(delivery, f"msg:{msg_id}", order.wo_code))

    def query(self, order: PlantOrder) -> None:
        userid = self.rng.choice(("boss", "sup", "lead", self._worker()))
        text = self.rng.choice((order.bill_no, order.wo_code, "帮助"))
        self.sender.deliver("query", userid, self.sender.builder.text(userid, text))

