"""``incidentio-sandbox``: run the sandbox until interrupted."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from incidentio_sandbox.config import DEFAULT_ALERT_SOURCES, DEFAULT_API_KEY
from incidentio_sandbox.faults import DEFAULT_FAULT_KINDS, FaultConfig
from incidentio_sandbox.seed import Seed
from incidentio_sandbox.server import Sandbox

if TYPE_CHECKING:
    from types import FrameType


def _alert_source(text: str) -> tuple[str, str]:
    config_id, sep, token = text.partition("=")
    if not sep or not config_id or not token:
        msg = f"expected ID=TOKEN, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return config_id, token


def _key_roles(text: str) -> tuple[str, tuple[str, ...]]:
    key, sep, roles = text.partition("=")
    if not sep or not key:
        msg = f"expected KEY=ROLE[,ROLE...], got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return key, tuple(r.strip() for r in roles.split(",") if r.strip())


def _seed_file(text: str) -> Seed:
    """Read and check the seed file while parsing, so a bad file is a usage error."""
    try:
        return Seed.from_json(json.loads(Path(text).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as problem:
        msg = f"cannot use seed file {text!r}: {problem}"
        raise argparse.ArgumentTypeError(msg) from None


def build_parser() -> argparse.ArgumentParser:
    """The command line, kept separate so tests can inspect it."""
    parser = argparse.ArgumentParser(
        prog="incidentio-sandbox",
        description="A local stand-in for the incident.io API (loopback only).",
    )
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    add("--port", type=int, default=8765, help="port; 0 picks a free one (default 8765)")
    add("--port-file", type=Path, help="write the bound port number to this file")
    add("--api-key", action="append", help=f"accepted API key, repeatable ({DEFAULT_API_KEY})")
    add(
        "--alert-source",
        action="append",
        type=_alert_source,
        metavar="ID=TOKEN",
        help="HTTP alert source config id and its bearer token, repeatable",
    )
    add(
        "--heartbeat-source",
        action="append",
        type=_alert_source,
        metavar="ID=TOKEN",
        help="heartbeat source id and its ping token, repeatable",
    )
    add(
        "--seed-file",
        type=_seed_file,
        metavar="FILE.json",
        help="catalog types, alert/heartbeat sources, custom fields, key roles and catalog "
        "reject lists the account starts with (see incidentio_sandbox.seed)",
    )
    add(
        "--key-roles",
        action="append",
        type=_key_roles,
        metavar="KEY=ROLE[,ROLE...]",
        help="the roles of one API key (default: every role), repeatable",
    )
    add(
        "--reject-catalog-external-id",
        action="append",
        default=[],
        metavar="VALUE",
        help="catalog entries with this external_id are refused with a 422, repeatable",
    )
    add(
        "--reject-catalog-name",
        action="append",
        default=[],
        metavar="VALUE",
        help="catalog entries with this name are refused with a 422, repeatable",
    )
    add("--rate-limit", action="store_true", help="enforce incident.io's rate limits")
    add("--bucket-capacity", type=float, default=1200, help="API key bucket size (1200)")
    add("--refill-per-second", type=float, default=20, help="API key refill rate (20/s)")
    add("--alert-bucket-capacity", type=float, default=120, help="alert source bucket (120)")
    add("--alert-refill-per-second", type=float, default=2, help="alert source refill (2/s)")
    add("--no-retry-after", action="store_true", help="omit Retry-After on 429 answers")
    add(
        "--retry-after-format",
        choices=["rfc3339", "http-date"],
        default="rfc3339",
        help="timestamp format of rate_limit.retry_after in 429 bodies",
    )
    add("--latency-ms", type=float, default=0, help="added to every request")
    add("--fault-rate", type=float, default=0, help="share of requests hit by a random fault")
    add(
        "--fault-kinds",
        default=",".join(DEFAULT_FAULT_KINDS),
        help="comma-separated faults to draw from (see incidentio_sandbox.faults)",
    )
    add("--seed", type=int, help="seed for the random faults (seed data: --seed-file)")
    add("--slow-seconds", type=float, default=5, help="how long a 'slow' fault sleeps")
    add("--max-body-bytes", type=int, help="answer 413 to bodies larger than this")
    add("--journal-max-entries", type=int, help="keep only the newest N journal entries")
    add("--verbose", action="store_true", help="log each request to stderr")
    return parser


def _write_port_file(path: Path, port: int) -> None:
    """Atomic, so a poller never reads a half-written number."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(f"{port}\n")
    Path(tmp).replace(path)


def _build(args: argparse.Namespace) -> Sandbox:
    """A sandbox configured from the parsed flags; ``ValueError`` on nonsense."""
    faults = FaultConfig(
        latency_ms=args.latency_ms,
        fault_rate=args.fault_rate,
        seed=args.seed,
        fault_kinds=tuple(k.strip() for k in args.fault_kinds.split(",") if k.strip()),
        slow_seconds=args.slow_seconds,
        max_body_bytes=args.max_body_bytes,
    )
    return Sandbox(
        api_key=args.api_key or DEFAULT_API_KEY,
        alert_sources=dict(args.alert_source) if args.alert_source else DEFAULT_ALERT_SOURCES,
        heartbeat_sources=dict(args.heartbeat_source or ()),
        seed=args.seed_file,
        api_key_roles=dict(args.key_roles or ()),
        reject_catalog_external_ids=args.reject_catalog_external_id,
        reject_catalog_names=args.reject_catalog_name,
        rate_limit=args.rate_limit,
        bucket_capacity=args.bucket_capacity,
        refill_per_second=args.refill_per_second,
        alert_bucket_capacity=args.alert_bucket_capacity,
        alert_refill_per_second=args.alert_refill_per_second,
        retry_after_header=not args.no_retry_after,
        retry_after_format=args.retry_after_format,
        faults=faults,
        journal_max_entries=args.journal_max_entries,
        host=args.host,
        port=args.port,
        verbose=args.verbose,
    )


def main(argv: list[str] | None = None) -> int:
    """Start the sandbox, announce its URL, serve until SIGINT or SIGTERM."""
    args = build_parser().parse_args(argv)
    try:
        sandbox = _build(args).start()
    except (ValueError, OSError) as problem:
        sys.stderr.write(f"incidentio-sandbox: {problem}\n")
        return 2
    done = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    with sandbox:
        url = sandbox.url
        if args.port_file is not None:
            _write_port_file(args.port_file, int(url.rsplit(":", 1)[1]))
        sys.stderr.write(f"incidentio-sandbox listening on {url}\n")
        sys.stderr.write(f"  api keys: {', '.join(sandbox.config.api_keys)}\n")
        seed = sandbox.current_seed()
        for source in seed.alert_sources:
            shown = f"token {source.token}" if source.token else "no events"
            sys.stderr.write(f"  {source.source_type} alert source {source.id} ({shown})\n")
        for heartbeat in seed.heartbeat_sources:
            sys.stderr.write(f"  heartbeat source {heartbeat.id} (token {heartbeat.token})\n")
        for kind in seed.catalog_types:
            sys.stderr.write(f"  catalog type {kind.id} ({kind.name})\n")
        sys.stderr.flush()
        while not done.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
