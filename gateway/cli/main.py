"""The `logsieve` command: run the gateway, check a config file, follow the live stream, and
the operator's tools: explain a sampling decision, the gateway's status, dead letters."""

from __future__ import annotations

import argparse
import contextlib
import faulthandler
import io
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway import redact, severity
from gateway.clock import SystemClock
from gateway.config.settings import Config, config_secrets, load_config
from gateway.errors import ConfigError, StorageError
from gateway.http import limits
from gateway.runtime import supervisor
from gateway.runtime.roles import Child, Roles, decide_roles
from gateway.telemetry import own_logs

if TYPE_CHECKING:
    from gateway.store import Store

    Subcommands = argparse._SubParsersAction[argparse.ArgumentParser]  # add_subparsers()

EXIT_OK, EXIT_FAILURE, EXIT_BAD_CONFIG = 0, 1, 2
log = logging.getLogger("logsieve")
TOKEN_VARIABLE = "LOGSIEVE_VIEWER_TOKEN"  # viewer.auth_token for `logsieve tail`
DEFAULT_CONFIG = "config/gateway.yaml"
PACKAGED_CONFIG = "default.yaml"  # inside gateway/config/; config/gateway.yaml is a copy
NO_RELOAD = " (no reload: start it again to apply a changed config)"  # said on SIGHUP


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return int(args.command(args))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="logsieve", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="run the gateway")
    run.add_argument("--config", default=DEFAULT_CONFIG, help="YAML config file")
    run.add_argument(
        "--log-level",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="overrides telemetry.logs.level",
    )
    # Internal: how `run` starts its children (gateway/runtime/supervisor.py).
    run.add_argument(supervisor.BATCH_CHILD_FLAG, action="store_true", help=argparse.SUPPRESS)
    run.add_argument(supervisor.INGEST_CHILD_FLAG, type=int, metavar="PORT", help=argparse.SUPPRESS)
    run.add_argument(supervisor.VIEWER_CHILD_FLAG, action="store_true", help=argparse.SUPPRESS)
    run.set_defaults(command=_run)
    check = commands.add_parser("check-config", help="validate a config file")
    check.add_argument("file")
    check.set_defaults(command=_check_config)
    init = commands.add_parser("init-config", help="write the commented default config")
    init.add_argument("path")
    init.add_argument("--force", action="store_true", help="replace an existing file")
    init.set_defaults(command=_init_config)
    migrate = commands.add_parser("migrate", help="bring the database schema up to date")
    migrate.add_argument("--config", default=DEFAULT_CONFIG, help="YAML config file")
    migrate.set_defaults(command=_migrate)
    tail = commands.add_parser("tail", help="follow the live stream in a terminal")
    tail.add_argument("--url", default="http://127.0.0.1:8080", help="the viewer's address")
    tail.add_argument("--severity", choices=list(severity.BANDS), help="at least this severity")
    tail.add_argument("--service", help="only this service.name")
    tail.add_argument("--grep", help="only messages holding this text (any case)")
    tail.add_argument("--no-color", action="store_true", help="no colours even on a terminal")
    tail.epilog = f"With viewer.auth_token set, export {TOKEN_VARIABLE}=<the token> first."
    tail.set_defaults(command=_tail)
    _explain_parser(commands)
    _status_parser(commands)
    _dead_letter_parser(commands)
    return parser


def _explain_parser(commands: Subcommands) -> None:
    explain = commands.add_parser("explain", help="which sampling rule a record meets")
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


def _dead_letter_parser(commands: Subcommands) -> None:
    dead = commands.add_parser("dead-letter", help="events Logflare refused: list, retry, drop")
    actions = dead.add_subparsers(required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="show dead letters, oldest first")
    listing.add_argument("--limit", type=_positive, default=20, help="at most this many")
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


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a positive number: {text!r}")
    return int(text)


def _tail(args: argparse.Namespace) -> int:
    import websocket  # only this command needs a websocket client

    from gateway.cli.tail import TailFilter, follow

    stream_url = args.url.rstrip("/").replace("http", "ws", 1) + "/logs/stream"
    keep = TailFilter(args.severity, args.service, args.grep)
    colour = sys.stdout.isatty() and not args.no_color
    # From the environment, not an argument: arguments show in `ps` and shell history.
    token = os.environ.get(TOKEN_VARIABLE, "")
    headers = [f"Authorization: Bearer {token}"] if token else []
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a tail ends
        follow(
            stream_url,
            keep,
            sys.stdout,
            connect=lambda url: websocket.create_connection(url, timeout=60, header=headers),
            colour=colour,
            notices=sys.stderr,
        )
    return EXIT_OK


