"""How surely a matched message is about its letter: verified, or a suggestion for a person.

Evidence before effect. Anyone can write to our address, put a recipient's address in a
delivery report or in From, or copy a Message-ID they were shown, so a match takes effect by
itself only when two facts agree that one stranger cannot both supply:
- our secret ties the message to the letter: its token (VERP / plus address, RFC 5233), or its
  Message-ID in In-Reply-To/References or in the returned original;
- and the address the message speaks for is the letter's own: a bounce names the address the
  letter went to (Final-/Original-Recipient, RFC 3464 §2.3, or the address a notice names); a
  reply or automatic answer comes From that address, or from one that `[inbox]
  trusted_domains` says speaks for the same institution.
Everything else is kept and matched FOR_REVIEW with the reason in words, and has no effect
until a person confirms it (outreach.inbox.manual). From is the author (RFC 5322 §3.6.2);
Sender and Return-Path are not read: a sender can write them as freely, and mailing services
and forwarders (SRS) change them for genuine mail. DMARC, when a trusted receiving server
checked it (outreach.inbox.authresults), is the one check of From that a stranger cannot write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from sqlmodel import Session, select

from outreach.addresses import address_key
from outreach.config import InboxSettings
from outreach.errors import InputError
from outreach.inbox.authresults import Dmarc, dmarc_result
from outreach.inbox.bounce import BounceFacts
from outreach.inbox.classify import Classification, InboundKind
from outreach.inbox.match import Match
from outreach.models import Letter, MatchMethod, MatchStrength
from outreach.suppression import address_hash

__all__ = ["Verdict", "weigh"]

# What ties the message to the letter, in the words the reason shows.
IDENTIFIED_BY = {
    MatchMethod.TOKEN: "our token",
    MatchMethod.IN_REPLY_TO: "the letter's Message-ID in In-Reply-To/References",
    MatchMethod.ORIGINAL: "the returned original of our letter",
}


@dataclass(frozen=True, slots=True)
class Verdict:
    """A strength and why, in words staff read in `replies show` and on the reply page."""

    strength: MatchStrength
    why: str


def review(why: str) -> Verdict:
    """A suggestion: no effect until a person confirms it."""
    return Verdict(MatchStrength.FOR_REVIEW, why)


def weigh(session: Session, message: Classification, match: Match, inbox: InboxSettings) -> Match:
    """The match with its strength and why (an unmatched message is returned as it is)."""
    if match.letter_id is None or match.method is None:
        return match
    letter = session.get(Letter, match.letter_id)
    assert letter is not None
    if message.kind is InboundKind.BOUNCE and message.bounce is not None:
        verdict = weigh_bounce(session, message.bounce, letter, match.method)
    else:
        verdict = weigh_sender(message, letter, match.method, inbox)
    return replace(match, strength=verdict.strength, why=verdict.why[:1000])


def same_address(address: str, letter: Letter) -> bool:
    """Whether `address` is the one the letter went to, compared as suppression compares."""
    try:
        return address_hash(address) == letter.address_hash
    except InputError:  # not an address anyone could have written to
        return False


def shown(letter: Letter) -> str:
    """The letter's address for a reason, or that it was erased."""
    return letter.to_address or "(erased)"


def weigh_bounce(
    session: Session, facts: BounceFacts, letter: Letter, method: MatchMethod
) -> Verdict:
    """Verified when our token or Message-ID names the letter and the report its address."""
    named = list(facts.addresses)
    if method not in IDENTIFIED_BY:
        return review(
            f"the report names {shown(letter)} but carries no token or Message-ID of our "
            "letter: anyone can send such a report"
        )
    if not named:
        return review("the report names no failed address")
    if not any(same_address(address, letter) for address in named):
        listed = ", ".join(named[:3]) + (" ..." if len(named) > 3 else "")
        return review(f"bounce names another address: {listed}, not {shown(letter)}")
    returned = returned_letter(session, facts)
    if returned is not None and returned != letter.id:
        return review(f"the returned original is letter {returned}, not letter {letter.id}")
    return Verdict(
        MatchStrength.VERIFIED, f"{IDENTIFIED_BY[method]}, and the report names its address"
    )


def returned_letter(session: Session, facts: BounceFacts) -> int | None:
    """The letter a bounce's returned original identifies (Message-ID, else X-Outreach-Ref)."""
    if facts.original_message_id:
        found = session.exec(
            select(Letter.id).where(Letter.message_id == facts.original_message_id)
        ).first()
        if found is not None:
            return found
    if facts.original_ref:
        return session.exec(
            select(Letter.id).where(Letter.token == facts.original_ref.lower())
        ).first()
    return None


def trusted_for(letter: Letter, trusted: Mapping[str, Sequence[str]]) -> list[str]:
    """The domains and addresses configured to answer for the letter's address or domain."""
    try:
        written_to = address_key(letter.to_address) if letter.to_address else ""
    except InputError:
        written_to = ""
    domain = written_to.rpartition("@")[2] or letter.domain.lower()
    return [*trusted.get(written_to, ()), *trusted.get(domain, ())]


def speaks_for(author: str, letter: Letter, trusted: Mapping[str, Sequence[str]]) -> str | None:
    """How `author` speaks for the letter's recipient (None: it does not)."""
    if same_address(author, letter):
        return "from the recipient's address"
    try:
        key = address_key(author)
    except InputError:
        return None
    entries = trusted_for(letter, trusted)
    domain = key.rpartition("@")[2]
    if key in entries:
        return f"from {author}, trusted to answer for {shown(letter)}"
    if domain in entries:
        return f"from {domain}, trusted to answer for {shown(letter)}"
    return None


def weigh_sender(
    message: Classification, letter: Letter, method: MatchMethod, inbox: InboxSettings
) -> Verdict:
    """Verified when our token or Message-ID names the letter and its recipient wrote it."""
    authors = message.authors
    if not authors:
        return review("the message has no From address")
    ways = [speaks_for(author, letter, inbox.trusted_domains) for author in authors]
    strangers = [author for author, way in zip(authors, ways, strict=True) if way is None]
    if strangers:
        return review(f"sender {strangers[0]} differs from the recipient {shown(letter)}")
    domain = authors[0].rpartition("@")[2].lower()
    dmarc = dmarc_result(message.auth_results, inbox.trusted_authserv_id, domain)
    server = inbox.trusted_authserv_id
    if dmarc is Dmarc.FAIL:
        return review(f"DMARC fail for {domain} at {server}: the From address may be forged")
    way = ways[0] or ""
    if method not in IDENTIFIED_BY:
        if dmarc is Dmarc.PASS:
            return Verdict(
                MatchStrength.VERIFIED,
                f"{way}, DMARC pass at {server} (the latest letter to them: no token)",
            )
        return review(
            "matched by the sender's address only: no token or Message-ID of our letter, "
            "and From alone can be forged"
        )
    passed = f", DMARC pass at {server}" if dmarc is Dmarc.PASS else ""
    return Verdict(MatchStrength.VERIFIED, f"{IDENTIFIED_BY[method]}, {way}{passed}")
