"""What the KIS jobs say to people (CLI, chat, notices), in Chinese. Pure formatting."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from domain.vocab import OutboxStatus
from kis.pull import PullResult
from kis.push import PushResult
from kis.status import JobStatus, KisStatus


def _n(value: int) -> str:
    return f"{value:,}"


def _t(moment: datetime | None, tz: ZoneInfo, fmt: str = "%m-%d %H:%M") -> str:
    return moment.astimezone(tz).strftime(fmt) if moment else "-"


def pull_line(r: PullResult) -> str:
    """One line for sync_state and the status view."""
    line = f"订单 新增 {r.new}，变更 {r.changed}，未变 {r.unchanged}，作废 {r.voided}，关闭 {r.closed}"
    if r.uses_tasks:
        line += f"；工单 新建 {r.wo_created}，更新 {r.wo_updated}，作废 {r.wo_voided}，结案 {r.wo_closed}"
    return line


def pull_text(r: PullResult, tz: ZoneInfo) -> str:
    if r.reconcile:
        since = "全量核对，重新读取全部已审核未关闭的订单"
    elif r.since:
        since = f"读取 {r.since:%Y-%m-%d %H:%M} 之后审核或变更的订单"
    else:
        since = "首次同步，读取全部已审核未关闭的订单"
    out = [f"KIS 订单同步完成（{since}）：",
           f"  订单：新增 {r.new}，变更 {r.changed}，未变 {r.unchanged}，作废 {r.voided}，关闭 {r.closed}"
           f"（读取 {_n(r.orders_read)} 单 {_n(r.lines_read)} 行）"]
    if r.linked:
        out.append(f"  按单号关联 FactoryBot 已有订单 {_n(r.linked)} 单")
    if r.customers_new or r.products_new:
        out.append(f"  新客户 {r.customers_new}，新物料 {r.products_new}")
    if r.unaudited:
        out.append(f"  KIS 中未审核（或已反审核待变更）{r.unaudited} 单，审核后再同步")
    if r.uses_tasks:
        line = (f"  生产任务单：新建工单 {r.wo_created}，更新 {r.wo_updated}，作废 {r.wo_voided}，结案 {r.wo_closed}"
                f"（读取 {_n(r.tasks_read)} 张）")
        if r.tasks_skipped:
            line += f"，{r.tasks_skipped} 张无对应的未关闭订单行，未建工单"
        out.append(line)
    if r.lines_closed:
        out.append(f"  KIS 中已关闭的订单行 {r.lines_closed} 行（不再计为欠交）")
    if r.uses_shipments:
        out.append(f"  销售出库：出货数量变化 {r.shipments_changed} 单，全部出货 {r.shipped} 单")
    if r.uses_receipts:
        out.append(f"  产品入库：入库满数完工工单 {r.wo_received} 张")
    if r.wo_stopped:
        out.append(f"  停止工单 {r.wo_stopped} 张（所属订单已作废）")
    if r.alerts_closed:
        out.append(f"  关闭相关预警 {r.alerts_closed} 条")
    if r.watermark:
        out.append(f"  已读到 {_t(r.watermark, tz, '%Y-%m-%d %H:%M')} 审核或变更的订单")
    out += [f"  · {note}" for note in r.notes[:10]]
    if len(r.notes) > 10:
        out.append(f"  ……另有 {len(r.notes) - 10} 条提示")
    return "\n".join(out)


def pull_failed_text(reason: str) -> str:
    return f"KIS 订单同步失败：{reason}\n本次未做任何修改，下次同步会从上次成功的位置重新读取。"


def push_line(r: PushResult) -> str:
    rb = r.readback
    return (f"写入 {r.written} 行，已在 KIS {r.already_there} 行；入库 {rb.imported}，被拒 {rb.rejected}，"
            f"待导入 {rb.waiting}")


def push_text(r: PushResult) -> str:
    out = ["KIS 完工回写完成："]
    c = r.collected
    if c and c.rows:
        span = f"{c.first_day} 至 {c.last_day}" if c.first_day != c.last_day else f"{c.last_day}"
        out.append(f"  新增待回写 {_n(c.rows)} 行（良品 {_n(c.qty)} 件，生产日 {span}）")
        if c.corrections:  # a report undone or corrected after its day was queued
            out.append(f"  其中更正 {_n(c.corrections)} 行（良品 {_n(c.correction_qty)} 件）")
    else:
        out.append("  没有新的完工需要回写")
    line = f"  写入 KIS 中间表 {_n(r.written)} 行"
    if r.batches > 1:
        line += f"（{r.batches} 批）"
    if r.already_there:
        line += f"，另有 {_n(r.already_there)} 行 KIS 中已有（上次写入后未及记录），未重复写入"
    out.append(line)
    rb = r.readback
    out.append(f"  KIS 导入结果：新入库 {_n(rb.imported)} 行，新被拒 {_n(rb.rejected)} 行，等待 KIS 导入 {_n(rb.waiting)} 行")
    if rb.recovered:
        out.append(f"  其中 {_n(rb.recovered)} 行此前被拒，已在 KIS 处理后入库")
    if rb.requeued:
        out.append(f"  此前被拒的 {_n(rb.requeued)} 行已在 KIS 中重新排队，等待导入")
    if rb.missing:
        out.append(f"  注意：{_n(rb.missing)} 行已写入但中间表中找不到，请 KIS 管理员核对")
    out += [f"  · 被拒 {x}" for x in rb.rejections[:10]]
    return "\n".join(out)


def push_failed_text(reason: str, pending: int, retry_at: datetime | None, tz: ZoneInfo) -> str:
    retry = f"将在 {_t(retry_at, tz, '%H:%M')} 后自动重试" if retry_at else "下次回写时重试"
    return f"KIS 完工回写失败：{reason}\n待回写 {_n(pending)} 行仍在队列中，不会丢失；{retry}。"


def _job_line(label: str, job: JobStatus | None, tz: ZoneInfo, command: str) -> list[str]:
    if job is None or (job.last_run_at is None and not job.running):
        return [f"{label}：尚未运行"]
    if job.last_run_at is None:
        head = f"{label}：首次运行"
    else:
        head = f"{label}：上次 {_t(job.last_run_at, tz)} "
        if job.last_ok:
            head += f"成功（{(job.message or '').splitlines()[0] if job.message else ''}）"
        else:
            head += f"失败（连续 {job.failures} 次）：{job.message or ''}"
            if job.last_ok_at:
                head += f"；上次成功 {_t(job.last_ok_at, tz)}"
            if job.retry_at:
                head += f"；下次自动重试 {_t(job.retry_at, tz)}"
    if not job.running:
        return [head]
    return [head + f"；正在运行（{job.lease_holder or '未记录由谁运行'}，{_t(job.lease_since, tz)} 起，"
                   f"占用至 {_t(job.lease_until, tz)}）",
            f"  若该运行已中断（例如进程被终止），到期后即可再次运行，或用 factorybot kis {command} --force 接管"]


def status_text(st: KisStatus, tz: ZoneInfo, now: datetime) -> str:
    out = [f"KIS 同步状态（{_t(now, tz, '%Y-%m-%d %H:%M')}）："]
    if st.configured is False:
        out.append("未配置 KIS 连接（KIS_ODBC），定时同步与回写不会运行。")
    out += _job_line("订单同步", st.pull, tz, "pull")
    if st.pull and st.pull.watermark:
        out.append(f"  已读到 {_t(st.pull.watermark, tz, '%Y-%m-%d %H:%M')} 审核或变更的订单")
    out += _job_line("完工回写", st.push, tz, "push")
    c = st.counts
    queue = f"回写队列：待写入 {_n(c.get(OutboxStatus.PENDING, 0))} 行"
    if c.get(OutboxStatus.PENDING):
        queue += f"（良品 {_n(st.pending_qty)} 件，最早生产日 {st.pending_since}）"
    queue += (f"，已写入待导入 {_n(c.get(OutboxStatus.SENT, 0))} 行，已入库 {_n(c.get(OutboxStatus.IMPORTED, 0))} 行，"
              f"被拒 {_n(c.get(OutboxStatus.REJECTED, 0))} 行")
    out.append(queue)
    if st.pending_error:
        out.append(f"  待写入原因：{st.pending_error}")
    if st.imports:
        out.append("最近入库：")
        out += [f"  · {x}" for x in st.imports]
    if st.rejections:
        out.append("最近被拒：")
        out += [f"  · {x}" for x in st.rejections]
    return "\n".join(out)
