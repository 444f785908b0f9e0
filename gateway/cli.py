"""The `logsieve` command: run the gateway, or check a config file."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence

from gateway import severity
from gateway.config import Config, load_config
from gateway.errors import ConfigError, StorageError

EXIT_OK, EXIT_FAILURE, EXIT_BAD_CONFIG = 0, 1, 2
log = logging.getLogger("logsieve")
TOKEN_VARIABLE = "LOGSIEVE_VIEWER_TOKEN"  # viewer.auth_token for `logsieve tail`


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return int(args.command(args))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="logsieve", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="run the gateway")
    run.add_argument("--config", default="config/gateway.yaml", help="YAML config file")
    run.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    run.set_defaults(command=_run)
    check = commands.add_parser("check-config", help="validate a config file")
    check.add_argument("file")
    check.set_defaults(command=_check_config)
    tail = commands.add_parser("tail", help="follow the live stream in a terminal")
    tail.add_argument("--url", default="http://127.0.0.1:8080", help="the viewer's address")
    tail.add_argument("--severity", choices=list(severity.BANDS), help="at least this severity")
    tail.add_argument("--service", help="only this service.name")
    tail.add_argument("--grep", help="only messages holding this text (any case)")
    tail.add_argument("--no-color", action="store_true", help="no colours even on a terminal")
    tail.epilog = f"With viewer.auth_token set, export {TOKEN_VARIABLE}=<the token> first."
    tail.set_defaults(command=_tail)
    return parser


def _tail(args: argparse.Namespace) -> int:
    import websocket  # only this command needs a websocket client

    from gateway.tail import TailFilter, follow

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


def _load(path: str) -> Config | None:
    try:
        return load_config(path)
    except ConfigError as exc:
        print(f"{path}: {len(exc.problems)} problem(s):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return None


def _check_config(args: argparse.Namespace) -> int:
    if _load(args.file) is None:
        return EXIT_BAD_CONFIG
    print(f"{args.file}: OK")
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    config = _load(args.config)
    if config is None:
        return EXIT_BAD_CONFIG
    from gateway.app import Gateway  # heavy imports only when running

    stop = _stop_on_signals()  # before start: a signal during start-up still stops cleanly
    try:
        gateway = Gateway(config)
        gateway.start()
    except (StorageError, OSError) as exc:
        log.error("cannot start: %s", exc)
        return EXIT_FAILURE
    stop.wait()
    gateway.shutdown()
    log.info("stopped; every acknowledged record is in the queue or processed")
    return EXIT_OK


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handler(signum: int, _frame: object) -> None:
        log.info("%s: shutting down", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop
