"""Rendering letter templates: a bounded Jinja2 sandbox whose every failure names the template."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import css_inline
import jinja2
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError

from outreach.errors import LetterError, TemplateLimitError
from outreach.sandbox import LetterSandbox
from outreach.template_budget import Budget, LimitExceeded, TemplateLimits, spending

PARTS = ("subject.txt.j2", "body.txt.j2", "body.html.j2")
LIMITS = TemplateLimits()  # the limits of every letter, documented in docs/appeals.md
# What a template's own mistakes mean, for the message that replaces the traceback.
HINTS = {
    KeyError: "the template looks up a key that is not there",
    IndexError: "the template looks up an item past the end of a list",
    ZeroDivisionError: "the template divides by zero",
    TypeError: "the template combines values of the wrong kinds",
    ValueError: "the template converts a value that does not fit",
}

# Inline the <style> block into style attributes (many mail clients drop <style>); keep @media
# rules for printing; never fetch anything over the network.
INLINER = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


@dataclass(frozen=True, slots=True)
class RenderedParts:
    """The three rendered parts of a letter, the HTML with its CSS inlined."""

    subject: str
    text: str
    html: str


class LetterTemplates:
    """The templates of one appeal folder: `<kind>/<language>/{subject,body}.*.j2`.

    `kind` is "letter" for the first letter, or a follow-up step's folder (e.g. "followup").
    """

    def __init__(
        self,
        folder: Path,
        *,
        max_bytes: int,
        kind: str = "letter",
        limits: TemplateLimits = LIMITS,
    ) -> None:
        self.root = folder / kind
        self.max_bytes = max_bytes
        self.limits = limits.for_letters(max_bytes)
        # A template that ran out of time for one letter would for the next: `check` and
        # approval then say so at once for every recipient instead of waiting each time.
        self.timed_out: TemplateLimitError | None = None
        self.environment = LetterSandbox(
            loader=jinja2.FileSystemLoader(self.root),
            undefined=jinja2.StrictUndefined,
            autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            auto_reload=False,
        )

    def languages(self) -> set[str]:
        """The languages that have all three templates."""
        if not self.root.is_dir():
            return set()
        return {
            folder.name
            for folder in self.root.iterdir()
            if all((folder / part).is_file() for part in PARTS)
        }

    def render(self, language: str, context: dict[str, Any]) -> RenderedParts:
        """Render subject, text and HTML within one budget; any failure is a LetterError naming
        the template and the line (a TemplateLimitError when a limit was reached)."""
        if self.timed_out is not None:
            raise self.timed_out
        budget = [self.max_bytes]
        with spending(Budget(self.limits)):
            subject = self.render_one(f"{language}/subject.txt.j2", context, budget)
            text = self.render_one(f"{language}/body.txt.j2", context, budget)
            html = self.render_one(f"{language}/body.html.j2", context, budget)
        return RenderedParts(subject=" ".join(subject.split()), text=text, html=inline_css(html))

    def render_one(self, name: str, context: dict[str, Any], budget: list[int]) -> str:
        """Render one template, streaming, and stop as soon as the size budget is spent."""
        parts: list[str] = []
        where = self.root / name
        try:
            template = self.environment.get_template(name)
            for chunk in template.generate(context):
                budget[0] -= len(chunk.encode("utf-8"))
                if budget[0] < 0:
                    raise LetterError(
                        f"{where}: the letter is larger than letters.max_bytes "
                        f"({self.max_bytes} bytes): check the template for a runaway loop"
                    )
                parts.append(chunk)
        except LetterError:
            raise
        except TemplateSyntaxError as exc:
            raise LetterError(f"{where}:{exc.lineno}: syntax error: {exc.message}") from None
        except UndefinedError as exc:
            line = template_line(exc.__traceback__, name)
            raise LetterError(
                f"{where}:{line}: {exc.message}: the template uses a variable the "
                "letter does not provide (see templates/README.md for the variables)"
            ) from None
        except LimitExceeded as exc:
            line = template_line(exc.__traceback__, name)
            error = TemplateLimitError(
                f"{where}:{line}: {exc}", template=str(where), line=line, limit=exc.limit
            )
            if exc.limit == "seconds":
                self.timed_out = error
            raise error from None
        except SecurityError as exc:
            line = template_line(exc.__traceback__, name)
            raise LetterError(f"{where}:{line}: refused by the sandbox: {exc}") from None
        except jinja2.TemplateNotFound as exc:
            missing = "" if exc.name == name else f" {exc.name}"
            raise LetterError(f"{where}: no such template{missing}") from None
        except RecursionError as exc:
            line = template_line(exc.__traceback__, name)
            raise LetterError(
                f"{where}:{line}: the template calls itself without end (a macro, an include or "
                "a recursive loop)"
            ) from None
        except Exception as exc:  # a template's own mistake is a message, never a traceback
            line = template_line(exc.__traceback__, name)
            hint = next((text for kind, text in HINTS.items() if isinstance(exc, kind)), None)
            raise LetterError(
                f"{where}:{line}: {type(exc).__name__}: {exc}" + (f" ({hint})" if hint else "")
            ) from None
        return "".join(parts)


def template_line(trace: TracebackType | None, name: str) -> int | str:
    """The template line of an error: Jinja2 rewrites tracebacks to point at template lines."""
    line: int | str = "?"
    while trace is not None:
        if trace.tb_frame.f_code.co_filename.endswith(name):
            line = trace.tb_lineno
        trace = trace.tb_next
    return line


def inline_css(html: str) -> str:
    """Move the <style> rules into style attributes, as mail clients expect."""
    return INLINER.inline(html)