def _load(path: str, warn: bool = True) -> Config | None:
    """The config at `path`, or None after listing its problems; `warn`: also say which old
    names it uses (a child process's parent has said so already)."""
    try:
        config = load_config(path)
    except ConfigError as exc:
        print(f"{path}: {len(exc.problems)} problem(s):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return None
    for note in config.deprecations if warn else ():
        print(f"{path}: warning: {note}", file=sys.stderr)
    return config


def _check_config(args: argparse.Namespace) -> int:
    if _load(args.file) is None:
        return EXIT_BAD_CONFIG
    print(f"{args.file}: OK")
    return EXIT_OK


def _init_config(args: argparse.Namespace) -> int:
    target = Path(args.path)
    if target.exists() and not args.force:
        print(f"{target} exists; use --force to replace it", file=sys.stderr)
        return EXIT_FAILURE
    default = (
        resources.files("gateway.config").joinpath(PACKAGED_CONFIG).read_text(encoding="utf-8")
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(default, encoding="utf-8")
    print(f"wrote {target}; check it with: logsieve check-config {target}")
    return EXIT_OK


def _migrate(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if config is None:
        return EXIT_BAD_CONFIG
    from gateway.store import SCHEMA_VERSION, Store

    store = Store(config.storage.url)
    try:
        before = store.schema_version()
        applied = store.migrate()
    except StorageError as exc:
        print(f"{args.config}: cannot migrate: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    finally:
        store.dispose()
    if not applied:
        print(f"the schema is at version {SCHEMA_VERSION}: nothing to do")
    elif before is None:
        print(f"created the schema at version {SCHEMA_VERSION}")
    else:
        print(f"migrated the schema from version {before} to {SCHEMA_VERSION}")
    return EXIT_OK


def _emit(args: argparse.Namespace, data: Any, lines: Sequence[str]) -> None:
    print(json.dumps(data, indent=2) if args.json else "\n".join(lines))


def _explain(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if config is None:
        return EXIT_BAD_CONFIG
    from gateway.cli import admin

    band = admin.parse_band(args.severity)
    if band is None:
        bands = ", ".join(severity.BANDS)
        print(f"unknown severity {args.severity!r}: use one of {bands}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    found = admin.explain(config, band, args.service, args.body)
    _emit(args, admin.explanation_json(found), admin.explanation_lines(found))
    return EXIT_OK


def _with_store(args: argparse.Namespace, action: Callable[[Store], int]) -> int:
    """Run an operator action on the config's database; a database error exits 1, said plainly."""
    config = _load(args.config)
    if config is None:
        return EXIT_BAD_CONFIG
    redact.install(config_secrets(config))  # what it prints is masked again
    from gateway.cli.admin import open_store

    try:
        store = open_store(config.storage)
        try:
            return action(store)
        finally:
            store.dispose()
    except StorageError as exc:
        print(f"{args.config}: cannot use the database in storage.url: {exc}", file=sys.stderr)
        return EXIT_FAILURE


def _status(args: argparse.Namespace) -> int:
    from gateway.cli import admin

    def show(store: Store) -> int:
        status = admin.read_status(store, SystemClock().now_ns())
        _emit(args, admin.status_json(status), admin.status_lines(status))
        return EXIT_OK

    return _with_store(args, show)


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


def _run(args: argparse.Namespace) -> int:
    started_as = _started_as(args)
    config = _load(args.config, warn=started_as is None)
    if config is None:
        return EXIT_BAD_CONFIG
    settings = config.telemetry.logs
    own_logs.configure(settings.format, args.log_level or settings.level, config_secrets(config))
    # A fatal signal names itself on stderr, with the Python stacks, instead of a silent exit
    # code: SIGBUS from SQLite's memory-mapped -shm file made immutable or truncated, SIGSEGV.
    _name_fatal_signals()
    limits.raise_open_file_limit()  # before any child starts: they inherit it
    if started_as is not None:
        supervisor.die_with_parent()
        if started_as is Child.VIEWER:
            supervisor.yield_cpu_to_receivers()
    roles = decide_roles(config, started_as)  # the one place that decides
    own = supervisor.config_for(config, roles, args.ingest_child)
    if not roles.supervises:
        return _serve(own, roles)
    shared_metrics = supervisor.prepare_shared_metrics()
    try:
        children = supervisor.Children.for_roles(roles, args.config, args.log_level)
        return _serve(own, roles, children)
    finally:
        supervisor.remove_shared_metrics(shared_metrics)


def _started_as(args: argparse.Namespace) -> Child | None:
    """The part this process was started for by its parent, from the child flags."""
    if args.batch_child:
        return Child.BATCH
    if args.viewer_child:
        return Child.VIEWER
    return Child.INGEST if args.ingest_child is not None else None


def _serve(config: Config, roles: Roles, children: supervisor.Children | None = None) -> int:
    """Run until SIGINT, SIGTERM or SIGHUP."""
    from gateway.runtime.app import Gateway, Overrides  # heavy imports only when running

    stop = _stop_on_signals()  # before start: a signal during start-up still stops cleanly
    try:
        # A child is quiet about the config: its parent warned already.
        overrides = Overrides(config_warnings=roles.started_as is None)
        gateway = Gateway(config, overrides, roles, children)
    except (StorageError, OSError) as exc:
        log.error("cannot start: %s", exc)
        return EXIT_FAILURE
    try:
        gateway.start()
    except (StorageError, OSError) as exc:
        log.error("cannot start: %s", exc)
        gateway.shutdown()  # let go of the ports and the database it already holds
        return EXIT_FAILURE
    stop.wait()
    gateway.shutdown()
    log.info("stopped; every acknowledged record is in the queue or processed")
    return EXIT_OK


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handler(signum: int, _frame: object) -> None:
        note = NO_RELOAD if signum == signal.SIGHUP else ""
        log.info("%s: shutting down%s", signal.Signals(signum).name, note)
        stop.set()

    # SIGHUP too (a closed terminal, or an operator expecting a reload): by default it would
    # kill the parent at once, leaving the metrics directory and no word in the log.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, handler)
    return stop


def _name_fatal_signals() -> None:
    """faulthandler writes to a real descriptor; a caller that replaced stderr with one that
    has none (a test capturing output) keeps Python's default."""
    with contextlib.suppress(io.UnsupportedOperation, AttributeError, ValueError):
        faulthandler.enable()
