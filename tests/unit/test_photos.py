from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import ExifTags, Image

from domain.errors import DomainError, NotFound
from domain.photos import PhotoStore, normalise_photo

NOT_AN_IMAGE = "收到的文件不是图片，请发送照片（JPG/PNG）。"
TOO_MANY_PIXELS = "图片尺寸过大，无法处理，请重新拍照发送。"


def encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


def noise(size: tuple[int, int]) -> Image.Image:
    # Noise, not a flat colour: compressors cannot shrink it, so a truncated file really lacks pixels.
    return Image.effect_noise(size, 64).convert("RGB")


def scene(size: tuple[int, int]) -> Image.Image:
    """A large but compressible picture (noise of this size would exceed 10 MB as PNG or BMP)."""
    grad = Image.linear_gradient("L").resize(size)
    return Image.merge("RGB", (grad, Image.radial_gradient("L").resize(size), grad.transpose(Image.Transpose.ROTATE_180)))


def jpeg_segments(data: bytes) -> list[int]:
    """Markers of the JPEG header segments (up to start-of-scan)."""
    assert data[:2] == b"\xff\xd8"
    markers, pos = [], 2
    while pos < len(data):
        marker = data[pos + 1]
        markers.append(marker)
        if marker == 0xDA:
            break
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        pos += 2 + length
    return markers


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG that claims to be width × height (its pixel data is a few bytes)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def opened(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF", "BMP"])
def test_accepted_formats_come_out_as_bounded_jpeg_with_thumbnail(fmt):
    # 2400 × 1200: BMP is uncompressed and must stay under the 10 MB input limit.
    photo = normalise_photo(encode(scene((2400, 1200)), fmt))

    out = opened(photo.jpeg)
    assert out.format == "JPEG" and out.mode == "RGB"
    assert out.size == (photo.width, photo.height) == (1600, 800)
    thumb = opened(photo.thumb)
    assert thumb.format == "JPEG" and max(thumb.size) == 320
    assert len(photo.sha256) == 64 and normalise_photo(encode(noise((10, 10)), fmt)).sha256 != photo.sha256


def test_small_photo_is_not_enlarged_and_encoding_is_deterministic():
    data = encode(noise((640, 480)), "JPEG")
    first, again = normalise_photo(data), normalise_photo(data)
    assert (first.width, first.height) == (640, 480)
    assert first.jpeg == again.jpeg and first.sha256 == again.sha256


def test_portrait_is_bounded_on_its_long_side():
    photo = normalise_photo(encode(noise((1000, 4000)), "JPEG"))
    assert (photo.width, photo.height) == (400, 1600)
    assert opened(photo.thumb).size == (80, 320)


def test_exif_gps_and_comments_do_not_leave_the_plant():
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "HUAWEI"
    exif[ExifTags.Base.Model] = "Mate 60"
    exif[ExifTags.IFD.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (22.0, 33.0, 7.5)}
    data = encode(noise((800, 600)), "JPEG", exif=exif, comment=b"plant-secret")
    source = Image.open(io.BytesIO(data))
    # The input really carries what must be removed, else this test would prove nothing.
    assert source.getexif()[ExifTags.Base.Make] == "HUAWEI"
    assert source.getexif().get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitudeRef] == "N"

    photo = normalise_photo(data)

    for out in (photo.jpeg, photo.thumb):
        assert not Image.open(io.BytesIO(out)).getexif()
        assert b"Exif" not in out and b"HUAWEI" not in out and b"plant-secret" not in out
        # Only the JFIF header and the image's own tables: no APP1 (EXIF/XMP), APP2 (ICC) or COM.
        assert not {0xE1, 0xE2, 0xFE} & set(jpeg_segments(out))


def test_exif_orientation_6_turns_the_photo_upright():
    img = Image.new("RGB", (400, 200), "blue")
    img.paste((255, 0, 0), (0, 0, 200, 200))  # left half red as stored
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # camera held upright: display rotated 90° clockwise
    photo = normalise_photo(encode(img, "JPEG", exif=exif))

    out = opened(photo.jpeg)
    assert (photo.width, photo.height) == out.size == (200, 400)
    red, _, blue = out.getpixel((100, 50))  # the stored left side is now on top
    assert red > 200 and blue < 60


def test_transparency_is_flattened_on_white():
    img = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    img.paste((200, 0, 0, 255), (0, 0, 50, 100))
    photo = normalise_photo(encode(img, "PNG"))

    out = opened(photo.jpeg)
    assert out.mode == "RGB"
    assert min(out.getpixel((90, 50))) > 245  # transparent → white, not black
    red, green, _ = out.getpixel((10, 50))
    assert red > 180 and green < 40


