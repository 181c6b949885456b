"""Specification of the send calendar: windows in local time, weekends, holidays, DST, working days."""

from __future__ import annotations

import datetime as dt

import pytest

from outreach.calendar import CalendarError, RecipientCalendar, SendWindow, parse_window
from outreach.errors import InputError

BRUSSELS = RecipientCalendar("Europe/Brussels", "BE")
NEW_YORK = RecipientCalendar("America/New_York", "US")
YEREVAN = RecipientCalendar("Asia/Yerevan", "AM")
RIYADH = RecipientCalendar("Asia/Riyadh", "SA")

MON_FRI_MORNING = parse_window("Mon-Fri 09:00-11:00")
TUE_THU_MORNING = parse_window("Tue-Thu 09:00-11:00")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    """An instant in UTC, the form every send_after is stored in."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


# --- DOMAIN.md's example ----------------------------------------------------------------------


def test_arriving_at_0930_in_brussels_leaves_yerevan_at_1230() -> None:
    window = parse_window("Tue 09:30-11:00")  # 10 February 2026 is a Tuesday
    send_after = BRUSSELS.next_send_time(utc(2026, 2, 10), window)
    assert send_after == utc(2026, 2, 10, 8, 30)
    assert send_after.astimezone(YEREVAN.zone).strftime("%H:%M") == "12:30"


def test_arriving_at_0930_in_new_york_leaves_yerevan_at_1830() -> None:
    send_after = NEW_YORK.next_send_time(utc(2026, 2, 10), parse_window("Tue 09:30-11:00"))
    assert send_after == utc(2026, 2, 10, 14, 30)
    assert send_after.astimezone(YEREVAN.zone).strftime("%H:%M") == "18:30"


# --- a window in local time ----------------------------------------------------------------------


def test_asked_on_a_friday_the_window_opens_next_tuesday_at_0900_local() -> None:
    friday = utc(2026, 2, 13, 9)
    assert BRUSSELS.next_send_time(friday, TUE_THU_MORNING) == utc(2026, 2, 17, 8)


def test_inside_the_window_the_instant_itself_is_returned() -> None:
    assert BRUSSELS.next_send_time(utc(2026, 2, 17, 9, 15), TUE_THU_MORNING) == utc(
        2026, 2, 17, 9, 15
    )


def test_the_end_of_a_range_is_exclusive_so_1100_moves_to_the_next_allowed_day() -> None:
    eleven_local = utc(2026, 2, 17, 10)
    assert BRUSSELS.next_send_time(eleven_local, TUE_THU_MORNING) == utc(2026, 2, 18, 8)


def test_between_two_ranges_the_next_range_of_the_same_day_opens() -> None:
    window = parse_window("Mon-Fri 09:00-12:00,14:00-17:00")
    assert BRUSSELS.next_send_time(utc(2026, 2, 17, 12), window) == utc(2026, 2, 17, 13)


def test_the_instant_asked_may_be_in_any_zone_and_the_answer_is_utc() -> None:
    friday_in_yerevan = dt.datetime(2026, 2, 13, 13, 0, tzinfo=YEREVAN.zone)
    send_after = BRUSSELS.next_send_time(friday_in_yerevan, TUE_THU_MORNING)
    assert send_after == utc(2026, 2, 17, 8)
    assert send_after.tzinfo is dt.UTC


def test_a_whole_day_window_still_skips_the_weekend() -> None:
    saturday = utc(2026, 2, 14, 12)
    assert BRUSSELS.next_send_time(saturday, parse_window("Mon-Sun 00:00-24:00")) == utc(
        2026, 2, 15, 23
    )


# --- across changes of daylight saving time ------------------------------------------------------


def test_brussels_window_keeps_0900_local_when_the_offset_moves_from_plus1_to_plus2() -> None:
    # Summer time begins on Sunday 29 March 2026: 09:00 is 08:00 UTC before and 07:00 UTC after.
    assert BRUSSELS.next_send_time(utc(2026, 3, 27, 7), MON_FRI_MORNING) == utc(2026, 3, 27, 8)
    assert BRUSSELS.next_send_time(utc(2026, 3, 27, 10), MON_FRI_MORNING) == utc(2026, 3, 30, 7)


def test_brussels_window_keeps_0900_local_when_the_offset_moves_back_to_plus1() -> None:
    # Summer time ends on Sunday 25 October 2026.
    assert BRUSSELS.next_send_time(utc(2026, 10, 23, 6), MON_FRI_MORNING) == utc(2026, 10, 23, 7)
    assert BRUSSELS.next_send_time(utc(2026, 10, 23, 9), MON_FRI_MORNING) == utc(2026, 10, 26, 8)


def test_new_york_window_across_the_start_of_daylight_time_on_8_march_2026() -> None:
    assert NEW_YORK.next_send_time(utc(2026, 3, 6, 12), MON_FRI_MORNING) == utc(2026, 3, 6, 14)
    assert NEW_YORK.next_send_time(utc(2026, 3, 6, 16), MON_FRI_MORNING) == utc(2026, 3, 9, 13)


def test_new_york_window_across_the_end_of_daylight_time_on_1_november_2026() -> None:
    assert NEW_YORK.next_send_time(utc(2026, 10, 30, 12), MON_FRI_MORNING) == utc(2026, 10, 30, 13)
    assert NEW_YORK.next_send_time(utc(2026, 10, 30, 15), MON_FRI_MORNING) == utc(2026, 11, 2, 14)


def test_between_the_us_and_eu_changes_brussels_and_new_york_are_five_hours_apart() -> None:
    monday = utc(2026, 3, 23)
    assert BRUSSELS.next_send_time(monday, MON_FRI_MORNING) == utc(2026, 3, 23, 8)
    assert NEW_YORK.next_send_time(monday, MON_FRI_MORNING) == utc(2026, 3, 23, 13)


# The spring-forward gap and the fall-back repetition need a Sunday that is a working day. The
# zone and the weekend are independent inputs, so a Fri-Sat weekend (Israel's) makes one.
GAP_SUNDAY = RecipientCalendar("Europe/Brussels", "IL")  # 02:00-03:00 skipped on 2026-03-29


def test_a_window_starting_in_the_spring_forward_gap_opens_when_the_clock_jumps() -> None:
    window = parse_window("Sun-Thu 02:30-04:00")
    assert GAP_SUNDAY.next_send_time(utc(2026, 3, 28, 12), window) == utc(2026, 3, 29, 1)


def test_a_window_entirely_inside_the_gap_does_not_occur_that_day() -> None:
    window = parse_window("Sun-Thu 02:00-02:30")
    assert GAP_SUNDAY.next_send_time(utc(2026, 3, 28, 12), window) == utc(2026, 3, 30, 0)


# Israel falls back on Sunday 25 October 2026 at 02:00 (+03:00 → +02:00): 01:00-02:00 happens
# twice, first 22:00-23:00 UTC on the 24th, then 23:00-00:00 UTC.
JERUSALEM = RecipientCalendar("Asia/Jerusalem", "IL")
REPEATED_HOUR = parse_window("Sun-Thu 01:30-02:30")


def test_in_the_fall_back_hour_the_first_occurrence_of_the_start_opens_the_window() -> None:
    assert JERUSALEM.next_send_time(utc(2026, 10, 24, 20), REPEATED_HOUR) == utc(
        2026, 10, 24, 22, 30
    )


def test_in_the_fall_back_hour_an_instant_is_inside_when_its_wall_clock_is() -> None:
    # 23:10 UTC shows 01:10 (second pass): outside; the clock reaches 01:30 again at 23:30 UTC.
    assert JERUSALEM.next_send_time(utc(2026, 10, 24, 23, 10), REPEATED_HOUR) == utc(
        2026, 10, 24, 23, 30
    )


def test_a_day_whose_midnight_is_skipped_starts_at_the_end_of_the_gap() -> None:
    # Chile moves from -04:00 to -03:00 at 00:00 on Sunday 6 September 2026.
    santiago = RecipientCalendar("America/Santiago", "CL")
    assert santiago.start_of_day(dt.date(2026, 9, 6)) == utc(2026, 9, 6, 4)
    assert santiago.start_of_day(dt.date(2026, 9, 7)) == utc(2026, 9, 7, 3)


# --- the host country's weekend (CLDR) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "weekend"),
    [
        ("BE", {5, 6}),
        ("SA", {4, 5}),  # Friday-Saturday
        ("AE", {5, 6}),  # Saturday-Sunday since 2022
        ("IL", {4, 5}),
        ("IR", {4}),  # Friday only
        ("IN", {6}),  # Sunday only
        (None, {5, 6}),  # CLDR's world default
        ("XA", {5, 6}),  # user-assigned code: no CLDR territory, the world default
    ],
)
def test_the_weekend_is_cldrs_for_the_host_country(country: str | None, weekend: set[int]) -> None:
    assert RecipientCalendar("UTC", country).weekend == weekend


def test_in_riyadh_a_sun_thu_window_skips_friday_and_saturday() -> None:
    thursday_after_window = utc(2026, 2, 5, 9)  # 12:00 in Riyadh
    window = parse_window("Sun-Thu 09:00-11:00")
    assert RIYADH.next_send_time(thursday_after_window, window) == utc(2026, 2, 8, 6)


def test_in_riyadh_a_mon_fri_window_allows_monday_to_thursday_only() -> None:
    thursday_after_window = utc(2026, 2, 5, 9)
    assert RIYADH.next_send_time(thursday_after_window, MON_FRI_MORNING) == utc(2026, 2, 9, 6)


# --- public holidays and closed dates -----------------------------------------------------------


def test_armenian_new_year_holidays_are_skipped() -> None:
    # The `holidays` package: 31 December, 1-2 January and 6 January are holidays in Armenia.
    assert YEREVAN.holidays_known
    assert YEREVAN.next_send_time(utc(2025, 12, 31, 4), MON_FRI_MORNING) == utc(2026, 1, 5, 5)


def test_belgian_labour_day_is_skipped() -> None:
    thursday_30_april_after_window = utc(2026, 4, 30, 12)
    assert not BRUSSELS.is_working_day(dt.date(2026, 5, 1))
    assert BRUSSELS.next_send_time(thursday_30_april_after_window, MON_FRI_MORNING) == utc(
        2026, 5, 4, 7
    )


def test_a_closed_date_of_the_campaign_is_skipped() -> None:
    closed = RecipientCalendar("Europe/Brussels", "BE", frozenset({dt.date(2026, 5, 4)}))
    assert closed.next_send_time(utc(2026, 4, 30, 12), MON_FRI_MORNING) == utc(2026, 5, 5, 7)


def test_a_country_unknown_to_the_holidays_package_has_none_and_says_so() -> None:
    fictional = RecipientCalendar("Europe/Brussels", "XA")
    assert not fictional.holidays_known
    assert fictional.is_working_day(dt.date(2026, 1, 1))


# --- several recipients ---------------------------------------------------------------------


def test_the_same_window_orders_yerevan_before_brussels_before_new_york() -> None:
    monday = utc(2026, 2, 9)
    send_after = {
        name: calendar.next_send_time(monday, MON_FRI_MORNING)
        for name, calendar in [("new york", NEW_YORK), ("yerevan", YEREVAN), ("brussels", BRUSSELS)]
    }
    assert send_after == {
        "yerevan": utc(2026, 2, 9, 5),
        "brussels": utc(2026, 2, 9, 8),
        "new york": utc(2026, 2, 9, 14),
    }
    assert sorted(send_after, key=send_after.__getitem__) == ["yerevan", "brussels", "new york"]


# --- working days, for follow-ups ---------------------------------------------------------------


def test_ten_working_days_in_brussels_skip_weekends_and_ascension_day() -> None:
    thursday_7_may = utc(2026, 5, 7, 8)  # Ascension Day is Thursday 14 May 2026
    assert BRUSSELS.add_working_days(thursday_7_may, 10) == dt.date(2026, 5, 22)


def test_ten_working_days_in_riyadh_skip_fridays_and_saturdays() -> None:
    thursday_8_january = utc(2026, 1, 8, 8)
    assert RIYADH.add_working_days(thursday_8_january, 10) == dt.date(2026, 1, 22)


def test_working_days_count_from_the_recipients_local_date() -> None:
    thursday_late_utc = utc(2026, 5, 7, 22, 30)  # already Friday 00:30 in Brussels
    assert BRUSSELS.add_working_days(thursday_late_utc, 1) == dt.date(2026, 5, 11)


def test_zero_working_days_is_the_local_date_itself() -> None:
    assert BRUSSELS.add_working_days(utc(2026, 5, 9, 12), 0) == dt.date(2026, 5, 9)


def test_a_follow_up_is_planned_in_the_window_after_the_working_days() -> None:
    due = BRUSSELS.add_working_days(utc(2026, 5, 7, 8), 10)  # Friday 22 May
    # Monday 25 May is Whit Monday; Tuesday 26 May 09:00 CEST is 07:00 UTC.
    send_after = BRUSSELS.next_send_time(BRUSSELS.start_of_day(due), TUE_THU_MORNING)
    assert send_after == utc(2026, 5, 26, 7)


# --- the window syntax ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("Tue-Thu 09:00-11:00", "Tue-Thu 09:00-11:00"),
        ("Mon-Fri 09:00-12:00,14:00-17:00", "Mon-Fri 09:00-12:00,14:00-17:00"),
        ("Mon,Wed,Fri 10:00-12:00", "Mon,Wed,Fri 10:00-12:00"),
        ("Mon-Sun 00:00-24:00", "Mon-Sun 00:00-24:00"),
        ("sun-thu 14:00-17:00, 09:00-12:00", "Sun-Thu 09:00-12:00,14:00-17:00"),
        ("Tue–Thu 09:00–11:00", "Tue-Thu 09:00-11:00"),  # en dashes, as DOMAIN.md writes them
        ("Mon,Tue,Wed 09:00-10:00", "Mon-Wed 09:00-10:00"),
        ("Sat-Sun 09:00-10:00", "Sat,Sun 09:00-10:00"),
        ("Sun,Mon,Wed 09:00-10:00", "Sun,Mon,Wed 09:00-10:00"),
    ],
)
def test_a_window_is_described_in_canonical_form(text: str, canonical: str) -> None:
    window = parse_window(text)
    assert window.describe() == canonical
    assert parse_window(canonical) == window


def test_a_day_span_wraps_around_the_week() -> None:
    assert parse_window("Sun-Thu 09:00-11:00").weekdays == {6, 0, 1, 2, 3}


EXAMPLE = '; write e.g. "Tue-Thu 09:00-11:00" or "Mon-Fri 09:00-12:00,14:00-17:00"'


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "it is empty"),
        ("Mon-Fri", "it has no time range"),
        ("09:00-11:00", "it names no weekday"),
        ("Mon-Fxi 09:00-11:00", '"Fxi" is not a weekday (use Mon Tue Wed Thu Fri Sat Sun)'),
        ("Mon, 09:00-11:00", "a weekday is missing before or after a comma or dash"),
        ("Mon 9:00-11:00", '"9:00" is not a time written HH:MM'),
        ("Mon 09:00", 'the range "09:00" needs a start and an end: HH:MM-HH:MM'),
        ("Mon 09:00-25:00", '"25:00" is not a time of day (00:00 to 24:00)'),
        ("Mon 09:60-11:00", '"09:60" is not a time of day (00:00 to 24:00)'),
        (
            "Mon 22:00-02:00",
            'the range "22:00-02:00" does not end after it starts (ranges cannot cross midnight)',
        ),
        ("Mon 09:00-11:00,10:00-12:00", "the ranges 09:00-11:00 and 10:00-12:00 overlap"),
    ],
)
def test_a_malformed_window_is_refused_with_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(CalendarError) as caught:
        parse_window(text)
    assert str(caught.value) == f'send window "{text}": {problem}{EXAMPLE}'
    assert isinstance(caught.value, InputError)


def test_a_window_built_in_code_needs_days_and_ranges() -> None:
    with pytest.raises(ValueError, match="needs weekdays"):
        SendWindow(frozenset(), parse_window("Mon 09:00-10:00").ranges)


# --- windows and calendars that can never send ----------------------------------------------


def test_a_window_with_no_day_left_after_the_weekend_is_refused() -> None:
    with pytest.raises(CalendarError) as caught:
        RIYADH.next_send_time(utc(2026, 2, 5), parse_window("Fri-Sat 09:00-11:00"))
    assert str(caught.value) == (
        'send window "Fri,Sat 09:00-11:00" leaves no day to send in SA (Asia/Riyadh), '
        'whose weekend is Fri,Sat; choose other days, e.g. "Sun-Thu"'
    )


def test_a_calendar_closed_for_more_than_a_year_is_refused_not_searched_forever() -> None:
    start = dt.date(2026, 1, 1)
    every_day = frozenset(start + dt.timedelta(days=n) for n in range(500))
    closed = RecipientCalendar("Europe/Brussels", "BE", every_day)
    with pytest.raises(CalendarError, match="finds no working day in BE"):
        closed.next_send_time(utc(2026, 1, 1), MON_FRI_MORNING)
    with pytest.raises(CalendarError, match="no working day in BE"):
        closed.add_working_days(utc(2026, 1, 1), 1)


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(CalendarError, match='time zone "Europe/Brusels" is not an IANA zone'):
        RecipientCalendar("Europe/Brusels", "BE")


def test_a_host_country_must_be_a_two_letter_code() -> None:
    with pytest.raises(CalendarError, match='host country "BEL" is not a two-letter'):
        RecipientCalendar("Europe/Brussels", "BEL")


def test_a_naive_instant_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="after must be timezone-aware"):
        BRUSSELS.next_send_time(dt.datetime(2026, 2, 10, 9), MON_FRI_MORNING)


def test_negative_working_days_are_refused() -> None:
    with pytest.raises(CalendarError, match="cannot count -1 working days"):
        BRUSSELS.add_working_days(utc(2026, 2, 10), -1)


def test_a_campaign_sent_on_every_day_takes_weekends_and_holidays_but_not_closed_dates() -> None:
    window = parse_window("Mon-Sun 09:00-11:00")
    saturday_2_may = utc(2026, 5, 2, 6)  # 08:00 in Brussels
    urgent = RecipientCalendar(
        "Europe/Brussels", "BE", frozenset({dt.date(2026, 5, 2)}), every_day=True
    )
    assert urgent.next_send_time(saturday_2_may, window) == utc(2026, 5, 3, 7)  # Sunday 09:00
    assert urgent.is_working_day(dt.date(2026, 5, 14))  # Ascension Day
    assert BRUSSELS.next_send_time(saturday_2_may, window) == utc(2026, 5, 4, 7)  # Monday
