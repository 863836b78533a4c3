#!/usr/bin/env python3
"""The API on a full data disk, then the moment space returns: one run, figures as JSON.

For the default scenario's fault check (verify_faults.yml, issue 8). Runs on the test host
itself (stdlib only), sends requests to loopback only (NGINX), every one with a timeout, so a
hang shows up as an error with its duration instead of a stuck verify:

1. ``--posts`` POST /incomes on the full disk (each should be refused),
2. ``--gets`` GET ``--get-path`` (each should be served) and GET /healthz,
3. removes ``--filler`` (space returns) and POSTs at once, repeating (every ``--retry-delay``
   seconds, up to ``--resume-within`` seconds) until a POST succeeds: the seconds from the
   removal to that answer are the time to resume, without anything being restarted.

Asserts nothing: verify_faults.yml checks the figures it prints.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import time
from pathlib import Path
from typing import Any


def request(
    port: int, method: str, path: str, body: dict[str, Any] | None, timeout: float
) -> dict[str, Any]:
    """One request on a new connection: status, type, JSON body (if any), Location, seconds."""
    start = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        payload = None if body is None else json.dumps(body).encode()
        headers = {} if body is None else {"Content-Type": "application/json"}
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        data = response.read()
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = data[:200].decode(errors="replace")
        return {
            "status": response.status,
            "content_type": response.getheader("Content-Type", ""),
            "location": response.getheader("Location", ""),
            "json": parsed,
            "seconds": round(time.monotonic() - start, 3),
        }
    except (OSError, http.client.HTTPException) as exc:
        return {
            "status": 0,
            "error": f"{type(exc).__name__}: {exc}",
            "seconds": round(time.monotonic() - start, 3),
        }
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="NGINX's port on 127.0.0.1")
    parser.add_argument("--filler", type=Path, required=True, help="the file filling the disk")
    parser.add_argument("--label", required=True, help="put in the rows' descriptions")
    parser.add_argument("--get-path", required=True, help="the GET to repeat")
    parser.add_argument("--posts", type=int, default=5)
    parser.add_argument("--gets", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=30.0, help="per request (seconds)")
    parser.add_argument("--retry-delay", type=float, default=0.2)
    parser.add_argument("--resume-within", type=float, default=30.0)
    args = parser.parse_args(argv)

    def post(description: str) -> dict[str, Any]:
        body = {"amount": 9.09, "description": f"{description} {args.label}"}
        return request(args.port, "POST", "/incomes", body, args.timeout)

    refused = [post(f"faults refused {n}") for n in range(args.posts)]
    reads = [request(args.port, "GET", args.get_path, None, args.timeout) for _ in range(args.gets)]
    health = request(args.port, "GET", "/healthz", None, args.timeout)

    os.remove(args.filler)
    freed = time.monotonic()
    attempts: list[dict[str, Any]] = []
    while True:
        attempts.append(post("faults after"))
        if 200 <= attempts[-1]["status"] < 300:
            break
        if time.monotonic() - freed > args.resume_within:
            break
        time.sleep(args.retry_delay)
    summary = {
        "refused": refused,
        "reads": reads,
        "health": health,
        "resumed": attempts[-1],
        "resume_attempts": len(attempts),
        "resumed_after_s": round(time.monotonic() - freed, 3),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