def test_animated_gif_keeps_its_first_frame():
    frames = [Image.new("RGB", (60, 40), colour) for colour in ("red", "green")]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    out = opened(normalise_photo(data).jpeg)
    red, green, _ = out.getpixel((30, 20))
    assert red > 200 and green < 60


@pytest.mark.parametrize(
    "data",
    [
        "设备故障，P01 液压泵漏油".encode(),
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
        b"\x00" * 2048,
    ],
    ids=["text", "pdf", "zeros"],
)
def test_non_images_are_refused(data):
    with pytest.raises(DomainError) as info:
        normalise_photo(data)
    assert info.value.message == NOT_AN_IMAGE


def test_formats_pillow_reads_but_we_do_not_accept_are_refused():
    with pytest.raises(DomainError, match="不是图片"):
        normalise_photo(encode(noise((50, 50)), "TIFF"))


def test_truncated_jpeg_is_refused():
    data = encode(noise((800, 600)), "JPEG")
    with pytest.raises(DomainError) as info:
        normalise_photo(data[: len(data) // 2])
    assert info.value.message == "图片已损坏或不完整，请重新拍照发送。"


def test_empty_input_is_refused():
    with pytest.raises(DomainError, match="空的"):
        normalise_photo(b"")


def test_oversized_input_is_refused_before_decoding(monkeypatch):
    def must_not_decode(*args, **kwargs):
        raise AssertionError("decoded an oversized upload")

    monkeypatch.setattr(Image, "open", must_not_decode)
    with pytest.raises(DomainError) as info:
        normalise_photo(b"\xff\xd8\xff\xe0" + b"\0" * (10 * 1024 * 1024))
    assert info.value.message == "图片太大（超过 10 MB），请压缩后重新发送。"


@pytest.mark.parametrize("size", [(100_000, 100_000), (8000, 6000)], ids=["pillow-bomb-limit", "our-limit"])
def test_decompression_bomb_is_refused_from_its_header(size):
    data = png_header_only(*size)
    assert len(data) < 200
    with pytest.raises(DomainError) as info:
        normalise_photo(data)
    # Had the pixels been decoded, the missing data would have read as "damaged" instead.
    assert info.value.message == TOO_MANY_PIXELS


def test_pixel_limit_applies_to_a_real_image():
    data = encode(Image.new("L", (2000, 2000)), "PNG")
    with pytest.raises(DomainError, match="尺寸过大"):
        normalise_photo(data, max_pixels=1_000_000)
    assert normalise_photo(data, max_pixels=4_000_000).width == 1600


def test_store_round_trip_is_content_addressed(tmp_path: Path):
    store = PhotoStore(tmp_path / "media")  # created on demand
    photo = normalise_photo(encode(noise((300, 200)), "PNG"))

    path, thumb_path = store.save(photo)

    sha = photo.sha256
    assert (path, thumb_path) == (f"{sha[:2]}/{sha}.jpg", f"{sha[:2]}/{sha}_thumb.jpg")
    assert store.open(path) == photo.jpeg and store.open(thumb_path) == photo.thumb
    assert store.save(photo) == (path, thumb_path)
    files = sorted(p.name for p in (tmp_path / "media").rglob("*") if p.is_file())
    assert files == sorted([f"{sha}.jpg", f"{sha}_thumb.jpg"])  # no temp files left behind


@pytest.mark.parametrize(
    "relpath",
    ["../secret.jpg", "/etc/passwd", "ab/../../secret.jpg", "", "ab", f"ab/{'a' * 64}.jpg/../../../secret.jpg"],
)
def test_store_refuses_paths_outside_its_files(tmp_path: Path, relpath: str):
    (tmp_path / "secret.jpg").write_bytes(b"not yours")
    store = PhotoStore(tmp_path / "media")
    store.save(normalise_photo(encode(noise((20, 20)), "PNG")))
    with pytest.raises(NotFound):
        store.open(relpath)


def test_store_refuses_a_symlink_leading_out_of_the_root(tmp_path: Path):
    (tmp_path / "secret.jpg").write_bytes(b"not yours")
    name = f"ab/{'a' * 64}.jpg"
    (tmp_path / "media" / "ab").mkdir(parents=True)
    (tmp_path / "media" / name).symlink_to(tmp_path / "secret.jpg")
    with pytest.raises(NotFound):
        PhotoStore(tmp_path / "media").open(name)


def test_store_reports_a_missing_photo_as_not_found(tmp_path: Path):
    with pytest.raises(NotFound, match="照片不存在"):
        PhotoStore(tmp_path).open(f"ab/{'b' * 64}_thumb.jpg")
