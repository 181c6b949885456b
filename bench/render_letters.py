"""Benchmark: letters rendered and serialised per second, beside a plain Jinja2 + EmailMessage loop.

The baseline, measured in the same run on the same recipients, renders the same English text
template with a plain (unsandboxed) Jinja2 Environment and builds an EmailMessage with only a
text part: what a minimal mail-merge does. `outreach` does more per letter (language choice,
forms of address, sandbox, an HTML part with inlined CSS, checked headers), so a ratio below 1
is expected; the figure to watch is letters per second.

    .venv/bin/python bench/render_letters.py [--letters 10000]
"""

from __future__ import annotations

import argparse
import time
from email.message import EmailMessage
from pathlib import Path

import jinja2

from outreach.config import Settings
from outreach.letter import Composer
from outreach.recipients.record import Gender, RecipientKind, RecipientRecord, Role

REPO = Path(__file__).resolve().parent.parent
LANGUAGES = [("en",), ("fr", "en"), ("de", "en"), ("es",), ("ru", "en")]


def recipients(count: int) -> list[RecipientRecord]:
    """Generated ambassadors and MEPs in five languages (example.org only)."""
    people = []
    for n in range(count):
        mep = n % 2 == 0
        people.append(
            RecipientRecord(
                key=f"gen-{n:06d}",
                kind=RecipientKind.MEP if mep else RecipientKind.EMBASSY,
                role=Role.MEP if mep else Role.AMBASSADOR,
                organisation="European Parliament" if mep else "Embassy of Exemplia in Armenia",
                tz="Europe/Brussels",
                courtesy_title="Ms" if n % 3 else "Mr",
                gender=Gender.F if n % 3 else Gender.M,
                given_name="Given",
                family_name=f"Family-{n}",
                city="Brussels" if mep else "Yerevan",
                email=f"person.{n}@example.org",
                languages=LANGUAGES[n % len(LANGUAGES)],
            )
        )
    return people


def baseline(people: list[RecipientRecord], composer: Composer) -> float:
    """Plain Jinja2 + EmailMessage, text part only; returns letters per second."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(composer.templates.root), autoescape=False
    )
    template = environment.get_template("en/body.txt.j2")
    filled = composer.fill_form(people[1], "en")
    started = time.perf_counter()
    for person in people:
        context = composer.context(person, "en", filled)
        message = EmailMessage()
        message["From"] = "Appeal <appeal@outreach.example.org>"
        message["To"] = f"{person.given_name} {person.family_name} <{person.email}>"
        message["Subject"] = composer.appeal.title["en"]
        message.set_content(template.render(context))
        message.as_bytes()
    return len(people) / (time.perf_counter() - started)


def ours(people: list[RecipientRecord], composer: Composer) -> float:
    """Composer.compose (the whole letter as stored at approval); returns letters per second."""
    started = time.perf_counter()
    for person in people:
        composer.compose(person)
    return len(people) / (time.perf_counter() - started)


def main() -> None:
    """Measure both and print them with their ratio."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--letters", type=int, default=10_000)
    args = parser.parse_args()
    settings = Settings(
        paths={"templates": str(REPO / "templates")},
        sender={"name": "Appeal", "address": "appeal@outreach.example.org"},
    )
    composer = Composer.load(settings)
    people = recipients(args.letters)
    composer.compose(people[0])  # compile the templates outside the timing
    base = baseline(people, composer)
    rate = ours(people, composer)
    print(f"{'measurement':<52} {'letters/s':>10}")
    print(f"{'baseline: plain Jinja2 + EmailMessage (text only)':<52} {base:>10,.0f}")
    print(f"{'outreach: choose, fill, render text+html, MIME':<52} {rate:>10,.0f}")
    print(f"ratio outreach / baseline: {rate / base:.2f} ({args.letters:,} letters)")


if __name__ == "__main__":
    main()
