"""Which label key the bot verifies scans with, so labels are printed only with a key it accepts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from domain import qr_payload
from domain.errors import DomainError
from domain.models import LabelKeyInUse
from domain.uow import UnitOfWork

_ROW = 1
MISMATCH = ("LABEL_KEY 与机器人使用的标签密钥不一致，打印出的标签扫码时会被拒绝（二维码校验失败），未生成标签。"
            "请使用与机器人相同的 LABEL_KEY（factorybot doctor 可核对）。")
BOT_HAS_NONE = ("机器人运行时未配置 LABEL_KEY，扫码时无法识别任何标签，未生成标签。"
                "请在机器人的环境中设置与此相同的 LABEL_KEY 并重启机器人。")


@dataclass(frozen=True)
class KeyInUse:
    fingerprint: str | None  # None: the bot runs without a label key
    recorded_at: datetime


def record_in_use(uow: UnitOfWork, fingerprint: str | None, now: datetime) -> None:
    row = uow.session.get(LabelKeyInUse, _ROW)
    if row is None:
        uow.session.add(LabelKeyInUse(id=_ROW, fingerprint=fingerprint, recorded_at=now))
    else:
        row.fingerprint, row.recorded_at = fingerprint, now


def in_use(uow: UnitOfWork) -> KeyInUse | None:
    row = uow.session.get(LabelKeyInUse, _ROW)
    return None if row is None else KeyInUse(row.fingerprint, row.recorded_at)


def key_for_printing(uow: UnitOfWork, own: bytes, known: Sequence[bytes] = ()) -> bytes:
    """The key to sign labels with: `own` when the bot holds the same; without one, a `known` key (the demo's)
    if that is the bot's. DomainError when the labels would be rejected. A bot that never started here has
    recorded nothing, and `own` is used as it is."""
    bot = in_use(uow)
    if own:
        if bot is None:
            return own
        if bot.fingerprint is None:
            raise DomainError(BOT_HAS_NONE)
        if bot.fingerprint != qr_payload.fingerprint(own):
            raise DomainError(MISMATCH)
        return own
    if bot is not None and bot.fingerprint is not None:
        for key in known:
            if qr_payload.fingerprint(key) == bot.fingerprint:
                return key
    raise DomainError(qr_payload.NO_KEY)
