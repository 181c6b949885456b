"""The send calendar: send windows in local time, weekends, public holidays and closed dates."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import re
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from babel import Locale, UnknownLocaleError

from outreach.errors import InputError

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # index = date.weekday()
_EXAMPLE = '"Tue-Thu 09:00-11:00" or "Mon-Fri 09:00-12:00,14:00-17:00"'
_MIDNIGHT = dt.time(0)
_DAY_MINUTES = 24 * 60
_HHMM = re.compile(r"(\d\d):(\d\d)")
_DASHES = str.maketrans({"\u2013": "-", "\u2014": "-"})  # DOMAIN.md writes "09:00–11:00"
# CLDR's weekend of the world ("001"), used where a territory has no data of its own.
_WORLD = "001"
# How far ahead to look for a working day before concluding there is none: more than a year, so
# that every yearly holiday and a full list of closed dates has been seen once.
_SEARCH_DAYS = 400
# Every instant of a local date lies within this margin of that date's UTC midnight-to-midnight:
# UTC offsets in tzdata stay within -12:00..+14:00 (and local mean times within ±15:00).
_MARGIN = dt.timedelta(hours=15)


class CalendarError(InputError):
    """A send window or calendar cannot be used: malformed, or it never allows a send."""


@dataclass(frozen=True, slots=True)
class TimeRange:
    """Local clock times from `start` (inclusive) to `end` (exclusive); end 00:00 means 24:00."""

    start: dt.time
    end: dt.time

    def contains(self, clock: dt.time) -> bool:
        """Whether a local wall-clock time lies in this range."""
        return self.start <= clock and (self.end == _MIDNIGHT or clock < self.end)

    def describe(self) -> str:
        """The canonical text, e.g. "09:00-11:00" or "00:00-24:00"."""
        end = "24:00" if self.end == _MIDNIGHT else f"{self.end:%H:%M}"
        return f"{self.start:%H:%M}-{end}"


@dataclass(frozen=True, slots=True)
class SendWindow:
    """When letters may leave: campaign weekdays (Monday=0) and ranges of local clock time."""

    weekdays: frozenset[int]
    ranges: tuple[TimeRange, ...]

    def __post_init__(self) -> None:
        # parse_window() gives users precise messages; this guards windows built in code.
        if not self.weekdays or not self.weekdays <= set(range(7)) or not self.ranges:
            raise ValueError(f"a SendWindow needs weekdays in 0..6 and time ranges: {self!r}")

    def describe(self) -> str:
        """The canonical text that parse_window() reads back, e.g. "Sun-Thu 09:00-11:00"."""
        return f"{_describe_days(self.weekdays)} {','.join(r.describe() for r in self.ranges)}"


def parse_closed(text: str) -> frozenset[dt.date]:
    """Closed dates as a campaign stores them: ISO dates separated by `|`."""
    return frozenset(dt.date.fromisoformat(day) for day in text.split("|") if day)


def parse_window(text: str) -> SendWindow:
    """Read a window such as "Tue-Thu 09:00-11:00" or "Mon,Wed,Fri 09:00-12:00,14:00-17:00".

    Days are English three-letter names (any case), single or as cyclic spans ("Sun-Thu" is Sunday
    to Thursday); then one or more HH:MM-HH:MM ranges of local time, the end exclusive and at most
    24:00. A range cannot cross midnight; ranges must not overlap.
    """
    cleaned = text.translate(_DASHES).strip()
    digit = re.search(r"\d", cleaned)
    days_text = re.sub(r"\s+", "", cleaned[: digit.start()] if digit else cleaned)
    times_text = re.sub(r"\s+", "", cleaned[digit.start() :]) if digit else ""
    if not cleaned:
        raise _malformed(text, "it is empty")
    if not days_text:
        raise _malformed(text, "it names no weekday")
    if not times_text:
        raise _malformed(text, "it has no time range")
    weekdays: set[int] = set()
    for item in days_text.split(","):
        first, _, last = item.partition("-")
        start, end = _day_number(text, first), _day_number(text, last or first)
        weekdays.update((start + i) % 7 for i in range((end - start) % 7 + 1))
    ranges = sorted(
        (_parse_range(text, item) for item in times_text.split(",")), key=lambda r: r.start
    )
    for before, after in itertools.pairwise(ranges):
        if after.start < before.end or before.end == _MIDNIGHT:
            raise _malformed(text, f"the ranges {before.describe()} and {after.describe()} overlap")
    return SendWindow(frozenset(weekdays), tuple(ranges))


def _malformed(text: str, problem: str) -> CalendarError:
    """The error for a window that cannot be read: the text, what is wrong, and an example."""
    return CalendarError(f'send window "{text}": {problem}; write e.g. {_EXAMPLE}')


def _day_number(text: str, name: str) -> int:
    """Monday=0 for "Mon" (any case), or a CalendarError naming the unknown day."""
    for number, day in enumerate(DAY_NAMES):
        if name.casefold() == day.casefold():
            return number
    if not name:
        raise _malformed(text, "a weekday is missing before or after a comma or dash")
    raise _malformed(text, f'"{name}" is not a weekday (use {" ".join(DAY_NAMES)})')


def _parse_range(text: str, item: str) -> TimeRange:
    """One "HH:MM-HH:MM" range of a window; 24:00 only as its end."""
    start_text, dash, end_text = item.partition("-")
    if not dash:
        raise _malformed(text, f'the range "{item}" needs a start and an end: HH:MM-HH:MM')
    start, end = _parse_minutes(text, start_text), _parse_minutes(text, end_text)
    if end <= start:
        raise _malformed(
            text, f'the range "{item}" does not end after it starts (ranges cannot cross midnight)'
        )
    # 24:00 has no datetime.time; it is stored as the end 00:00, which no other range can have.
    return TimeRange(dt.time(*divmod(start, 60)), dt.time(*divmod(end % _DAY_MINUTES, 60)))


def _parse_minutes(text: str, clock: str) -> int:
    """An "HH:MM" time of day, 00:00 to 24:00, as minutes after midnight."""
    match = _HHMM.fullmatch(clock)
    if match is None:
        raise _malformed(text, f'"{clock}" is not a time written HH:MM')
    hour, minute = int(match[1]), int(match[2])
    if minute > 59 or hour * 60 + minute > _DAY_MINUTES:
        raise _malformed(text, f'"{clock}" is not a time of day (00:00 to 24:00)')
    return hour * 60 + minute


def _describe_days(weekdays: frozenset[int]) -> str:
    """Runs of consecutive days as spans, e.g. {6, 0, 1, 2, 3} → "Sun-Thu", {0, 2} → "Mon,Wed"."""
    if len(weekdays) == 7:
        return "Mon-Sun"
    # Week order from Monday, except that a run through Monday starts where it starts: "Sun-Thu".
    first = min(weekdays)
    while first in weekdays and (first - 1) % 7 in weekdays:  # ends: not all 7 days are in
        first = (first - 1) % 7
    parts: list[str] = []
    day = first
    for _ in range(7):
        if day in weekdays and (day - 1) % 7 not in weekdays:
            end = day
            while (end + 1) % 7 in weekdays:
                end = (end + 1) % 7
            # Two days are listed ("Sat,Sun"), three or more spanned ("Mon-Fri").
            joiner = "," if (end - day) % 7 == 1 else "-"
            parts.append(
                DAY_NAMES[day] if end == day else f"{DAY_NAMES[day]}{joiner}{DAY_NAMES[end]}"
            )
        day = (day + 1) % 7
    return ",".join(parts)


@dataclass(frozen=True, slots=True)
class RecipientCalendar:
    """The working days and clock of one recipient: its zone, host country and closed dates.

    `weekend` comes from CLDR (via Babel) for the host country, or CLDR's world default (Sat-Sun)
    when the country is None, user-assigned or unknown to CLDR. Public holidays come from the
    `holidays` package; `holidays_known` is False when it has no data for the country.
    """

    tz: str
    host_country: str | None = None
    closed: frozenset[dt.date] = frozenset()
    # Urgent appeals (and the demo) may go out on weekends and public holidays: then only the
    # closed dates are days off.
    every_day: bool = False
    zone: ZoneInfo = field(init=False, repr=False, compare=False)
    weekend: frozenset[int] = field(init=False, compare=False)
    holidays_known: bool = field(init=False, compare=False)

    def __post_init__(self) -> None:
        try:
            zone = ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise CalendarError(
                f'time zone "{self.tz}" is not an IANA zone: give one such as "Europe/Brussels"'
            ) from exc
        country = self.host_country.strip().upper() if self.host_country else None
        if country is not None and not re.fullmatch(r"[A-Z]{2}", country):
            raise CalendarError(
                f'host country "{self.host_country}" is not a two-letter ISO 3166-1 code, e.g. "BE"'
            )
        # Frozen: derived fields are set once here, through object.__setattr__.
        object.__setattr__(self, "host_country", country)
        object.__setattr__(self, "closed", frozenset(self.closed))
        object.__setattr__(self, "zone", zone)
        weekend = frozenset() if self.every_day else _cldr_weekend(country)
        object.__setattr__(self, "weekend", weekend)
        known = not self.every_day and country is not None and _knows(country)
        object.__setattr__(self, "holidays_known", known)

    def is_working_day(self, day: dt.date) -> bool:
        """Whether offices in the host country work on this local date."""
        if day.weekday() in self.weekend or day in self.closed:
            return False
        return not (
            self.holidays_known
            and self.host_country is not None
            and day in _public_holidays(self.host_country, day.year)
        )

    def next_send_time(self, after: dt.datetime, window: SendWindow) -> dt.datetime:
        """The first instant ≥ `after` inside `window` on a local working day, in UTC.

        An instant is inside the window when the recipient's wall clock shows an allowed weekday
        that is a working day and a time in one of the ranges. So a range that starts in the
        spring-forward gap opens when the clock jumps past the gap; in the repeated hour of a
        fall-back, the first occurrence of a clock time counts (zoneinfo's fold=0).
        """
        after_utc = _to_utc(after, "after")
        usable = window.weekdays - self.weekend
        if not usable:
            raise CalendarError(
                f'send window "{window.describe()}" leaves no day to send in {self._where()}, '
                f"whose weekend is {_describe_days(self.weekend)}; choose other days, e.g. "
                f'"{_describe_days(frozenset(range(7)) - self.weekend)}"'
            )
        # Start a day early: a fall-back at midnight can repeat the end of the previous date.
        first_day = after_utc.astimezone(self.zone).date() - dt.timedelta(days=1)
        for offset in range(_SEARCH_DAYS):
            day = first_day + dt.timedelta(days=offset)
            if day.weekday() not in usable or not self.is_working_day(day):
                continue
            found = self._first_instant(day, window.ranges, after_utc)
            if found is not None:
                return found
        raise CalendarError(
            f'send window "{window.describe()}" finds no working day in {self._where()} within '
            f"{_SEARCH_DAYS} days after {after_utc:%Y-%m-%d}: check the closed dates"
        )

    def add_working_days(self, start: dt.datetime, days: int) -> dt.date:
        """The local date that is `days` working days after the local date of `start`.

        Day 1 is the first working day after that date (the start date itself never counts), so
        10 working days after a letter sent on a Thursday is a date, never a time: plan the send
        with next_send_time(start_of_day(date), window).
        """
        local = _to_utc(start, "start").astimezone(self.zone).date()
        if days < 0:
            raise CalendarError(f"cannot count {days} working days: give 0 or more")
        counted = idle = 0
        while counted < days:
            local += dt.timedelta(days=1)
            if self.is_working_day(local):
                counted, idle = counted + 1, 0
            elif (idle := idle + 1) >= _SEARCH_DAYS:
                raise CalendarError(
                    f"no working day in {self._where()} for {_SEARCH_DAYS} days after "
                    f"{local - dt.timedelta(days=idle):%Y-%m-%d}: check the closed dates"
                )
        return local

    def local_date(self, moment: dt.datetime) -> dt.date:
        """The recipient's local date at an instant."""
        return _to_utc(moment, "moment").astimezone(self.zone).date()

    def start_of_day(self, day: dt.date) -> dt.datetime:
        """The first instant of local date `day`, in UTC (after the gap if midnight is skipped)."""
        whole_day = (TimeRange(_MIDNIGHT, _MIDNIGHT),)
        found = self._first_instant(day, whole_day, None)
        if found is None:  # only if tzdata skipped a whole date (Pacific/Apia, 2011-12-30)
            raise CalendarError(f"the date {day} does not exist in {self.tz}")
        return found

    def _where(self) -> str:
        """The recipient's place, for error messages."""
        return f"{self.host_country} ({self.tz})" if self.host_country else self.tz

    def _first_instant(
        self, day: dt.date, ranges: tuple[TimeRange, ...], after: dt.datetime | None
    ) -> dt.datetime | None:
        """The first UTC instant ≥ `after` whose wall clock shows `day` and a time in `ranges`.

        The instants a range admits form intervals; each interval begins either where the wall
        clock reaches the range's start or where an offset change makes the clock jump into it.
        So the answer is the earliest admitted instant among `after` and those beginnings.
        """
        candidates = [] if after is None else [after]
        for time_range in ranges:
            # zoneinfo (PEP 495): fold=0 is the first occurrence of an ambiguous wall time and
            # fold=1 the second; a non-existent time round-trips to another wall time, so it is
            # dropped here and the offset change below supplies the instant that ends the gap.
            for fold in (0, 1):
                wall = dt.datetime.combine(day, time_range.start, self.zone).replace(fold=fold)
                instant = wall.astimezone(dt.UTC)
                if instant.astimezone(self.zone).replace(tzinfo=None) == wall.replace(tzinfo=None):
                    candidates.append(instant)
        midnight = dt.datetime.combine(day, _MIDNIGHT, dt.UTC)
        candidates += self._offset_changes(midnight - _MARGIN, midnight + dt.timedelta(1) + _MARGIN)
        admitted = [
            instant
            for instant in candidates
            if (after is None or instant >= after) and self._admits(instant, day, ranges)
        ]
        return min(admitted, default=None)

    def _admits(self, instant: dt.datetime, day: dt.date, ranges: tuple[TimeRange, ...]) -> bool:
        """Whether the wall clock at `instant` shows `day` and a time in one of `ranges`."""
        wall = instant.astimezone(self.zone)
        return wall.date() == day and any(r.contains(wall.time()) for r in ranges)

    def _offset_changes(self, low: dt.datetime, high: dt.datetime) -> list[dt.datetime]:
        """The instants in (low, high] where the zone's UTC offset changes (to the second).

        zoneinfo does not expose its transitions, so bisect on the offset: tzdata's transitions
        fall on whole seconds. Two changes that cancel out within the span would be missed; tzdata
        has no such pair within 54 hours since 1970 (checked against tzdata 2026.6).
        """
        first, last = int(low.timestamp()), int(high.timestamp())
        return [dt.datetime.fromtimestamp(s, dt.UTC) for s in self._bisect(first, last)]

    def _bisect(self, low: int, high: int) -> list[int]:
        """POSIX seconds in (low, high] at which a new UTC offset begins."""
        if self._offset(low) == self._offset(high):
            return []
        if high - low == 1:
            return [high]
        middle = (low + high) // 2
        return self._bisect(low, middle) + self._bisect(middle, high)

    def _offset(self, second: int) -> dt.timedelta | None:
        """The zone's UTC offset at a POSIX second."""
        return dt.datetime.fromtimestamp(second, self.zone).utcoffset()


def _to_utc(moment: dt.datetime, name: str) -> dt.datetime:
    """An aware datetime in UTC; a naive one is a programming error, since its zone is unknown."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {moment!r}")
    return moment.astimezone(dt.UTC)


@functools.cache
def _cldr_weekend(country: str | None) -> frozenset[int]:
    """The weekend days (Monday=0) of a territory in CLDR's weekData, e.g. SA → {Fri, Sat}."""
    territory = country or _WORLD
    try:
        locale = Locale.parse(f"und_{territory}")
    except (UnknownLocaleError, ValueError):
        locale = None
    # Babel fills unknown regions from likely subtags ("und_ZZ" becomes en_US): accept the data
    # only when it is about the territory asked for.
    if locale is None or locale.territory != territory:
        locale = Locale.parse(f"und_{_WORLD}")
    start, end = locale.weekend_start, locale.weekend_end  # Monday=0; IR has start == end (Fri)
    return frozenset((start + i) % 7 for i in range((end - start) % 7 + 1))


@functools.cache
def _knows(country: str) -> bool:
    """Whether the `holidays` package has public holidays for this country."""
    return country in holidays.list_supported_countries()


@functools.cache
def _public_holidays(country: str, year: int) -> frozenset[dt.date]:
    """The national public holidays (observed days included) of a country in one year."""
    return frozenset(holidays.country_holidays(country, years=year))
