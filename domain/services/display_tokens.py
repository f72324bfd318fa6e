"""Keys for wall screens: a TV cannot sign in through WeCom, so it carries a token an admin can revoke."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select

from domain.errors import DomainError, NotFound
from domain.models import DisplayToken
from domain.uow import UnitOfWork


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(uow: UnitOfWork, *, name: str, workshop: str | None, now: datetime) -> str:
    """A new token; only its hash is kept, so it is shown this once."""
    name = name.strip()
    if not name or len(name) > 60:
        raise DomainError("请给大屏起一个 1–60 字的名称。")
    if uow.session.scalar(select(DisplayToken).where(DisplayToken.name == name)) is not None:
        raise DomainError(f"已有名为「{name}」的大屏令牌；如需更换请先吊销。")
    token = secrets.token_urlsafe(24)
    uow.session.add(DisplayToken(name=name, token_hash=_hash(token), workshop=workshop or None, created_at=now))
    uow.flush()
    return token


def find_token(uow: UnitOfWork, token: str) -> DisplayToken | None:
    if not token:
        return None
    row = uow.session.scalar(select(DisplayToken).where(DisplayToken.token_hash == _hash(token)))
    return row if row is not None and row.revoked_at is None else None


def find_token_by_id(uow: UnitOfWork, token_id: int) -> DisplayToken | None:
    """A screen already identified by its token (its session remembers the id), unless since revoked."""
    row = uow.session.get(DisplayToken, token_id)
    return row if row is not None and row.revoked_at is None else None


def revoke_token(uow: UnitOfWork, *, name: str, now: datetime) -> None:
    row = uow.session.scalar(select(DisplayToken).where(DisplayToken.name == name.strip()))
    if row is None:
        raise NotFound(f"没有名为「{name}」的大屏令牌。")
    if row.revoked_at is None:
        row.revoked_at = now
    # Free the name for a replacement while keeping the row (who had access, and until when).
    row.name = f"{row.name[:40]}（已吊销 {now:%Y%m%d%H%M%S}）"


def list_tokens(uow: UnitOfWork) -> list[DisplayToken]:
    return list(uow.session.scalars(select(DisplayToken).order_by(DisplayToken.id)))
