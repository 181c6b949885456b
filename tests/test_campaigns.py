"""Campaigns: created as drafts, approved into frozen letters scheduled in each recipient's hours."""

from __future__ import annotations

import datetime as dt
import email
from email import policy
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from outreach.approval import approve_campaign
from outreach.calendar import CalendarError
from outreach.campaign import CampaignError, create_campaign, get_campaign, letter_counts, set_state
from outreach.config import Settings
from outreach.db import session_scope
from outreach.errors import InputError, StateError
from outreach.letter import Composer
from outreach.models import CampaignState, Letter, LetterState, SuppressionSource
from outreach.recipients.importer import import_files
from outreach.suppression import suppress

REPO = Path(__file__).resolve().parent.parent
SLUG = "nk-appeal-2023-03-07"
# Monday 9 February 2026, 07:00 UTC: before office hours in Brussels, after them in Yerevan.
MONDAY = dt.datetime(2026, 2, 9, 7, 0, tzinfo=dt.UTC)


@pytest.fixture
def settings() -> Settings:
    return Settings(
        paths={"templates": str(REPO / "templates")},
        sender={"name": "Appeal", "address": "appeal@outreach.example.org"},
    )


@pytest.fixture
def loaded(engine: Engine) -> Engine:
    files = [REPO / "recipients" / "diplomats.csv", REPO / "recipients" / "un-and-eu.yaml"]
    assert import_files(engine, files, actor="t").committed
    return engine


def create(engine: Engine, name: str = "spring", **options: object) -> None:
    values: dict[str, object] = {
        "appeal_slug": SLUG,
        "where": [],
        "window": "Tue-Thu 09:00-11:00",
        "start_at": None,
        "closed_dates": [],
        "actor": "staff",
    }
    values.update(options)
    with session_scope(engine) as session:
        create_campaign(session, name, **values)  # type: ignore[arg-type]


def approve(
    engine: Engine, settings: Settings, name: str = "spring", skip: bool = False
) -> dict[str, int]:
    with time_machine.travel(MONDAY, tick=False), session_scope(engine) as session:
        return approve_campaign(
            session,
            get_campaign(session, name),
            Composer.load(settings),
            actor="approver",
            skip_problems=skip,
        )


def letter_for(engine: Engine, key: str) -> Letter:
    with Session(engine) as session:
        return session.exec(select(Letter).where(Letter.recipient_key == key)).one()


def test_a_new_campaign_is_a_draft_with_no_letters(loaded: Engine) -> None:
    create(loaded)
    with Session(loaded) as session:
        campaign = get_campaign(session, "spring")
        assert (campaign.state, campaign.window) == (CampaignState.DRAFT, "Tue-Thu 09:00-11:00")
        assert letter_counts(session, campaign.id)[LetterState.QUEUED] == 0


def test_a_malformed_window_is_refused_at_creation(loaded: Engine) -> None:
    with pytest.raises(CalendarError) as error:
        create(loaded, window="Tue-Thu 9-11")
    assert str(error.value).startswith('send window "Tue-Thu 9-11": ')


def test_a_bad_segment_is_refused_at_creation(loaded: Engine) -> None:
    with pytest.raises(InputError, match="unknown field 'comittee'"):
        create(loaded, where=["comittee=AFET"])


def test_a_duplicate_name_is_refused(loaded: Engine) -> None:
    create(loaded)
    with pytest.raises(CampaignError, match="exists already"):
        create(loaded)


def test_approval_with_a_problem_is_refused_and_writes_nothing(
    loaded: Engine, settings: Settings
) -> None:
    create(loaded)  # everyone: one MEP has no e-mail address
    with pytest.raises(CampaignError) as error:
        approve(loaded, settings)
    assert str(error.value).startswith(
        "1 recipient(s) have no letter, e.g. mep-999006: no e-mail address"
    )
    with Session(loaded) as session:
        assert session.exec(select(Letter)).first() is None
        assert get_campaign(session, "spring").state is CampaignState.DRAFT


def test_approval_creates_one_letter_per_recipient_recording_the_skipped(
    loaded: Engine, settings: Settings
) -> None:
    create(loaded)
    assert approve(loaded, settings, skip=True) == {
        "queued": 46,
        "suppressed": 2,
        "duplicate": 0,
        "skipped": 1,
    }
    assert letter_for(loaded, "emb-cz-am-head").reason == "do_not_contact"
    assert letter_for(loaded, "emb-lt-am-head").reason == "inactive"
    assert letter_for(loaded, "mep-999006").state is LetterState.SKIPPED


def test_a_suppressed_address_gets_no_letter(loaded: Engine, settings: Settings) -> None:
    with session_scope(loaded) as session:
        suppress(
            session,
            "ambassador.fr-am@example.org",
            reason="asked",
            source=SuppressionSource.REQUEST,
            actor="t",
        )
    create(loaded, where=["kind=embassy"])
    approve(loaded, settings)
    letter = letter_for(loaded, "emb-fr-am-head")
    assert (letter.state, letter.reason, letter.mime) == (
        LetterState.SUPPRESSED,
        "address suppressed",
        b"",
    )


