"""`factorybot calendar …`: the plant's shifts, rest days, holidays, crews and rotation, as the administrator
keeps them.

Every change builds a whole new PlantCalendar first (so it is checked as a whole: overlapping shifts, a break
outside its shift, a rotation naming an unknown crew are refused before anything is stored) and stores it with
calendar_store.save_calendar; every process takes it up within CALENDAR_REFRESH_SECONDS. Unspecified parts
keep their current value. Bad input: a message, exit status 2, nothing stored.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, timedelta
from typing import NoReturn

import chinese_calendar
import click

from domain.errors import ConfigError
from domain.plant_calendar import (
    CalendarSpec,
    Crew,
    DayPattern,
    PatternRange,
    PlantCalendar,
    ShiftPattern,
    parse_rotation,
    parse_shifts,
)
from domain.services.calendar_store import forget_calendar, save_calendar
from domain.services.shift_info import CrewView, check_crew_people, crew_views, weekday_name
from domain.settings_types import parse_holidays, parse_rest_days
from factorybot.cli_context import cli_runtime
from factorybot.runtime import Runtime

NONE_WORDS = ("none", "无", "-")
# Names the settings and this command give a pattern by its number of shifts: renamed when the count changes.
AUTO_NAMES = {1: "单班", 2: "两班", 3: "三班"}
SHOW_DAYS = 7


def _refuse(message: str) -> NoReturn:
    click.secho(message, fg="red", err=True)
    click.secho("未做任何修改。", fg="red", err=True)
    sys.exit(2)


def _by() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # a container user with no passwd entry
        return "cli"


def _current(rt: Runtime) -> PlantCalendar:
    return rt.calendar.refresh()  # the stored row as it is now, not as this process last saw it


def _build(rt: Runtime, spec: CalendarSpec) -> PlantCalendar:
    try:
        return PlantCalendar(spec, rt.settings.tz)
    except ConfigError as exc:
        _refuse(f"日历有误：{exc}")


def _save(rt: Runtime, calendar: PlantCalendar) -> None:
    with rt.uow() as uow:
        save_calendar(uow, calendar, by=_by(), now=rt.now())
        uow.commit()
    rt.calendar.refresh()


def _auto_name(count: int) -> str:
    return AUTO_NAMES.get(count, f"{count}班")


def _date_ranges(days: Iterable[date]) -> str:
    """2026-10-01..2026-10-07、2026-12-25: consecutive days as one range."""
    out: list[str] = []
    run: list[date] = []
    for d in sorted(days):
        if run and d - run[-1] == timedelta(days=1):
            run.append(d)
            continue
        if run:
            out.append(str(run[0]) if len(run) == 1 else f"{run[0]}..{run[-1]}")
        run = [d]
    if run:
        out.append(str(run[0]) if len(run) == 1 else f"{run[0]}..{run[-1]}")
    return "、".join(out)


def _shift_text(s: ShiftPattern) -> str:
    text = f"{s.name} {s.start:%H:%M}-{s.end:%H:%M}" + ("（跨夜）" if s.overnight else "")
    if s.breaks:
        text += "（休息 " + "、".join(f"{a:%H:%M}-{b:%H:%M}" for a, b in s.breaks) + "）"
    return text


def _crew_text(v: CrewView) -> str:
    lead = f"班组长 {v.lead_name}({v.lead})" if v.lead else "未设班组长"
    members = "、".join(f"{n}({u})" for u, n in v.members) or "无"
    return f"{v.name}：{lead}；成员 {members}"


@click.group("calendar")
def calendar_group() -> None:
    """The plant calendar: shifts (across midnight, breaks), rest days, holidays, crews and their rotation."""


@calendar_group.command("show")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="First production day of the week shown (default: today's).")
def show(day: object) -> None:
    """Where the calendar comes from, its patterns, dates, crews, rotation and the next 7 production days."""
    rt = cli_runtime()
    cal = _current(rt)
    spec = cal.spec
    first: date = day.date() if day else cal.production_day(rt.now())  # type: ignore[attr-defined]
    with rt.uow(read_only=True) as uow:
        crews = crew_views(uow, cal)
    lines = ["日历来源：" + ("已保存（factorybot calendar set/crews；calendar reset 恢复为设置中的日历）" if rt.calendar.stored
                         else "设置（SHIFTS 或 SHIFT_HOURS、REST_DAYS、HOLIDAYS、WORKDAYS）")]
    lines.append("班次模式：")
    for n, p in enumerate(spec.patterns):
        lines.append(f"  {p.name}{'（默认）' if n == 0 else ''}：" + "；".join(_shift_text(s) for s in p.shifts))
    lines += [f"  {r.first}..{r.last} 用 {r.pattern}" for r in spec.ranges]
    lines.append(f"生产日：每天 {cal.day_start:%H:%M} 开始（跨夜的夜班计入开班当天）" if cal.day_start.hour or cal.day_start.minute
                 else "生产日：自然日（00:00 开始）")
    lines.append("休息日：" + ("、".join(weekday_name(date(2024, 1, 1 + d)) for d in sorted(spec.rest_weekdays)) or "无"))
    ahead_holidays = [d for d in spec.holidays if d >= first]
    ahead_workdays = [d for d in spec.workdays if d >= first]
    lines.append("今后的节假日：" + (_date_ranges(ahead_holidays) or "无"))
    lines.append("今后的调休上班：" + ("、".join(f"{d}（{weekday_name(d)}）" for d in sorted(ahead_workdays)) or "无"))
    lines.append("班组：" + ("" if crews else "未设置"))
    lines += [f"  {_crew_text(v)}" for v in crews.values()]
    rotation = spec.rotation
    if rotation is None:
        lines.append("轮班：未设置")
    else:
        names = [s.name for s in spec.patterns[0].shifts]
        lines.append(f"轮班：从 {rotation.anchor} 起 {len(rotation.days)} 天一轮")
        for n, row in enumerate(rotation.days, start=1):
            lines.append(f"  第{n}天 " + " / ".join(f"{names[i] if i < len(names) else f'第{i + 1}班'} {c or '-'}"
                                                  for i, c in enumerate(row)))
    lines.append(f"未来 {SHOW_DAYS} 个生产日：")
    for k in range(SHOW_DAYS):
        d = first + timedelta(days=k)
        head = f"  {d:%m-%d} {weekday_name(d)}"
        if not cal.is_work_day(d):
            lines.append(f"{head} 休息")
            continue
        parts = []
        for s in cal.shifts(d):
            crew = crews.get(s.crew) if s.crew else None
            parts.append(f"{s.name} {s.hours_text}" + (f" {crew.name}" + (f"（{crew.lead_name}）" if crew.lead_name else "")
                                                       if crew else ""))
        lines.append(f"{head} " + "；".join(parts))
    click.echo("\n".join(lines))


def _pattern_range(text: str, patterns: dict[str, DayPattern]) -> PatternRange:
    """"2027-01-10..2027-01-20=单班:白班=08:00-17:00/12:00-13:00" (the shifts define or replace 单班), or
    "2027-01-10..2027-01-20=单班" for a pattern already defined."""
    dates, eq, rest = text.partition("=")
    name, colon, shifts = rest.partition(":")
    first_text, dots, last_text = dates.partition("..")
    try:
        first = date.fromisoformat(first_text.strip())
        last = date.fromisoformat(last_text.strip()) if dots else first
    except ValueError:
        _refuse(f"--pattern-range {text!r}：日期应为 YYYY-MM-DD..YYYY-MM-DD，例如 "
                "2027-01-10..2027-01-20=单班:白班=08:00-17:00/12:00-13:00")
    name = name.strip()
    if not eq or not name:
        _refuse(f"--pattern-range {text!r}：缺少班次模式名，例如 2027-01-10..2027-01-20=单班:白班=08:00-17:00")
    if colon:
        try:
            patterns[name] = DayPattern(name, parse_shifts(shifts, f"--pattern-range {name}"))
        except ConfigError as exc:
            _refuse(str(exc))
    elif name not in patterns:
        _refuse(f"--pattern-range：班次模式 {name} 还没有定义，请写出它的班次，例如 {dates}={name}:白班=08:00-17:00")
    return PatternRange(first, last, name)


@calendar_group.command("set")
@click.option("--shifts", default=None, help='The default pattern\'s shifts: "白班=08:00-20:00/12:00-12:30,夜班=20:00-08:00".')
@click.option("--pattern-name", default=None, help="The default pattern's name (default: 单班/两班/三班 by count).")
@click.option("--rest-days", default=None, help='Weekdays off: "sat,sun" (or 周六,周日); "none" for none.')
@click.option("--holidays", default=None, help='Replaces the holidays: "2027-02-05..2027-02-13,2027-05-01"; "none".')
@click.option("--workdays", default=None, help='Replaces the make-up working days (调休上班): "2027-02-14"; "none".')
@click.option("--pattern-range", "ranges", multiple=True,
              help='Another pattern on some dates (repeatable; the newest wins where ranges overlap): '
                   '"2027-01-10..2027-01-20=单班:白班=08:00-17:00/12:00-13:00".')
@click.option("--clear-ranges", is_flag=True, help="Remove every date range (before adding --pattern-range ones).")
def set_calendar(shifts: str | None, pattern_name: str | None, rest_days: str | None, holidays: str | None,
                 workdays: str | None, ranges: tuple[str, ...], clear_ranges: bool) -> None:
    """Change the calendar; what is not given keeps its current value."""
    if not any((shifts, pattern_name, rest_days is not None, holidays is not None, workdays is not None, ranges,
                clear_ranges)):
        _refuse("请至少指定一项：--shifts、--rest-days、--holidays、--workdays、--pattern-range 或 --clear-ranges")
    rt = cli_runtime()
    spec = _current(rt).spec
    default, *others = spec.patterns
    if shifts is not None:
        try:
            new_shifts = parse_shifts(shifts, "--shifts")
        except ConfigError as exc:
            _refuse(str(exc))
        renamed = pattern_name or (_auto_name(len(new_shifts)) if default.name in AUTO_NAMES.values()
                                   or default.name == _auto_name(len(default.shifts)) else default.name)
        default = DayPattern(renamed, new_shifts)
    elif pattern_name:
        default = DayPattern(pattern_name, default.shifts)
    patterns = {p.name: p for p in others if p.name != default.name}
    new_ranges = [_pattern_range(r, patterns) for r in ranges]
    if default.name in patterns or any(r.pattern == default.name and ":" in text for r, text in zip(new_ranges, ranges,
                                                                                                  strict=True)):
        _refuse(f"班次模式 {default.name} 是默认模式，不能在 --pattern-range 中重新定义；请换一个名字")
    kept_ranges = () if clear_ranges else spec.ranges
    try:
        changes: dict[str, object] = {}
        if rest_days is not None:
            changes["rest_weekdays"] = (frozenset() if rest_days.strip().lower() in NONE_WORDS
                                        else parse_rest_days(rest_days, "--rest-days"))
        if holidays is not None:
            changes["holidays"] = (frozenset() if holidays.strip().lower() in NONE_WORDS
                                   else parse_holidays(holidays, "--holidays"))
        if workdays is not None:
            changes["workdays"] = (frozenset() if workdays.strip().lower() in NONE_WORDS
                                   else parse_holidays(workdays, "--workdays"))
    except ConfigError as exc:
        _refuse(str(exc))
    new = replace(spec, patterns=(default, *patterns.values()), ranges=(*new_ranges, *kept_ranges),
                  **changes)  # type: ignore[arg-type]
    cal = _build(rt, new)
    _save(rt, cal)
    click.echo("日历已保存：")
    click.echo(cal.describe())
    click.echo("（factorybot calendar show 查看全部；各进程在 CALENDAR_REFRESH_SECONDS 内生效）")


@calendar_group.command("reset")
def reset() -> None:
    """Forget the stored calendar: the settings' (SHIFTS or SHIFT_HOURS …) apply again."""
    rt = cli_runtime()
    with rt.uow() as uow:
        removed = forget_calendar(uow)
        uow.commit()
    rt.calendar.refresh()
    click.echo("已删除保存的日历，恢复为设置中的日历（SHIFTS 或 SHIFT_HOURS）。" if removed
               else "没有保存的日历：本来就在使用设置中的日历。")


