"""Test data written straight to the database: campaigns and letters without rendering."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from outreach.models import Campaign, CampaignState, Letter, LetterState
from outreach.suppression import address_hash

T0 = dt.datetime(2026, 2, 10, 8, 0, tzinfo=dt.UTC)


def campaign(
    engine: Engine, name: str = "test", state: CampaignState = CampaignState.APPROVED
) -> int:
    """A campaign row; returns its id."""
    with engine.begin() as connection:
        return int(
            connection.execute(
                sa.insert(Campaign).returning(Campaign.__table__.c.id),  # type: ignore[attr-defined]
                {
                    "name": name,
                    "appeal_slug": "nk-appeal-2023-03-07",
                    "segment": "",
                    "window": "Mon-Sun 00:00-24:00",
                    "state": state,
                    "consecutive_failures": 0,
                    "created_at": T0,
                    "created_by": "test",
                },
            ).scalar_one()
        )


def letters(
    engine: Engine,
    campaign_id: int | None,
    count: int,
    *,
    due: dt.datetime = T0,
    domains: tuple[str, ...] = ("example.org",),
    mime: bytes | None = None,
    prefix: str = "r",
    to: tuple[str, ...] = (),
    recipient: tuple[int, str] | None = None,
    state: LetterState = LetterState.QUEUED,
) -> list[int]:
    """`count` letters due at `due` in `state`, to person.N@<domain> or to the addresses `to`
    (of the recipient (id, key) if given); returns their ids."""
    rows = []
    for n in range(count):
        address = to[n % len(to)] if to else f"person.{prefix}{n}@{domains[n % len(domains)]}"
        message_id = f"<{prefix}{campaign_id}-{n}@outreach.example.org>"
        rows.append(
            {
                "campaign_id": campaign_id,
                "appeal_slug": "nk-appeal-2023-03-07",
                "recipient_id": recipient[0] if recipient else None,
                "recipient_key": recipient[1] if recipient else f"{prefix}-{n}",
                "to_address": address,
                "address_hash": address_hash(address),
                "domain": address.rpartition("@")[2],
                "language": "en",
                "subject": "Appeal",
                "demand_keys": "",
                "token": f"{prefix}{campaign_id}t{n}"[:16],
                "message_id": message_id,
                "mime": mime
                if mime is not None
                else (
                    f"From: appeal@outreach.example.org\r\nTo: {address}\r\n"
                    f"Message-ID: {message_id}\r\nSubject: Appeal\r\n\r\nBody {n}\r\n"
                ).encode(),
                "state": state,
                "send_after": due,
                "due_at": due,
                "created_at": due,
                "updated_at": due,
            }
        )
    table = Letter.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        for start in range(0, len(rows), 500):
            connection.execute(table.insert(), rows[start : start + 500])
        return [
            row.id
            for row in connection.execute(
                sa.select(table.c.id)
                .where(
                    table.c.campaign_id == campaign_id
                    if campaign_id is not None
                    else table.c.campaign_id.is_(None)
                )
                .order_by(table.c.id)
            )
        ][-count:]
