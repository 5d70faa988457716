"""What the pages say: text tables, JSON documents, Prometheus text and the HTML dashboard, from worker reports.

Everything here reads plain data (``_history.report`` dicts, as published to the spool): no heap access.
"""

from __future__ import annotations

import html
import json
import time

from .._common import human_size

SUMMARY_SCHEMA = "refgraph.web.summary/1"
GROWTH_SCHEMA = "refgraph.web.growth/1"
DASHBOARD_SCHEMA = "refgraph.web.dashboard/1"
METRICS_SCHEMA = "refgraph.web.metrics/1"
CHAIN_SCHEMA = "refgraph.web.chain/1"
RETAINED_SCHEMA = "refgraph.web.retained/1"

# Row of a report's "types": name, count, bytes, count and bytes since the previous sample, since start.
NAME, COUNT, SIZE, D_COUNT, D_SIZE, S_COUNT, S_SIZE = range(7)


def to_json(doc):
    return (json.dumps(doc, indent=1, sort_keys=False) + "\n").encode()


def _sort_key(sort):
    if sort == "size":
        return lambda r: (-r[SIZE], -r[COUNT], r[NAME])
    return lambda r: (-r[COUNT], -r[SIZE], r[NAME])


def total_rows(workers):
    """Rows summed over the workers that have data (dead ones excluded)."""
    acc = {}
    for w in workers:
        if w.report is None or w.status in ("dead", "invalid"):
            continue
        for row in w.report["types"]:
            cur = acc.get(row[NAME])
            if cur is None:
                acc[row[NAME]] = list(row)
            else:
                for k in range(1, 7):
                    cur[k] += row[k]
    return list(acc.values())


def counted(workers):
    return [w for w in workers if w.report is not None and w.status not in ("dead", "invalid")]


def worker_facts(w, now, self_pid):
    r = w.report
    facts = {"pid": w.pid, "self": w.pid == self_pid, "status": w.status}
    if w.reason:
        facts["reason"] = w.reason
    if r is not None:
        facts.update(
            age_seconds=round(max(now - r["time"], 0.0), 3),
            sampled_at=r["time"],
            started_at=r["started"],
            samples=r["samples"],
            capture_seconds=r["capture_seconds"],
            capture_seconds_max=r["capture_seconds_max"],
            capture_cpu_seconds=r["capture_cpu_seconds"],
            memory=r["memory"],
            objects=r["objects"],
            object_bytes=r["object_bytes"],
        )
    return facts


def _heading(w, now, self_pid):
    parts = [f"worker {w.pid}" + (" (this process)" if w.pid == self_pid else ""), w.status]
    if w.reason:
        parts.append(w.reason)
    r = w.report
    if r is not None:
        parts.append(f"data {max(now - r['time'], 0.0):.1f} s old")
        rss = r["memory"].get("rss")
        if rss:
            parts.append(f"RSS {human_size(rss)}")
        parts.append(f"{r['objects']} objects, {human_size(r['object_bytes'])}")
        parts.append(
            f"count held the GIL {r['capture_seconds'] * 1000:.0f} ms (CPU {r['capture_cpu_seconds'] * 1000:.0f} ms)"
        )
    return "== " + " | ".join(parts) + " =="


def _table(header, cells, out):
    widths = [max([len(h)] + [len(c[k]) for c in cells]) for k, h in enumerate(header)]
    out.append(" | ".join(f"{h:>{w}}" for h, w in zip(header, widths)))
    out.append(" | ".join("=" * w for w in widths))
    for c in cells:
        out.append(" | ".join(f"{x:>{w}}" for x, w in zip(c, widths)))


def _bytes(n):
    return human_size(n)


def memory_text(m):
    """refgraph.memory()'s accounting in one line, from what a report has (at least ``rss``)."""
    g = m.get
    if "arenas_allocated" not in m:
        return f"RSS {_bytes(g('rss', 0))}"
    return (
        f"RSS {_bytes(g('rss'))} ({_bytes(g('rss_file'))} mapped files, {_bytes(g('rss_anon'))} anonymous); "
        f"object allocator {_bytes(g('arenas_allocated'))} in arenas ({_bytes(g('arenas_used'))} used); "
        f"C heap {_bytes(g('heap_in_use'))} in use, {_bytes(g('heap_free'))} free; "
        f"not Python objects {_bytes(g('not_python_objects'))}; unaccounted {_bytes(g('unaccounted'))}"
    )


