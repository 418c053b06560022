"""ISO weeks in a time zone: `2019-W28` is Monday 2019-07-08 00:00 to the next Monday 00:00
local time; and the digest's schedule (a weekday and a time in that zone)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEK = re.compile(r"\s*(\d{4})-?[Ww](\d{1,2})\s*")


@dataclass(frozen=True, order=True)
class IsoWeek:
    year: int
    week: int

    def __post_init__(self) -> None:
        date.fromisocalendar(self.year, self.week, 1)  # ValueError for a week that is not

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @classmethod
    def of(cls, day: date) -> IsoWeek:
        year, week, _ = day.isocalendar()
        return cls(year, week)

    @classmethod
    def containing(cls, moment: datetime, tz: ZoneInfo) -> IsoWeek:
        return cls.of(moment.astimezone(tz).date())

    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    def days(self) -> list[date]:
        first = self.monday()
        return [first + timedelta(days=n) for n in range(7)]

    def start(self, tz: ZoneInfo) -> datetime:
        return datetime.combine(self.monday(), time(0), tzinfo=tz)

    def end(self, tz: ZoneInfo) -> datetime:
        """The next Monday 00:00: the week is [start, end)."""
        return datetime.combine(self.monday() + timedelta(days=7), time(0), tzinfo=tz)

    def day_bounds(self, tz: ZoneInfo) -> list[tuple[datetime, datetime]]:
        """Each local day as [00:00, next 00:00), right across a daylight-saving change."""
        days = [*self.days(), self.monday() + timedelta(days=7)]
        edges = [datetime.combine(day, time(0), tzinfo=tz) for day in days]
        return list(pairwise(edges))

    def previous(self) -> IsoWeek:
        return IsoWeek.of(self.monday() - timedelta(days=7))

    def next(self) -> IsoWeek:
        return IsoWeek.of(self.monday() + timedelta(days=7))


def weeks_in(year: int) -> int:
    """52 or 53: December 28 is always in the last ISO week of its year."""
    return date(year, 12, 28).isocalendar()[1]


def parse_week(text: str) -> IsoWeek:
    """`2019-W28` (also `2019W28`, `2019-w28`); ValueError with the fix for anything else."""
    match = _WEEK.fullmatch(text or "")
    if match is None:
        raise ValueError(f"--week {text!r} is not an ISO week; write it as YYYY-Www, e.g. 2019-W28")
    year, week = int(match.group(1)), int(match.group(2))
    if not 1 <= year <= 9998 or not 1 <= week <= weeks_in(year):
        last = weeks_in(year) if 1 <= year <= 9998 else 52
        raise ValueError(
            f"--week {text!r} does not exist: {year} has weeks 1 to {last}; e.g. {year}-W28"
        )
    return IsoWeek(year, week)


def due_in(week: IsoWeek, weekday: str, at: str, tz: ZoneInfo) -> datetime:
    """The moment in `week` given by a weekday name and "HH:MM", local to `tz`."""
    day = week.monday() + timedelta(days=WEEKDAYS.index(weekday))
    return datetime.combine(day, time.fromisoformat(at), tzinfo=tz)


def last_due(now: datetime, weekday: str, at: str, tz: ZoneInfo) -> datetime:
    """The latest scheduled moment at or before `now`."""
    week = IsoWeek.containing(now, tz)
    due = due_in(week, weekday, at, tz)
    return due if due <= now else due_in(week.previous(), weekday, at, tz)


def next_due(now: datetime, weekday: str, at: str, tz: ZoneInfo) -> datetime:
    """The first scheduled moment after `now`."""
    week = IsoWeek.containing(now, tz)
    due = due_in(week, weekday, at, tz)
    return due if due > now else due_in(week.next(), weekday, at, tz)


def week_due_at(due: datetime, tz: ZoneInfo) -> IsoWeek:
    """The week whose digest is built at the scheduled moment `due`: the week before."""
    return IsoWeek.containing(due, tz).previous()