def test_the_stored_letter_is_the_rendered_message(loaded: Engine, settings: Settings) -> None:
    create(loaded, where=["key=emb-fr-am-head"])
    approve(loaded, settings)
    letter = letter_for(loaded, "emb-fr-am-head")
    message = email.message_from_bytes(letter.mime, policy=policy.default)
    assert message["Message-ID"] == letter.message_id
    assert message["X-Outreach-Ref"] == letter.token
    assert message["To"] == "Claire Exemple <ambassador.fr-am@example.org>"
    assert letter.language == "fr"


def test_each_letter_is_scheduled_in_its_recipients_office_hours(
    loaded: Engine, settings: Settings
) -> None:
    create(loaded, where=["key=emb-fr-am-head", "key=pm-lv-unny", "key=mep-999001"])
    approve(loaded, settings)
    # Tuesday 10 February 2026, 09:00 local: Yerevan (UTC+4), Brussels (UTC+1), New York (UTC-5).
    assert letter_for(loaded, "emb-fr-am-head").send_after == dt.datetime(
        2026, 2, 10, 5, 0, tzinfo=dt.UTC
    )
    assert letter_for(loaded, "mep-999001").send_after == dt.datetime(
        2026, 2, 10, 8, 0, tzinfo=dt.UTC
    )
    assert letter_for(loaded, "pm-lv-unny").send_after == dt.datetime(
        2026, 2, 10, 14, 0, tzinfo=dt.UTC
    )


def test_the_date_header_is_the_planned_send_time(loaded: Engine, settings: Settings) -> None:
    create(loaded, where=["key=mep-999001"])
    approve(loaded, settings)
    message = email.message_from_bytes(letter_for(loaded, "mep-999001").mime, policy=policy.default)
    assert message["Date"] == "Tue, 10 Feb 2026 08:00:00 +0000"


def test_a_closed_date_and_the_start_move_the_schedule(loaded: Engine, settings: Settings) -> None:
    create(
        loaded,
        where=["key=mep-999001"],
        start_at=dt.datetime(2026, 2, 16, 0, 0, tzinfo=dt.UTC),
        closed_dates=[dt.date(2026, 2, 17)],
    )
    approve(loaded, settings)
    # Not before Monday 16th, window Tue-Thu, Tuesday 17th closed: Wednesday 18th, 09:00 Brussels.
    assert letter_for(loaded, "mep-999001").send_after == dt.datetime(
        2026, 2, 18, 8, 0, tzinfo=dt.UTC
    )


def test_approving_twice_is_refused(loaded: Engine, settings: Settings) -> None:
    create(loaded, where=["kind=embassy"])
    approve(loaded, settings)
    with pytest.raises(StateError, match="only a draft is approved"):
        approve(loaded, settings)


def test_cancelling_cancels_every_letter_not_yet_sending(
    loaded: Engine, settings: Settings
) -> None:
    create(loaded, where=["kind=embassy"])
    approve(loaded, settings)
    with loaded.begin() as connection:  # one letter taken by a worker, not yet sending
        first = connection.execute(sa.select(sa.func.min(Letter.id))).scalar_one()  # type: ignore[arg-type]
        connection.execute(
            sa.update(Letter)
            .where(Letter.id == first)  # type: ignore[arg-type]
            .values(state=LetterState.CLAIMED, claimed_by="w1")
        )
    with session_scope(loaded) as session:
        set_state(
            session,
            get_campaign(session, "spring"),
            CampaignState.CANCELLED,
            actor="t",
            reason=None,
        )
    with Session(loaded) as session:
        counts = letter_counts(session, get_campaign(session, "spring").id)
    assert (counts["queued"], counts["cancelled"]) == (0, 15)


def test_pause_and_resume(loaded: Engine, settings: Settings) -> None:
    create(loaded, where=["kind=embassy"])
    approve(loaded, settings)
    with session_scope(loaded) as session:
        set_state(
            session, get_campaign(session, "spring"), CampaignState.PAUSED, actor="t", reason="wait"
        )
    with session_scope(loaded) as session:
        campaign = get_campaign(session, "spring")
        assert (campaign.state, campaign.pause_reason) == (CampaignState.PAUSED, "wait")
        set_state(session, campaign, CampaignState.RUNNING, actor="t", reason=None)
    with Session(loaded) as session:
        assert get_campaign(session, "spring").state is CampaignState.RUNNING


def test_a_draft_cannot_be_resumed(loaded: Engine) -> None:
    create(loaded)
    with (
        pytest.raises(StateError, match="is draft: it cannot become running"),
        session_scope(loaded) as session,
    ):
        set_state(
            session, get_campaign(session, "spring"), CampaignState.RUNNING, actor="t", reason=None
        )


def test_letters_keep_their_recipient_for_the_status_check(
    loaded: Engine, settings: Settings
) -> None:
    create(loaded, where=["key=emb-fr-am-head"])
    approve(loaded, settings)
    with Session(loaded) as session:
        letter = session.exec(select(Letter)).one()
        assert letter.recipient_id is not None
        assert (
            session.exec(select(Letter).where(col(Letter.domain) == "example.org")).first()
            is not None
        )
