"""GET /logs/context?id=ID&before=N&after=N: the entries of an entry's services around it.

The live page's "same service around this entry": the unexpired entries whose service is one
of the entry's services (its own, and those an aggregate counted), or that name one of them
among theirs, just before and just after it by first_seen (Store.recent_context). Entries are
proto3 JSON as on the stream, shortened as the stream shortens them (GET /logs/entries/ID
serves one whole). The answer:

    {"entry": {...}, "services": ["payments", "checkout"],
     "before": [{...}, ...], "after": [{...}, ...], "moreBefore": false, "moreAfter": true}

`before` and `after` are oldest first; `more*` say that more entries lie beyond them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, Response, abort, request

from gateway.clock import Clock
from gateway.errors import StorageError
from gateway.store import EntryContext, Store
from viewer import stream

log = logging.getLogger(__name__)

CONTEXT_PATH = "/logs/context"
DEFAULT_AROUND = 20  # entries on each side when the page does not say
MAX_AROUND = 200  # a glance around an entry, not a second stream
MAX_ID = 2**63 - 1  # ids are signed 64-bit in SQL


def add_context_route(
    app: Flask,
    store: Store,
    clock: Clock,
    max_entry_chars: int,
    answer: Callable[[str], Response],
    unavailable: Callable[[], Response],
) -> None:
    """GET CONTEXT_PATH on `app`, behind the same sign-in as every /logs route (viewer.auth
    guards them all). `answer` makes the JSON response and `unavailable` the 503 a store
    failure gets, as for the app's other reads."""

    @app.get(CONTEXT_PATH)
    def entry_context() -> Response:
        entry_id, before, after = _arguments(request.args)
        try:
            found = store.recent_context(
                entry_id, clock.now_ns(), before, after, max_chars=max_entry_chars
            )
        except StorageError as exc:  # the page may ask again
            log.warning("could not read the context of entry %d for a page: %s", entry_id, exc)
            return unavailable()
        if found is None:
            abort(404)
        return answer(context_json(found))


def _arguments(args: Mapping[str, str]) -> tuple[int, int, int]:
    """The entry id and how many on each side; 400 for anything else than plain numbers in
    range (an id past the 64-bit range is no entry of ours: 404)."""
    entry_id = _number(args.get("id"), None)
    if entry_id > MAX_ID:
        abort(404)
    return entry_id, _count(args.get("before")), _count(args.get("after"))


def _count(text: str | None) -> int:
    found = _number(text, DEFAULT_AROUND)
    if found > MAX_AROUND:
        abort(400, description=f"at most {MAX_AROUND} entries on each side")
    return found


def _number(text: str | None, default: int | None) -> int:
    if text is None or text == "":
        if default is None:
            abort(400, description="id is required")
        return default
    if not text.isascii() or not text.isdigit() or len(text) > 20:
        abort(400, description="not a number")
    return int(text)


def context_json(found: EntryContext) -> str:
    """The answer's JSON, from the entries as the stream renders them (each rendered once)."""
    parts: dict[str, Any] = {
        "entry": stream.entry_json(found.entry),
        "services": _json_list_of_text(found.services),
        "before": "[" + ",".join(stream.entry_json(r) for r in found.before) + "]",
        "after": "[" + ",".join(stream.entry_json(r) for r in found.after) + "]",
        "moreBefore": "true" if found.more_before else "false",
        "moreAfter": "true" if found.more_after else "false",
    }
    return "{" + ",".join(f'"{key}":{value}' for key, value in parts.items()) + "}"


def _json_list_of_text(names: tuple[str, ...]) -> str:
    return json.dumps(list(names), ensure_ascii=True, separators=(",", ":"))