def _signed(n):
    return f"{n:+d}"


def _signed_size(n):
    return human_size(n, sign=True)


# -- /summary -------------------------------------------------------------------------------------------------------
def summary(workers, self_pid, sort, limit, as_json):
    now = time.time()
    key = _sort_key(sort)

    def table(rows):
        return sorted(rows, key=key)[:limit] if limit else sorted(rows, key=key)

    live = counted(workers)
    total = table(total_rows(workers))
    if as_json:
        doc = {"schema": SUMMARY_SCHEMA, "pid": self_pid, "sort": sort, "limit": limit, "workers": []}
        for w in workers:
            facts = worker_facts(w, now, self_pid)
            if w.report is not None and w in live:
                facts["types"] = [
                    {"type": r[NAME], "count": r[COUNT], "size": r[SIZE]} for r in table(w.report["types"])
                ]
            doc["workers"].append(facts)
        doc["total"] = {
            "workers": len(live),
            "objects": sum(w.report["objects"] for w in live),
            "object_bytes": sum(w.report["object_bytes"] for w in live),
            "types": [{"type": r[NAME], "count": r[COUNT], "size": r[SIZE]} for r in total],
        }
        return to_json(doc)
    out = [f"refgraph summary: {len(live)} worker(s), sorted by {sort}"]
    header = ("types", "# objects", "total size")
    for w in workers:
        out.append("")
        out.append(_heading(w, now, self_pid))
        if w in live:
            _table(header, [(r[NAME], str(r[COUNT]), human_size(r[SIZE])) for r in table(w.report["types"])], out)
    out.append("")
    out.append(
        f"== total over {len(live)} worker(s): {sum(w.report['objects'] for w in live)} objects, "
        f"{human_size(sum(w.report['object_bytes'] for w in live))} =="
    )
    _table(header, [(r[NAME], str(r[COUNT]), human_size(r[SIZE])) for r in total], out)
    return ("\n".join(out) + "\n").encode()


# -- /growth --------------------------------------------------------------------------------------------------------
def _growth_rows(rows, since, sort, limit):
    dc, ds = (D_COUNT, D_SIZE) if since == "previous" else (S_COUNT, S_SIZE)
    grown = [r for r in rows if r[dc] > 0 or r[ds] > 0]
    if sort == "size":
        grown.sort(key=lambda r: (-r[ds], -r[dc], r[NAME]))
    else:
        grown.sort(key=lambda r: (-r[dc], -r[ds], r[NAME]))
    grown = grown[:limit] if limit else grown
    return [
        {"type": r[NAME], "count": r[COUNT], "count_delta": r[dc], "size": r[SIZE], "size_delta": r[ds]} for r in grown
    ]


def growth(workers, self_pid, since, sort, limit, as_json):
    now = time.time()
    live = counted(workers)
    total = _growth_rows(total_rows(workers), since, sort, limit)
    if as_json:
        doc = {"schema": GROWTH_SCHEMA, "pid": self_pid, "since": since, "sort": sort, "limit": limit, "workers": []}
        for w in workers:
            facts = worker_facts(w, now, self_pid)
            if w in live:
                facts["types"] = _growth_rows(w.report["types"], since, sort, limit)
            doc["workers"].append(facts)
        doc["total"] = {"workers": len(live), "types": total}
        return to_json(doc)
    what = "the previous sample" if since == "previous" else "the start of each worker"
    out = [f"refgraph growth since {what}: {len(live)} worker(s), sorted by {sort} growth"]
    header = ("type", "objects", "new objects", "total size", "size growth")

    def cells(rows):
        return [
            (
                g["type"],
                str(g["count"]),
                _signed(g["count_delta"]),
                human_size(g["size"]),
                _signed_size(g["size_delta"]),
            )
            for g in rows
        ]

    for w in workers:
        out.append("")
        out.append(_heading(w, now, self_pid))
        if w in live:
            rows = _growth_rows(w.report["types"], since, sort, limit)
            if rows:
                _table(header, cells(rows), out)
            else:
                out.append("(nothing grew)")
    out.append("")
    out.append(f"== total over {len(live)} worker(s) ==")
    if total:
        _table(header, cells(total), out)
    else:
        out.append("(nothing grew)")
    return ("\n".join(out) + "\n").encode()


