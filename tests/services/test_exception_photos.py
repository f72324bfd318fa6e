from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from domain.errors import DomainError
from domain.models import ExceptionPhoto
from domain.photos import PhotoStore
from domain.services.exception_photos import NO_OPEN_EXCEPTION, attach_photo, photos_of
from domain.services.exceptions import close_exception, open_exception
from tests.factories import NOW, small_plant


def jpeg(shade: int, size: tuple[int, int] = (64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (shade, 80, 160)).save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture
def plant(make_uow):
    with make_uow() as uow:
        small_plant(uow)
        uow.commit()


@pytest.fixture
def store(tmp_path: Path) -> PhotoStore:
    return PhotoStore(tmp_path / "media")


def report(make_uow, policy, *, userid: str = "w1", key: str, minutes_ago: int = 5,
           work_order_code: str | None = None) -> int:
    with make_uow() as uow:
        opened = open_exception(uow, policy, userid=userid, type="设备故障", source_key=key,
                                now=NOW - timedelta(minutes=minutes_ago), work_order_code=work_order_code)
        uow.commit()
    return opened.id


def attach(make_uow, store: PhotoStore, *, key: str, data: bytes | None = None, userid: str = "w1",
           exception_id: int | None = None, now=NOW):
    with make_uow() as uow:
        result = attach_photo(uow, store=store, userid=userid, source_key=key, data=data or jpeg(10),
                              now=now, exception_id=exception_id)
        uow.commit()
    return result


def photo_rows(make_uow) -> int:
    with make_uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(ExceptionPhoto))


def stored_files(store: PhotoStore) -> list[Path]:
    return sorted(p for p in store.root.rglob("*") if p.is_file()) if store.root.exists() else []


def test_photo_goes_to_the_latest_open_exception(plant, make_uow, policy, store):
    report(make_uow, policy, key="older", minutes_ago=20)
    latest = report(make_uow, policy, key="latest", minutes_ago=3, work_order_code="WO20261125-01")

    first = attach(make_uow, store, key="m1", data=jpeg(10, (2400, 1800)))
    second = attach(make_uow, store, key="m2", data=jpeg(200))

    assert (first.exception_id, first.exception_type, first.work_order_code) == (latest, "设备故障", "WO20261125-01")
    assert (first.photo_count, second.photo_count, first.duplicate) == (1, 2, False)
    with make_uow() as uow:
        photos = photos_of(uow, latest)
    assert [p.id for p in photos] == [first.photo_id, second.photo_id]
    assert (photos[0].width, photos[0].height) == (1600, 1200)
    assert store.open(photos[0].path)[:2] == b"\xff\xd8" and store.open(photos[0].thumb_path)[:2] == b"\xff\xd8"


def test_repeated_delivery_is_a_duplicate_and_stores_nothing(plant, make_uow, policy, store):
    report(make_uow, policy, key="e1")
    first = attach(make_uow, store, key="m1", data=jpeg(10))
    files = stored_files(store)

    # Different bytes under the same key: had anything been stored again, a new file would show.
    again = attach(make_uow, store, key="m1", data=jpeg(250))

    assert again.duplicate and (again.photo_id, again.exception_id, again.photo_count) == (
        first.photo_id, first.exception_id, 1)
    assert photo_rows(make_uow) == 1 and stored_files(store) == files


def test_without_an_open_exception_nothing_is_stored(plant, make_uow, store):
    with pytest.raises(DomainError) as info:
        attach(make_uow, store, key="m1")
    assert info.value.message == NO_OPEN_EXCEPTION == "请先报告异常（发送「报异常」或扫码后点「报异常」），再发送照片。"
    assert photo_rows(make_uow) == 0 and stored_files(store) == []


def test_closed_exception_is_not_used(plant, make_uow, policy, store):
    closed = report(make_uow, policy, key="e1")
    with make_uow() as uow:
        close_exception(uow, exception_id=closed, userid="sup", now=NOW - timedelta(minutes=1))
        uow.commit()

    with pytest.raises(DomainError, match="请先报告异常"):
        attach(make_uow, store, key="m1")
    with pytest.raises(DomainError, match="已关闭"):
        attach(make_uow, store, key="m2", exception_id=closed)
    assert photo_rows(make_uow) == 0 and stored_files(store) == []


def test_another_workers_exception_is_not_used(plant, make_uow, policy, store):
    theirs = report(make_uow, policy, userid="w2", key="e-w2", minutes_ago=1)
    mine = report(make_uow, policy, userid="w1", key="e-w1", minutes_ago=10)

    assert attach(make_uow, store, key="m1", userid="w1").exception_id == mine
    with pytest.raises(DomainError, match="请先报告异常"):
        attach(make_uow, store, key="m2", userid="t1")
    assert attach(make_uow, store, key="m3", userid="w2").exception_id == theirs


def test_tenth_photo_is_refused(plant, make_uow, policy, store):
    exception_id = report(make_uow, policy, key="e1")
    for n in range(9):
        assert attach(make_uow, store, key=f"m{n}", data=jpeg(20 * n)).photo_count == n + 1
    files = stored_files(store)

    with pytest.raises(DomainError, match="最多 9 张"):
        attach(make_uow, store, key="m9", data=jpeg(250))
    with make_uow() as uow:
        assert len(photos_of(uow, exception_id)) == 9
    assert stored_files(store) == files


def test_only_exceptions_reported_within_the_window_are_used(plant, make_uow, policy, store):
    stale = report(make_uow, policy, key="e1", minutes_ago=31)
    with pytest.raises(DomainError, match="请先报告异常"):
        attach(make_uow, store, key="m1")

    recent = report(make_uow, policy, key="e2", minutes_ago=30)
    assert attach(make_uow, store, key="m2").exception_id == recent
    # Named explicitly (a card's "补充照片" button), an older open exception still takes photos.
    assert attach(make_uow, store, key="m3", exception_id=stale).exception_id == stale


def test_a_bad_file_is_refused_before_anything_is_stored(plant, make_uow, policy, store):
    report(make_uow, policy, key="e1")
    with pytest.raises(DomainError, match="不是图片"):
        attach(make_uow, store, key="m1", data="这不是照片".encode())
    assert photo_rows(make_uow) == 0 and stored_files(store) == []


def test_file_is_written_before_the_row_exists(plant, make_uow, policy, tmp_path):
    report(make_uow, policy, key="e1")
    seen: list[int] = []

    class WatchingStore(PhotoStore):
        def save(self, photo):
            # Autoflush would push a row already added to the session: none may exist yet.
            seen.append(uow.session.scalar(select(func.count()).select_from(ExceptionPhoto)))
            return super().save(photo)

    with make_uow() as uow:
        attach_photo(uow, store=WatchingStore(tmp_path), userid="w1", source_key="m1", data=jpeg(10), now=NOW)
        uow.commit()
    assert seen == [0] and photo_rows(make_uow) == 1
