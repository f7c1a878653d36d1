"""The `amplifier-ls serve` command: run the language server over stdio or TCP.

Logging goes to the client as `window/logMessage` (info and above; debug with `-v`).
Standard error receives only errors, so that editors which show standard error next to the
client log do not show every line twice, unless `--log-file` is given: then the file
receives everything the client does. With `-vv` pygls' own log, which contains every
message exchanged and so the document text, is written to the log file or standard error.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

DEFAULT_PORT = 2087
HOST = "127.0.0.1"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tcp", action="store_true", help=f"listen on {HOST} instead of using stdio (for debugging)"
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"TCP port to listen on with --tcp (default: {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--stdio", action="store_true", help="use stdio (the default; accepted because LSP clients pass it)"
    )
    parser.add_argument("--log-file", type=Path, help="also write the log to this file")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log debug messages; twice: also pygls' message log"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from .server import create_server
    from .status import ClientLogHandler

    server = create_server()
    level = logging.DEBUG if args.verbose else logging.INFO
    formatter = logging.Formatter(LOG_FORMAT)

    logger = logging.getLogger("amplifier_ls")
    logger.handlers.clear()
    logger.setLevel(level)
    logger.propagate = False
    client_handler = ClientLogHandler(server, level)
    client_handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    logger.addHandler(client_handler)

    local_handler: logging.Handler
    if args.log_file:
        local_handler = logging.FileHandler(args.log_file, encoding="utf-8")
        local_handler.setLevel(level)
    else:
        local_handler = logging.StreamHandler(sys.stderr)
        local_handler.setLevel(logging.ERROR)
    local_handler.setFormatter(formatter)
    logger.addHandler(local_handler)

    pygls_logger = logging.getLogger("pygls")
    pygls_logger.handlers.clear()
    pygls_logger.addHandler(local_handler)
    pygls_logger.setLevel(logging.DEBUG if args.verbose >= 2 else logging.WARNING)
    pygls_logger.propagate = False
    if args.verbose >= 2:
        local_handler.setLevel(logging.DEBUG)

    if args.tcp:
        print(f"amplifier-ls: listening on {HOST}:{args.port}", file=sys.stderr, flush=True)
        server.start_tcp(HOST, args.port)
    else:
        server.start_io()
    return 0
