#!/usr/bin/env python3
"""./dev bench: the lab's stack and the project's, measured the same way, side by side.

Everything is measured from inside each container with ``docker exec ... wrk`` on loopback:
the lab's stack in ``pulsestage-lab`` (built by lab.yml) and the project's in the demo
container. The figures go to docs/benchmarks.json; report.py turns them into
docs/benchmarks.md and docs/benchmarks.png. Nothing is asserted: it reports figures.

Run through ``./dev bench`` (it starts the lab container and activates the tool venv).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import report

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
REMOTE_DIR = "/tmp/pulsestage-bench"  # inside each container (a tmpfs there)
LAB_STAMP = "/etc/pulsestage-bench-lab.sha256"
WRK_THREADS = 2
WRK_CONNECTIONS = 32
DEPLOY_CONNECTIONS = 8  # paced by deploy.lua: a steady load, not a saturating one
WRK_TIMEOUT = "10s"  # wrk's default (2 s) would count slow answers as errors, not latency
WARMUP_SECONDS = 3  # before each stack's first figure, not recorded
LAB_ITEMS_AFTER_POSTS = 36_001  # the seed item + about 36,000 POSTs
BIG_ROWS = 100_001
# Extra listeners in the demo container, all on loopback, removed at the end.
CEILING_PORT = 18000  # the transient Gunicorn of the ceilings
COPY_SITE_PORT = 18080  # a copy of the project's NGINX site, upstream CEILING_PORT
RETURN_PORT = 18081  # NGINX "return 200"
EXTRA_NGINX_CONF = "/etc/nginx/conf.d/pulsestage-bench.conf"
CEILING_UNIT = "pulsestage-bench-ceiling"
DEPLOY_TIMEOUT = 600  # seconds, for one ansible-playbook run (a new venv: pip)
# How SQLAlchemy stores a DateTime in SQLite (naive, UTC by the app's convention).
SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"


_T0 = time.monotonic()


def log(msg: str) -> None:
    print(f"==> [{time.monotonic() - _T0:4.0f} s] {msg}", file=sys.stderr, flush=True)


class BenchError(RuntimeError):
    pass


# --------------------------------------------------------------------------- containers


class Container:
    """``docker exec`` into one container."""

    def __init__(self, name: str) -> None:
        self.name = name

    def run(
        self,
        argv: Sequence[str],
        *,
        user: str | None = None,
        stdin: str | None = None,
        check: bool = True,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        cmd = ["docker", "exec"]
        if stdin is not None:
            cmd.append("-i")
        if user:
            cmd += ["-u", user]
        cmd += [self.name, *argv]
        proc = subprocess.run(
            cmd, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and proc.returncode != 0:
            raise BenchError(
                f"{self.name}: {shlex.join(argv)} exited {proc.returncode}: "
                f"{(proc.stderr or proc.stdout).strip()[-800:]}"
            )
        return proc

    def out(self, argv: Sequence[str], **kw: Any) -> str:
        return self.run(argv, **kw).stdout

    def sh(self, script: str, **kw: Any) -> str:
        return self.out(["sh", "-c", script], **kw)

    def python(self, code: str, *args: str, user: str | None = None, timeout: float = 120) -> str:
        return self.out(["python3", "-c", code, *args], user=user, timeout=timeout)

    def put(self, path: str, text: str, mode: str = "0644") -> None:
        self.run(
            ["sh", "-c", f'umask 022 && cat > "$1" && chmod {mode} "$1"', "put", path], stdin=text
        )


HTTP_PY = r"""
import base64, http.client, json, sys
method, port, target = sys.argv[1], int(sys.argv[2]), sys.argv[3]
body = sys.argv[4] if len(sys.argv) > 4 else None
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
headers = {"Content-Type": "application/json"} if body is not None else {}
conn.request(method, target, body, headers)
r = conn.getresponse()
data = r.read()
print(json.dumps({"status": r.status, "body": base64.b64encode(data).decode()}))
"""

POST_LOOP_PY = r"""
import http.client, json, sys, threading
port, total, nthreads = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
body = json.dumps({"amount": 2024, "description": "teste"})
bad = []
def work(count):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for _ in range(count):
        conn.request("POST", "/incomes", body, {"Content-Type": "application/json"})
        r = conn.getresponse()
        r.read()
        if not 200 <= r.status < 300:
            bad.append(r.status)