# -- /metrics -------------------------------------------------------------------------------------------------------
def metrics_families(workers, self_pid, top):
    """[(name, help, unit-less samples [(labels dict, value)])] with at most ``top`` type labels plus 'other' per
    worker, so the label set stays bounded however many types the heap has."""
    now = time.time()
    objects, sizes, rss, pybytes, capture, cpu, age, memory = [], [], [], [], [], [], [], []
    for w in counted(workers):
        r = w.report
        pid = str(w.pid)
        rows = sorted(r["types"], key=_sort_key("size"))
        for row in rows[:top]:
            objects.append(({"worker": pid, "type": row[NAME]}, row[COUNT]))
            sizes.append(({"worker": pid, "type": row[NAME]}, row[SIZE]))
        rest = rows[top:]
        objects.append(({"worker": pid, "type": "other"}, sum(x[COUNT] for x in rest)))
        sizes.append(({"worker": pid, "type": "other"}, sum(x[SIZE] for x in rest)))
        rss.append(({"worker": pid}, r["memory"].get("rss", 0)))
        memory.extend(({"worker": pid, "kind": kind}, value) for kind, value in r["memory"].items())
        pybytes.append(({"worker": pid}, r["object_bytes"]))
        capture.append(({"worker": pid}, r["capture_seconds"]))
        cpu.append(({"worker": pid}, r["capture_cpu_seconds"]))
        age.append(({"worker": pid}, max(now - r["time"], 0.0)))
    return [
        ("refgraph_objects", f'Objects per type (top {top} types by size, the rest as type="other")', objects),
        ("refgraph_object_bytes", f'Shallow bytes per type (top {top} types by size, the rest as type="other")', sizes),
        ("refgraph_rss_bytes", "Resident set size of the worker process", rss),
        ("refgraph_memory_bytes", "The worker's memory by kind, as refgraph.memory() accounts for it", memory),
        ("refgraph_python_object_bytes", "Shallow bytes of all Python objects of the worker", pybytes),
        ("refgraph_capture_seconds", "How long the worker's last count held the GIL", capture),
        ("refgraph_capture_cpu_seconds", "CPU time of the worker's last count", cpu),
        ("refgraph_sample_age_seconds", "Age of the worker's data", age),
    ]


def metrics(workers, self_pid, top, as_json):
    families = metrics_families(workers, self_pid, top)
    if as_json:
        return to_json(
            {
                "schema": METRICS_SCHEMA,
                "pid": self_pid,
                "top": top,
                "metrics": [
                    {"name": n, "help": h, "samples": [{"labels": lb, "value": v} for lb, v in s]}
                    for n, h, s in families
                ],
            }
        )
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.core import GaugeMetricFamily

    class Collector:
        def collect(self):
            for name, text, samples in families:
                labels = sorted(samples[0][0]) if samples else []
                family = GaugeMetricFamily(name, text, labels=labels)
                for lb, v in samples:
                    family.add_metric([lb[k] for k in labels], v)
                yield family

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Collector())
    return generate_latest(registry)


