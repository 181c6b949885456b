"""The report as values: what every format shows. Keys are the state and stance names themselves.

The JSON format is `dataclasses.asdict(report)` with dates as ISO strings: this module IS the
documented shape (see docs of each class), so a change here is a change of the public format.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

# Funnel columns, in order. Each counts letters of the campaign (one per recipient):
FUNNEL = (
    "created",  # every letter of the campaign, whatever became of it
    "suppressed",  # not sent: suppressed address, inactive or do_not_contact recipient
    "duplicate",  # not sent: the mailbox has this appeal already (another campaign, ad hoc) or
    # another recipient of the campaign shares it and got the one letter
    "skipped",  # not sent: no letter could be made at approval
    "cancelled",  # not sent: the campaign was cancelled
    "queued",  # waiting to be sent (including claimed / sending right now)
    "sent",  # left and was accepted by the server: sent, bounced or replied now
    "deferred",  # waiting for a retry after a temporary failure
    "failed",  # refused permanently, or retries ran out
    "unknown",  # may or may not have arrived: staff must settle it
    "bounced",  # a permanent bounce came back
    "auto_replied",  # at least one automatic reply (out of office, acknowledgement)
    "replied",  # at least one human reply
)
# Stance columns, in order: the five stances, then the two ways of having none.
STANCES = ("supports", "commits", "noncommittal", "declines", "not_addressed")
DEMAND_COLUMNS = (*STANCES, "no_reply", "uncoded")  # uncoded: replied, not yet coded on it


@dataclass(frozen=True, slots=True)
class FunnelRow:
    """Letters by outcome for one group (a recipient kind, or "all")."""

    group: str
    counts: dict[str, int]  # keys: FUNNEL
    reply_rate: float | None  # replied / sent; None when nothing was sent


@dataclass(frozen=True, slots=True)
class DemandRow:
    """For one demand and one group: recipients asked it, by their latest stance."""

    demand: str
    dimension: str  # "all", "kind", "country" or "political_group"
    group: str  # "all", or the kind / country code / group
    counts: dict[str, int]  # keys: DEMAND_COLUMNS


@dataclass(frozen=True, slots=True)
class Cell:
    """A recipient's latest position on one demand."""

    stance: str | None  # a STANCES value; None: no position (see `status`)
    status: str  # "coded", "uncoded" (replied, not coded on it), "no_reply", "not_asked"
    date: dt.date | None  # when it was coded
    evidence: str  # the quote, "" when none


@dataclass(frozen=True, slots=True)
class MatrixRow:
    """One recipient: who, what became of the letter, and a Cell per demand."""

    recipient: str  # the recipient key
    name: str
    organisation: str
    kind: str
    country: str | None
    political_group: str | None
    letter_state: str
    cells: dict[str, Cell]  # keys: the appeal's demand keys


@dataclass(frozen=True, slots=True)
class Silent:
    """A recipient whose letter was sent and who has not replied (for follow-up calls)."""

    recipient: str
    name: str
    organisation: str
    email: str
    sent_on: dt.date
    days: int  # days since the letter was sent
    auto_replied: bool


@dataclass(frozen=True, slots=True)
class Day:
    """Letters sent and human replies received on one day (UTC)."""

    day: dt.date
    sent: int
    replies: int


@dataclass(frozen=True, slots=True)
class Report:
    """Everything a report shows about one campaign, as of `generated_at`."""

    campaign: str
    appeal: str
    appeal_title: str
    state: str
    generated_at: dt.datetime
    segment: list[str]  # the report's --where filters, if any
    demands: dict[str, str]  # demand key -> its text in the appeal's default language
    funnel: list[FunnelRow]  # "all" first, then each recipient kind present
    positions: list[DemandRow]  # per demand: "all", then by kind, country, political group
    matrix: list[MatrixRow]  # one per recipient with a sent letter, by recipient key
    silent: list[Silent]  # sent, no human reply; longest silence first
    median_days_to_reply: float | None
    timeline: list[Day] = field(default_factory=list)  # every day from first send to today
