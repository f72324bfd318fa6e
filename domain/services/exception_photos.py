"""Photos sent after an exception report: checked, stored once, attached to the right exception."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from domain.errors import DomainError, NotFound
from domain.models import ExceptionPhoto, ShopException
from domain.photos import NormalisedPhoto, PhotoStore, normalise_photo
from domain.services.people import active_person
from domain.uow import UnitOfWork
from domain.vocab import ExceptionStatus

MAX_PHOTOS = 9
NO_OPEN_EXCEPTION = "请先报告异常（发送「报异常」或扫码后点「报异常」），再发送照片。"


@dataclass(frozen=True)
class PhotoResult:
    photo_id: int
    exception_id: int
    exception_type: str
    work_order_code: str | None
    photo_count: int
    duplicate: bool = False


@dataclass(frozen=True)
class PhotoInfo:
    id: int
    path: str
    thumb_path: str
    width: int
    height: int
    created_at: datetime


def attach_photo(
    uow: UnitOfWork,
    *,
    store: PhotoStore,
    userid: str,
    source_key: str,
    data: bytes | NormalisedPhoto,
    now: datetime,
    exception_id: int | None = None,
    window_minutes: int = 30,
) -> PhotoResult:
    """Attach a photo to `exception_id`, or else to the user's own exception reported just before.

    Idempotent by source_key: a repeat returns the first result with duplicate=True and stores nothing.
    """
    # Decoding is the slow, failure-prone part: the chat route decodes before its transaction opens and
    # passes the result; raw bytes are decoded here, before the first query.
    photo = data if isinstance(data, NormalisedPhoto) else normalise_photo(data)
    session = uow.session
    existing = _by_source_key(uow, source_key)
    if existing is not None:
        return _result(uow, existing, duplicate=True)
    person = active_person(uow, userid)
    if exception_id is not None:
        exc = _explicit(uow, exception_id)
    else:
        exc = _latest_open(uow, person.id, now - timedelta(minutes=window_minutes))
    if _count(uow, exc.id) >= MAX_PHOTOS:
        raise DomainError(f"异常 #{exc.id} 已有 {MAX_PHOTOS} 张照片（最多 {MAX_PHOTOS} 张），这张未保存。")

    # File first: if the transaction then fails, an orphan file is harmless; a row without a file is not.
    path, thumb_path = store.save(photo)
    row = ExceptionPhoto(
        exception_id=exc.id, source_key=source_key, path=path, thumb_path=thumb_path,
        width=photo.width, height=photo.height, created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # the same delivery raced us and committed first (PostgreSQL)
        existing = _by_source_key(uow, source_key)
        if existing is None:
            raise
        return _result(uow, existing, duplicate=True)
    return _result(uow, row, duplicate=False)


def photos_of(uow: UnitOfWork, exception_id: int) -> list[PhotoInfo]:
    rows = uow.session.scalars(
        select(ExceptionPhoto).where(ExceptionPhoto.exception_id == exception_id).order_by(ExceptionPhoto.id)
    )
    return [PhotoInfo(p.id, p.path, p.thumb_path, p.width, p.height, p.created_at) for p in rows]


def _by_source_key(uow: UnitOfWork, source_key: str) -> ExceptionPhoto | None:
    return uow.session.scalar(select(ExceptionPhoto).where(ExceptionPhoto.source_key == source_key))


def _explicit(uow: UnitOfWork, exception_id: int) -> ShopException:
    # Locked so that photos arriving together are counted one after another against MAX_PHOTOS.
    exc = uow.session.get(ShopException, exception_id, with_for_update=True)
    if exc is None:
        raise NotFound(f"异常 #{exception_id} 不存在。")
    if exc.status == ExceptionStatus.CLOSED:
        raise DomainError(f"异常 #{exc.id} 已关闭，不能再添加照片。")
    return exc


def _latest_open(uow: UnitOfWork, reporter_id: int, since: datetime) -> ShopException:
    exc = uow.session.scalar(
        select(ShopException)
        .where(
            ShopException.reporter_id == reporter_id,
            ShopException.status != ExceptionStatus.CLOSED,
            ShopException.opened_at >= since,
        )
        .order_by(ShopException.opened_at.desc(), ShopException.id.desc())
        .limit(1)
        .with_for_update()
    )
    if exc is None:
        raise DomainError(NO_OPEN_EXCEPTION)
    return exc


def _count(uow: UnitOfWork, exception_id: int) -> int:
    return uow.session.scalar(
        select(func.count()).select_from(ExceptionPhoto).where(ExceptionPhoto.exception_id == exception_id)
    ) or 0


def _result(uow: UnitOfWork, photo: ExceptionPhoto, *, duplicate: bool) -> PhotoResult:
    exc = photo.exception
    return PhotoResult(
        photo_id=photo.id,
        exception_id=exc.id,
        exception_type=exc.type,
        work_order_code=exc.work_order.code if exc.work_order else None,
        photo_count=_count(uow, exc.id),
        duplicate=duplicate,
    )