# -- / (dashboard) --------------------------------------------------------------------------------------------------
def dashboard_json(workers, self_pid, limit):
    now = time.time()
    doc = {"schema": DASHBOARD_SCHEMA, "pid": self_pid, "limit": limit, "workers": []}
    for w in workers:
        facts = worker_facts(w, now, self_pid)
        if w in counted(workers):
            r = w.report
            facts["sample_times"] = r["sample_times"]
            facts["types"] = [
                {
                    "type": row[NAME],
                    "count": row[COUNT],
                    "size": row[SIZE],
                    "count_delta_previous": row[D_COUNT],
                    "size_delta_previous": row[D_SIZE],
                    "count_delta_start": row[S_COUNT],
                    "size_delta_start": row[S_SIZE],
                    "counts": r["spark"].get(row[NAME]),
                }
                for row in sorted(r["types"], key=_sort_key("size"))[:limit]
            ]
        doc["workers"].append(facts)
    live = counted(workers)
    doc["total"] = {
        "workers": len(live),
        "objects": sum(w.report["objects"] for w in live),
        "object_bytes": sum(w.report["object_bytes"] for w in live),
    }
    return to_json(doc)


def sparkline(values, width=120, height=22):
    """An inline SVG polyline of counts over time (no script, no external resource)."""
    if not values:
        return '<svg class="spark" width="%d" height="%d"></svg>' % (width, height)
    lo, hi = min(values), max(values)
    span = hi - lo or 1
    n = len(values)
    step = width / max(n - 1, 1)
    points = " ".join(f"{k * step:.1f},{height - 2 - (v - lo) * (height - 4) / span:.1f}" for k, v in enumerate(values))
    if n == 1:
        points += f" {width:.1f},{height - 2 - (values[0] - lo) * (height - 4) / span:.1f}"
    colour = "#c0392b" if values[-1] > values[0] else "#2c6fbb"
    return (
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{n} samples from {lo} to {hi}"><polyline fill="none" stroke="{colour}" stroke-width="1.5" '
        f'points="{points}"/></svg>'
    )


_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}h2{font-size:1.1em;margin:1.2em 0 .3em}h3{font-size:1em;margin:.8em 0 .2em}
table{border-collapse:collapse;margin:.3em 0 1em}
th,td{padding:2px 8px;text-align:right;border-bottom:1px solid #e3e3e3}
th:first-child,td:first-child{text-align:left}
.grow{color:#c0392b;font-weight:600}.status-live{color:#1e7b34}.status-stale,.status-dead,.status-invalid{color:#b35900}
.facts{color:#555}section.worker{border-left:4px solid #2c6fbb;padding-left:1em;margin-bottom:1.5em}
section.total{border-left:4px solid #555;padding-left:1em}
nav a{margin-right:1em}
"""


GROWING_ROWS = 10


def _rows_html(out, css_class, rows, report, pid, self_pid, base):
    e = html.escape
    out.append(
        f'<table class="{css_class}"><thead><tr><th>type</th><th>objects</th><th>total size</th>'
        "<th>since previous</th><th>since start</th><th>objects over time</th></tr></thead><tbody>"
    )
    for row in rows:
        name = e(row[NAME])
        if row[S_COUNT] > 0:
            target = f"{base}/chain?type={_quote(row[NAME])}"
            if pid != self_pid:
                target += f"&worker={pid}"
            cell = f'<a class="grow" href="{e(target)}" title="chain to a root">{name}</a>'
        else:
            cell = name
        out.append(
            f"<tr><td>{cell}</td><td>{row[COUNT]}</td><td>{human_size(row[SIZE])}</td>"
            f"<td>{_signed(row[D_COUNT])} / {_signed_size(row[D_SIZE])}</td>"
            f"<td>{_signed(row[S_COUNT])} / {_signed_size(row[S_SIZE])}</td>"
            f"<td>{sparkline(report['spark'].get(row[NAME], []))}</td></tr>"
        )
    out.append("</tbody></table>")


def dashboard_html(workers, self_pid, limit, base):
    now = time.time()
    e = html.escape
    live = counted(workers)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>refgraph: memory by type</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>refgraph: memory by type, {len(live)} worker(s)</h1>",
        "<nav>"
        + "".join(
            f'<a href="{e(base)}/{p}">{t}</a>'
            for p, t in (
                ("summary", "summary"),
                ("growth", "growth"),
                ("growth?since=start", "growth since start"),
                ("retained", "retained sizes (full capture)"),
                ("metrics", "metrics"),
                ("snapshot.rgd", "snapshot of this worker"),
                ("?format=json", "JSON"),
            )
        )
        + "</nav>",
    ]
    for w in workers:
        r = w.report
        out.append(f'<section class="worker" id="worker-{w.pid}" data-pid="{w.pid}" data-status="{e(w.status)}">')
        me = " (this process)" if w.pid == self_pid else ""
        out.append(f'<h2>worker {w.pid}{me} <span class="status-{e(w.status)}">{e(w.status)}</span></h2>')
        if w.reason:
            out.append(f'<p class="facts">{e(w.reason)}</p>')
        if r is None or w not in live:
            out.append("</section>")
            continue
        mem = e(memory_text(r["memory"]))
        out.append(
            f'<p class="facts">data {max(now - r["time"], 0.0):.1f} s old; {r["samples"]} samples since '
            f"{time.strftime('%H:%M:%S', time.localtime(r['started']))}; {r['objects']} objects, "
            f"{human_size(r['object_bytes'])} of Python objects; {mem}; the last count held the GIL "
            f"{r['capture_seconds'] * 1000:.0f} ms, CPU {r['capture_cpu_seconds'] * 1000:.0f} ms "
            f"(longest {r['capture_seconds_max'] * 1000:.0f} ms)</p>"
        )
        growing = sorted(
            (row for row in r["types"] if row[S_COUNT] > 0), key=lambda x: (-x[S_COUNT], -x[S_SIZE], x[NAME])
        )
        out.append(f"<h3>growing since start ({len(growing)} types)</h3>")
        _rows_html(out, "growth", growing[:GROWING_ROWS], r, w.pid, self_pid, base)
        out.append("<h3>largest types</h3>")
        _rows_html(out, "types", sorted(r["types"], key=_sort_key("size"))[:limit], r, w.pid, self_pid, base)
        out.append("</section>")
    rows = sorted(total_rows(workers), key=_sort_key("size"))[:limit]
    out.append(f'<section class="total" id="total"><h2>total over {len(live)} worker(s)</h2>')
    out.append(
        '<table class="types total"><thead><tr><th>type</th><th>objects</th><th>total size</th>'
        "<th>since previous</th><th>since start</th></tr></thead><tbody>"
    )
    for row in rows:
        out.append(
            f"<tr><td>{e(row[NAME])}</td><td>{row[COUNT]}</td><td>{human_size(row[SIZE])}</td>"
            f"<td>{_signed(row[D_COUNT])} / {_signed_size(row[D_SIZE])}</td>"
            f"<td>{_signed(row[S_COUNT])} / {_signed_size(row[S_SIZE])}</td></tr>"
        )
    out.append("</tbody></table></section></body></html>")
    return ("\n".join(out) + "\n").encode()


def retained(pid, objects, total, seconds, rows, types, as_json):
    """/retained: the biggest retainers under the roots and the types by retained size, of one full capture."""
    if as_json:
        return to_json(
            {
                "schema": RETAINED_SCHEMA,
                "pid": pid,
                "objects": objects,
                "total_size": total,
                "seconds": round(seconds, 3),
                "dominators": [
                    {"id": r.id, "type": r.type, "retained": r.retained, "size": r.size, "chain": str(r.chain)}
                    for r in rows
                ],
                "types": [t._asdict() for t in types],
            }
        )
    out = [
        f"retained sizes in worker {pid}: {objects} objects, {human_size(total)}; "
        f"full capture and dominator tree in {seconds:.2f} s",
        "",
        "biggest retainers under the roots:",
    ]
    _table(
        ("retained", "size", "type", "chain"),
        [(human_size(r.retained), human_size(r.size), r.type, str(r.chain)) for r in rows],
        out,
    )
    out += ["", "types by retained size (what all their objects keep alive together):"]
    _table(
        ("type", "objects", "total size", "retained"),
        [(t.type, str(t.count), human_size(t.size), human_size(t.retained)) for t in types],
        out,
    )
    return ("\n".join(out) + "\n").encode()


def _quote(text):
    from urllib.parse import quote

    return quote(text, safe="")