@calendar_group.command("holidays")
@click.option("--cn", "year", type=int, required=True, help="Fill China's statutory holidays and 调休上班 of YEAR.")
def holidays_cn(year: int) -> None:
    """Fill a year's statutory holidays and make-up working days from the chinese_calendar library."""
    rt = cli_runtime()
    try:
        chinese_calendar.is_holiday(date(year, 1, 1))
    except (NotImplementedError, ValueError):
        _refuse(f"chinese_calendar 库还没有 {year} 年的法定节假日安排（国务院通常在前一年年底公布）。"
                f"请用 factorybot calendar set --holidays ... --workdays ... 手动输入 {year} 年的放假和调休上班日期。")
    days = [d for d in chinese_calendar.holidays if d.year == year]
    make_up = [d for d in chinese_calendar.workdays if d.year == year]
    spec = _current(rt).spec
    new = replace(spec, holidays=frozenset({d for d in spec.holidays if d.year != year} | set(days)),
                  workdays=frozenset({d for d in spec.workdays if d.year != year} | set(make_up)))
    _save(rt, _build(rt, new))
    click.echo(f"已填入 {year} 年法定节假日 {len(days)} 天：{_date_ranges(days) or '无'}")
    click.echo(f"调休上班 {len(make_up)} 天：" + ("、".join(f"{d}（{weekday_name(d)}）" for d in sorted(make_up)) or "无"))
    if not {5, 6} <= spec.rest_weekdays:
        click.echo("提示：调休上班日只在休息日（--rest-days）上才有区别；本厂的休息日为 "
                   + ("、".join(weekday_name(date(2024, 1, 1 + d)) for d in sorted(spec.rest_weekdays)) or "无") + "。")


