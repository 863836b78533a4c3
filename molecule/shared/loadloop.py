#!/usr/bin/env python3
"""A bounded load loop against the API through NGINX, for "no request lost" checks.

Runs on the test host itself (stdlib only) and sends traffic to loopback only. A few threads
each keep one HTTP/1.1 connection to NGINX and send GET /incomes?limit=1, with a POST every
``--post-every`` requests and a short pause after each answer (paced, not saturating: what
counts is that requests are in flight through the whole deploy, and that none fails), until
the stop file appears, ``--max-seconds`` pass or ``--max-requests`` are sent, whichever comes
first. Every answer other than 200 (GET) / 204 (POST), and every connection error or
timeout, counts as failed. The summary is written as JSON to ``--out`` (atomically) and
printed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    total: int = 0
    failed: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)

    def record(self, outcome: str, ok: bool, seconds: float, detail: str = "") -> None:
        with self.lock:
            self.total += 1
            self.statuses[outcome] += 1
            self.latencies.append(seconds)
            if not ok:
                self.failed += 1
                if len(self.errors) < 20:
                    self.errors.append(detail or outcome)


def worker(
    args: argparse.Namespace, tally: Tally, deadline: float, stop: Path, quota: list[int]
) -> None:
    """Send requests on one keep-alive connection until told to stop."""
    conn: http.client.HTTPConnection | None = None
    n = 0
    while time.monotonic() < deadline and not stop.exists():
        with tally.lock:
            if quota[0] <= 0:
                return
            quota[0] -= 1
        n += 1
        post = args.post_every > 0 and n % args.post_every == 0
        if conn is None:
            conn = http.client.HTTPConnection(args.host, args.port, timeout=args.timeout)
        started = time.monotonic()
        try:
            if post:
                body = json.dumps({"amount": 2024, "description": f"loadloop {n}"})
                conn.request("POST", "/incomes", body, {"Content-Type": "application/json"})
            else:
                conn.request("GET", "/incomes?limit=1")
            response = conn.getresponse()
            response.read()
            want = 204 if post else 200
            method = "POST" if post else "GET"
            ok = response.status == want
            if ok and args.ready_file is not None and not args.ready_file.exists():
                args.ready_file.touch()
            tally.record(
                f"{method} {response.status}",
                ok,
                time.monotonic() - started,
                f"{method} answered {response.status}",
            )
            if response.will_close:
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException) as exc:
            tally.record("error", False, time.monotonic() - started, f"{type(exc).__name__}: {exc}")
            if conn is not None:  # always set here; the check is for the type checker
                conn.close()
            conn = None
        time.sleep(args.pause)
    if conn is not None:
        conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument(
        "--post-every", type=int, default=10, help="every Nth request is a POST (0: none)"
    )
    parser.add_argument("--max-seconds", type=float, default=300.0)
    parser.add_argument("--max-requests", type=int, default=500_000)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument(
        "--pause",
        type=float,
        default=0.05,
        help=(
            "seconds each thread waits after an answer: paced, so that the deploy under test "
            "gets CPU too"
        ),
    )
    parser.add_argument("--stop-file", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--ready-file", type=Path, help="touched once a first request has succeeded"
    )
    args = parser.parse_args()

    args.stop_file.unlink(missing_ok=True)
    if args.ready_file is not None:
        args.ready_file.unlink(missing_ok=True)
    tally = Tally()
    quota = [args.max_requests]
    started = time.monotonic()
    deadline = started + args.max_seconds
    threads = [
        threading.Thread(
            target=worker, args=(args, tally, deadline, args.stop_file, quota), daemon=True
        )
        for _ in range(args.threads)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(args.max_seconds + args.timeout + 5)
    latencies = sorted(tally.latencies)
    summary = {
        "total": tally.total,
        "failed": tally.failed,
        "seconds": round(time.monotonic() - started, 2),
        "statuses": dict(tally.statuses),
        "errors": tally.errors,
        "max_ms": round(latencies[-1] * 1000, 1) if latencies else None,
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1)
        if len(latencies) >= 100
        else None,
        "stopped_by": "stop file" if args.stop_file.exists() else "limit",
    }
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(summary))
    os.replace(tmp, args.out)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
