"""The monthly PDF as a reader gets it: the computed figures and Chinese names in the text, the CJK face
embedded, headers repeated on continued tables, and a sane number of pages for 180 and 10,000 orders."""

from __future__ import annotations

import re
import subprocess
import time
from datetime import date
from io import BytesIO

import pytest
from openpyxl import load_workbook

from domain.migrate import upgrade
from reports.month import Month
from reports.monthly_pdf import render_monthly_pdf
from reports.monthly_xlsx import monthly_xlsx
from tests.reports.bulk_month import fill
from tests.reports.conftest import pdf_fonts, pdf_pages, report_for

MOULD_CODE = re.compile(r"\bM-\d{3}\b")


@pytest.fixture(scope="module")
def hand_pdf(hand_report, write_pdf):
    return write_pdf("hand.pdf", render_monthly_pdf(hand_report))


def test_the_cover_shows_the_months_headline_figures(hand_pdf) -> None:
    cover = pdf_pages(hand_pdf)[0]
    assert "月度订单达成分析表" in cover and "2026年10月" in cover
    assert "40.0%" in cover  # 交期达成率: 2 of 5 lines on time
    assert "应交 5 行 · 按期 2 · 逾期 3" in cover
    assert "85.7%" in cover and "3.17%" in cover  # plan completion 3000/3500, moulding defects 100/3150
    assert "逾期最多的客户是美的集团（3 行）；延误最长 16 天（SEORD000102 美的集团 空调面板）" in cover
    assert "完工入库 3,070 件，已导入 KIS 700 件，差异 2,050 件待月末核对。" in cover
    assert "数据截至 2026-11-05" in cover


def test_a_month_without_kis_write_back_says_so_on_the_cover(tmp_path) -> None:
    """A plant that does not write back to KIS (no outbox row in the month) has no KIS difference to chase."""
    url = f"sqlite:///{tmp_path}/bulk.db"
    upgrade(url)
    plant = fill(url, 30)
    r = report_for(url, plant.month, plant.as_of)
    assert r.kis_total.finished > 0 and r.kis_total.imported == 0
    cover = re.sub(r"\s+", "", pdf_pages(_write(tmp_path / "no-kis.pdf", render_monthly_pdf(r)))[0])
    assert f"完工入库{r.kis_total.finished:,}件；未启用KIS回写，本月完工没有经FactoryBot写入KIS。" in cover
    assert "已导入KIS" not in cover and "待月末核对" not in cover
    # The KIS page agrees with the cover: 未启用, and the month's pieces are not listed as a red 差异.
    page = next(p for p in pdf_pages(tmp_path / "no-kis.pdf") if "六、月末 KIS 数据" in p)
    squeezed = re.sub(r"\s+", " ", page)
    assert "未启用 KIS 回写：本月完工没有经 FactoryBot 写入 KIS，没有需要核对的差异。" in squeezed
    assert "料号 产品 完工入库 " in squeezed
    assert re.search(rf"合计 {r.kis_total.finished:,}(?! 0)", squeezed)  # once, not again as 差异
    assert "差异 =" not in squeezed and "已导入 KIS" not in squeezed and "被拒" not in squeezed
    sheet = load_workbook(BytesIO(monthly_xlsx(r)))["KIS月末"]
    assert [c.value for c in sheet[1]] == ["料号", "产品", "完工入库", "KIS 回写"]
    assert [c.value for c in sheet[sheet.max_row]] == [None, "合计", r.kis_total.finished, "未启用"]


def test_the_body_shows_every_section_with_its_figures(hand_pdf) -> None:
    pages = pdf_pages(hand_pdf)
    text = "\n".join(pages)
    squeezed = re.sub(r"\s+", " ", text)
    for heading in ("一、交期达成", "二、各客户、各产品交期达成", "三、逾期订单明细", "四、生产计划与质量",
                    "五、现场异常与预警", "六、月末 KIS 数据", "指标口径"):
        assert heading in text
    assert re.search(r"美的集团 4 1 3 0 3,600 25\.0%", squeezed)  # by customer
    assert re.search(r"格力电器 1 1 0 0 3,000 100\.0%", squeezed)
    assert re.search(r"SEORD000102-2 美的集团 空调面板 500 2026-10-20 未完成 16 天 预警：超计划时间未开工", squeezed)
    assert "模具问题：顶针断裂" in text
    assert re.search(r"电饭煲上盖（3\.01\.0112） M-012 2,750 70 18 2\.48% 3\.12% 3,070", squeezed)
    assert re.search(r"设备故障 2 30 分钟 1 小时 40 分 1", squeezed)
    assert re.search(r"3\.01\.0112 电饭煲上盖 3,070 700 320 0 2,050 2,050", squeezed)
    # Chart text is real text too: the trend's value label and the customers' bars.
    assert "26年10月" in text and "2 单 · 3,800 件" in text
    assert re.search(r"第 ?1 ?页 ?/ ?共 ?\d+ ?页", squeezed) is None  # the cover has no page footer
    assert re.search(r"第 ?2 ?页 ?/ ?共 ?\d+ ?页", squeezed)