@calendar_group.group("crews", invoke_without_command=True)
@click.pass_context
def crews_group(ctx: click.Context) -> None:
    """The crews (班组): list them, or set, remove and rotate them."""
    if ctx.invoked_subcommand is not None:
        return
    rt = cli_runtime()
    cal = _current(rt)
    with rt.uow(read_only=True) as uow:
        crews = crew_views(uow, cal)
    if not crews:
        click.echo("还没有班组。用 factorybot calendar crews set 甲班 --lead USERID --members U1,U2 添加。")
        return
    click.echo(f"班组 {len(crews)} 个：")
    for v in crews.values():
        click.echo(f"  {_crew_text(v)}")
    click.echo(f"轮班：{cal.spec.rotation}" if cal.spec.rotation else "轮班：未设置")


def _userids(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(u.strip() for u in text.replace("，", ",").replace("、", ",").split(",") if u.strip()))


@crews_group.command("set")
@click.argument("name")
@click.option("--lead", default=None, help="The crew's lead (a WeCom userid, normally a 班组长).")
@click.option("--members", default=None, help="Its members' userids, comma-separated (replaces the list).")
def crews_set(name: str, lead: str | None, members: str | None) -> None:
    """Add a crew or change its lead and members."""
    name = name.strip()
    if not name or len(name) > 20:
        _refuse("班组名不能为空，最多 20 个字")
    rt = cli_runtime()
    spec = _current(rt).spec
    old = next((c for c in spec.crews if c.name == name), None)
    if old is None and lead is None and members is None:
        _refuse(f"新班组 {name} 需要 --lead 或 --members")
    new_lead = (lead.strip() or None) if lead is not None else (old.lead if old else None)
    new_members = _userids(members) if members is not None else (old.members if old else ())
    with rt.uow(read_only=True) as uow:
        check = check_crew_people(uow, new_lead, new_members)
    if check.unknown:
        _refuse(f"这些人不在系统中或已停用：{'、'.join(check.unknown)}（先用 factorybot people import 或 people sync 添加）")
    crew = Crew(name, new_lead, new_members)
    crews = tuple(crew if c.name == name else c for c in spec.crews) if old else (*spec.crews, crew)
    _save(rt, _build(rt, replace(spec, crews=crews)))
    if check.lead_not_team_lead:
        click.secho(f"提示：{new_lead} 不是班组长（team_lead），仍已设为 {name} 的班组长。", fg="yellow", err=True)
    click.echo(f"班组 {name} 已{'更新' if old else '添加'}：班组长 {new_lead or '无'}，成员 {'、'.join(new_members) or '无'}")


