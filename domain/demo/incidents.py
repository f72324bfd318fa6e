"""The demo's exceptions: five closed ones in the last ten days, three still open this morning."""

from __future__ import annotations

from datetime import timedelta

from domain.demo.catalogue import FINISHING, INJECTION, PRESS_ZONES, QUALITY
from domain.demo.plan import PlanException, Plant, PlanWorkOrder
from domain.vocab import ExceptionStatus, OperationStatus, Role, WorkOrderStatus


def plan_exceptions(plant: Plant) -> None:
    """Picked on the work orders as the reporting service left them (read back into the plan)."""
    rng, today = plant.rng, plant.today
    running = [w for w in plant.work_orders if w.status == WorkOrderStatus.IN_PROGRESS and w.start_day]
    # A press is "running" while its moulding step is still open and reported today. Judged as in the plant
    # without slow-downs, so the demo's story (which press breaks down today, who is called) stays the same.
    presses_running = [
        w
        for w in running
        if w.ops[0].status != OperationStatus.DONE
        and any(r.op_index == 0 and r.at.astimezone(plant.tz).date() == today
                for r in (w.reports if w.unshaped is None else w.unshaped))
    ]
    past = [
        w
        for w in plant.work_orders
        if w.start_day is not None
        and w.start_day < today
        and w.started_at is not None
        and (w.finish_day is None or w.finish_day >= today - timedelta(days=10))
    ]
    pick_past = rng.sample(past, 5)
    closed_specs = (
        (
            "设备故障",
            "{machine} 机械手取件不到位，连续掉件，已暂停自动模式。",
            "更换机械手真空吸盘并重新示教，试产 50 模正常。",
        ),
        (
            "模具问题",
            "{mould} 顶针断裂，{product}顶白，停机更换顶针。",
            "更换顶针 2 支，模具抛光后恢复生产。",
        ),
        ("材料不符", "{product}来料批次颜色偏黄，与色板不符。", "仓库更换同批次合格料，已通知采购退货。"),
        ("品质异常", "{product}抽检发现缩水，10 件中 2 件不合格。", "调整保压时间 +0.5 秒，复检合格。"),
        (
            "其他",
            "{product}包装纸箱规格与客户要求不一致，暂停包装。",
            "客户确认可用现有纸箱，已恢复包装。",
        ),
    )
    for wo, (kind, text, resolution) in zip(pick_past, closed_specs, strict=True):
        last_day = min(today - timedelta(days=1), wo.finish_day or today)
        assert wo.start_day is not None
        span = max(0, (last_day - max(wo.start_day, today - timedelta(days=10))).days)
        day = last_day - timedelta(days=rng.randint(0, span))
        opened = plant.at(day, rng.randint(8, 15), rng.randint(0, 59))
        by = handler(plant, kind, wo)
        acked = opened + timedelta(minutes=rng.randint(5, 45))
        closed = acked + timedelta(minutes=rng.randint(40, 300))
        exc = PlanException(
            wo, reporter(plant, kind), kind, _text(text, wo), opened, ExceptionStatus.CLOSED
        )
        exc.acknowledged_at, exc.acknowledged_by = acked, by
        exc.closed_at, exc.closed_by, exc.resolution = closed, by, resolution
        plant.exceptions.append(exc)

    if not presses_running or len(running) < 3:
        raise AssertionError("demo plan has too few running work orders for open exceptions")
    # On an A区 press when one runs: the README's technician walk-through is tech01's, the A区 technician.
    breakdown = rng.choice([w for w in presses_running if PRESS_ZONES[w.machine] == "A区"] or presses_running)
    others = [w for w in running if w is not breakdown]
    mould_wo, quality_wo = rng.sample(others, 2)
    exc = PlanException(
        mould_wo,
        reporter(plant, "模具问题"),
        "模具问题",
        _text("{mould} 冷却水路堵塞，成型周期变长约 8 秒。", mould_wo),
        plant.at(today, 8, rng.randint(20, 50)),
        ExceptionStatus.ACKNOWLEDGED,
    )
    exc.acknowledged_at = exc.opened_at + timedelta(minutes=rng.randint(10, 30))
    exc.acknowledged_by = handler(plant, "模具问题", mould_wo)
    plant.exceptions.append(exc)
    plant.exceptions.append(
        PlanException(
            quality_wo,
            reporter(plant, "品质异常"),
            "品质异常",
            _text("{product}外观有黑点，比例约 1.5%，请工艺确认。", quality_wo),
            plant.at(today, 10, rng.randint(0, 40)),
            ExceptionStatus.OPEN,
        )
    )
    plant.exceptions.append(
        PlanException(
            breakdown,
            reporter(plant, "设备故障"),
            "设备故障",
            _text("{machine} 液压油温过高报警，已停机，等待维修。", breakdown),
            plant.at(today, 11, rng.randint(0, 50)),
            ExceptionStatus.OPEN,
        )
    )
    plant.exceptions.sort(key=lambda e: e.opened_at)

def reporter(plant: Plant, kind: str) -> str:
    workshop = {"品质异常": QUALITY, "其他": FINISHING}.get(kind, INJECTION)
    pool = [p.userid for p in plant.people if p.workshop == workshop and Role.SUPERVISOR not in p.roles]
    return plant.rng.choice(pool)

def handler(plant: Plant, kind: str, wo: PlanWorkOrder) -> str:
    if kind in ("设备故障", "模具问题"):
        zone = PRESS_ZONES[wo.machine]
        return next(p.userid for p in plant.people if Role.TECHNICIAN in p.roles and p.zone == zone)
    return {"品质异常": "zhouba", "其他": "sunqi"}.get(kind, "wangwu")

def _text(template: str, wo: PlanWorkOrder) -> str:
    return template.format(machine=wo.machine, mould=wo.line.product.mould, product=wo.line.product.name)

# summary -----------------------------------------------------------------------------------------
