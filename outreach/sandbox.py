"""The letter sandbox: Jinja2's immutable sandbox, with each loop, operator, call, filter and
test charged to the letter's budget (outreach/template_budget.py), so that no template can
exhaust the memory or the time of the machine (OWASP: server-side template injection, denial of
service)."""

from __future__ import annotations

import functools
import inspect
import re
import sys
import types
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame, optimizeconst
from jinja2.runtime import Context, LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
from jinja2.utils import generate_lorem_ipsum
from markupsafe import EscapeFormatter, Markup

from outreach.template_budget import Budget, active, weight
from outreach.template_sizes import (
    ESTIMATES,
    expect_method,
    expect_power,
    expect_product,
    printf_length,
)

# Values whose methods (str.center, str.ljust, int.to_bytes …) take sizes as arguments.
VALUES = (str, bytes, bytearray, int, float, list, tuple, dict, set, frozenset)
NUMBER = re.compile(r"\d+")
LIPSUM = inspect.signature(generate_lorem_ipsum)
HOOKS = frozenset({"guard_loop", "guard_operand"})  # what the generated code calls directly


class BoundedCodeGenerator(CodeGenerator):
    """Jinja2's code generator, with every loop, `~` and comparison calling the sandbox.

    Jinja2 runs loops, string concatenation and comparisons as plain Python, past every hook
    the sandbox has; the generated code calls one instead.
    """

    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        """Guard the iterable of every loop before the template is compiled."""
        for loop in node.find_all(nodes.For):
            assert isinstance(loop, nodes.For)
            loop.iter = guard(loop.iter, "guard_loop")
        super().visit_Template(node, frame)

    def visit_Call(self, node: nodes.Call, frame: Frame, forward_caller: bool = False) -> None:
        """A guard is `environment.<hook>(<expression>)`, called directly; other calls go
        through the sandbox's `call`, as in Jinja2."""
        if isinstance(node.node, nodes.EnvironmentAttribute) and node.node.name in HOOKS:
            self.write(f"environment.{node.node.name}(")
            self.visit(node.args[0], frame)
            self.write(")")
            return
        super().visit_Call(node, frame, forward_caller=forward_caller)

    @optimizeconst
    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        """`a ~ b`: each operand weighed before it becomes text, the result charged."""
        operands = [guard(item, "guard_operand") for item in node.nodes]
        self.write("environment.guard_value(")
        joined = nodes.Concat(operands, lineno=node.lineno, environment=node.environment)
        super().visit_Concat(joined, frame)
        self.write(")")

    @optimizeconst
    def visit_Compare(self, node: nodes.Compare, frame: Frame) -> None:
        """A comparison of long values takes time: check the clock after each."""
        self.write("environment.guard_value(")
        super().visit_Compare(node, frame)
        self.write(")")


def guard(node: nodes.Node, hook: str) -> nodes.Call:
    """`node`, passed through the sandbox's `hook` (Jinja2 allows no node types of our own;
    extensions call back into the environment this way)."""
    callee = nodes.EnvironmentAttribute(hook, lineno=node.lineno)
    return nodes.Call(callee, [node], [], None, None, lineno=node.lineno)


class Counted:
    """A loop's items, each charged as an iteration; a sized loop is charged before it starts,
    so that a loop longer than the budget fails at once, not after it has run for a while."""

    __slots__ = ("budget", "items", "sized")

    def __init__(self, items: Iterable[Any], budget: Budget) -> None:
        self.items = items
        self.budget = budget
        self.sized = hasattr(items, "__len__")
        if self.sized:
            budget.loop(len(items))  # type: ignore[arg-type]

    def __len__(self) -> int:
        if not self.sized:
            raise TypeError("no length")  # LoopContext then counts the items as they come
        return len(self.items)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[Any]:
        charge = self.budget.tick if self.sized else functools.partial(self.budget.loop, 1)
        for item in self.items:
            charge()
            yield item


