"""Reading a config file safely: its size capped, and YAML whose anchors and aliases would
blow up when written out ("billion laughs") refused before anything copies the tree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from gateway.errors import ConfigError

MAX_FILE_BYTES = 1024 * 1024  # a config is a few KiB; past this it is a mistake or an attack
# Values in the YAML tree with every alias written out: a full config has a few hundred.
MAX_EXPANDED_VALUES = 100_000
MAX_EXPANDED_CHARS = 4 * MAX_FILE_BYTES  # a long string aliased many times is a bomb too
MAX_EVENTS = 2 * MAX_EXPANDED_VALUES + 4  # and stream and document start and end
MAX_DEPTH = 64  # levels of nesting; a config has fewer than ten, and checks recurse
# libyaml parses a 1 MiB file in a fraction of a second where PyYAML's own takes 15 s.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TOO_LARGE = (
    f"(file): the YAML expands to more than {MAX_EXPANDED_VALUES:,} values or "
    f"{MAX_EXPANDED_CHARS // MAX_FILE_BYTES} MiB of text "
    "(each use of an alias counts its whole value): refused"
)


def read_text(path: str | Path) -> str:
    """The file's text; one line naming it when it is unreadable or past MAX_FILE_BYTES."""
    try:
        with open(path, "rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)  # never more: the path may be /dev/zero
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"(file): cannot read {path}: {exc}"]) from None
    if len(raw) > MAX_FILE_BYTES:
        limit = f"{MAX_FILE_BYTES // 1024 // 1024} MiB"
        raise ConfigError([f"(file): {path} is larger than {limit}: not a config file"])
    return text


def read_yaml(text: str) -> Any:
    """YAML to plain data, refusing a tree that aliases would blow up ("billion laughs"):
    PyYAML shares an aliased node, but env expansion and validation copy it at every use."""
    try:
        _count_events(text)
        return _compose_checked(text)
    except yaml.YAMLError as exc:
        raise ConfigError([f"(file): not valid YAML: {exc}"]) from None
    except RecursionError:
        raise ConfigError(["(file): not valid YAML: nested too deeply"]) from None


def _count_events(text: str) -> None:
    """A cheap first pass: the parser's events, counted and dropped, so that a file of many
    small values is refused before its tree is built (450,000 values took 229 MB and 5 s).
    Each value is one event, or two for a list or mapping: past MAX_EVENTS it has more
    than MAX_EXPANDED_VALUES values."""
    loader = _YAML_LOADER(text)
    try:
        events = 0
        while loader.check_event():
            loader.get_event()
            events += 1
            if events > MAX_EVENTS:
                raise ConfigError([_TOO_LARGE])
    finally:
        loader.dispose()


def _compose_checked(text: str) -> Any:
    loader = _YAML_LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node, {})  # before anything copies the tree
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _expanded_size(
    node: yaml.Node, sizes: dict[int, tuple[int, int] | None], depth: int = 0
) -> tuple[int, int]:
    """(values, characters) under `node` as if every alias were written out. `sizes`
    memoizes each node (an alias costs a look-up, not a walk); None while it is counted."""
    if depth > MAX_DEPTH:
        raise ConfigError([f"(file): nested more than {MAX_DEPTH} levels deep"])
    if id(node) in sizes:
        known = sizes[id(node)]
        if known is None:
            raise ConfigError(["(file): an alias refers to a value that holds it (a cycle)"])
        return known
    sizes[id(node)] = None
    values, chars = 1, len(node.value) if isinstance(node, yaml.ScalarNode) else 0
    for child in _children(node):
        child_values, child_chars = _expanded_size(child, sizes, depth + 1)
        values, chars = values + child_values, chars + child_chars
    if values > MAX_EXPANDED_VALUES or chars > MAX_EXPANDED_CHARS:
        raise ConfigError([_TOO_LARGE])
    sizes[id(node)] = (values, chars)
    return values, chars


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []
