#!/usr/bin/env python3
"""docs/benchmarks.md and docs/benchmarks.png from the figures of ./dev bench.

    python3 scripts/bench/report.py [docs/benchmarks.json]

regenerates both from the JSON (bench.py calls write() after a run). The text around the
figures is the template benchmarks.md.in, next to this file.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

# label -> what was measured (the order of the figures table)
RUNS: dict[str, str] = {
    "lab_get_1": "lab: GET /incomes, 1 item (its list)",
    "lab_get_100": "lab: GET /incomes, 100 items (after 99 POSTs)",
    "lab_post": "lab: POST /incomes",
    "lab_get_36k": "lab: GET /incomes after ~36,000 POSTs (whole list)",
    "project_get_1": "project: GET /incomes?limit=1",
    "project_direct_1": "project: GET /incomes?limit=1, Gunicorn direct",
    "project_get_100": "project: GET /incomes?limit=100 (>= 100 rows)",
    "project_post": "project: POST /incomes",
    "project_get_36k": "project: GET /incomes (first page), ~36,000 rows",
    "project_get_100k_first": "project: GET ?limit=100, 100,000 rows, first page",
    "project_get_100k_deep": "project: GET ?limit=100, 100,000 rows, deep page (after_id)",
    "ceiling_raw_wsgi": "ceiling: raw WSGI constant body (project's Gunicorn + NGINX site)",
    "ceiling_flask": "ceiling: Flask jsonify constant body (project's Gunicorn + NGINX site)",
    "nginx_return_200": "ceiling: NGINX return 200 (same body)",
}

DEPLOYS: dict[str, str] = {
    "reload": "systemctl reload (HUP)",
    "restart": "systemctl restart",
    "code": "site.yml: same release, code change",
    "gunicorn_config": "site.yml: Gunicorn config change (timeout)",
    "env_file": "site.yml: env-file change (INCOMES_LOG_LEVEL)",
    "unit": "site.yml: unit change (LimitNOFILE)",
    "new_release": "site.yml: new release, new venv (bench2)",
    "reconverge": "site.yml: back to normal (all of the above undone)",
    "nginx_config": "site.yml: NGINX config change (a reload; not a goal kind)",
    "nginx_back": "site.yml: NGINX back to normal (a reload; not a goal kind)",
}
# NGINX reloads: reported, but the goal names the app's deploy kinds (see the doc's note).
NOT_GOAL_DEPLOYS = {"nginx_config", "nginx_back"}


@dataclass(frozen=True)
class Ratio:
    key: str
    label: str
    num: str
    den: str
    field: str = "rps"  # or "p99_ms"
    goal: float | None = None  # the threshold, if a goal uses this ratio
    at_least: bool = True  # goal: ratio >= goal (rps) or <= goal (latency)


RATIOS: list[Ratio] = [
    Ratio("get1_lab", "GET 1 item, project / lab", "project_get_1", "lab_get_1"),
    Ratio(
        "get1_flask",
        "GET 1 item, project / Flask-constant ceiling",
        "project_get_1",
        "ceiling_flask",
        goal=0.8,
    ),
    Ratio(
        "get1_raw", "GET 1 item, project / raw-WSGI ceiling", "project_get_1", "ceiling_raw_wsgi"
    ),
    Ratio(
        "get1_nginx", "GET 1 item, project / NGINX return 200", "project_get_1", "nginx_return_200"
    ),
    Ratio(
        "get1_p99",
        "GET 1 item p99, project / lab",
        "project_get_1",
        "lab_get_1",
        "p99_ms",
        goal=1.5,
        at_least=False,
    ),
    Ratio("get100_lab", "GET 100 items, project / lab", "project_get_100", "lab_get_100", goal=1.0),
    Ratio(
        "get100_p99",
        "GET 100 items p99, project / lab",
        "project_get_100",
        "lab_get_100",
        "p99_ms",
        goal=1.5,
        at_least=False,
    ),
    Ratio("post_lab", "POST, project / lab", "project_post", "lab_post", goal=1.0),
    Ratio("get36k_lab", "GET after ~36,000 POSTs, project / lab", "project_get_36k", "lab_get_36k"),
    Ratio(
        "rows100k_first",
        "GET 100,000 rows first page / GET 100 rows",
        "project_get_100k_first",
        "project_get_100",
        goal=0.8,
    ),
    Ratio(
        "rows100k_deep",
        "GET 100,000 rows deep page / GET 100 rows",
        "project_get_100k_deep",
        "project_get_100",
        goal=0.8,
    ),
    Ratio(
        "nginx_overhead",
        "NGINX overhead: proxied / Gunicorn direct",
        "project_get_1",
        "project_direct_1",
        goal=0.9,
    ),
    Ratio(
        "flask_raw",
        "Flask-constant ceiling / raw-WSGI ceiling",
        "ceiling_flask",
        "ceiling_raw_wsgi",
    ),
]

# Goals: (text, ratio keys that must all meet their threshold)
GOALS: list[tuple[str, list[str]]] = [
    (
        "GET 1 item >= 0.8x the Flask-constant ceiling, p99 <= 1.5x the lab's",
        ["get1_flask", "get1_p99"],
    ),
    ("GET 100 items >= 1.0x the lab, p99 <= 1.5x the lab's", ["get100_lab", "get100_p99"]),
    ("POST >= 1.0x the lab's POST", ["post_lab"]),
    (
        "GET with 100,000 rows >= 0.8x GET with 100 rows (first and deep page)",
        ["rows100k_first", "rows100k_deep"],
    ),
    ("NGINX overhead, proxied / direct >= 0.9", ["nginx_overhead"]),
]


def ratio_value(doc: dict[str, Any], r: Ratio) -> float | None:
    runs = doc["runs"]
    a, b = runs.get(r.num), runs.get(r.den)
    if not a or not b or not a.get(r.field) or not b.get(r.field):
        return None
    return float(a[r.field]) / float(b[r.field])


def ratio_met(r: Ratio, value: float | None) -> bool | None:
    if r.goal is None or value is None:
        return None
    return value >= r.goal if r.at_least else value <= r.goal


def _fmt(x: float | None, spec: str = ",.0f") -> str:
    return "n/a" if x is None else format(x, spec)


def _ms(x: float | None) -> str:
    if x is None:
        return "n/a"
    return f"{x:,.0f}" if x >= 100 else f"{x:.2f}" if x < 10 else f"{x:.1f}"


def _yes(ok: bool | None) -> str:
    return "n/a (not measured)" if ok is None else ("**met**" if ok else "**not met**")


def figures_rows(doc: dict[str, Any]) -> list[list[str]]:
    rows = []
    for key, label in RUNS.items():
        r = doc["runs"].get(key)
        if not r:
            rows.append([label, "n/a", "n/a", "", "", "not measured"])
            continue
        stored = r["extra"].get("items", r["extra"].get("rows", ""))
        failed = f"{r['failed']:,} / {r['requests']:,}"
        rows.append(
            [
                label,
                _fmt(r["rps"]),
                _ms(r["p99_ms"]),
                failed,
                f"{stored:,}" if isinstance(stored, int) else "",
                r.get("note", ""),
            ]
        )
    return rows


def ratio_rows(doc: dict[str, Any]) -> list[list[str]]:
    rows = []
    for r in RATIOS:
        v = ratio_value(doc, r)
        goal = "" if r.goal is None else (">= " if r.at_least else "<= ") + f"{r.goal:g}"
        ok = ratio_met(r, v)
        met = "" if ok is None and r.goal is None else _yes(ok)
        rows.append([r.label, _fmt(v, ".2f"), goal, met])
    return rows


def deploy_rows(doc: dict[str, Any]) -> list[list[str]]:
    rows = []
    for key, label in DEPLOYS.items():
        d = doc.get("deploys", {}).get(key)
        if not d:
            rows.append([label, "n/a", "", "", "not measured"])
            continue
        state = f"deploy failed (rc {d['rc']})" if d["rc"] else ", ".join(d.get("handlers", []))
        rows.append(
            [
                label,
                f"{d['failed']:,} / {d['requests']:,}",
                f"{d['non2xx']:,} / {d['socket_errors']:,}",
                f"{d['action_seconds']:.0f} s",
                state,
            ]
        )
    return rows


def goal_rows(doc: dict[str, Any]) -> list[list[str]]:
    by_key = {r.key: r for r in RATIOS}
    rows = []
    for text, keys in GOALS:
        parts, oks = [], []
        for k in keys:
            r = by_key[k]
            v = ratio_value(doc, r)
            parts.append(f"{r.label}: {_fmt(v, '.2f')}")
            oks.append(ratio_met(r, v))
        rows.append([text, "; ".join(parts), _yes(None if None in oks else all(oks))])
    deploys = doc.get("deploys", {})
    if deploys:
        bad = [
            k for k, d in deploys.items() if (d["failed"] or d["rc"]) and k not in NOT_GOAL_DEPLOYS
        ]
        detail = (
            ", ".join(
                f"{k}: {deploys[k]['failed']} failed"
                + (f" (rc {deploys[k]['rc']})" if deploys[k]["rc"] else "")
                for k in bad
            )
            or "all 0"
        )
        ok: bool | None = not bad and all(
            k in deploys for k in DEPLOYS if k not in NOT_GOAL_DEPLOYS
        )
    else:
        detail, ok = "deploys not measured", None
    rows.append(["Every deploy kind: 0 failed requests", detail, _yes(ok)])
    rerun = doc.get("rerun") or {}
    if rerun:
        rows.append(
            [
                "No-op rerun of site.yml <= 5x a facts-only play, changed=0",
                f"{rerun['site_seconds']:.1f} s / {rerun['facts_seconds']:.1f} s = "
                f"{rerun['ratio']:.1f}x (median of {rerun['runs']}), changed={rerun['changed']}",
                _yes(rerun["ratio"] <= 5 and rerun["changed"] == 0),
            ]
        )
    else:
        rows.append(["No-op rerun of site.yml <= 5x a facts-only play", "not measured", _yes(None)])
    return rows


def rerun_text(doc: dict[str, Any]) -> str:
    r = doc.get("rerun") or {}
    if not r:
        return "not measured in this run"
    return (
        f"{r['site_seconds']:.1f} s against {r['facts_seconds']:.1f} s, "
        f"**{r['ratio']:.1f}x** (medians of {r['runs']} runs each: site "
        f"{', '.join(f'{t:g}' for t in r['all_site'])} s; facts "
        f"{', '.join(f'{t:g}' for t in r['all_facts'])} s), changed={r['changed']}"
    )


def md_table(head: list[str], rows: list[list[str]], align: str = "") -> str:
    al = align or "l" + "r" * (len(head) - 1)
    sep = ["---:" if a == "r" else "---" for a in al]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(sep) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def text_table(head: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=False)]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    return "\n".join(
        [fmt.format(*head), fmt.format(*["-" * w for w in widths])] + [fmt.format(*r) for r in rows]
    )


FIG_HEAD = ["measured", "req/s", "p99 ms", "failed / total", "items or rows", "note"]
RATIO_HEAD = ["ratio", "value", "goal", "met"]
DEPLOY_HEAD = [
    "deploy under load",
    "failed / total",
    "non-2xx / socket errors",
    "took",
    "handlers that ran",
]
GOAL_HEAD = ["goal", "figures", "result"]


def table(doc: dict[str, Any]) -> str:
    """The stdout summary."""
    return "\n\n".join(
        [
            text_table(FIG_HEAD[:5], [r[:5] for r in figures_rows(doc)]),
            text_table(RATIO_HEAD, [[c.replace("*", "") for c in r] for r in ratio_rows(doc)]),
            text_table(DEPLOY_HEAD[:4], [r[:4] for r in deploy_rows(doc)]),
            text_table(GOAL_HEAD[::2], [[r[0], r[2].replace("*", "")] for r in goal_rows(doc)]),
        ]
    )


def chart(doc: dict[str, Any], png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    items: list[tuple[Ratio, float]] = []
    for r in RATIOS:
        v = ratio_value(doc, r)
        if v is not None:
            items.append((r, v))
    fig, ax = plt.subplots(figsize=(9, 0.42 * len(items) + 1.6))
    labels = [r.label for r, _ in items]
    values = [v for _, v in items]
    colors = []
    for r, v in items:
        ok = ratio_met(r, v)
        colors.append("#999999" if ok is None else "#2e7d32" if ok else "#c62828")
    y = list(range(len(items)))[::-1]
    ax.barh(y, values, color=colors)
    for yi, (r, v) in zip(y, items, strict=True):
        ax.text(v, yi, f" {v:.2f}", va="center", fontsize=8)
        if r.goal is not None:
            ax.plot([r.goal, r.goal], [yi - 0.4, yi + 0.4], color="black", linewidth=1.5)
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xscale("log")
    ax.set_xlim(min([*values, 0.5]) / 1.5, max([*values, 2.0]) * 2.5)  # room for the labels
    ax.axvline(1.0, color="#555555", linewidth=0.8, linestyle=":")
    meta = doc["meta"]
    ax.set_title(
        f"./dev bench ratios ({meta['date']}, {meta['nproc']} CPUs, "
        f"wrk {meta['bench_seconds']:g} s per figure)\n"
        "green: goal met, red: not met, grey: no goal; black tick: the goal",
        fontsize=9,
    )
    ax.set_xlabel("ratio (log scale)")
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)


def write(doc: dict[str, Any], md: Path, png: Path) -> None:
    meta = doc["meta"]
    v, lv = meta["versions"], meta["lab_versions"]
    proj = meta["project"]
    s = proj["settings"]
    facts = meta.get("facts", {})
    sizes = ", ".join(
        f"{k.removesuffix('_body_bytes')} {n} B"
        for k, n in facts.items()
        if k.endswith("_body_bytes")
    )
    text = Template((HERE / "benchmarks.md.in").read_text()).substitute(
        rerun=rerun_text(doc),
        date=meta["date"],
        command=meta["command"],
        wrk=meta["wrk"],
        warmup=f"{meta.get('warmup_seconds', 0):g}",
        nproc=meta["nproc"],
        nproc_container=meta["nproc_container"],
        image=meta["image"],
        suite=meta["suite"],
        kernel=meta["host_kernel"],
        wall=f"{meta['wall_seconds'] / 60:.1f}",
        load=" and ".join(f"{x:g}" for x in meta.get("loadavg_1min", [])) or "n/a",
        flask=v["flask"],
        gunicorn=v["gunicorn"],
        python=v["python"],
        lab_flask=lv["flask"],
        lab_gunicorn=lv["gunicorn"],
        lab_python=lv["python"],
        service=proj["service"],
        workers=s.get("workers"),
        worker_class=s.get("worker_class"),
        threads=s.get("threads"),
        max_requests=s.get("max_requests"),
        accesslog=s.get("accesslog"),
        direct=":".join(map(str, proj["direct"])) if proj.get("direct") else "none (unix socket)",
        direct_source=proj.get("direct_source") or "-",
        db_path=proj["db_path"],
        rows_before=f"{meta['rows_before']:,}",
        rows_after=f"{meta['rows_after']:,}",
        sizes=sizes or "n/a",
        figures=md_table(FIG_HEAD, figures_rows(doc), "lrrrrl"),
        ratios=md_table(RATIO_HEAD, ratio_rows(doc), "lrll"),
        goals=md_table(GOAL_HEAD, goal_rows(doc), "lll"),
        deploys=md_table(DEPLOY_HEAD, deploy_rows(doc), "lrrrl"),
        png=png.name,
    )
    md.write_text(text)
    chart(doc, png)
    print(f"==> wrote {md.name} and {png.name} in {md.parent}", file=sys.stderr)


def main(argv: list[str]) -> int:
    src = Path(argv[1]) if len(argv) > 1 else ROOT / "docs" / "benchmarks.json"
    doc = json.loads(src.read_text())
    write(doc, src.with_suffix(".md"), src.with_suffix(".png"))
    print(table(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
