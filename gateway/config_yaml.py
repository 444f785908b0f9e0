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
MAX_DEPTH = 64  # levels of nesting; a config has fewer than ten, and checks recurse
# libyaml reads a 1 MiB file in about 2 s where PyYAML's own parser takes 15 or more.
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
    loader = _YAML_LOADER(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _expanded_size(node, {})  # before anything copies the tree
        return loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        raise ConfigError([f"(file): not valid YAML: {exc}"]) from None
    except RecursionError:
        raise ConfigError(["(file): not valid YAML: nested too deeply"]) from None
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
