"""The floor's reports of each work order, day by day, and who made them: generated, not yet counted."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

from domain.demo.plan import (
    DEFECT_RATE,
    MORNING_SHARE,
    RECOVERED_SLOWDOWN_SHARE,
    TROUBLE_DAYS,
    TROUBLE_EXTRA_DEFECT,
    PlanReport,
    Plant,
    PlanWorkOrder,
    Slowdown,
)
from domain.demo.shifts import day_counterpart, night_counterpart
from domain.vocab import Role

# The presses run through the night (夜班 20:00-08:00): of each moulding day after a work order's first, this
# share (a uniform draw) was made on the night before and reported by the night crew before 08:00.
NIGHT_SHARE = (0.4, 0.5)


def execute(plant: Plant, wo: PlanWorkOrder) -> None:
    """Generate the work order's reports day by day, and keep those made by noon today."""
    if wo.start_day is None or wo.finish_day is None or wo.start_day > plant.today:
        return
    rng = plant.rng
    qty = wo.planned_qty
    tolerance = plant.policy.tolerance(qty)
    names = [op.name for op in wo.ops]
    rates = [rng.uniform(0, DEFECT_RATE[n]) for n in names]
    if wo.line.product.mould == plant.trouble_mould and wo.start_day >= plant.today - timedelta(days=TROUBLE_DAYS):
        rates[0] += TROUBLE_EXTRA_DEFECT  # added, not drawn: every other figure of the demo stays the same
    # Moulding over-shoots a little to cover downstream scrap, within the tolerance.
    keep = math.prod(1 - r for r in rates[1:])
    good = [min(qty + tolerance, math.ceil(qty / keep) + rng.randint(0, tolerance // 4))]
    defect = [round(good[0] * rates[0])]
    for r in rates[1:]:
        consumed = good[-1]
        defect.append(min(consumed, round(consumed * r)))
        good.append(consumed - defect[-1])
    consumed_total = [good[0]] + [good[k] + defect[k] for k in range(1, len(good))]

    n_days = (wo.finish_day - wo.start_day).days + 1
    trail = min(n_days - 1, rng.randint(0, 2))
    mould_days = n_days - trail
    events = daily_reports(plant, wo, rng, good, defect, consumed_total, n_days, mould_days, None)
    slowdown = slowdown_of(plant, wo, mould_days)
    if slowdown is not None:
        # Redrawn on the slow-down's own generator: the main one has drawn exactly what it draws without
        # slow-downs, so every other work order of the demo stays the same.
        wo.unshaped = [e for e in events if e.at <= plant.as_of]
        events = daily_reports(plant, wo, slowdown.rng, good, defect, consumed_total, n_days, mould_days,
                                     slowdown)
        if slowdown.start_day <= plant.today:
            plant.slowdowns.append(slowdown)
    wo.reports = [e for e in events if e.at <= plant.as_of]
    plant.reports.extend(wo.reports)

def slowdown_of(plant: Plant, wo: PlanWorkOrder, mould_days: int) -> Slowdown | None:
    """How this work order's moulding was disturbed, if it was.

    A late work order lost the days it ran over its natural length (planned quantity at the product's
    daily rate) part-way through. Six in ten: its press or mould stopped for those days (breakdown,
    mould repair, material shortage, the press taken for a rush order). Four in ten: first a run of
    scrap for two or three days, at 30-60% good, and then a stop for what is left (the mould goes for
    repair). A quarter of the others had a one-day stop or two days of scrap at 50-80% good and caught
    up with overtime, so a slow-down alone does not make an order late. Never on a work order's first
    or last moulding day.
    """
    assert wo.start_day is not None
    room = mould_days - 2
    if room < 1:
        return None
    rng = random.Random(f"{plant.seed}:slowdown:{wo.code}")
    lost = mould_days - math.ceil(wo.planned_qty / wo.line.product.daily_qty)
    if wo.late and lost >= 1:
        scrap_first = rng.random() < 0.4
        share = rng.uniform(0.3, 0.6)
        run_days = min(room, rng.randint(2, 3), math.ceil(lost / (1 - share))) if scrap_first else 0
        stop_days = min(room - run_days, max(0, math.ceil(lost - run_days * (1 - share))))
    elif rng.random() < RECOVERED_SLOWDOWN_SHARE:
        share = rng.uniform(0.5, 0.8)
        run_days, stop_days = (0, 1) if rng.random() < 0.5 else (min(room, 2), 0)
    else:
        return None
    if stop_days + run_days == 0:
        return None
    weights, scrap = [1.0] * mould_days, [0.0] * mould_days
    first = rng.randint(1, room - run_days - stop_days + 1)
    for i in range(first, first + run_days):
        weights[i], scrap[i] = share, 1 - share
    for i in range(first + run_days, first + run_days + stop_days):
        weights[i] = 0.0
    return Slowdown(rng, weights, scrap, wo.start_day + timedelta(days=first), stop_days > 0, run_days > 0)

def daily_reports(plant: Plant, wo: PlanWorkOrder, rng: random.Random, good: list[int], defect: list[int],
                   consumed_total: list[int], n_days: int, mould_days: int,
                   slowdown: Slowdown | None) -> list[PlanReport]:
    qty = wo.planned_qty
    names = [op.name for op in wo.ops]
    assert wo.start_day is not None
    cum_good = [0] * len(names)
    cum_used = [0] * len(names)
    cum_defect = [0] * len(names)
    events: list[PlanReport] = []
    for i in range(n_days):
        day = wo.start_day + timedelta(days=i)
        last_day = i == n_days - 1
        for k in range(len(names)):
            if k == 0:
                if i >= mould_days - 1 and day != plant.today:
                    target = good[0]
                elif i >= mould_days - 1:
                    target = cum_good[0] + round((good[0] - cum_good[0]) * MORNING_SHARE)
                elif slowdown is not None and slowdown.weights[i] == 0:
                    target = cum_good[0]  # stopped: not one good piece
                else:
                    # Never reach the plan before the last moulding day, or the operation would close early.
                    progress = ((i + 1) / mould_days if slowdown is None
                                else sum(slowdown.weights[: i + 1]) / sum(slowdown.weights))
                    share = progress * rng.uniform(0.9, 1.05)
                    target = min(qty - 1, round(good[0] * share))
                    if day == plant.today:
                        target = cum_good[0] + round((target - cum_good[0]) * MORNING_SHARE)
                target = max(target, cum_good[0])
                new_defect = round(defect[0] * target / good[0]) if good[0] else 0
                if slowdown is not None:  # a scrap run's pieces: a normal day's shots, only partly good
                    new_defect += round(sum(slowdown.scrap[: i + 1]) * good[0] / sum(slowdown.weights))
                dg, dd = target - cum_good[0], new_defect - cum_defect[0]
                cum_good[0], cum_defect[0] = target, new_defect
            else:
                available = cum_good[k - 1]
                if last_day:
                    used = min(consumed_total[k], available)  # today: moulding has not finished yet
                else:
                    # Keep some of what arrived for later, so the step is never done before its time.
                    used = max(cum_used[k], math.floor(available * rng.uniform(0.55, 0.9)))
                total_defect = round(defect[k] * used / consumed_total[k]) if consumed_total[k] else 0
                dd = total_defect - cum_defect[k]
                dg = (used - total_defect) - cum_good[k]
                cum_used[k], cum_defect[k] = used, total_defect
                cum_good[k] = used - total_defect
            if dg + dd > 0:
                if k == 0 and i > 0:
                    # Drawn on the night's own generator: the main one draws what it drew for a one-shift plant.
                    night = random.Random(f"{plant.seed}:night:{wo.code}:{i}")
                    share = night.uniform(*NIGHT_SHARE)
                    ng, nd = round(dg * share), round(dd * share)
                    if ng + nd > 0:
                        at = plant.at(day, night.randint(2, 6), night.randint(0, 59))
                        events.append(PlanReport(wo, k, ng, nd, at, night=True))
                        dg, dd = dg - ng, dd - nd
                at = plant.at(day, 8 + 2 * k + rng.randint(0, 1), rng.randint(0, 59))
                events.append(PlanReport(wo, k, dg, dd, at))
    return events

def assign_operators(plant: Plant) -> None:
    rng = plant.rng
    pools: dict[str, list[str]] = {}
    for p in plant.people:
        if p.workshop and set(p.roles) & {Role.WORKER, Role.TEAM_LEAD}:
            pools.setdefault(p.workshop, []).append(p.userid)

    def key(r: PlanReport) -> tuple[datetime, str, int]:
        return r.at, r.wo.code, r.op_index

    plant.reports.sort(key=key)
    # Drawn in the order of the reports the plant would have had without slow-downs, so every report of an
    # undisturbed work order keeps its operator; a slowed work order's reports draw on their own generator.
    # Night reports are drawn apart (their own generator), so the day's draws are those of a one-shift plant.
    for r in sorted((r for w in plant.work_orders for r in (w.reports if w.unshaped is None else w.unshaped)
                     if not r.night), key=key):
        r.operator = rng.choice(pools[r.wo.ops[r.op_index].workshop])
    for w in plant.work_orders:
        if w.unshaped is not None:
            own = random.Random(f"{plant.seed}:operators:{w.code}")
            for r in w.reports:
                if not r.night:
                    r.operator = own.choice(pools[r.wo.ops[r.op_index].workshop])
    nights = random.Random(f"{plant.seed}:night-operators")
    for r in plant.reports:
        # The moulding shop's reports are its crews': the night crew's at night, the day crew's by day.
        if r.night:
            r.operator = night_counterpart(nights.choice(pools[r.wo.ops[r.op_index].workshop]))
        elif r.op_index == 0:
            r.operator = day_counterpart(r.operator)
    for n, r in enumerate(plant.reports, start=1):
        r.source_key = f"demo:{n}"
    # The README's walk-through asks zhangsan and xiaoli for "今日累计完成": both must have worked today.
    todays = [r for r in plant.reports
              if plant.calendar.production_day(r.at) == plant.today and r.good > 0 and not r.night]
    for userid, ops in (("zhangsan", ("注塑",)), ("xiaoli", ("修边", "包装"))):
        mine = [r for r in todays if r.wo.ops[r.op_index].name in ops]
        if not mine:
            raise AssertionError(f"demo plan has no {'/'.join(ops)} report today for {userid}")
        if not any(r.operator == userid for r in mine):
            mine[0].operator = userid


