"""tests/bench/report.py: from the runs of bench.py to results.md, the targets and the charts.

Every ratio is taken inside one round (both servers measured minutes apart, not hours), then the
median over rounds is reported: absolute numbers drift on a shared machine, ratios much less.
"""

import os
import statistics
import subprocess
from collections import defaultdict

REFERENCE = "part3"
ITERATIVE_STAGES = ["part1", "part2", "part3", "part4"]
FORK_STAGES = ["part5", "part6"]
STAGES = ["part1", "part2", "part3", "part3 asio", "part4", "part5", "part6"]
COLORS = {"iterative (C floor)": 0x1B5E20, "iterative": 0x1F77B4, "iterative (Asio)": 0x6BAED6,
          "fork per connection (C floor)": 0xA63603, "fork per connection": 0xFD8D3C,
          "fork per connection, Python app": 0xFDD0A2,
          "event loop, 1 worker": 0x636363, "sync worker, 1 process": 0x756BB1}
MIB = 1024.0


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


class Results:
    """The runs, grouped by (server, scenario, concurrency), with ratios taken round by round."""

    def __init__(self, runs):
        self.runs = runs
        self.groups = defaultdict(list)
        for r in runs:
            self.groups[(r.subject, r.scenario, r.concurrency)].append(r)

    def rps(self, name, scenario, c):
        return median([r.rps for r in self.groups.get((name, scenario, c), [])])

    def ratio(self, name, other, scenario, c, attr="rps"):
        """Median over rounds of attr(name) / attr(other) (requests per second by default), each
        pair from the same round."""
        mine = {r.round: getattr(r, attr) for r in self.groups.get((name, scenario, c), [])}
        theirs = {r.round: getattr(r, attr) for r in self.groups.get((other, scenario, c), [])}
        return median([mine[k] / theirs[k] for k in mine if mine[k] and theirs.get(k)])

    def field(self, name, scenario, c, attr, how=median):
        rows = self.groups.get((name, scenario, c), [])
        return how([getattr(r, attr) for r in rows]) if rows else None


def fmt_rps(v):
    return "–" if v is None else f"{v:,.0f}".replace(",", " ")


def fmt_ratio(v):
    return "–" if v is None else f"{v:.2f}×"


def fmt_us(v):
    return "–" if not v else f"{v:.1f} µs" if v < 100 else f"{v:.0f} µs"


def fmt_ms(v):
    if v is None:
        return "–"
    return f"{v * 1000:.0f} µs" if v < 1 else f"{v:.1f} ms" if v < 100 else f"{v:.0f} ms"


def fmt_count(v):
    return "–" if v is None else f"{v:,}".replace(",", " ")


def fmt_mib(kib):
    return "–" if not kib else f"{kib / MIB:.1f} MiB"


