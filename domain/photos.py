"""Exception photos: turn whatever a worker's phone sent into a small, metadata-free JPEG, and keep it.

Pure (no database, no WeCom): the bot downloads the bytes, the services decide where they belong.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import re
import tempfile
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageOps

from domain.errors import DomainError, NotFound

MAX_INPUT_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_SIDE = 1600
THUMB_SIDE = 320
JPEG_QUALITY = 85

# Only these plugins are even tried: Pillow would otherwise probe every format it knows (EPS starts
# Ghostscript, TIFF and PSD are large attack surfaces) for bytes that arrive from outside the plant.
# Phone JPEGs carrying several pictures open as MPO through the JPEG plugin, which is what we want.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP")

EMPTY = "收到的图片是空的，请重新发送照片。"
NOT_AN_IMAGE = "收到的文件不是图片，请发送照片（JPG/PNG）。"
DAMAGED = "图片已损坏或不完整，请重新拍照发送。"
TOO_MANY_PIXELS = "图片尺寸过大，无法处理，请重新拍照发送。"
PHOTO_NOT_FOUND = "照片不存在。"


def _too_big(max_input_bytes: int) -> str:
    return f"图片太大（超过 {max_input_bytes / (1024 * 1024):g} MB），请压缩后重新发送。"


@dataclass(frozen=True)
class NormalisedPhoto:
    jpeg: bytes = field(repr=False)
    thumb: bytes = field(repr=False)
    width: int
    height: int
    sha256: str


def normalise_photo(
    data: bytes,
    *,
    max_input_bytes: int = MAX_INPUT_BYTES,
    max_pixels: int = MAX_PIXELS,
    max_side: int = MAX_SIDE,
    thumb_side: int = THUMB_SIDE,
) -> NormalisedPhoto:
    """Check and re-encode a photo; every refusal is a DomainError the worker can read."""
    if not data:
        raise DomainError(EMPTY)
    if len(data) > max_input_bytes:
        raise DomainError(_too_big(max_input_bytes))
    with _open(data, max_pixels) as img:
        photo = _decode(img, max_side)
    thumb = photo.copy()
    thumb.thumbnail((thumb_side, thumb_side), Image.Resampling.LANCZOS)
    jpeg = _jpeg(photo)
    return NormalisedPhoto(
        jpeg=jpeg,
        thumb=_jpeg(thumb),
        width=photo.width,
        height=photo.height,
        sha256=hashlib.sha256(jpeg).hexdigest(),
    )


def _open(data: bytes, max_pixels: int) -> Image.Image:
    try:
        img = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    # Pillow's own bomb guard fires inside open() for absurd sizes; the warning only arrives here when
    # the process escalates warnings to errors. The global limit is not changed: it is shared by threads.
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DomainError(TOO_MANY_PIXELS) from None
    except Exception as exc:  # noqa: BLE001 - Pillow's parsers raise a zoo of types on hostile bytes
        raise DomainError(NOT_AN_IMAGE) from exc
    # open() has only read the header: refuse before load() allocates width × height pixels.
    if img.width * img.height > max_pixels:
        img.close()
        raise DomainError(TOO_MANY_PIXELS)
    return img


def _decode(img: Image.Image, max_side: int) -> Image.Image:
    """Pixels upright, on RGB, long side ≤ max_side, and nothing of the original's metadata."""
    try:
        _draft(img, max_side)
        img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning, MemoryError):
        raise DomainError(TOO_MANY_PIXELS) from None
    except Exception as exc:  # noqa: BLE001 - truncated or corrupt data surfaces as many types
        raise DomainError(DAMAGED) from exc
    # A malformed EXIF block should not cost the worker the photo: keep it as stored.
    with suppress(Exception):
        ImageOps.exif_transpose(img, in_place=True)
    photo = _on_white(img)
    photo.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return photo


def _draft(img: Image.Image, max_side: int) -> None:
    # JPEG can decode at 1/2, 1/4 or 1/8 scale: a 48 MP phone photo then never exists at full size
    # in memory. draft() keeps both sides ≥ the request, so ask for the box the long side must fill.
    long_side = max(img.size)
    if img.format in ("JPEG", "MPO") and long_side > max_side:
        ratio = max_side / long_side
        img.draft(None, (math.ceil(img.width * ratio), math.ceil(img.height * ratio)))


def _on_white(img: Image.Image) -> Image.Image:
    # Painting onto a fresh canvas also drops info (EXIF, GPS, comments, ICC) carried by convert().
    has_alpha = img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info
    src = img.convert("RGBA" if has_alpha else "RGB")
    canvas = Image.new("RGB", src.size, (255, 255, 255))
    canvas.paste(src, mask=src.getchannel("A") if has_alpha else None)
    return canvas


def _jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return buf.getvalue()


_STORED_NAME = re.compile(r"[0-9a-f]{2}/[0-9a-f]{64}(_thumb)?\.jpg")


class PhotoStore:
    """Content-addressed files under one root: a retried delivery lands on the very same file."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def save(self, photo: NormalisedPhoto) -> tuple[str, str]:
        """Write the photo and its thumbnail; returns their paths relative to the root."""
        sha = photo.sha256
        path, thumb_path = f"{sha[:2]}/{sha}.jpg", f"{sha[:2]}/{sha}_thumb.jpg"
        self._write(path, photo.jpeg)
        self._write(thumb_path, photo.thumb)
        return path, thumb_path

    def open(self, relpath: str) -> bytes:
        """The bytes of a stored photo; anything not written by save() is simply not found."""
        try:
            return self._resolve(relpath).read_bytes()
        except OSError:
            raise NotFound(PHOTO_NOT_FOUND) from None

    def _resolve(self, relpath: str) -> Path:
        # The name pattern rules out "..", absolute paths and odd characters; resolving also rules
        # out a symlink under the root that points elsewhere.
        if not _STORED_NAME.fullmatch(relpath):
            raise NotFound(PHOTO_NOT_FOUND)
        root = self.root.resolve()
        target = (root / relpath).resolve()
        if not target.is_relative_to(root):
            raise NotFound(PHOTO_NOT_FOUND)
        return target

    def _write(self, relpath: str, data: bytes) -> None:
        target = self._resolve(relpath)
        if target.is_file():  # same name, same content: an earlier delivery already wrote it whole
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".jpg")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            # mkstemp makes 0600; the web process that serves photos may run as another user of the group.
            os.chmod(tmp, 0o640)
            os.replace(tmp, target)
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _fsync_dir(target.parent)


def _fsync_dir(path: Path) -> None:
    # The database row is committed right after; the directory entry must survive a power cut too.
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
