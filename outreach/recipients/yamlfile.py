"""The YAML recipient format: a list of mappings, or a mapping with a `recipients:` list.

It streams: the parser is driven event by event and only one recipient's nodes are composed
at a time, so memory stays flat however long the list is (anchors aside, which YAML keeps for
the whole document).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import yaml

from outreach.errors import Problem, RecipientError

Value = str | list["Value"] | dict[str, "Value"] | None

_NULL_TAG = "tag:yaml.org,2002:null"
_SHAPE = 'write a list of recipients ("- key: ...") or a mapping with a "recipients:" list'


def read_yaml(path: Path) -> Iterator[tuple[int, dict[str, Value]]]:
    """Yield (line of the item, its fields) for each recipient of the YAML file `path`.

    Scalars come back as the text written in the file (None for an empty value), never as
    YAML 1.1 booleans or numbers: `country: NO` is Norway, not False. Raises RecipientError
    for malformed YAML or a file of another shape, naming the file and line.
    """
    source = str(path)
    with path.open("rb") as stream:
        # SafeLoader only: it builds no Python objects from tags, whatever the file says.
        loader = yaml.SafeLoader(stream)
        try:
            yield from _items(loader, source)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else None
            raise _shape_error(source, line, f"not valid YAML: {exc.problem or exc}") from exc
        except yaml.YAMLError as exc:  # e.g. bytes that are not UTF-8 (no line known)
            raise _shape_error(source, None, f"not valid YAML: {exc}") from exc
        finally:
            loader.dispose()


def _items(loader: yaml.SafeLoader, source: str) -> Iterator[tuple[int, dict[str, Value]]]:
    """Walk the top level of the single document and yield each recipient mapping."""
    _next(loader)  # StreamStart
    if loader.check_event(yaml.StreamEndEvent):
        raise _shape_error(source, None, f"the file is empty: {_SHAPE}")
    _next(loader)  # DocumentStart
    if loader.check_event(yaml.SequenceStartEvent):
        yield from _sequence(loader, source)
    elif loader.check_event(yaml.MappingStartEvent):
        _next(loader)
        found = False
        while not loader.check_event(yaml.MappingEndEvent):
            key = _compose(loader)
            if not isinstance(key, yaml.ScalarNode) or key.value != "recipients" or found:
                name = key.value if isinstance(key, yaml.ScalarNode) else "?"
                raise _shape_error(source, _line(key), f'unexpected key "{name}": {_SHAPE}')
            if not loader.check_event(yaml.SequenceStartEvent):
                raise _shape_error(source, _line(key), f'"recipients:" is not a list: {_SHAPE}')
            found = True
            yield from _sequence(loader, source)
        _next(loader)  # MappingEnd
    else:
        node = _compose(loader)
        raise _shape_error(source, _line(node), _SHAPE)
    _next(loader)  # DocumentEnd
    if not loader.check_event(yaml.StreamEndEvent):
        mark = _peek(loader).start_mark
        line = mark.line + 1 if mark is not None else None
        raise _shape_error(source, line, "a second YAML document: keep one per file")


def _sequence(loader: yaml.SafeLoader, source: str) -> Iterator[tuple[int, dict[str, Value]]]:
    """Yield the items of the sequence that starts at the next event, composing one at a time."""
    _next(loader)  # SequenceStart
    while not loader.check_event(yaml.SequenceEndEvent):
        node = _compose(loader)
        if not isinstance(node, yaml.MappingNode):
            raise _shape_error(source, _line(node), "a recipient must be a mapping of field: value")
        yield _line(node), _mapping(node, source)
    _next(loader)  # SequenceEnd


def _mapping(node: yaml.MappingNode, source: str) -> dict[str, Value]:
    """Convert a mapping node; a repeated key is an error (PyYAML would keep the last silently)."""
    fields: dict[str, Value] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise _shape_error(source, _line(key_node), "a field name must be plain text")
        if key_node.value in fields:
            raise _shape_error(
                source, _line(key_node), f'field "{key_node.value}" appears twice: keep one'
            )
        fields[key_node.value] = _value(value_node, source)
    return fields


def _value(node: yaml.Node, source: str) -> Value:
    """Convert a node: scalars to their text (None for null), sequences and mappings likewise.

    Validation, not this reader, decides what a field may hold, so that a wrong value becomes
    a problem of its row rather than an error that stops the whole file.
    """
    if isinstance(node, yaml.ScalarNode):
        return None if node.tag == _NULL_TAG else str(node.value)
    if isinstance(node, yaml.SequenceNode):
        return [_value(item, source) for item in node.value]
    if isinstance(node, yaml.MappingNode):
        return _mapping(node, source)
    raise _shape_error(source, _line(node), "unexpected YAML node")  # pragma: no cover


def _next(loader: yaml.SafeLoader) -> yaml.Event:
    """Consume the next parser event (PyYAML's own method is untyped)."""
    event: yaml.Event = loader.get_event()  # type: ignore[no-untyped-call]
    return event


def _peek(loader: yaml.SafeLoader) -> yaml.Event:
    """The next parser event, not consumed."""
    event: yaml.Event = loader.peek_event()  # type: ignore[no-untyped-call]
    return event


def _compose(loader: yaml.SafeLoader) -> yaml.Node:
    """Compose the node that starts at the next event, and only that one."""
    # A top-level call: no parent node, so no index either (PyYAML's stub says int).
    node = loader.compose_node(None, None)  # type: ignore[arg-type]
    assert node is not None  # only a stream end composes to None, and callers check for it
    return node


def _line(node: yaml.Node) -> int:
    """The 1-based line where `node` starts."""
    return int(node.start_mark.line) + 1


def _shape_error(source: str, line: int | None, message: str) -> RecipientError:
    """An error for the whole file: malformed YAML, or YAML that is not a recipient list."""
    where = f"{source}:{line}" if line is not None else source
    return RecipientError(f"{where}: {message}", (Problem(source, line, "file", message),))
