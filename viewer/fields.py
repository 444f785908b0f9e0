"""An entry's values for a field name: what a filter on `service:x` or `host.name:web-3` is
matched against, on the server (viewer.filters, viewer.query) as on the page.

One function, so that every filter agrees on what a field of an entry is.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from gateway.model import Entry

SERVICE_FIELDS = ("service", "service.name")
VALUE_KEY = "_value"  # gateway.otlp.nest_attributes: a key that is both a value and a prefix


def field_values(entry: Entry, name: str) -> list[str]:
    """Every value `entry` has for the field `name`, as text, without repeats.

    - `service` and `service.name`: the entry's service and every one of its services (an
      aggregate of several services is found by any of them);
    - `severity`, `scope`, `trace_id`, `span_id`, `pattern` (the 16-digit hex id): the
      entry's own, when set;
    - any other name: the first record's resource attribute of that dotted key
      (`host.name`), then its record attribute (`http.status_code`; attributes are stored
      nested on dots, this looks them up flat).

    Values read as the JSON would say them: strings as they are, numbers as digits
    (`503`, `0.25`), booleans as `true`/`false`; a list gives each of its items. An
    entry read shortened (attributes_elided) has no record attributes to offer.
    """
    found = list(_own_values(entry, name))
    if name in entry.resource:
        found += _texts(entry.resource[name])
    found += _texts_at(entry.attributes, name.split("."))
    return list(dict.fromkeys(found))


def _own_values(entry: Entry, name: str) -> Iterator[str]:
    if name in SERVICE_FIELDS:
        yield entry.service
        yield from entry.services
    elif name == "pattern":
        if entry.pattern is not None:
            yield entry.pattern.hex_id
    elif name in ("severity", "scope", "trace_id", "span_id"):
        value = getattr(entry, name)
        if value:
            yield value


def _texts_at(tree: Any, path: list[str]) -> list[str]:
    """The values at a dotted path of nested attributes. A key may itself hold dots (a map
    value's keys are not split), so each split of the path is tried."""
    if not path:
        value = tree.get(VALUE_KEY) if isinstance(tree, dict) else tree
        return [] if value is None else _texts(value)
    if not isinstance(tree, dict):
        return []
    found: list[str] = []
    for cut in range(len(path), 0, -1):
        key = ".".join(path[:cut])
        if key in tree:
            found += _texts_at(tree[key], path[cut:])
    return found


def _texts(value: Any) -> list[str]:
    if isinstance(value, list):
        return [text for item in value for text in _texts(item)]
    if isinstance(value, str):
        return [value]
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, float) and value.is_integer():
        return [str(int(value))]  # proto Struct numbers are doubles: 503.0 is 503
    if isinstance(value, dict):  # a map value: its JSON, as Copy as JSON shows it
        return [json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)]
    return [str(value)]