class LetterSandbox(ImmutableSandboxedEnvironment):
    """The sandbox the letters are rendered in; its limits are those of the active budget."""

    code_generator_class = BoundedCodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(finalize=guard_output, **options)
        self.globals.update(range=bounded_range, lipsum=lipsum)
        self.filters = {
            name: bounded_filter(name, function, ESTIMATES.get(name))
            for name, function in self.filters.items()
        }
        self.tests = {
            name: ticking(function)  # type: ignore[arg-type]  # typeshed: tests are callables
            for name, function in self.tests.items()
        }

    def guard_loop(self, items: Iterable[Any]) -> Counted:
        """The iterable of a `for`, counted."""
        return Counted(items, active())

    def guard_operand(self, value: Any) -> Any:
        """An operand of `~`, refused if its text would be too long."""
        budget = active()
        budget.tick()
        budget.weigh(value, "`~`")
        return value

    def guard_value(self, value: Any) -> Any:
        """A value just made by `~` or a comparison, charged."""
        budget = active()
        budget.tick()
        return budget.built(value)

    def concat(self, parts: Iterable[str]) -> str:
        """The text of a block (`set`, `filter`, `call`, a macro), refused once too long."""
        budget = active()
        budget.tick()
        pieces: list[str] = []
        length = 0
        for piece in parts:
            length += len(piece)
            budget.expect(length, "a block")
            pieces.append(piece)
        return budget.built("".join(pieces))

    def getitem(self, obj: Any, argument: Any) -> Any:
        """`a[b]`; a slice is a new value, charged."""
        value = super().getitem(obj, argument)
        return active().built(value) if isinstance(argument, slice) else value

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        """`*`, `**`, `+` and `%`, refused before they make a value too long or a number too big."""
        budget = active()
        budget.tick()
        if operator == "*":
            expect_product(budget, left, right)
        elif operator == "**":
            expect_power(budget, left, right)
        elif operator == "+" and isinstance(left, str | list | tuple) and hasattr(right, "__len__"):
            budget.expect(len(left) + len(right), "`+`")
        elif operator == "%" and isinstance(left, str):
            budget.expect(printf_length(budget, left, right), "`%`")
        return budget.built(self.binop_table[operator](left, right))

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        """A call of a method, macro or global: its arguments weighed, sizes checked first."""
        budget = active()
        budget.tick()
        if isinstance(obj, LoopContext) and args:  # `loop(children)` in a recursive loop
            args = (self.guard_loop(args[0]), *args[1:])
        for value in (*args, *kwargs.values()):
            budget.weigh(value, "an argument")
        owner = getattr(obj, "__self__", None)
        if isinstance(owner, VALUES):
            expect_method(budget, owner, getattr(obj, "__name__", "?"), args, kwargs)
        return budget.built(super().call(context, obj, *args, **kwargs))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """`str.format` and `str.format_map`, through a formatter that counts what it makes."""
        if not (
            isinstance(value, types.MethodType | types.BuiltinMethodType)
            and value.__name__ in ("format", "format_map")
            and isinstance(value.__self__, str)
        ):
            return None
        text: str = value.__self__
        is_map = value.__name__ == "format_map"

        def bounded_format(*args: Any, **kwargs: Any) -> str:
            if is_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                mapping = args[0]
                args, kwargs = (), mapping
            formatter: BoundedFormatter = (
                BoundedEscapeFormatter(self, escape=text.escape)
                if isinstance(text, Markup)
                else BoundedFormatter(self)
            )
            return type(text)(formatter.vformat(text, args, kwargs))

        return functools.update_wrapper(bounded_format, value)


class BoundedFormatter(SandboxedFormatter):
    """The sandbox's `str.format`, refusing fields and results longer than a value may be."""

    def __init__(self, env: LetterSandbox, **options: Any) -> None:
        super().__init__(env, **options)
        self.budget = active()
        self.length = 0

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> tuple[Any, str]:
        """The field's value, weighed before `!r` or `!s` makes it text."""
        value, first = super().get_field(field_name, args, kwargs)
        self.budget.weigh(value, "`.format()`")
        return value, first

    def format_field(self, value: Any, format_spec: str) -> Any:
        """One field, refused when the width it asks for would make the result too long."""
        width = max((int(number) for number in NUMBER.findall(format_spec)), default=0)
        self.length += weight(value, self.budget.limits.value_length) + width
        self.budget.expect(self.length, "`.format()`")
        return super().format_field(value, format_spec)


class BoundedEscapeFormatter(BoundedFormatter, EscapeFormatter):
    """The same, for `Markup.format`, which escapes its fields."""


def guard_output(value: Any) -> Any:
    """Every `{{ … }}` (Jinja2's `finalize`): refused if its text would be too long.

    Most are strings, made already and charged when they were: those pass at once.
    """
    if not isinstance(value, str):
        budget = active()
        budget.tick()
        budget.weigh(value, "`{{ … }}`")
    return value


def bounded_range(*args: int) -> range:
    """`range()`, refused above TemplateLimits.range_items items."""
    budget = active()
    budget.tick()
    items = range(*args)
    try:
        length = len(items)
    except OverflowError:  # more items than a machine word counts
        budget.refuse("range_items", f"`range()` of more than {sys.maxsize:,} items")
    if length > budget.limits.range_items:
        budget.refuse("range_items", f"`range()` of {length:,} items")
    return items


def lipsum(*args: Any, **kwargs: Any) -> str:
    """Jinja2's `lipsum()`, refused when its words would be too long."""
    budget = active()
    budget.tick()
    bound = LIPSUM.bind(*args, **kwargs)
    bound.apply_defaults()
    words = int(bound.arguments["n"]) * int(bound.arguments["max"])
    budget.expect(words * 12, "`lipsum()`")  # a word and its space: at most 12 characters
    return budget.built(generate_lorem_ipsum(*bound.args, **bound.kwargs))


def ticking(function: Callable[..., Any]) -> Callable[..., Any]:
    """A test (`is …`), with the clock checked."""

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        active().tick()
        return function(*args, **kwargs)

    return run


def bounded_filter(
    name: str, function: Callable[..., Any], estimate: Callable[..., Any] | None
) -> Callable[..., Any]:
    """A filter with its arguments weighed, its result estimated first and charged after.

    `functools.wraps` keeps Jinja2's `jinja_pass_arg` mark, which makes Jinja2 pass a context,
    eval context or environment first; those are skipped.
    """
    lead = 0 if getattr(function, "jinja_pass_arg", None) is None else 1

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        budget = active()
        budget.tick()
        head, value, params = args[:lead], args[lead], args[lead + 1 :]
        for item in (value, *params, *kwargs.values()):
            budget.weigh(item, f"`|{name}`")
        if estimate is not None:
            value = estimate(budget, value, *params, **kwargs)
        return budget.built(function(*head, value, *params, **kwargs))

    return run