def test_the_usage_section_draws_the_adoption_curve(hand_pdf) -> None:
    """Issue 10: the first-90-days adoption curve per workshop, a vector chart with its weekly figures.

    The hand month's one person (w1, 注塑车间) first reports on 09-30; the report is as of 11-05, so the
    curve has the weeks since: 09-30..10-06 reports on 09-30, 10-03, 10-05 (3/7 = 43%); 10-07..13 on 10-08,
    09, 10, 12 (4/7 = 57%); 10-14..20 on 10-18 (1/7 = 14%); 10-21..27 none; 10-28..11-03 on 10-31 and 11-02
    (2/7 = 29%); 11-04..05, the week so far, none."""
    page = next(p for p in pdf_pages(hand_pdf) if "七、系统使用情况" in p)
    squeezed = re.sub(r"\s+", " ", page)
    assert "上线曲线：各车间从第一天使用起的前 90 天，每周日均活跃人数占该车间已开通人数的比例" in squeezed
    assert "车间 第1周 第2周 第3周 第4周 第5周 第6周 注塑车间 43% 57% 14% 0% 29% 0%" in squeezed
    # The chart's own text (legend, 0–100% axis, week axis) is in the PDF as text: drawn, not pasted as a picture.
    assert squeezed.count("第6周") == 2 and "第7周" not in squeezed
    assert re.search(r"注塑车间 100% 75% 50% 25% 0%", squeezed)
    listed = subprocess.run(["pdfimages", "-list", str(hand_pdf)], check=True, capture_output=True, text=True)
    assert listed.stdout.splitlines()[2:] == []  # no raster image anywhere in the report
    text = "\n".join(pdf_pages(hand_pdf))
    assert "上线曲线" in text.split("指标口径")[1]  # and its definition


def test_every_font_is_the_embedded_simplified_chinese_face(hand_pdf) -> None:
    fonts = pdf_fonts(hand_pdf)
    assert fonts
    for row in fonts:
        name, emb = row[0], row[-5]
        assert "Noto-Sans-CJK-SC" in name, row  # never the JP face fontconfig would pick by default
        assert emb == "yes", row


def test_a_month_with_nothing_to_show_still_renders(tmp_path) -> None:
    """A month that has orders but no due lines, defects, exceptions or KIS rows says so instead of failing."""
    url = f"sqlite:///{tmp_path}/empty.db"
    upgrade(url)
    fill(url, 3)
    r = report_for(url, Month(2026, 8), date(2026, 11, 5))  # only the trend's earliest month: no data at all
    text = "\n".join(pdf_pages(_write(tmp_path / "aug.pdf", render_monthly_pdf(r))))
    assert "本月没有应交的订单行。" in text and "本月没有现场异常记录。" in text and "本月没有逾期的订单行。" in text


def _write(path, content: bytes):
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(("orders", "pages"), [(180, (8, 13)), (10_000, (8, 14))])
def test_page_count_stays_sane_as_the_month_grows(orders, pages, tmp_path) -> None:
    url = f"sqlite:///{tmp_path}/bulk.db"
    upgrade(url)
    plant = fill(url, orders)
    r = report_for(url, plant.month, plant.as_of)
    started = time.perf_counter()
    pdf = _write(tmp_path / "bulk.pdf", render_monthly_pdf(r))
    elapsed = time.perf_counter() - started
    texts = pdf_pages(pdf)
    assert pages[0] <= len(texts) <= pages[1], len(texts)
    assert elapsed < 60
    text = "\n".join(texts)
    assert "美的集团" in text and "飞利浦(中国)投资有限公司" in text
    if orders == 10_000:
        # 166 customers: the table shows 25 and folds the rest; the late list is cut to 40 rows.
        assert "其他 141 项" in text
        assert f"逾期{r.on_time.late}行，按延误天数列出前40行（完整清单见Excel导出）" in re.sub(r"\s+", "", text)
    # A continued table repeats its header: every page listing moulds also carries the column titles.
    for page in texts:
        if MOULD_CODE.search(page) and "指标口径" not in page:
            assert "注塑不良" in page, page[:400]
