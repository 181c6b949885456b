"""Hostile letter templates (issue 14) and a small project to try them in, through each path that
renders a letter: the CLI, the web preview and the follow-up planner, and a child process whose
time and peak memory are measured."""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from outreach.cli import cli
from tests.followup_scene import recipients_file

REPO = Path(__file__).resolve().parent.parent
SLUG = "nk-appeal-2023-03-07"
KEY = "emb-nl-be"  # an ambassador written to in English (tests/followup_scene.py)
LINE = 2  # the line of the template each payload is planted on
DOCS = 'see "Template limits" in docs/appeals.md'


@dataclass(frozen=True)
class Payload:
    """A template line an attacker (or a slip of the keyboard) could write, and the limit that
    must stop it."""

    template: str
    limit: str  # the field of outreach.template_budget.TemplateLimits the error names


PAYLOADS = {
    "nested-loops": Payload(
        "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
        "iterations",
    ),
    "nested-loops-without-output": Payload(
        "{% for i in range(100000) %}{% for j in range(100000) %}{% set a = 1 %}{% endfor %}"
        "{% endfor %}",
        "iterations",
    ),
    "center": Payload("{{ 'x'|center(400000000) }}", "value_length"),
    "power-tower": Payload("{{ 9**9**9**9 }}", "number_bits"),
    "power-tower-deep": Payload("{{ 9**9**9**9**9**9**9**9**9 }}", "number_bits"),
    "multiply": Payload("{{ 'x' * 400000000 }}", "value_length"),
    "ljust": Payload("{{ 'x'.ljust(400000000) }}", "value_length"),
    "replace": Payload(
        "{{ 'x'|replace('x', 'y' * 100000)|replace('y', 'z' * 100000) }}", "value_length"
    ),
    "format-filter": Payload("{{ '%400000000s'|format('x') }}", "value_length"),
    "format-method": Payload("{{ '{:400000000}'.format('x') }}", "value_length"),
    "concatenation": Payload(
        "{% set ns = namespace(s='x' * 100000) %}{% for i in range(30) %}"
        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
        "value_length",
    ),
}


def plant(templates: Path, text: str, kind: str = "letter") -> Path:
    """Put `text` on line 2 of the English body template of `kind` ("letter" or "followup")."""
    path = templates / SLUG / kind / "en" / "body.txt.j2"
    path.write_text("{{ salutation }}\n" + text + "\n", encoding="utf-8")
    return path


def expected(path: Path, payload: Payload) -> tuple[str, str]:
    """What the error must say: where (template and line), and which limit."""
    return f"{path}:{LINE}: ", f"({payload.limit}; {DOCS})"


def flat(text: str) -> str:
    """Text with each run of white space made one space (the terminal output wraps lines)."""
    return " ".join(text.split())


def run(project: Path, *args: str) -> Result:
    """`outreach --config PROJECT/outreach.toml ARGS…`, in this process; a traceback fails."""
    config = str(project / "outreach.toml")
    return CliRunner().invoke(cli, ["--config", config, *args], catch_exceptions=False)


def build_project(folder: Path) -> Path:
    """A project with its own templates, three English ambassadors and a draft campaign
    `spring` with one follow-up: what the CLI and the web read, copied for each test."""
    folder.mkdir(parents=True)
    shutil.copytree(REPO / "templates", folder / "templates")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        for name in list(os.environ):
            if name.startswith("OUTREACH_") and name != "OUTREACH_TEST_PG":
                patch.delenv(name)
        assert run(folder, "init", "--templates", "templates").exit_code == 0
        config = folder / "outreach.toml"
        # `init` writes the templates folder as an absolute path; the copies need their own.
        text = re.sub(r'(?m)^templates = ".*"$', 'templates = "templates"', config.read_text())
        config.write_text(text, encoding="utf-8")
        assert run(folder, "recipients", "import", str(recipients_file(folder))).exit_code == 0
        created = run(folder, "campaign", "create", "spring", "--followup-after", "10 working days")
        assert created.exit_code == 0, created.output
    return folder


@dataclass(frozen=True)
class Measured:
    """How a child process ended: its output, wall-clock seconds and peak resident memory."""

    output: str
    seconds: float
    peak_mb: float
    killed: bool


CHILD = """
import sys
from outreach.config import Settings
from outreach.errors import OutreachError
from outreach.letter import Composer
from outreach.recipients.record import Gender, RecipientKind, RecipientRecord, Role

templates = sys.argv[1]
settings = Settings(
    paths={"templates": templates},
    sender={"name": "Appeal", "address": "appeal@outreach.example.org", "organisation": "HCA"},
)
recipient = RecipientRecord(
    key="emb-nl-be", kind=RecipientKind.EMBASSY, role=Role.AMBASSADOR,
    organisation="Embassy of the Netherlands in Belgium", tz="Europe/Brussels",
    courtesy_title="Ms", gender=Gender.F, given_name="Anna", family_name="Voorbeeld",
    country="NL", host_country="BE", city="Brussels", email="ambassador.nl-be@example.org",
    languages=("en",),
)
try:
    Composer.load(settings).compose(recipient)
except OutreachError as error:
    print(error)
else:
    print("rendered")
# The peak of this program's own memory: VmHWM starts again at exec, while wait4's ru_maxrss
# keeps the high-water mark of the (large) test process this child was forked from.
with open("/proc/self/status") as status:
    print("peak-kib", status.read().split("VmHWM:")[1].split()[0])
"""
TIMEOUT = 30.0  # a child still rendering by then is killed: the attack worked
ADDRESS_SPACE = 2 << 30  # the child may map 2 GiB at most, so that an attack cannot harm the host


def _confine() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def measure_render(templates: Path) -> Measured:
    """Compose the English letter from `templates` in a child; its own rusage, from wait4."""
    started = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(templates)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=_confine,
        cwd=REPO,
    )
    timer = threading.Timer(TIMEOUT, child.kill)
    timer.start()
    try:
        _, status, usage = os.wait4(child.pid, 0)
    finally:
        timer.cancel()
    seconds = time.monotonic() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    assert child.stdout is not None
    output = child.stdout.read().decode("utf-8", "replace")
    child.stdout.close()
    killed = os.WIFSIGNALED(status)
    peak = re.search(r"^peak-kib (\d+)$", output, re.MULTILINE)
    if peak is None:  # killed, or died before the end: the mark of the whole process
        return Measured(output, seconds, usage.ru_maxrss / 1024, killed)  # KiB on Linux
    return Measured(output[: peak.start()], seconds, int(peak[1]) / 1024, killed)
