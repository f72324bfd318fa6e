"""Score the warnings the forecast would have raised against what actually happened, beside the plan-date
baseline (an order is late when a line's planned finish is after its due date), 3 and 5 days before due.

An order counts once: it was late if any line finished after its due date (or is still open past it). A
method warned it "H days before due" if it raised a warning on or before the evening H days before the
order's due date (its earliest line's, as shown in chat); a warning later withdrawn still counts, since the
card was sent. Lead time is the due date minus the day of the first warning, over the orders warned and late.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from domain.uow import UnitOfWork
from forecast.policy import ForecastPolicy
from forecast.projection import LineFacts
from forecast.replay import Past, Replay, load_history, replay

HORIZONS = (3, 5)


@dataclass(frozen=True)
class Outcome:
    order_id: int
    bill_no: str
    due: date  # the earliest line's due date
    late: bool


@dataclass(frozen=True)
class Score:
    horizon: int
    orders: int
    late: int
    warned: int
    hits: int
    mean_lead_days: float | None

    @property
    def false_alarms(self) -> int:
        return self.warned - self.hits

    @property
    def missed(self) -> int:
        return self.late - self.hits

    @property
    def precision(self) -> float | None:
        return self.hits / self.warned if self.warned else None

    @property
    def recall(self) -> float | None:
        return self.hits / self.late if self.late else None


def outcomes(history: Past, today: date, policy: ForecastPolicy) -> list[Outcome]:
    """Orders whose fate is known by `today`: every line finished, or one already past due and open."""
    cal = policy.calendar
    finish: dict[int, list[date | None]] = {}
    for p in history.work_orders:
        day = cal.finish_day(p.finished_at) if p.finished_at is not None else None
        finish.setdefault(p.facts.line_id, []).append(day)
    by_order: dict[int, list[tuple[LineFacts, date | None]]] = {}
    for line_id, days in finish.items():
        line = history.lines[line_id]
        done = None if any(d is None for d in days) else max(d for d in days if d is not None)
        by_order.setdefault(line.order_id, []).append((line, done))
    out = []
    for order_id, lines in by_order.items():
        late = any((done is not None and done > line.due) or (done is None and line.due < today)
                   for line, done in lines)
        known = late or all(done is not None for _, done in lines)
        if known:
            out.append(Outcome(order_id, lines[0][0].bill_no, min(line.due for line, _ in lines), late))
    return sorted(out, key=lambda o: o.bill_no)


def plan_date_warnings(history: Past, policy: ForecastPolicy) -> dict[int, date]:
    """The baseline: an order is flagged from the day its work orders are known if a line's planned finish
    falls after that line's due date."""
    cal = policy.calendar
    out: dict[int, date] = {}
    for p in history.work_orders:
        line = history.lines[p.facts.line_id]
        if cal.production_day(p.facts.planned_finish) > line.due:
            out[line.order_id] = min(out.get(line.order_id, p.known_from), p.known_from)
    return out


def score(scored: Iterable[Outcome], warned_on: Mapping[int, date], horizon: int) -> Score:
    items = list(scored)
    hits, leads, warned = 0, [], 0
    for o in items:
        day = warned_on.get(o.order_id)
        if day is None or day > o.due - timedelta(days=horizon):
            continue
        warned += 1
        if o.late:
            hits += 1
            leads.append((o.due - day).days)
    return Score(horizon, len(items), sum(o.late for o in items), warned, hits,
                 sum(leads) / len(leads) if leads else None)


@dataclass(frozen=True)
class Backtest:
    first: date
    last: date
    scored: list[Outcome]
    forecast: list[Score]
    baseline: list[Score]
    cards: int


def run_backtest(history: Past, replayed: Replay, first: date, last: date, today: date,
                 policy: ForecastPolicy) -> Backtest:
    # Both horizons must fall inside the replayed evenings, and the outcome must be known.
    scored = [o for o in outcomes(history, today, policy)
              if o.due - timedelta(days=max(HORIZONS)) >= first and o.due - timedelta(days=min(HORIZONS)) <= last]
    baseline = plan_date_warnings(history, policy)
    return Backtest(first, last, scored, [score(scored, replayed.first_warning, h) for h in HORIZONS],
                    [score(scored, baseline, h) for h in HORIZONS], len(replayed.cards))


def months_before(day: date, months: int) -> date:
    year, month0 = divmod(day.year * 12 + day.month - 1 - months, 12)
    for last in (31, 30, 29, 28):
        try:
            return date(year, month0 + 1, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)


def backtest_store(uow: UnitOfWork, policy: ForecastPolicy, *, today: date, months: int) -> Backtest:
    """Replay the store's last `months` up to yesterday evening and score it."""
    first, last = months_before(today, months), today - timedelta(days=1)
    history = load_history(uow, policy)
    return run_backtest(history, replay(history, first, last, policy), first, last, today, policy)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def table(scores: Iterable[Score]) -> list[str]:
    out = ["| 提前 | 预警单数 | 命中 | 误报 | 漏报 | 精确率 | 召回率 | 平均提前天数 |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for s in scores:
        lead = "-" if s.mean_lead_days is None else f"{s.mean_lead_days:.1f}"
        out.append(f"| {s.horizon} 天 | {s.warned} | {s.hits} | {s.false_alarms} | {s.missed} | {_pct(s.precision)} "
                   f"| {_pct(s.recall)} | {lead} |")
    return out


def _when(policy: ForecastPolicy) -> str:
    """When the replay asks each day: the end of its last shift (the next morning on a plant with a night
    shift, so "evening" would be wrong there)."""
    cal = policy.calendar
    if cal.plant.multi_shift:
        return f"个生产日，每个生产日末班结束时（{cal.shift_end:%H:%M}）"
    return f"个晚上，每晚 {cal.shift_end:%H:%M} "


def report(bt: Backtest, policy: ForecastPolicy) -> list[str]:
    late = sum(o.late for o in bt.scored)
    lines = [
        f"回测 {bt.first} 至 {bt.last}（{(bt.last - bt.first).days + 1} {_when(policy)}按当时的报工重算一次）",
        f"参与评分的订单 {len(bt.scored)} 单（交期在回放期内、结果已知），实际逾期 {late} 单；"
        f"回放中共发出交期预警 {bt.cards} 次。",
        "",
        f"FactoryBot 预测（近 {policy.rate_days} 个工作日实际速度；会逾期，或交期前 {policy.warn_days} 天内有风险，即预警）：",
        *table(bt.forecast),
        "",
        "计划日期基线（某行计划完工日期晚于交期即预警）：",
        *table(bt.baseline),
        "",
    ]
    for ours, base in zip(bt.forecast, bt.baseline, strict=True):
        better = ((ours.recall or 0) > (base.recall or 0)
                  and (base.precision is None or (ours.precision or 0) >= base.precision))
        lines.append(f"提前 {ours.horizon} 天：召回率 {_pct(ours.recall)} 对 {_pct(base.recall)}，"
                     f"精确率 {_pct(ours.precision)} 对 {_pct(base.precision)}"
                     f"{'，预测优于基线' if better else '，预测未优于基线'}。")
    return lines
