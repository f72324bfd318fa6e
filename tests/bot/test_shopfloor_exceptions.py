"""报异常 from the card or by text, then photos: fetched from WeCom, checked, stored, attached."""

from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import select

from domain import qr_payload
from domain.models import ExceptionPhoto, ShopException
from tests.bot.conftest import LABEL_KEY, uow_for

WO = "WO20261125-01"


def png_bytes(size: tuple[int, int] = (800, 600)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buf, "PNG")
    return buf.getvalue()


def jpeg_bytes(size: tuple[int, int] = (2400, 1800)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (20, 90, 200)).save(buf, "JPEG")
    return buf.getvalue()


def exceptions(h) -> list[ShopException]:
    with uow_for(h) as uow:
        rows = uow.session.scalars(select(ShopException).order_by(ShopException.id)).all()
        for r in rows:
            _ = (r.photos, r.work_order)
        uow.session.expunge_all()
        return list(rows)


def send_photo(h, userid: str, data: bytes, filename: str = "photo.jpg") -> tuple[str, list[str]]:
    media_id = h.fake.stage_media(data, filename)
    before = len(h.texts(userid))
    passive = h.reply_text(h.post(h.builder.image(userid, media_id))[0])
    return passive, h.texts(userid)[before:]


def test_card_flow_opens_the_exception_tells_the_floor_and_takes_photos(live, tmp_path):
    payload = qr_payload.encode(WO, LABEL_KEY.encode())
    _, scan_card = live.scan("w1", payload)
    assert live.reply(live.tap("w1", scan_card, "报异常")) == {}  # the scan card stays usable
    type_card = live.cards("w1")[-1]
    assert [b["text"] for b in type_card["button_list"]] == ["设备故障", "材料不符", "模具问题", "品质异常", "其他"]
    assert type_card["main_title"]["desc"] == f"工单 {WO}"

    opened = live.reply(live.tap("w1", type_card, "设备故障"))
    exc = exceptions(live)[0]
    assert opened["TemplateCard"]["MainTitle"]["Title"] == f"已报告异常 #{exc.id}：设备故障"
    assert exc.type == "设备故障" and exc.work_order.code == WO and exc.status == "open"
    [alert_card] = live.cards("sup")  # the workshop's supervisor gets an alert card at once
    assert alert_card["main_title"]["desc"] == f"异常 #{exc.id} 设备故障"
    facts = {r["keyname"]: r["value"] for r in alert_card["horizontal_content_list"]}
    assert facts["工单"] == WO and facts["机台"] == "P01" and facts["报告人"] == "张三"
    assert [b["text"] for b in alert_card["button_list"]] == ["认领", "已处理", "转维修"]

    passive, active = send_photo(live, "w1", png_bytes())
    assert passive == "照片已收到，正在保存……"
    assert active == [f"照片已附到异常 #{exc.id} 设备故障（工单 {WO}），共 1 张。"]
    _, active = send_photo(live, "w1", jpeg_bytes())
    assert active == [f"照片已附到异常 #{exc.id} 设备故障（工单 {WO}），共 2 张。"]

    photos = exceptions(live)[0].photos
    assert len(photos) == 2
    media = tmp_path / "media"
    big = Image.open(media / photos[1].path)
    assert big.format == "JPEG" and max(big.size) == 1600  # a 2400 px phone photo is bounded
    assert max(Image.open(media / photos[1].thumb_path).size) <= 320
    assert not big.getexif()  # nothing of the phone's metadata is kept


def test_a_non_image_is_refused_and_nothing_is_stored(live):
    assert "已报告异常" in live.say("w1", f"报异常 {WO} 材料不符 料斗颗粒发黄")
    _, active = send_photo(live, "w1", b"%PDF-1.4 not a photo", "scan.pdf")
    assert len(active) == 1 and "不是图片" in active[0]
    assert exceptions(live)[0].photos == []


def test_text_flow_and_bad_types(live):
    reply = live.say("w1", f"报异常 {WO} 模具问题 顶针断了")
    exc = exceptions(live)[0]
    assert reply.startswith(f"已报告异常 #{exc.id}：模具问题（工单 {WO}），主管已收到通知。")
    assert exc.description == "顶针断了"
    facts = {r["keyname"]: r["value"] for r in live.cards("sup")[0]["horizontal_content_list"]}
    assert facts["说明"] == "顶针断了" and facts["类型"] == "模具问题"

    bad = live.say("w1", f"报异常 {WO} 停电")
    assert "异常类型「停电」无效，可选：设备故障、材料不符、模具问题、品质异常、其他" in bad
    assert "工单 WO29991231-99 不存在" in live.say("w1", "报异常 WO29991231-99 设备故障")
    assert len(exceptions(live)) == 1

    hint = live.say("w1", "报异常")
    assert "请在卡片上选择异常类型" in hint
    assert live.cards("w1")[-1]["main_title"]["title"] == "报异常：请选择类型"


def test_a_photo_without_an_open_exception_is_explained(live):
    passive, active = send_photo(live, "w1", png_bytes())
    assert passive == "照片已收到，正在保存……"
    assert len(active) == 1 and "请先报告异常" in active[0]
    with uow_for(live) as uow:
        assert uow.session.scalars(select(ExceptionPhoto)).all() == []