def table(res, subjects, scenario_conc):
    lines = ["| server | model | scenario | concurrency | req/s | × part3 | CPU per request | p50 | p99 | idle RSS | "
             "loaded RSS | errors |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for scenario, c in scenario_conc:
        for s in subjects:
            if (s.name, scenario, c) not in res.groups:
                continue
            lines.append("| " + " | ".join([
                s.name, s.model, scenario, str(c), fmt_rps(res.rps(s.name, scenario, c)),
                fmt_ratio(res.ratio(s.name, REFERENCE, scenario, c)),
                fmt_us(res.field(s.name, scenario, c, "cpu_us")),
                fmt_ms(res.field(s.name, scenario, c, "p50_ms")), fmt_ms(res.field(s.name, scenario, c, "p99_ms")),
                fmt_mib(res.field(s.name, scenario, c, "idle_kib")),
                fmt_mib(res.field(s.name, scenario, c, "loaded_kib", max)),
                str(res.field(s.name, scenario, c, "errors", sum))]) + " |")
    return lines


def targets(res, c):
    """Rows of the throughput targets: (target, server, hello ratio, wait ratio, CPU ratio, verdict)."""
    rows = []

    def ratio_row(target, name, other, floor, ceiling=None):
        values = [res.ratio(name, other, sc, c) for sc in ("hello", "wait")]
        known = [v for v in values if v is not None]
        ok = bool(known) and all(v >= floor and (ceiling is None or v <= ceiling) for v in known)
        mine, theirs = res.field(name, "hello", c, "cpu_us"), res.field(other, "hello", c, "cpu_us")
        cpu = f"{mine / theirs:.2f}× ({mine:.0f} / {theirs:.0f} µs)" if mine and theirs else "–"
        rows.append((target, name, fmt_ratio(values[0]), fmt_ratio(values[1]), cpu, "met" if ok else "**not met**"))

    for name in ITERATIVE_STAGES:
        if (name, "hello", c) in res.groups:
            ratio_row("≥ 0.9× bare iterative", name, "bare iterative", 0.9)
    for name in FORK_STAGES:
        if (name, "hello", c) in res.groups:
            ratio_row("≥ 0.9× bare fork", name, "bare fork", 0.9)
    if ("part3 asio", "hello", c) in res.groups:
        ratio_row("within 10% of part3", "part3 asio", "part3", 0.9, 1.1)
    return rows


def cpu_targets(res, c):
    """Rows of the CPU targets: (target, server, CPU ratio, each side's CPU per request, verdict)."""
    rows = []
    for name, floor in (("part3", "bare iterative"), ("part6", "bare fork")):
        ratio = res.ratio(name, floor, "hello", c, attr="cpu_us")
        if ratio is None:
            continue
        mine, theirs = res.field(name, "hello", c, "cpu_us"), res.field(floor, "hello", c, "cpu_us")
        rows.append((f"≤ 1.3× {floor}", name, fmt_ratio(ratio), f"{mine:.0f} / {theirs:.0f} µs" if mine and theirs else "–",
                     "met" if ratio <= 1.3 else "**not met**"))
    return rows


def memory_targets(res, c, rest):
    rows = []
    for name in STAGES:
        if name in rest:
            kib = rest[name]["idle_kib"]
            busy = max([v for v in (res.field(name, sc, c, "idle_kib", max) for sc in ("hello", "wait")) if v] or [0])
            verdict = "**not met**" if not kib or kib >= 4 * MIB else "met" if busy < 4 * MIB else \
                "met at rest, **not met** among TIME_WAITs"
            rows.append(("idle RSS < 4 MiB", name, fmt_mib(kib), fmt_mib(busy), verdict))
    return rows


def memory_table(res, subjects, c):
    lines = ["| server | scenario | TIME_WAIT at start | idle RSS | loaded RSS (sum) | loaded PSS (sum) | "
             "live children (peak) | zombies (peak) |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for scenario in ("hello", "wait"):
        for s in subjects:
            if (s.name, scenario, c) not in res.groups:
                continue
            lines.append("| " + " | ".join([
                s.name, scenario, fmt_count(res.field(s.name, scenario, c, "time_wait", max)),
                fmt_mib(res.field(s.name, scenario, c, "idle_kib")),
                fmt_mib(res.field(s.name, scenario, c, "loaded_kib", max)),
                fmt_mib(res.field(s.name, scenario, c, "loaded_pss_kib", max)),
                str(res.field(s.name, scenario, c, "peak_children", max)),
                str(res.field(s.name, scenario, c, "peak_zombies", max))]) + " |")
    return lines


def write_chart_data(res, subjects, c, out):
    with open(os.path.join(out, "requests.dat"), "w") as f:
        f.write("# server  hello-req/s  wait-req/s  color  hello-label  wait-label\n")
        for s in subjects:
            values = []
            for scenario in ("hello", "wait"):
                v = res.rps(s.name, scenario, c)
                ratio = res.ratio(s.name, REFERENCE, scenario, c)
                label = "n/a" if v is None else f"{fmt_rps(v)}" + (f" ({ratio:.2f}×)" if ratio else "")
                values.append((v or 0, label))
            f.write(f'"{s.name}" {values[0][0]:.1f} {values[1][0]:.1f} {COLORS.get(s.model, 0x999999)} '
                    f'"{values[0][1]}" "{values[1][1]}"\n')
    swept = [s for s in subjects if len({k[2] for k in res.groups if k[0] == s.name}) > 1]
    for scenario in ("hello", "wait"):
        levels = sorted({k[2] for k in res.groups if k[1] == scenario and k[0] in {s.name for s in swept}})
        with open(os.path.join(out, f"concurrency-{scenario}.dat"), "w") as f:
            f.write("concurrency " + " ".join(f'"{s.name}"' for s in swept) + "\n")
            for level in levels:
                row = [res.rps(s.name, scenario, level) for s in swept]
                f.write(f"{level} " + " ".join("?" if v is None else f"{v:.1f}" for v in row) + "\n")
    return swept


def draw(out, report_dir, swept, meta):
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "plot.gp")
    colors = " ".join(f"#{COLORS.get(s.model, 0x999999):06x}" for s in swept)
    subtitle = f"wrk -d{meta['duration']}s, Connection: close; {meta['cpus']} cores, loopback"
    done = subprocess.run(["gnuplot", "-e", f"data='{out}'; charts='{report_dir}'; series={len(swept)}; "
                           f"colors='{colors}'; wait_ms={meta['wait_ms']}; subtitle='{subtitle}'", script],
                          capture_output=True, text=True)
    return done.stderr.strip()


def write(runs, subjects, meta, report_dir, out):
    """Write results.md and the charts; return the failures (errors, problems, missing files)."""
    res = Results(runs)
    c = 16
    failures = []
    for r in runs:
        if r.errors:
            failures.append(f"{r.subject} {r.scenario} c{r.concurrency}: {r.errors} errors ({r.error_detail})")
        failures += [f"{r.subject} {r.scenario} c{r.concurrency}: {p}" for p in r.problems if not p.startswith("note")]
    for name, r in meta["at_rest"].items():
        failures += [f"{name} at rest: {p}" for p in r["problems"]]

    swept = write_chart_data(res, subjects, c, out)
    gnuplot_errors = draw(out, report_dir, swept, meta)

    sweep_levels = sorted({k[2] for k in res.groups} - {c})
    lines = [
        "# Benchmarks: what each concurrency model costs",
        "",
        f"Generated by `make bench{' QUICK=1' if meta['quick'] else ''}` (tests/bench/bench.py) on {meta['date']}: "
        f"{meta['cpus']} cores, Linux {meta['kernel']}, loopback only; load average {meta['load_before']} before, "
        f"{meta['load_after']} after; {meta['minutes']:.1f} minutes.",
        "",
        f"Each server is started fresh for each measurement, checked with one request, warmed up for "
        f"{meta['warmup']} s, then loaded with `wrk -t2 -cN -d{meta['duration']}s --latency -H 'Connection: close'` "
        f"(`-t1` for one connection), and stopped with SIGTERM. The reference setting (16 connections) ran in "
        f"{meta['rounds']} round(s), each round going through every server; the numbers are medians over the "
        f"rounds and every ratio is taken inside a round, between servers measured minutes apart. "
        f"Absolute req/s drift with the load of this shared machine; the ratios are what to compare.",
        "",
        "Scenarios: **hello** is `GET /hello`, answered at once. **wait** is `GET /wait`, where every request "
        f"waits {meta['wait_ms']} ms before it is answered, as for a database: the stages load "
        "`tests/bench/wait_app.c`, a gateway app that sleeps (part1 has no gateway: n/a), the bare C servers "
        "sleep the same, nginx uses `echo_sleep`, gunicorn's app `time.sleep`.",
        "",
        "Logging: every server writes its access log (a line or more per request) to a file, "
        "`tests/bench/out/logs/` (trimmed after each run); nginx and gunicorn log each request too.",
        "",
        "![requests per second by server](requests.png)",
        "",
        "![requests per second against concurrency](concurrency.png)",
        "",
        "## The reference setting: 16 connections",
        "",
        *table(res, subjects, [("hello", c), ("wait", c)]),
        "",
        "× part3: requests per second relative to part3 (the raw iterative server) in the same round.",
        "Loaded RSS adds up the resident memory of the server and all its live child processes at the "
        "busiest moment, so shared pages count once per process; the memory table below also gives PSS, "
        "which shares them out.",
        "",
    ]
    if sweep_levels:
        lines += ["## Concurrency sweep", "",
                  *table(res, [s for s in subjects if len({k[2] for k in res.groups if k[0] == s.name}) > 1],
                         [(sc, level) for sc in ("hello", "wait") for level in sorted(sweep_levels + [c])]),
                  "", "Concurrency other than 16 ran in one round.", ""]
    errors = sum(r.errors for r in runs)
    lines += ["## Targets", "",
              "Ratios at 16 connections, the median of the per-round ratios; reported here, never asserted in a "
              "test. The target is on requests per second; CPU per request (the server's user and system time, "
              "its children's included, divided by the requests it answered) is the same comparison with less "
              "noise from the other programs on the machine.", "",
              "| target | server | hello: req/s | wait: req/s | hello: CPU per request | |",
              "|---|---|---:|---:|---:|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in targets(res, c)]
    lines += ["", "CPU per request on hello at 16 connections, against the bare C server of the same model: the "
              "median of the per-round ratios.", "",
              "| target | server | CPU per request, × the floor | median CPU per request (server / floor) | |",
              "|---|---|---:|---:|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in cpu_targets(res, c)]
    lines += ["", "| target | server | idle RSS at rest | idle RSS at start of a loaded run (most) | |",
              "|---|---|---:|---:|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in memory_targets(res, c, meta["at_rest"])]
    lines += ["", f"Zero errors: {errors} errors in {len(runs)} runs ({'met' if errors == 0 else '**not met**'}).",
              "At rest: started before any load. At the start of a loaded run: started among the TIME_WAIT "
              "connections that the earlier runs left (see the memory table)."]
    lines += ["", "## The cost of a fork", ""]
    costs = meta["fork_cost_us"]
    if costs:
        lines += ["`tests/bench/forkcost.c`: fork(), the child's `_exit(0)` and the parent's `waitpid()`, averaged, "
                  "in a C process that first touched some memory (fork copies the page tables that map it):", "",
                  "| memory touched | fork + exit + wait |", "|---:|---:|"]
        lines += [f"| {mib} MiB | {us:.0f} µs |" for mib, us in sorted(costs.items())]
    it, fk = res.rps("bare iterative", "hello", c), res.rps("bare fork", "hello", c)
    p3, p6 = res.rps("part3", "hello", c), res.rps("part6", "hello", c)
    if it and fk:
        lines += ["", f"Under load (hello, 16 connections), a request costs the bare iterative server "
                  f"{1e6 / it:.0f} µs of wall-clock time and the bare fork server {1e6 / fk:.0f} µs: "
                  f"{1e6 / fk - 1e6 / it:.0f} µs more per connection for the fork"
                  + (f"; part3 {1e6 / p3:.0f} µs, part6 {1e6 / p6:.0f} µs." if p3 and p6 else ".")]
    lines += ["", "## At rest: each server started once before any load", "",
              "| server | idle RSS | start-up (to listening) | TIME_WAIT connections then |", "|---|---:|---:|---:|"]
    for s in subjects:
        if s.name in meta["at_rest"]:
            r = meta["at_rest"][s.name]
            lines.append(f"| {s.name} | {fmt_mib(r['idle_kib'])} | {r['startup_s'] * 1000:.0f} ms | "
                         f"{fmt_count(r['time_wait'])} |")
    lines += ["", "## Memory under load (16 connections)", "", *memory_table(res, subjects, c), "",
              "TIME_WAIT at start: connections of the earlier runs still in TIME_WAIT (60 s on Linux) when the "
              "server started. Parts 4 to 6 read all of them from /proc/net/tcp at start-up.", ""]
    if meta["notes"] or any(p.startswith("note") for r in runs for p in r.problems):
        lines += ["## Notes", ""]
        lines += [f"- {n}" for n in meta["notes"]]
        lines += [f"- {r.subject} {r.scenario} c{r.concurrency} round {r.round}: {p[6:]}"
                  for r in runs for p in r.problems if p.startswith("note")]
        lines += [""]
    if failures:
        lines += ["## Failures", ""] + [f"- {f}" for f in failures] + [""]
    with open(os.path.join(report_dir, "results.md"), "w") as f:
        f.write("\n".join(lines))

    for name in ("results.md", "requests.png", "concurrency.png"):
        path = os.path.join(report_dir, name)
        if not os.path.exists(path) or os.path.getsize(path) == 0 or os.path.getmtime(path) < meta["started"]:
            failures.append(f"{name} was not written" + (f" (gnuplot: {gnuplot_errors})" if gnuplot_errors else ""))
    return failures
