"""The operator's commands: `logsieve explain`, `status`, `patterns` and `dead-letter`.

Each parses its arguments here and prints what its module computes (explain.py, admin.py,
patterns.py): text for people, JSON with --json. Bad input is one line on stderr and exit 2;
a database error one line and exit 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from gateway import redact, severity
from gateway.cli.common import DEFAULT_CONFIG, EXIT_BAD_CONFIG, EXIT_FAILURE, EXIT_OK, load
from gateway.clock import SystemClock
from gateway.config.settings import Config, config_secrets
from gateway.config.types import parse_duration
from gateway.errors import StorageError

if TYPE_CHECKING:
    from gateway.store import Store

    Subcommands = argparse._SubParsersAction[argparse.ArgumentParser]  # add_subparsers()


def add_commands(commands: Subcommands) -> None:
    _explain_parser(commands)
    _status_parser(commands)
    _patterns_parser(commands)
    _dead_letter_parser(commands)


def _explain_parser(commands: Subcommands) -> None:
    explain = commands.add_parser(
        "explain", help="a record's sampling rule, dedupe key and pattern"
    )
    explain.add_argument("--config", default=DEFAULT_CONFIG, help="YAML config file")
    explain.add_argument("--severity", help=f"the record's band: {', '.join(severity.BANDS)}")
    explain.add_argument("--service", default="", help="the record's service.name")
    explain.add_argument("--body", required=True, help="the record's message")
    explain.add_argument("--json", action="store_true", help="print JSON")
    explain.set_defaults(command=_explain)


def _status_parser(commands: Subcommands) -> None:
    status = commands.add_parser("status", help="queue, outbox, dead letters, export health")
    status.add_argument("--config", default=DEFAULT_CONFIG, help="YAML config file")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(command=_status)


def _patterns_parser(commands: Subcommands) -> None:
    patterns = commands.add_parser("patterns", help="the top patterns by count")
    patterns.add_argument("--config", default=DEFAULT_CONFIG, help="YAML config file")
    patterns.add_argument(
        "--since", default="1h", help="last seen this long ago or later: 90s, 10m, 1h (1h)"
    )
    patterns.add_argument("--service", help="only patterns of this service.name's live entries")
    patterns.add_argument("--limit", type=positive, default=20, help="at most this many (20)")
    patterns.add_argument("--json", action="store_true", help="print JSON")
    patterns.set_defaults(command=_patterns)


def _dead_letter_parser(commands: Subcommands) -> None:
    dead = commands.add_parser("dead-letter", help="events a backend refused: list, retry, drop")
    actions = dead.add_subparsers(required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="show dead letters, oldest first")
    listing.add_argument("--limit", type=positive, default=20, help="at most this many")
    listing.add_argument("--after", type=int, default=0, help="only ids above this one")
    listing.set_defaults(command=_dead_letter_list)
    for action, text in (("retry", "move back to the outbox"), ("drop", "delete for good")):
        act = actions.add_parser(action, help=f"{text}: the chosen dead letters")
        act.add_argument("--id", type=int, nargs="+", action="extend", help="these ids")
        act.add_argument("--all", action="store_true", help="every dead letter")
        act.set_defaults(command=_dead_letter_change, action=action)
    for parser in actions.choices.values():
        parser.add_argument("--config", default=DEFAULT_CONFIG, help="YAML config file")
        parser.add_argument("--json", action="store_true", help="print JSON")


def positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a positive number: {text!r}")
    return int(text)


def _emit(args: argparse.Namespace, data: Any, lines: Sequence[str]) -> None:
    print(json.dumps(data, indent=2) if args.json else "\n".join(lines))


def _explain(args: argparse.Namespace) -> int:
    config = load(args.config)
    if config is None:
        return EXIT_BAD_CONFIG
    from gateway.cli import explain

    band = explain.parse_band(args.severity)
    if band is None:
        bands = ", ".join(severity.BANDS)
        print(f"unknown severity {args.severity!r}: use one of {bands}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    redact.install(config_secrets(config))  # a database error it quotes is masked
    found = explain.explain(
        config, band, args.service, args.body, lambda: explain.known_patterns(config)
    )
    _emit(args, explain.explanation_json(found), explain.explanation_lines(found))
    return EXIT_OK


def _with_store(args: argparse.Namespace, action: Callable[[Store], int]) -> int:
    """Run an operator action on the config's database; a database error exits 1, said plainly."""
    config = load(args.config)
    if config is None:
        return EXIT_BAD_CONFIG
    return _on_store(args.config, config, action)


def _on_store(path: str, config: Config, action: Callable[[Store], int]) -> int:
    redact.install(config_secrets(config))  # what it prints is masked again
    from gateway.cli.admin import open_store

    try:
        store = open_store(config.storage)
        try:
            return action(store)
        finally:
            store.dispose()
    except StorageError as exc:
        print(f"{path}: cannot use the database in storage.url: {exc}", file=sys.stderr)
        return EXIT_FAILURE


def _status(args: argparse.Namespace) -> int:
    config = load(args.config)
    if config is None:
        return EXIT_BAD_CONFIG
    from gateway.cli import status as shown

    def show(store: Store) -> int:
        exporters = config.exporters
        found = shown.read_status(
            store, SystemClock().now_ns(), shown.off_reasons(exporters), shown.budgeted(exporters)
        )
        _emit(args, shown.status_json(found), shown.status_lines(found))
        return EXIT_OK

    return _on_store(args.config, config, show)


def _patterns(args: argparse.Namespace) -> int:
    try:
        since = parse_duration(args.since)
    except ValueError as exc:
        print(f"--since: {exc}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    config = load(args.config)
    if config is None:
        return EXIT_BAD_CONFIG
    from gateway.cli import patterns

    grouped = config.batch.dedupe.uses_patterns()
    if not grouped:
        print(patterns.NOT_GROUPED, file=sys.stderr)
    query = patterns.PatternQuery(args.since, since, args.service, args.limit)

    def show(store: Store) -> int:
        listing = patterns.read_patterns(store, query, SystemClock().now_ns())
        _emit(args, patterns.patterns_json(listing, grouped), patterns.pattern_lines(listing))
        return EXIT_OK

    return _on_store(args.config, config, show)


def _dead_letter_list(args: argparse.Namespace) -> int:
    from gateway.cli import admin

    def show(store: Store) -> int:
        letters = store.dead_letter_page(args.after, args.limit + 1)  # one more: is there more?
        more = len(letters) > args.limit
        page = admin.DeadLetterPage(letters[: args.limit], store.dead_letter_count(), more)
        _emit(args, admin.page_json(page), admin.page_lines(page, SystemClock().now_ns()))
        return EXIT_OK

    return _with_store(args, show)


def _dead_letter_change(args: argparse.Namespace) -> int:
    """retry or drop: only with an explicit choice, never all by default."""
    if bool(args.id) == args.all:
        print(f"dead-letter {args.action}: choose with --id N [N ...] or --all", file=sys.stderr)
        return EXIT_BAD_CONFIG
    from gateway.cli import admin

    ids = None if args.all else args.id

    def change(store: Store) -> int:
        if args.action == "retry":
            done, verb = admin.retry(store, ids, SystemClock().now_ns()), "retried"
        else:
            done, verb = admin.drop(store, ids), "dropped"
        missing = len(set(ids)) - done if ids else 0
        line = f"{verb} {admin.counted(done, 'dead letter')}"
        line += " into the outbox" if verb == "retried" else ""
        line += f" ({missing} of the chosen ids were not found)" if missing else ""
        _emit(args, {verb: done, "not_found": missing}, [line])
        return EXIT_OK

    return _with_store(args, change)
