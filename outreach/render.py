"""Rendering letter templates: a Jinja2 sandbox that fails loudly and bounds its output."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import css_inline
import jinja2
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from outreach.errors import LetterError

PARTS = ("subject.txt.j2", "body.txt.j2", "body.html.j2")
# The largest string or list a template may build with `*`: generous for a letter, far below
# what would exhaust memory (the sandbox bounds `range` but not multiplication).
MAX_PRODUCT = 100_000

# Inline the <style> block into style attributes (many mail clients drop <style>); keep @media
# rules for printing; never fetch anything over the network.
INLINER = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


class LetterSandbox(SandboxedEnvironment):
    """The sandbox, plus a bound on `*` and `**`, which it does not limit by itself."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: jinja2.runtime.Context, op: str, left: Any, right: Any) -> Any:
        """Refuse products and powers whose result would be huge."""
        if op == "**" and isinstance(right, int) and abs(right) > 64:
            raise SecurityError(f"the exponent {right} is too large for a letter")
        if op == "*":
            for sequence, count in ((left, right), (right, left)):
                repeats = isinstance(sequence, str | list | tuple) and isinstance(count, int)
                if repeats and len(sequence) * count > MAX_PRODUCT:
                    raise SecurityError(f"a repetition of {count} is too large for a letter")
        return operator.mul(left, right) if op == "*" else operator.pow(left, right)


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

    def __init__(self, folder: Path, *, max_bytes: int, kind: str = "letter") -> None:
        self.root = folder / kind
        self.max_bytes = max_bytes
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
        """Render subject, text and HTML; any failure is a LetterError naming template and line."""
        budget = [self.max_bytes]
        subject = self.render_one(f"{language}/subject.txt.j2", context, budget)
        text = self.render_one(f"{language}/body.txt.j2", context, budget)
        html = self.render_one(f"{language}/body.html.j2", context, budget)
        return RenderedParts(subject=" ".join(subject.split()), text=text, html=inline_css(html))

    def render_one(self, name: str, context: dict[str, Any], budget: list[int]) -> str:
        """Render one template, streaming, and stop as soon as the size budget is spent."""
        parts: list[str] = []
        try:
            template = self.environment.get_template(name)
            for chunk in template.generate(context):
                budget[0] -= len(chunk.encode("utf-8"))
                if budget[0] < 0:
                    raise LetterError(
                        f"{self.root / name}: the letter is larger than letters.max_bytes "
                        f"({self.max_bytes} bytes): check the template for a runaway loop"
                    )
                parts.append(chunk)
        except LetterError:
            raise
        except TemplateSyntaxError as exc:
            raise LetterError(
                f"{self.root / name}:{exc.lineno}: syntax error: {exc.message}"
            ) from None
        except UndefinedError as exc:
            line = template_line(exc.__traceback__, name)
            raise LetterError(
                f"{self.root / name}:{line}: {exc.message}: the template uses a variable the "
                "letter does not provide (see templates/README.md for the variables)"
            ) from None
        except SecurityError as exc:
            line = template_line(exc.__traceback__, name)
            raise LetterError(f"{self.root / name}:{line}: refused by the sandbox: {exc}") from None
        except jinja2.TemplateNotFound:
            raise LetterError(f"{self.root / name}: no such template") from None
        except (jinja2.TemplateError, TypeError, ValueError, ArithmeticError) as exc:
            line = template_line(exc.__traceback__, name)
            raise LetterError(f"{self.root / name}:{line}: {type(exc).__name__}: {exc}") from None
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
