"""The cover page's few sentences: what a director reads before deciding whether to turn the page."""

from __future__ import annotations

from collections import Counter

from reports import fmt
from reports.monthly import MonthlyReport


def highlights(r: MonthlyReport) -> list[str]:
    prev = r.previous
    out = []
    ot = r.on_time
    if ot.judged:
        line = (f"交期达成率 {fmt.pct(ot.rate_pct)}：应交 {ot.due} 行，按期 {ot.on_time} 行，逾期 {ot.late} 行"
                + (f"，未到期 {ot.pending} 行" if ot.pending else ""))
        if prev is not None and prev.on_time_pct is not None:
            line += f"；较上月 {fmt.points(ot.rate_pct, prev.on_time_pct)}"
        out.append(line + "。")
    else:
        out.append("本月没有已到交期的订单行。")
    if r.late:
        worst = r.late[0]
        customers = Counter(x.customer for x in r.late).most_common(1)[0]
        with_reason = sum(1 for x in r.late if x.reasons)
        out.append(f"逾期最多的客户是{customers[0]}（{customers[1]} 行）；延误最长 {worst.delay_days} 天"
                   f"（{worst.bill_no} {worst.customer} {worst.product}）；{with_reason} 行逾期有现场记录的原因。")
    q = r.quality_total
    if q.moulded:
        line = f"注塑不良率 {fmt.pct(q.moulding_defect_pct, 2)}，综合不良率 {fmt.pct(q.defect_pct, 2)}"
        if prev is not None and prev.moulding_defect_pct is not None:
            line += f"（注塑较上月 {fmt.points(q.moulding_defect_pct, prev.moulding_defect_pct)}）"
        if r.pareto:
            top = r.pareto[0]
            line += f"；不良最多的是{top.label}（{fmt.num(top.defects)} 件，占 {fmt.pct(top.cumulative_pct)}）"
        out.append(line + "。")
    if r.plan.work_orders:
        out.append(f"计划完成率 {fmt.pct(r.plan.qty_pct)}；计划本月完工的 {r.plan.work_orders} 张工单中，"
                   f"{r.plan.finished_on_time} 张按期完工（{fmt.pct(r.plan.on_time_pct)}）。")
    e = r.exceptions_total
    if e.count:
        out.append(f"现场异常 {e.count} 起，平均 {fmt.minutes(e.mean_response_minutes)}响应、"
                   f"{fmt.minutes(e.mean_close_minutes)}关闭" + (f"，{e.still_open} 起尚未关闭" if e.still_open else "")
                   + "。")
    else:
        out.append("本月没有现场异常记录。")
    k = r.kis_total
    if not r.kis_write_back:
        if k.finished:
            out.append(f"完工入库 {fmt.num(k.finished)} 件；未启用 KIS 回写，本月完工没有经 FactoryBot 写入 KIS。")
    else:
        out.append(f"完工入库 {fmt.num(k.finished)} 件，已导入 KIS {fmt.num(k.imported)} 件，"
                   + ("与 KIS 一致。" if k.difference == 0 else f"差异 {fmt.num(k.difference)} 件待月末核对。"))
    return out
