#!/usr/bin/env python3
"""Run a command (ansible-playbook) and SIGKILL its whole process group mid-run.

For the "an interrupted converge, then a rerun, converges cleanly" check (issue 8). The command
runs in a session of its own; its output (stdout and stderr merged) is read line by line and
copied to ``--log``. Once a line matches ``--after`` (a regular expression: a task's banner, so
that the kill lands in the middle of real work), ``--delay`` seconds later the process group
gets SIGKILL, as a lost controller or a ``kill -9`` would do it: no handler runs, no cleanup.
The summary is printed as JSON: when the match came, when the kill landed, the last task
banner seen before it, and the exit status.

Exits 0 only when the kill happened while the command was still running; 1 when the command
ended by itself first (then nothing was interrupted and the check would prove nothing), or
when the pattern never showed up within ``--timeout`` seconds (the command is killed then too).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

_TASK = re.compile(r"^(TASK|RUNNING HANDLER) \[(?P<name>.*?)\]")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--after", required=True, help="regex of the output line to wait for")
    parser.add_argument("--delay", type=float, default=2.0, help="seconds from match to kill")
    parser.add_argument("--timeout", type=float, default=300.0, help="give up after (seconds)")
    parser.add_argument("--log", type=Path, required=True, help="copy of the command's output")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND ARGS...")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    pattern = re.compile(args.after)

    start = time.monotonic()
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the kill takes every child with it
    )
    assert proc.stdout is not None
    os.set_blocking(proc.stdout.fileno(), False)
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    matched_at: float | None = None
    matched_line = ""
    last_task = ""
    pending = b""
    killed = False
    with args.log.open("wb") as log:
        while True:
            now = time.monotonic()
            if matched_at is not None and now >= matched_at + args.delay:
                killed = proc.poll() is None
                if killed:
                    os.killpg(proc.pid, signal.SIGKILL)
                break
            if now - start > args.timeout:
                os.killpg(proc.pid, signal.SIGKILL)
                break
            wait = 0.2 if matched_at is None else min(0.2, matched_at + args.delay - now)
            for key, _ in selector.select(timeout=max(wait, 0.01)):
                chunk = os.read(key.fd, 65536)
                if not chunk:  # end of output: the command is ending by itself
                    selector.unregister(key.fileobj)
                    continue
                log.write(chunk)
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for raw in lines:
                    line = raw.decode(errors="replace")
                    task = _TASK.match(line)
                    if task:
                        last_task = task["name"]
                    if matched_at is None and pattern.search(line):
                        matched_at, matched_line = time.monotonic(), line.strip()
            if not selector.get_map() and proc.poll() is not None:
                break
        log.flush()
    rc = proc.wait(timeout=30)
    summary = {
        "killed": killed,
        "matched": matched_line,
        "matched_after_s": None if matched_at is None else round(matched_at - start, 1),
        "killed_after_s": round(time.monotonic() - start, 1),
        "last_task": last_task,
        "rc": rc,
    }
    print(json.dumps(summary))
    if not killed:
        why = "the pattern never showed up" if matched_at is None else "it ended by itself first"
        print(f"interrupt.py: nothing was interrupted: {why}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
