"""The `logsieve` command: run the gateway, check a config file, follow the live stream, and
the operator's tools (tools.py): explain a record's sampling and grouping, the gateway's
status, the patterns it counted, dead letters."""

from __future__ import annotations

import argparse
import contextlib
import faulthandler
import io
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from importlib import metadata, resources
from pathlib import Path

from gateway import severity
from gateway.cli import tools
from gateway.cli.common import (
    DEFAULT_CONFIG,
    EXIT_BAD_CONFIG,
    EXIT_FAILURE,
    EXIT_OK,
    TOKEN_VARIABLE,
    load,
)
from gateway.cli.endpoints import taken_endpoints
from gateway.config.settings import Config, config_secrets
from gateway.errors import StorageError, StreamRefused
from gateway.http import limits
from gateway.runtime import supervisor
from gateway.runtime.roles import Child, Roles, decide_roles
from gateway.telemetry import own_logs

log = logging.getLogger("logsieve")
PACKAGED_CONFIG = "default.yaml"  # inside gateway/config/; config/gateway.yaml is a copy
DEFAULT_VIEWER = "http://127.0.0.1:8080"  # viewer.endpoint's default
NO_RELOAD = " (no reload: start it again to apply a changed config)"  # said on SIGHUP


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return int(args.command(args))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="logsieve", description=__doc__)
    parser.add_argument("--version", action="version", version=f"logsieve {package_version()}")
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
    _file_arguments(check, "YAML config file")
    check.set_defaults(command=_check_config)
    init = commands.add_parser("init-config", help="write the commented default config")
    _file_arguments(init, "where to write it")
    init.add_argument("--force", action="store_true", help="replace an existing file")
    init.set_defaults(command=_init_config)
    migrate = commands.add_parser("migrate", help="bring the database schema up to date")
    migrate.add_argument("--config", default=DEFAULT_CONFIG, help="YAML config file")
    migrate.set_defaults(command=_migrate)
    tail = commands.add_parser("tail", help="follow the live stream in a terminal")
    tail.add_argument(
        "--url", default=DEFAULT_VIEWER, help=f"the viewer's address ({DEFAULT_VIEWER})"
    )
    tail.add_argument("--severity", choices=list(severity.BANDS), help="at least this severity")
    tail.add_argument("--service", help="only this service.name")
    tail.add_argument("--grep", help="only messages holding this text (any case)")
    tail.add_argument("--no-color", action="store_true", help="no colours even on a terminal")
    tail.epilog = f"With viewer.auth_token set, export {TOKEN_VARIABLE}=<the token> first."
    tail.set_defaults(command=_tail)
    tools.add_commands(commands)
    return parser


def _file_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    """FILE, or --config FILE as every other command takes it."""
    parser.add_argument("file", nargs="?", metavar="FILE", help=f"{what} (or --config FILE)")
    parser.add_argument("--config", help=f"{what} ({DEFAULT_CONFIG})")


def _chosen_file(args: argparse.Namespace) -> str | None:
    """The file named as FILE or --config FILE; None (said why) when both name different ones."""
    if args.file and args.config and args.file != args.config:
        print(f"two files given: {args.file} and --config {args.config}", file=sys.stderr)
        return None
    return str(args.file or args.config or DEFAULT_CONFIG)


def package_version() -> str:
    try:
        return metadata.version("logsieve")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "(unknown: not installed as a package)"


def _tail(args: argparse.Namespace) -> int:
    from gateway.cli.tail import Connector, TailFilter, follow, stream_url

    try:
        url = stream_url(args.url)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return EXIT_BAD_CONFIG
    keep = TailFilter(args.severity, args.service, args.grep)
    colour = sys.stdout.isatty() and not args.no_color
    # From the environment, not an argument: arguments show in `ps` and shell history.
    connect = Connector(os.environ.get(TOKEN_VARIABLE, ""))
    try:
        follow(url, keep, sys.stdout, connect=connect, colour=colour, notices=sys.stderr)
    except StreamRefused as exc:
        print(exc, file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:  # Ctrl-C is how a tail ends
        pass
    return EXIT_OK


def _check_config(args: argparse.Namespace) -> int:
    path = _chosen_file(args)
    if path is None:
        return EXIT_BAD_CONFIG
    if load(path) is None:
        return EXIT_BAD_CONFIG
    print(f"{path}: OK")
    return EXIT_OK


def _init_config(args: argparse.Namespace) -> int:
    path = _chosen_file(args)
    if path is None:
        return EXIT_BAD_CONFIG
    target = Path(path)
    if target.exists() and not args.force:
        print(f"{target} exists; use --force to replace it", file=sys.stderr)
        return EXIT_FAILURE
    default = (
        resources.files("gateway.config").joinpath(PACKAGED_CONFIG).read_text(encoding="utf-8")
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(default, encoding="utf-8")
    print(f"wrote {target}; check it with: logsieve check-config --config {target}")
    return EXIT_OK


def _migrate(args: argparse.Namespace) -> int:
    config = load(args.config)
    if config is None:
        return EXIT_BAD_CONFIG
    from gateway.store import SCHEMA_VERSION, Store

    try:  # a missing driver is a StorageError too, raised as the store is made
        store = Store(config.storage.url, schema=config.storage.db_schema)
        try:
            before = store.schema_version()
            applied = store.migrate()
        finally:
            store.dispose()
    except StorageError as exc:
        print(f"{args.config}: cannot migrate: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    if not applied:
        print(f"the schema is at version {SCHEMA_VERSION}: nothing to do")
    elif before is None:
        print(f"created the schema at version {SCHEMA_VERSION}")
    else:
        print(f"migrated the schema from version {before} to {SCHEMA_VERSION}")
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    started_as = _started_as(args)
    config = load(args.config, warn=started_as is None)
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
    if started_as is None and (taken := taken_endpoints(config, roles)):
        print("\n".join(taken), file=sys.stderr)  # before anything binds or logs
        return EXIT_FAILURE
    own = supervisor.config_for(config, roles, args.ingest_child)
    if not roles.supervises:
        return _serve(own, roles)
    shared_metrics = supervisor.prepare_shared_metrics()
    children = supervisor.Children.for_roles(roles, args.config, args.log_level)
    try:
        # Now, while this process is one thread and holds no connection: the children share
        # its imported modules (gateway/runtime/prefork.py), and start when the schema exists.
        supervisor.fork_children(children, config, main)
        return _serve(own, roles, children)
    finally:
        children.cancel_forks()  # those never started, when the gateway could not start
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
