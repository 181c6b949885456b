"""How long, or how big, what a template asks for would be, estimated before it is made: the
sizes behind `*`, `**`, `%`, the filters that multiply text and the methods that pad it."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from jinja2.exceptions import SecurityError

from outreach.template_budget import Budget, weight

# printf-style conversions (the `%` operator and the `format` filter), after the Python docs.
PRINTF = re.compile(
    r"%(?:\((?P<key>[^)]*)\))?[#0 +-]*(?P<width>\*|\d+)?(?:\.(?P<precision>\*|\d+))?"
    r"[hlL]?(?P<kind>.)",
    re.DOTALL,
)


def expect_product(budget: Budget, left: Any, right: Any) -> None:
    """`*`: a repetition no longer than a value may be, a product no bigger than a number."""
    for sequence, count in ((left, right), (right, left)):
        if isinstance(sequence, str | bytes | list | tuple) and isinstance(count, int):
            budget.expect(len(sequence) * max(count, 0), "`*`")
    if isinstance(left, int) and isinstance(right, int):
        expect_bits(budget, left.bit_length() + right.bit_length() - 1, "`*`")


def expect_power(budget: Budget, base: Any, exponent: Any) -> None:
    """`**`: refused before it computes a number far bigger than a number may be."""
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        # |base| ** exponent has floor(exponent * log2|base|) + 1 bits; the float is close
        # enough for a refusal, and the result's exact size is checked after (Budget.built).
        expect_bits(budget, int(exponent * math.log2(abs(base))), "`**`")


def expect_bits(budget: Budget, bits: int, what: str) -> None:
    """Refuse an operation whose result has at least `bits` bits, when that is too many."""
    if bits > budget.limits.number_bits:
        budget.refuse("number_bits", f"{what} would make a number of about {bits:,} bits")


def expect_method(
    budget: Budget, owner: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    """A method of a str, number or list: its sizes (`'x'.ljust(n)`) checked before it runs."""
    what = f"`.{name}()`"
    for value in (*args, *kwargs.values()):
        if isinstance(value, int):  # ljust, rjust, center, zfill, expandtabs, to_bytes …
            budget.expect(value, what)
    if not isinstance(owner, str | bytes):
        return
    if name == "replace" and len(args) >= 2:
        budget.expect(replaced_length(owner, args[0], args[1], *args[2:3]), what)
    elif name == "expandtabs":
        size = (args or (kwargs.get("tabsize", 8),))[0]
        budget.expect(len(owner) + owner.count(type(owner)("\t")) * int(size), what)  # type: ignore[arg-type]
    elif name == "translate" and args and isinstance(args[0], Mapping):
        cap = budget.limits.value_length
        longest = max((weight(item, cap) for item in args[0].values()), default=1)
        budget.expect(len(owner) * longest, what)


def replaced_length(text: Any, old: Any, new: Any, count: Any = None) -> int:
    """The length of `text.replace(old, new, count)`, counted without making it."""
    text, old, new = str(text), str(old), str(new)
    found = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * (len(new) - len(old))


def printf_length(budget: Budget, template: str, values: Any) -> int:
    """An upper bound of the length of `template % values`, counted without making it."""
    positional = values if isinstance(values, tuple) else (values,)
    length, position = len(template), 0
    for match in PRINTF.finditer(template):
        if match["kind"] == "%":
            continue
        if "*" in (match["width"], match["precision"]):
            raise SecurityError("a width or precision given by `*` (write the number instead)")
        if match["key"] is not None and isinstance(values, Mapping):
            value = values.get(match["key"])
        else:
            value = positional[position] if position < len(positional) else None
            position += 1
        length += int(match["width"] or 0) + int(match["precision"] or 0)
        length += weight(value, budget.limits.value_length)
        if length > budget.limits.value_length:
            break
    return length


# Estimates of the filters that can make a value far longer than their input, by the
# arguments they asked for; each takes the filter's own parameters and returns its value.
def _center(budget: Budget, value: Any, width: Any = 80) -> Any:
    budget.expect(max(len(str(value)), int(width)), "`|center`")
    return value


def _indent(budget: Budget, value: Any, width: Any = 4, *_: Any, **__: Any) -> Any:
    text = str(value)
    per_line = len(width) if isinstance(width, str) else int(width)
    budget.expect(len(text) + (text.count("\n") + 1) * per_line, "`|indent`")
    return value


def _replace(budget: Budget, value: Any, old: Any, new: Any, count: Any = None) -> Any:
    budget.expect(replaced_length(value, old, new, count), "`|replace`")
    return value


def _wordwrap(
    budget: Budget, value: Any, width: Any = 79, _: Any = True, wrapstring: Any = None, **__: Any
) -> Any:
    text = str(value)
    lines = len(text) // max(int(width), 1) + sum(text.count(space) for space in " \t\n") + 1
    budget.expect(len(text) + lines * len(str(wrapstring or "\n")), "`|wordwrap`")
    return value


def _format(budget: Budget, value: Any, *args: Any, **kwargs: Any) -> Any:
    budget.expect(printf_length(budget, str(value), kwargs or args), "`|format`")
    return value


def _join(budget: Budget, value: Any, d: Any = "", attribute: Any = None) -> Any:
    between = len(str(d))

    def weighed() -> Iterator[Any]:
        length = 0
        for item in value:
            length += weight(item, budget.limits.value_length) + between
            budget.expect(length, "`|join`")
            yield item

    return weighed()


def _batch(budget: Budget, value: Any, linecount: Any, fill_with: Any = None) -> Any:
    budget.expect(int(linecount), "`|batch`")
    return value


def _slice(budget: Budget, value: Any, slices: Any, fill_with: Any = None) -> Any:
    budget.expect(int(slices), "`|slice`")
    return value


def _sum(budget: Budget, value: Any, attribute: Any = None, start: Any = 0) -> Any:
    if not isinstance(start, int | float):  # adding up lists is quadratic: numbers only
        raise SecurityError("the sum filter adds numbers only")
    return value


ESTIMATES: dict[str, Callable[..., Any]] = {
    "center": _center,
    "indent": _indent,
    "replace": _replace,
    "wordwrap": _wordwrap,
    "format": _format,
    "join": _join,
    "batch": _batch,
    "slice": _slice,
    "sum": _sum,
}