share = [total // nthreads + (1 if i < total % nthreads else 0) for i in range(nthreads)]
threads = [threading.Thread(target=work, args=(n,)) for n in share if n]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(len(bad))
"""


def http(
    c: Container, method: str, port: int, target: str, body: str | None = None
) -> tuple[int, bytes]:
    args = [method, str(port), target] + ([body] if body is not None else [])
    answer = json.loads(c.python(HTTP_PY, *args))
    return int(answer["status"]), base64.b64decode(answer["body"])


def wait_http(c: Container, port: int, target: str, seconds: float = 30) -> bytes:
    deadline = time.monotonic() + seconds
    last = ""
    while time.monotonic() < deadline:
        try:
            status, body = http(c, "GET", port, target)
            if status == 200:
                return body
            last = f"status {status}"
        except (BenchError, json.JSONDecodeError) as exc:
            last = str(exc)
        time.sleep(0.5)
    raise BenchError(
        f"{c.name}: GET 127.0.0.1:{port}{target} did not answer 200 in {seconds:.0f} s ({last})"
    )


def post_loop(c: Container, port: int, count: int, threads: int = 4) -> None:
    """``count`` POSTs as fast as a few keep-alive clients go (bounded: 10 min at most)."""
    if count <= 0:
        return
    bad = int(c.python(POST_LOOP_PY, str(port), str(count), str(threads), timeout=600).strip())
    if bad:
        log(f"{c.name}: {bad} of {count} POSTs were not 2xx")


# --------------------------------------------------------------------------- wrk

_TIME = re.compile(r"([\d.]+)(us|ms|s|m|h)\b")
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _ms(text: str) -> float:
    m = _TIME.fullmatch(text.strip())
    if not m:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(m.group(1)) * _UNIT_MS[m.group(2)]


@dataclass
class WrkResult:
    label: str
    container: str
    url: str
    seconds: float  # measured duration
    requests: int
    rps: float
    p50_ms: float | None
    p99_ms: float | None
    non2xx: int
    socket_errors: int
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> int:
        return self.non2xx + self.socket_errors


def parse_wrk(out: str) -> dict[str, Any]:
    """The figures of one ``wrk --latency`` output (with or without bench.lua)."""
    m = re.search(r"^\s*(\d+) requests in ([\d.]+\w+),", out, re.M)
    if not m:
        raise BenchError(f"wrk printed no result:\n{out[-1500:]}")
    requests, seconds = int(m.group(1)), _ms(m.group(2)) / 1000.0
    rps_m = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M)
    lat = {p: _ms(v) for p, v in re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.M)}
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    lua = re.search(r"^non2xx (\d+)$", out, re.M)
    builtin = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    non2xx = int(lua.group(1)) if lua else int(builtin.group(1)) if builtin else 0
    return {
        "requests": requests,
        "seconds": seconds,
        "rps": float(rps_m.group(1)) if rps_m else requests / max(seconds, 1e-9),
        "p50_ms": lat.get("50"),
        "p99_ms": lat.get("99"),
        "non2xx": non2xx,
        "socket_errors": sum(int(x) for x in sock.groups()) if sock else 0,
    }


def wrk_argv(url: str, seconds: float, *, post: bool = False, deploy: bool = False) -> list[str]:
    conns = DEPLOY_CONNECTIONS if deploy else WRK_CONNECTIONS
    argv = [
        "wrk",
        f"-t{WRK_THREADS}",
        f"-c{conns}",
        f"-d{int(seconds)}s",
        "--latency",
        "--timeout",
        WRK_TIMEOUT,
    ]
    if deploy:
        argv += ["-s", f"{REMOTE_DIR}/deploy.lua"]
    elif post:
        argv += ["-s", f"{REMOTE_DIR}/bench.lua"]
    argv.append(url)
    if post:
        argv += ["--", "post"]
    return argv


def run_wrk(
    c: Container,
    label: str,
    port: int,
    target: str,
    seconds: float,
    *,
    post: bool = False,
    note: str = "",
    **extra: Any,
) -> WrkResult:
    url = f"http://127.0.0.1:{port}{target}"
    argv = wrk_argv(url, seconds, post=post)
    log(f"{label}: {shlex.join(argv)} in {c.name}")
    out = c.out(argv, timeout=seconds + 60)
    fig = parse_wrk(out)
    res = WrkResult(label=label, container=c.name, url=url, note=note, extra=dict(extra), **fig)
    log(f"    {res.rps:,.0f} req/s, p99 {res.p99_ms} ms, {res.failed} failed of {res.requests}")
    return res


def warm_up(c: Container, port: int, target: str) -> None:
    """A short wrk run that is not recorded, before a stack's first figure: the first seconds
    under load (threads, connections, caches being made) belong to no figure."""
    argv = wrk_argv(f"http://127.0.0.1:{port}{target}", WARMUP_SECONDS)
    log(f"warm-up ({WARMUP_SECONDS} s, not recorded): {shlex.join(argv)} in {c.name}")
    c.out(argv, timeout=WARMUP_SECONDS + 60)


# --------------------------------------------------------------------------- the lab


def lab_recipe_hash() -> str:
    h = hashlib.sha256()
    for p in [
        HERE / "lab.yml",
        HERE / "inventory.yml",
        # the lab's files, not what Python or an editor leaves beside them
        *sorted(
            p
            for p in (HERE / "lab").iterdir()
            if p.is_file() and p.suffix not in {".pyc", ".swp"} and not p.name.endswith("~")
        ),
        ROOT / "app" / "requirements.txt",
    ]:
        h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def build_lab(lab: Container) -> None:
    want = lab_recipe_hash()
    have = lab.run(["cat", LAB_STAMP], check=False).stdout.strip()
    if have == want:
        log(f"{lab.name}: the lab's stack is built (reused)")
        return
    log(f"{lab.name}: building the lab's stack (scripts/bench/lab.yml)")
    proc = subprocess.run(
        ["ansible-playbook", "-i", str(HERE / "inventory.yml"), str(HERE / "lab.yml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if proc.returncode != 0:
        raise BenchError(f"lab.yml failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-1000:]}")
    lab.put(LAB_STAMP, want + "\n")


def lab_items(lab: Container) -> int:
    status, body = http(lab, "GET", 80, "/incomes")
    if status != 200:
        raise BenchError(f"lab GET /incomes: {status}")
    return len(json.loads(body))


def bench_lab(lab: Container, secs: float) -> list[WrkResult]:
    lab.run(["systemctl", "restart", "projeto.service"])  # a fresh list: the seed item only
    wait_http(lab, 80, "/incomes")
    warm_up(lab, 80, "/incomes")
    out = [run_wrk(lab, "lab_get_1", 80, "/incomes", secs, items=lab_items(lab))]
    post_loop(lab, 80, 99)
    out.append(run_wrk(lab, "lab_get_100", 80, "/incomes", secs, items=lab_items(lab)))
    out.append(run_wrk(lab, "lab_post", 80, "/incomes", secs, post=True))
    have = lab_items(lab)
    log(f"{lab.name}: {have} items; POSTing up to {LAB_ITEMS_AFTER_POSTS}")
    post_loop(lab, 80, LAB_ITEMS_AFTER_POSTS - have)
    out.append(
        run_wrk(
            lab, "lab_get_36k", 80, "/incomes", secs, items=lab_items(lab), note="the whole list"
        )
    )
    return out


# --------------------------------------------------------------------------- the project


@dataclass
class Project:
    service: str
    gunicorn_conf: str
    gunicorn_bin: str
    user: str
    group: str
    env_file: str
    db_path: str
    direct: tuple[str, int] | None  # Gunicorn's TCP address; None on a unix socket
    direct_source: str
    site_file: str
    nginx_port: int
    workers: Any = None
    settings: dict[str, Any] = field(default_factory=dict)


READ_CONF_PY = r"""
import json, sys
ns = {}
exec(compile(open(sys.argv[1]).read(), sys.argv[1], "exec"), ns)
keys = ("bind", "workers", "worker_class", "threads", "max_requests", "keepalive", "accesslog")
print(json.dumps({k: ns.get(k) for k in keys}, default=str))
"""


def _show(c: Container, unit: str, *props: str) -> dict[str, str]:
    out = c.out(["systemctl", "show", unit, *[f"-p{p}" for p in props]])
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def _tcp(addr: str) -> tuple[str, int] | None:
    m = re.fullmatch(r"(?:tcp://)?\[?([\w.:]+?)\]?:(\d+)", addr.strip())
    return (m.group(1), int(m.group(2))) if m and not addr.startswith("unix:") else None


def discover(c: Container) -> Project:
    confs = c.sh("ls /etc/gunicorn/*.conf.py").split()
    if len(confs) != 1:
        raise BenchError(f"{c.name}: expected one /etc/gunicorn/*.conf.py, found {confs}")
    conf = confs[0]
    service = Path(conf).name.removesuffix(".conf.py")
    props = _show(c, f"{service}.service", "ExecStart", "EnvironmentFiles", "User", "Group")
    m = re.search(r"argv\[\]=(\S+)", props.get("ExecStart", ""))
    if not m:
        raise BenchError(f"{service}.service: no ExecStart")
    env_file = props.get("EnvironmentFiles", "").split(" ")[0] or f"/etc/{service}/{service}.env"
    env: dict[str, str] = {}
    for line in c.out(["cat", env_file]).splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            k, v = line.split("=", 1)
            env[k.strip()] = v.strip().strip('"').strip("'")
    if "INCOMES_DB_PATH" not in env:
        raise BenchError(f"{env_file}: no INCOMES_DB_PATH (the bench needs the SQLite backend)")
    settings = json.loads(c.python(READ_CONF_PY, conf))
    binds = settings.get("bind") or []
    binds = [binds] if isinstance(binds, str) else binds
    direct, source = None, ""
    for b in binds:
        if (direct := _tcp(b)) is not None:
            source = f"bind in {conf}"
            break
    if direct is None:  # socket activation: the address is in the .socket unit
        listen = _show(c, f"{service}.socket", "Listen").get("Listen", "")
        for part in listen.split("\n"):
            if (direct := _tcp(part.split(" ")[0])) is not None:
                source = f"Listen of {service}.socket"
                break
    if direct is None and not any(str(b).startswith("unix:") for b in binds):
        main_pid = _show(c, f"{service}.service", "MainPID").get("MainPID", "0")
        for line in c.out(["ss", "-Hltnp"]).splitlines():
            if f"pid={main_pid}," in line:
                direct, source = _tcp(line.split()[3]), "ss -ltnp"
                break
    site = c.sh("readlink -f /etc/nginx/sites-enabled/*").split()
    if len(site) != 1:
        raise BenchError(f"{c.name}: expected one enabled NGINX site, found {site}")
    site_text = c.out(["cat", site[0]])
    port_m = re.search(r"^\s*listen\s+(?:[\d.]+:)?(\d+)", site_text, re.M)
    return Project(
        service=service,
        gunicorn_conf=conf,
        gunicorn_bin=m.group(1),
        user=props.get("User") or "root",
        group=props.get("Group") or "root",
        env_file=env_file,
        db_path=env["INCOMES_DB_PATH"],
        direct=direct,
        direct_source=source,
        site_file=site[0],
        nginx_port=int(port_m.group(1)) if port_m else 80,
        workers=settings.get("workers"),
        settings=settings,
    )


DB_PY = r"""
import datetime, shutil, sqlite3, sys
op, path = sys.argv[1], sys.argv[2]
con = sqlite3.connect(path, timeout=30)
if op == "insert":
    n, fmt = int(sys.argv[3]), sys.argv[4]
    now = datetime.datetime.now(datetime.timezone.utc).strftime(fmt)
    with con:
        con.executemany(
            "INSERT INTO incomes (description, amount, created_at) VALUES (?, ?, ?)",
            ((f"bench row {i}", 100 + (i * 37) % 500000, now) for i in range(n)))
    # One big commit: checkpoint the WAL now, as SQLite's auto-checkpoint does over many small ones.
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
elif op == "backup":
    dst = sqlite3.connect(sys.argv[3])
    con.backup(dst)
    dst.close()
elif op == "restore":
    src = sqlite3.connect(sys.argv[3])
    src.backup(con)
    src.close()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
count, max_id = con.execute("SELECT count(*), coalesce(max(id), 0) FROM incomes").fetchone()
print(count, max_id)
"""


def db(c: Container, p: Project, op: str, *args: str) -> tuple[int, int]:
    count, max_id = c.python(DB_PY, op, p.db_path, *args, user=p.user, timeout=300).split()
    return int(count), int(max_id)


def insert_rows_up_to(c: Container, p: Project, total: int) -> tuple[int, int]:
    count, max_id = db(c, p, "count")
    if count < total:
        log(f"{c.name}: inserting {total - count:,} rows straight into {p.db_path}")
        count, max_id = db(c, p, "insert", str(total - count), SQLITE_DATETIME)
    return count, max_id


CEILING_PY = '''"""./dev bench ceilings: the cheapest answers a Gunicorn worker can give."""
import json

from flask import Flask, jsonify

BODY = {body!r}


def raw_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(BODY)))])
    return [BODY]


_DATA = json.loads(BODY)
flask_app = Flask(__name__)
flask_app.json.sort_keys = False  # the project's key order, so the same bytes


@flask_app.get("/incomes")
def incomes():
    return jsonify(_DATA)
'''


def nginx_extra_conf(site_text: str, body: bytes) -> str:
    """A copy of the project's site on COPY_SITE_PORT (upstream: the ceiling) + return 200."""
    up = re.search(r"^\s*upstream\s+(\S+)\s*\{", site_text, re.M)
    if not up:
        raise BenchError("the project's NGINX site has no upstream block")
    text = site_text.replace(up.group(1), "pulsestage_bench_ceiling")
    text = re.sub(
        r"(upstream pulsestage_bench_ceiling\s*\{)(.*?)(\})",
        lambda m: (
            m.group(1)
            + re.sub(r"^(\s*)server\s+[^;]+;", "", m.group(2), flags=re.M).rstrip()
            + f"\n    server 127.0.0.1:{CEILING_PORT};\n"
            + m.group(3)
        ),
        text,
        count=1,
        flags=re.S,
    )
    # The site's HTTPS server (nginx_proxy_tls_*) stays out: the copy is measured over plain
    # HTTP, and a second copy of it would claim the HTTPS port again.
    servers = [m.start() for m in re.finditer(r"^server\s*\{", text, re.M)]
    if len(servers) > 1:
        text = text[: servers[1]].rstrip() + "\n"
    first = [True]

    def listen(m: re.Match[str]) -> str:
        if first[0]:
            first[0] = False
            return f"{m.group(1)}listen 127.0.0.1:{COPY_SITE_PORT};"
        return f"{m.group(1)}# (bench copy: one listener only)"

    text = re.sub(r"^(\s*)listen\s+[^;]+;", listen, text, flags=re.M)
    text = re.sub(r"(\S+)\.(access|error)\.log", r"\1.bench-copy.\2.log", text)
    access = re.search(r"^\s*access_log\s+([^;]+);", site_text, re.M)
    access_line = (
        re.sub(r"(\S+)\.access\.log", r"\1.bench-return.access.log", access.group(1))
        if access
        else "off"
    )
    literal = body.decode().replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
    return (
        "# ./dev bench, removed when it ends: a copy of the project's site in front of the\n"
        f"# ceiling apps ({COPY_SITE_PORT}) and NGINX answering by itself ({RETURN_PORT}).\n"
        f"{text}\n"
        "server {\n"
        f"    listen 127.0.0.1:{RETURN_PORT};\n"
        f"    access_log {access_line};\n"
        "    default_type application/json;\n"
        f"    location / {{ return 200 '{literal}'; }}\n"
        "}\n"
    )


def nginx_reload(c: Container) -> None:
    c.run(["nginx", "-t", "-q"])
    c.run(["systemctl", "reload", "nginx.service"])
    time.sleep(1)


def start_ceiling(c: Container, p: Project, app: str) -> None:
    stop_ceiling(c)
    wd = f"{REMOTE_DIR}/ceiling"
    c.run(
        [
            "systemd-run",
            "--quiet",
            "--collect",
            f"--unit={CEILING_UNIT}",
            f"--uid={p.user}",
            f"--gid={p.group}",
            f"--working-directory={wd}",
            f"--setenv=PYTHONPATH={REMOTE_DIR}",
            "--setenv=PYTHONDONTWRITEBYTECODE=1",
            p.gunicorn_bin,
            "--config",
            p.gunicorn_conf,
            "--bind",
            f"127.0.0.1:{CEILING_PORT}",
            f"ceiling:{app}",
        ]
    )
    wait_http(c, CEILING_PORT, "/incomes")


def stop_ceiling(c: Container) -> None:
    c.run(["systemctl", "stop", f"{CEILING_UNIT}.service"], check=False)
    c.run(["systemctl", "reset-failed", f"{CEILING_UNIT}.service"], check=False)


def bench_project(c: Container, p: Project, secs: float) -> tuple[list[WrkResult], dict[str, Any]]:
    port = p.nginx_port
    out: list[WrkResult] = []
    facts: dict[str, Any] = {}
    wait_http(c, port, "/incomes?limit=1")
    count, _ = db(c, p, "count")
    warm_up(c, port, "/incomes?limit=1")
    out.append(run_wrk(c, "project_get_1", port, "/incomes?limit=1", secs, rows=count))
    status, body1 = http(c, "GET", port, "/incomes?limit=1")
    if status != 200:
        raise BenchError(f"GET /incomes?limit=1: {status}")
    facts["limit1_body_bytes"] = len(body1)
    if p.direct:
        host, dport = p.direct
        if host not in ("127.0.0.1", "localhost", "::1"):
            log(f"Gunicorn binds {host}: measured on 127.0.0.1:{dport} anyway")
        out.append(
            run_wrk(
                c,
                "project_direct_1",
                dport,
                "/incomes?limit=1",
                secs,
                rows=count,
                note=f"Gunicorn at 127.0.0.1:{dport} ({p.direct_source})",
            )
        )
    else:
        log("Gunicorn listens on a unix socket only: no direct figure (wrk speaks TCP)")
    count, _ = db(c, p, "count")
    post_loop(c, port, max(0, 100 - count))
    count, _ = db(c, p, "count")
    out.append(run_wrk(c, "project_get_100", port, "/incomes?limit=100", secs, rows=count))
    out.append(run_wrk(c, "project_post", port, "/incomes", secs, post=True))
    count, _ = insert_rows_up_to(c, p, LAB_ITEMS_AFTER_POSTS)
    out.append(
        run_wrk(
            c,
            "project_get_36k",
            port,
            "/incomes",
            secs,
            rows=count,
            note="the first page (100 items)",
        )
    )
    count, max_id = insert_rows_up_to(c, p, BIG_ROWS)
    out.append(run_wrk(c, "project_get_100k_first", port, "/incomes?limit=100", secs, rows=count))
    out.append(
        run_wrk(
            c,
            "project_get_100k_deep",
            port,
            f"/incomes?limit=100&after_id={max_id - 101}",
            secs,
            rows=count,
            note=f"after_id={max_id - 101}",
        )
    )

    # Ceilings: the project's Gunicorn config and NGINX site, in front of constant answers.
    c.run(["install", "-d", "-m", "0755", REMOTE_DIR])
    c.run(["install", "-d", "-m", "0755", "-o", p.user, "-g", p.group, f"{REMOTE_DIR}/ceiling"])
    c.put(f"{REMOTE_DIR}/ceiling.py", CEILING_PY.format(body=body1))
    c.put(EXTRA_NGINX_CONF, nginx_extra_conf(c.out(["cat", p.site_file]), body1))
    try:
        nginx_reload(c)
        for label, app in (("ceiling_raw_wsgi", "raw_app"), ("ceiling_flask", "flask_app")):
            start_ceiling(c, p, app)
            facts[f"{label}_body_bytes"] = len(wait_http(c, CEILING_PORT, "/incomes?limit=1"))
            out.append(
                run_wrk(
                    c,
                    label,
                    COPY_SITE_PORT,
                    "/incomes?limit=1",
                    secs,
                    note=f"gunicorn {p.gunicorn_conf} + a copy of the NGINX site",
                )
            )
            stop_ceiling(c)
        wait_http(c, RETURN_PORT, "/")
        out.append(run_wrk(c, "nginx_return_200", RETURN_PORT, "/incomes?limit=1", secs))
    finally:
        stop_ceiling(c)
        c.run(["rm", "-f", EXTRA_NGINX_CONF, f"{REMOTE_DIR}/ceiling.py"])
        nginx_reload(c)
    return out, facts


# --------------------------------------------------------------------------- deploys


@dataclass
class DeployResult:
    kind: str
    action: str
    action_seconds: float
    requests: int
    non2xx: int
    socket_errors: int
    rc: int
    handlers: list[str] = field(default_factory=list)  # what the deploy ran (changed handlers)

    @property
    def failed(self) -> int:
        return self.non2xx + self.socket_errors


def under_load(
    c: Container,
    port: int,
    kind: str,
    action: str,
    do: Callable[[], int],
    logfile: Path | None = None,
) -> DeployResult:
    """One wrk run through NGINX that spans ``do()`` (wrk stops on SIGINT and reports)."""
    outfile = f"{REMOTE_DIR}/deploy-{kind}.out"
    argv = wrk_argv(f"http://127.0.0.1:{port}/incomes?limit=1", DEPLOY_TIMEOUT + 60, deploy=True)
    pid = c.sh(f"{shlex.join(argv)} >{outfile} 2>&1 </dev/null & echo $!").strip()
    log(f"deploy under load: {kind}: {action}")
    time.sleep(1.5)
    t0 = time.monotonic()
    try:
        rc = do()
    finally:
        spent = time.monotonic() - t0
        time.sleep(2)
        c.run(["kill", "-INT", pid], check=False)
        for _ in range(60):
            if c.run(["kill", "-0", pid], check=False).returncode != 0:
                break
            time.sleep(0.5)
        else:
            c.run(["kill", "-KILL", pid], check=False)
    fig = parse_wrk(c.out(["cat", outfile]))
    res = DeployResult(
        kind=kind,
        action=action,
        action_seconds=round(spent, 1),
        requests=fig["requests"],
        non2xx=fig["non2xx"],
        socket_errors=fig["socket_errors"],
        rc=rc,
        handlers=ran_handlers(logfile) if logfile else [],
    )
    log(f"    {res.failed} failed of {res.requests} requests (action {spent:.1f} s, rc {rc})")
    return res


def ran_handlers(logfile: Path) -> list[str]:
    """The handlers that a site.yml run ran and that changed something (from its log)."""
    text = logfile.read_text() if logfile.exists() else ""
    changed = []
    for block in re.split(r"^(?=TASK |RUNNING HANDLER |PLAY )", text, flags=re.M):
        m = re.match(r"RUNNING HANDLER \[(?:[\w.]+ : )?([^\]]+)\]", block)
        if m and re.search(r"^changed:", block, re.M):
            changed.append(m.group(1).strip())
    return changed


def playbook(extra: list[str], logdir: Path, kind: str) -> Callable[[], int]:
    logfile = logdir / f"site-{kind}.log"

    def run() -> int:
        with logfile.open("w") as fh:
            try:
                proc = subprocess.run(
                    ["ansible-playbook", "-i", "inventories/local.yml", "site.yml", *extra],
                    cwd=ROOT,
                    stdout=fh,
                    stderr=subprocess.STDOUT,
                    timeout=DEPLOY_TIMEOUT,
                    check=False,
                    # Task timings in the log, to see where a deploy's time goes.
                    env={**os.environ, "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks"},
                )
            except subprocess.TimeoutExpired:
                log(f"    site.yml ({kind}) still running after {DEPLOY_TIMEOUT} s: stopped")
                return 124
        if proc.returncode != 0:
            log(f"    site.yml ({kind}) exited {proc.returncode}: see {logfile}")
        return proc.returncode

    return run


def bench_deploys(c: Container, p: Project, logdir: Path) -> list[DeployResult]:
    port = p.nginx_port
    res: list[DeployResult] = []

    def systemctl(verb: str) -> Callable[[], int]:
        return lambda: c.run(["systemctl", verb, f"{p.service}.service"], check=False).returncode

    res.append(under_load(c, port, "reload", f"systemctl reload {p.service}", systemctl("reload")))
    wait_http(c, port, "/incomes?limit=1")
    res.append(
        under_load(c, port, "restart", f"systemctl restart {p.service}", systemctl("restart"))
    )
    wait_http(c, port, "/incomes?limit=1")

    # Real deploys, each on top of the previous one so that each changes one thing only.
    src = Path(tempfile.mkdtemp(prefix="pulsestage-bench-app-"))
    try:
        shutil.copytree(
            ROOT / "app",
            src / "app",
            ignore=shutil.ignore_patterns(
                ".venv*", "__pycache__", "*.pyc", ".pytest_cache", "*.egg-info"
            ),
        )
        views = src / "app" / "src" / "incomes_api" / "views.py"
        stamp = f"\n# ./dev bench: a harmless change ({time.time():.0f})\n"
        views.write_text(views.read_text() + stamp)
        steps: list[tuple[str, str, list[str]]] = [
            (
                "code",
                "same release, one source file changed",
                ["-e", f"flask_app_source_dir={src / 'app'}"],
            ),
            (
                "gunicorn_config",
                "-e gunicorn_service_timeout=31",
                ["-e", "gunicorn_service_timeout=31"],
            ),
            (
                "env_file",
                "-e flask_app_environment={INCOMES_LOG_LEVEL: WARNING}",
                ["-e", json.dumps({"flask_app_environment": {"INCOMES_LOG_LEVEL": "WARNING"}})],
            ),
            (
                "unit",
                "-e gunicorn_service_limit_nofile=60000",
                ["-e", "gunicorn_service_limit_nofile=60000"],
            ),
            (
                "new_release",
                "-e flask_app_release=bench2 (a new venv)",
                ["-e", "flask_app_release=bench2"],
            ),
        ]
        extra: list[str] = []
        for kind, action, args in steps:
            extra += args
            res.append(
                under_load(
                    c,
                    port,
                    kind,
                    f"ansible-playbook site.yml {action}",
                    playbook(list(extra), logdir, kind),
                    logdir / f"site-{kind}.log",
                )
            )
            wait_http(c, port, "/incomes?limit=1", 60)
        # Back to the demo's normal state (plain site.yml), measured too: it undoes all the above.
        res.append(
            under_load(
                c,
                port,
                "reconverge",
                "ansible-playbook site.yml (back to normal)",
                playbook([], logdir, "reconverge"),
                logdir / "site-reconverge.log",
            )
        )
        wait_http(c, port, "/incomes?limit=1", 60)
        # An NGINX config change (a reload: NGINX's old workers close idle kept-alive client
        # connections), and back. Reported beside the others, not one of the goal's kinds.
        nginx = ["-e", "nginx_proxy_client_body_timeout=16s"]
        res.append(
            under_load(
                c,
                port,
                "nginx_config",
                "ansible-playbook site.yml " + " ".join(nginx),
                playbook(nginx, logdir, "nginx_config"),
                logdir / "site-nginx_config.log",
            )
        )
        wait_http(c, port, "/incomes?limit=1", 60)
        res.append(
            under_load(
                c,
                port,
                "nginx_back",
                "ansible-playbook site.yml (NGINX back to normal)",
                playbook([], logdir, "nginx_back"),
                logdir / "site-nginx_back.log",
            )
        )
        wait_http(c, port, "/incomes?limit=1", 60)
    except BaseException:
        log("the deploys stopped half-way: putting the demo back to normal (plain site.yml)")
        playbook([], logdir, "reconverge-after-error")()
        raise
    finally:
        shutil.rmtree(src, ignore_errors=True)
    return res


def bench_rerun(runs: int = 3) -> dict[str, Any]:
    """A no-op site.yml against a play that only gathers facts, in turn, on the demo."""
    facts_play = HERE / "facts.yml"
    times: dict[str, list[float]] = {"site": [], "facts": []}
    changed: list[int] = []
    for _ in range(runs):
        for key, play in (("facts", facts_play), ("site", ROOT / "site.yml")):
            t0 = time.monotonic()
            proc = subprocess.run(
                ["ansible-playbook", "-i", "inventories/local.yml", str(play)],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            times[key].append(time.monotonic() - t0)
            if proc.returncode != 0:
                raise BenchError(f"{play.name} exited {proc.returncode}: {proc.stdout[-2000:]}")
            if key == "site":
                changed += [int(n) for n in re.findall(r"changed=(\d+)", proc.stdout)]
    site, facts = statistics.median(times["site"]), statistics.median(times["facts"])
    log(
        f"no-op site.yml {site:.1f} s, facts only {facts:.1f} s: {site / facts:.1f}x "
        f"(changed {max(changed, default=0)})"
    )
    return {
        "site_seconds": round(site, 2),
        "facts_seconds": round(facts, 2),
        "ratio": round(site / facts, 2),
        "changed": max(changed, default=0),
        "runs": runs,
        "all_site": [round(t, 2) for t in times["site"]],
        "all_facts": [round(t, 2) for t in times["facts"]],
    }


# --------------------------------------------------------------------------- main


def versions(c: Container, gunicorn_bin: str) -> dict[str, str]:
    py = str(Path(gunicorn_bin).parent / "python")
    code = (
        "import importlib.metadata as m, sys; print(sys.version.split()[0], "
        "m.version('flask'), m.version('gunicorn'))"
    )
    pyv, flask, gunicorn = c.out([py, "-c", code]).split()
    return {"python": pyv, "flask": flask, "gunicorn": gunicorn}


def ensure_wrk(c: Container) -> None:
    if c.run(["sh", "-c", "command -v wrk"], check=False).returncode != 0:
        log(f"{c.name}: apt-get install wrk")
        c.sh(
            "apt-get -qq update && DEBIAN_FRONTEND=noninteractive apt-get -qq install -y wrk "
            ">/dev/null",
            timeout=300,
        )
    c.run(["install", "-d", "-m", "0755", REMOTE_DIR])
    for lua in ("bench.lua", "deploy.lua"):
        c.put(f"{REMOTE_DIR}/{lua}", (HERE / lua).read_text())


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--demo", default="pulsestage-demo")
    ap.add_argument("--lab", default="pulsestage-lab")
    ap.add_argument("--image", default="pulsestage/systemd-debian:bookworm")
    ap.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_SECONDS", "8")))
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.json")
    ap.add_argument(
        "--skip-deploys", action="store_true", help="measure no deploy (the demo is left as it is)"
    )
    ap.add_argument("--command", default="./dev bench", help="the command recorded in the doc")
    args = ap.parse_args(argv)
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    demo, lab = Container(args.demo), Container(args.lab)
    logdir = Path(tempfile.mkdtemp(prefix="pulsestage-bench-"))

    build_lab(lab)
    for c in (lab, demo):
        ensure_wrk(c)
    p = discover(demo)
    log(
        f"project: {p.service}, {p.gunicorn_conf} (workers {p.workers}), Gunicorn "
        f"{p.direct} from {p.direct_source or '-'}, DB {p.db_path}, NGINX :{p.nginx_port}"
    )
    # The bench adds rows (POSTs, straight inserts): a copy is taken now, put back at the end.
    demo.run(["install", "-d", "-m", "1777", f"{REMOTE_DIR}/db"])
    backup = f"{REMOTE_DIR}/db/backup.sqlite"
    rows_before, _ = db(demo, p, "backup", backup)
    runs: list[WrkResult] = []
    deploys: list[DeployResult] = []
    facts: dict[str, Any] = {}
    rerun: dict[str, Any] = {}
    try:
        runs += bench_lab(lab, args.seconds)
        pruns, facts = bench_project(demo, p, args.seconds)
        runs += pruns
        if not args.skip_deploys:
            deploys = bench_deploys(demo, p, logdir)
        rerun = bench_rerun()
    finally:
        rows_after, _ = db(demo, p, "restore", backup)
        demo.run(["rm", "-f", backup])
        log(f"{demo.name}: database restored ({rows_after} rows, {rows_before} before the bench)")
    p_after = discover(demo)
    # The throw-away release of the new-release deploy (<releases>/bench2/venv/bin/gunicorn).
    releases = Path(p_after.gunicorn_bin).parents[3]
    if deploys and "/bench2/" not in p_after.gunicorn_bin:
        demo.run(["rm", "-rf", str(releases / "bench2")], check=False)
    doc: dict[str, Any] = {
        "meta": {
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "command": args.command,
            "bench_seconds": args.seconds,
            "warmup_seconds": WARMUP_SECONDS,
            "wrk": f"wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS} -d{int(args.seconds)}s --latency "
            f"--timeout {WRK_TIMEOUT}",
            "nproc": os.cpu_count(),
            "nproc_container": int(demo.out(["nproc"]).strip()),
            "image": args.image,
            "suite": demo.out(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]).strip(),
            "host_kernel": os.uname().release,
            "wall_seconds": round(time.monotonic() - started, 1),
            "loadavg_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "versions": versions(demo, p_after.gunicorn_bin),
            "lab_versions": versions(lab, "/home/ubuntu/projeto-flask/venv/bin/gunicorn"),
            "project": {
                "service": p.service,
                "gunicorn_conf": p.gunicorn_conf,
                "settings": p.settings,
                "direct": p.direct,
                "direct_source": p.direct_source,
                "db_path": p.db_path,
                "site_file": p.site_file,
            },
            "rows_before": rows_before,
            "rows_after": rows_after,
            "facts": facts,
        },
        "runs": {r.label: {**asdict(r), "failed": r.failed} for r in runs},
        "deploys": {d.kind: {**asdict(d), "failed": d.failed} for d in deploys},
        "rerun": rerun,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2, sort_keys=False) + "\n")
    log(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    report.write(doc, args.out.with_suffix(".md"), args.out.with_suffix(".png"))
    print(report.table(doc))
    if not any(d.rc or d.failed for d in deploys):  # else the logs say what the deploy did
        shutil.rmtree(logdir, ignore_errors=True)
        log(f"done in {time.monotonic() - started:.0f} s")
    else:
        log(f"done in {time.monotonic() - started:.0f} s (deploy logs in {logdir})")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (BenchError, subprocess.TimeoutExpired) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