@crews_group.command("remove")
@click.argument("name")
def crews_remove(name: str) -> None:
    """Remove a crew (not while the rotation names it)."""
    rt = cli_runtime()
    spec = _current(rt).spec
    if all(c.name != name for c in spec.crews):
        _refuse(f"没有班组 {name}（现有：{'、'.join(c.name for c in spec.crews) or '无'}）")
    if spec.rotation is not None and any(name in row for row in spec.rotation.days):
        _refuse(f"轮班中还排着 {name}：先用 factorybot calendar crews rotation 修改轮班（或 rotation none 取消）")
    _save(rt, _build(rt, replace(spec, crews=tuple(c for c in spec.crews if c.name != name))))
    click.echo(f"班组 {name} 已删除。")


@crews_group.command("rotation")
@click.argument("text")
def crews_rotation(text: str) -> None:
    """Set the rotation: "2026-12-01:甲班/丁班,甲班/丁班,乙班/甲班,…" (from that date, each day's crews in
    the shifts' order, "-" for none); "none" removes it."""
    rt = cli_runtime()
    spec = _current(rt).spec
    if text.strip().lower() in NONE_WORDS:
        rotation = None
    else:
        try:
            rotation = parse_rotation(text)
        except ConfigError as exc:
            _refuse(str(exc))
    cal = _build(rt, replace(spec, rotation=rotation))
    _save(rt, cal)
    if rotation is None:
        click.echo("轮班已取消。")
        return
    click.echo(f"轮班已保存：从 {rotation.anchor} 起 {len(rotation.days)} 天一轮。")
    start = cal.production_day(rt.now())
    for k in range(min(len(rotation.days), 8)):
        d = start + timedelta(days=k)
        click.echo(f"  {d:%m-%d} {weekday_name(d)} " + "；".join(f"{s.name} {s.crew or '-'}" for s in cal.shifts(d)))
