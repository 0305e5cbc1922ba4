#!/usr/bin/python3
"""plot.py - draw the suite's figures from the tables' CSVs (results/*.csv).

Usage: plot.py [--results DIR] [--out DIR] [--no-gnuplot]

Writes PNG and SVG into plots/ (default), each titled with its claim IDs and the host:
  T1        grouped bars on a log scale: our G vs pthread vs peers vs Go (create, switch,
            memory per parked task)                                       matplotlib
  T3        run-queue padding: ns per op for pad 0 / 64 / 128, false-sharing rows  matplotlib
  T4        pinning: tlb_flush and mmaps, bind 0 vs 1 per working set      matplotlib
  T10, T5, T6  sweeps (channel capacity, GOMAXPROCS, migration rate) as lines with error bars
            (min-max over repetitions, else cv x median)                  gnuplot (scripts/sweep.gp)
Missing data gives a figure that says n/a and why (the claim's verdict); a missing CSV is
reported and skipped.  Never fails because data is missing; exit 2 on an unreadable CSV.
"""

import argparse
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PROG = "plot.py"
HERE = os.path.dirname(os.path.abspath(__file__))
# Fixed metadata so that regenerated SVG/PNG files are byte-identical.
SVG_META = {"Date": None, "Creator": None}
PNG_META = {"Software": None}
plt.rcParams["svg.hashsalt"] = "mn-suite"


class BadCSV(Exception):
    pass


class Table:
    """One table's CSV: values by (bench_row, counter) and verdicts by claim."""

    def __init__(self, results, tid):
        self.tid = tid
        self.values = {}
        self.verdicts = {}
        self.host = "unknown host"
        path = os.path.join(results, tid + ".csv")
        self.present = os.path.exists(path)
        if not self.present:
            return
        rows = []
        try:
            with open(path, newline="", encoding="utf-8") as f:
                rd = csv.DictReader(f)
                for r in rd:
                    # DictReader pads a short row with None and files extra fields under
                    # None: a row cut off (e.g. a truncated last line) or run together.
                    if None in r.values() or None in r:
                        n = len(rd.fieldnames)
                        got = n - list(r.values()).count(None) if None not in r \
                            else n + len(r[None])
                        raise BadCSV(f"{path}: line {rd.line_num}: {got} fields, header has "
                                     f"{n} (truncated or malformed row)")
                    rows.append(r)
        except (OSError, csv.Error, UnicodeDecodeError) as e:
            raise BadCSV(f"{path}: {e}")
        for r in rows:
            if "claim" not in r or "bench_row" not in r or "median" not in r:
                raise BadCSV(f"{path}: not a tables.py CSV (missing columns)")
            if r["role"] == "claim":
                self.verdicts[r["claim"]] = r["verdict"]
            elif r["median"] and r["counter"]:
                try:
                    v = {k: float(r[k]) if r[k] else None for k in ("median", "min", "max", "cv")}
                except ValueError:
                    raise BadCSV(f"{path}: bad number in row {r['bench_row']}")
                self.values[(r["bench_row"], r["counter"])] = v
        md = os.path.join(results, tid + ".md")
        if os.path.exists(md):
            with open(md, encoding="utf-8") as f:
                m = re.search(r"^- host: (\S+)", f.read(), re.M)
            if m:
                self.host = m.group(1)

    def get(self, row, counter):
        return self.values.get((row, counter))

    def match(self, pattern, counter):
        """[(bench_row, args, value)] for rows matching a regex, natural order."""
        rx = re.compile(pattern)
        out = []
        for (row, ctr), v in self.values.items():
            if ctr == counter and rx.fullmatch(row):
                args = dict(p.split(":", 1) for p in row.split("/") if ":" in p)
                out.append((row, args, v))
        return sorted(out, key=lambda t: natural_key(t[0]))

    def why(self, claims):
        for c in claims:
            v = self.verdicts.get(c, "")
            if v.startswith("n/a"):
                return f"{c}: {v}"
        if not self.present:
            return f"n/a: results/{self.tid}.csv missing (run make tables)"
        return "n/a: no measured values"


def natural_key(s):
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", s)]


def err(v):
    """Asymmetric error bar (below, above) from min-max, else cv x median."""
    if v["min"] is not None and v["max"] is not None:
        return v["median"] - v["min"], v["max"] - v["median"]
    if v["cv"] is not None:
        e = v["cv"] * v["median"]
        return e, e
    return 0.0, 0.0


def save(fig, out, name):
    os.makedirs(out, exist_ok=True)
    for ext, meta in (("png", PNG_META), ("svg", SVG_META)):
        path = os.path.join(out, f"{name}.{ext}")
        tmp = path + ".tmp." + ext
        fig.savefig(tmp, format=ext, dpi=100, metadata=meta, bbox_inches="tight")
        os.replace(tmp, path)
    plt.close(fig)
    print(f"{PROG}: wrote {out}/{name}.png and .svg")


def na_figure(out, name, title, reason):
    fig, ax = plt.subplots(figsize=(7, 2.5))
    ax.axis("off")
    ax.set_title(title, fontsize=10)
    ax.text(0.5, 0.5, reason, ha="center", va="center", wrap=True, fontsize=10)
    save(fig, out, name)


# ==== T1: grouped bars ====================================================================

T1_GROUPS = [
    ("create+run+exit (ns)", [
        ("our G, 1 P", "spawn/g/procs:1/reuse:1", "ns_per_spawn"),
        ("our G, all Ps", "spawn/g/procs:all/reuse:1", "ns_per_spawn"),
        ("pthread", "spawn/pthread", "ns_per_spawn"),
        ("Go", "go/spawn/procs:1", "ns_per_spawn"),
    ]),
    ("switch (ns)", [
        ("our G yield", "switch/g_yield/procs:1", "ns_per_switch"),
        ("pthread futex, 1 CPU", "switch/pthread_futex/cpus:1", "ns_per_switch"),
        ("pthread futex, 2 CPUs", "switch/pthread_futex/cpus:2", "ns_per_switch"),
        ("peer ucontext", "switch/ucontext", "ns_per_switch"),
        ("peer fcontext", "switch/fcontext", "ns_per_switch"),
        ("Go Gosched", "go/switch/gosched", "ns_per_switch"),
    ]),
    ("memory per parked task (B)", [
        ("our G, 100k", "stack/g_parked/n:100000/small:0", "bytes_per_g"),
        ("our G, 100k, 2 KiB stacks", "stack/g_parked/n:100000/small:1", "bytes_per_g"),
        ("pthread, default stack", "stack/pthread_parked/n:1000/stack:default",
         "bytes_per_thread"),
        ("Go, 100k", "go/stack/parked/n:100000", "bytes_per_g"),
    ]),
]
T1_COLORS = {"our": "tab:blue", "pthread": "tab:red", "peer": "tab:gray", "Go": "tab:green"}


def plot_t1(tab, out):
    claims = ["T1.create.g", "T1.create.pthread", "T1.switch.g", "T1.switch.pthread",
              "T1.stack.g", "T1.stack.pthread"]
    title = f"{', '.join(claims)} - {tab.host}"
    groups = [(g, [(l, tab.get(r, c)) for l, r, c in bars]) for g, bars in T1_GROUPS]
    if not any(v for _, bars in groups for _, v in bars):
        return na_figure(out, "T1", title, tab.why(claims))
    fig, axes = plt.subplots(1, len(groups), figsize=(13, 4.5))
    for ax, (gname, bars) in zip(axes, groups):
        labels = [l for l, _ in bars]
        for i, (label, v) in enumerate(bars):
            color = next((c for k, c in T1_COLORS.items() if label.startswith(k)), "tab:purple")
            if v is None or v["median"] <= 0:
                ax.text(i, 0.02, "n/a", ha="center", va="bottom", fontsize=8,
                        transform=ax.get_xaxis_transform())
                continue
            lo, hi = err(v)
            ax.bar(i, v["median"], color=color, yerr=[[lo], [hi]], capsize=3)
        ax.set_yscale("log")
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, rotation=35, ha="right", fontsize=8)
        ax.set_title(gname, fontsize=9)
    fig.suptitle(title, fontsize=10)
    save(fig, out, "T1")


# ==== T3 / T4: comparison bars ============================================================


def bars(out, name, title, series, reason, ylabel, log=False):
    """series: [(label, value-dict or None)]"""
    have = [(l, v) for l, v in series if v]
    if not have:
        return na_figure(out, name, title, reason)
    fig, ax = plt.subplots(figsize=(max(5, 0.8 * len(series) + 2), 4))
    for i, (label, v) in enumerate(series):
        if not v:
            ax.text(i, 0.02, "n/a", ha="center", va="bottom", fontsize=8,
                    transform=ax.get_xaxis_transform())
            continue
        lo, hi = err(v)
        ax.bar(i, v["median"], yerr=[[lo], [hi]], capsize=3,
               color="tab:orange" if "pad:0" in label or "bind:0" in label else "tab:blue")
    ax.set_xticks(range(len(series)))
    ax.set_xticklabels([l for l, _ in series], rotation=35, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    ax.set_title(title, fontsize=10)
    save(fig, out, name)


def plot_t3(tab, out):
    claims = ["T3.latency", "T3.l1hit"]
    series = [(row.replace("runq/op/", ""), v)
              for row, _, v in tab.match(r"runq/op/pad:\d+/stealers:\d+", "ns_per_op")]
    series += [(row, tab.get(row, "ns_per_op"))
               for row in ("falseshare/same_line", "falseshare/separate_lines")]
    bars(out, "T3", f"{', '.join(claims)}: run-queue padding - {tab.host}", series,
         tab.why(claims), "ns per op")


def plot_t4(tab, out):
    claims = ["T4.flush", "T4.mmap", "T4.local"]
    series = []
    for ctr in ("tlb_flush", "mmaps"):
        series += [(f"{ctr} {row.replace('pin/touch/', '')}", v)
                   for row, _, v in tab.match(r"pin/touch/ws_kib:\d+/bind:[01]", ctr)]
    bars(out, "T4", f"{', '.join(claims)}: P pinned vs unpinned - {tab.host}", series,
         tab.why(claims), "events per iteration", log=True)


# ==== Sweeps (gnuplot) ====================================================================

SWEEPS = [
    # name, table, claims, title, counter, [(series label, regex, x-arg)], xlabel, logx
    ("T10", "T10", ["T10.lat"], "channel buffer sweep", "ns_per_msg",
     [("ours procs:1", r"chan/throughput/cap:\d+/procs:1", "cap"),
      ("ours procs:2", r"chan/throughput/cap:\d+/procs:2", "cap"),
      ("Go procs:1", r"go/chan/throughput/cap:\d+/procs:1", "cap"),
      ("Go procs:2", r"go/chan/throughput/cap:\d+/procs:2", "cap")],
     "channel capacity", "ns per message", True),
    ("T5", "T5", ["T5.idle", "T5.grunq"], "GOMAXPROCS sweep", "ops_per_s",
     [("ours", r"procs/sweep/procs:\d+", "procs"),
      ("Go", r"go/procs/sweep/procs:\d+", "procs")],
     "GOMAXPROCS", "ops per s", False),
    ("T6", "T6", ["T6.l1d", "T6.per", "T6.reuse"], "forced migration sweep", "ns_per_op",
     [("ws:l1", r"migrate/hot/ws:l1/rate:\d+", "rate"),
      ("ws:l2", r"migrate/hot/ws:l2/rate:\d+", "rate")],
     "forced migrations per second", "ns per op", True),
]


def sweep_data(tab, series, counter):
    blocks = []
    for label, rx, xarg in series:
        pts = []
        for row, args, v in tab.match(rx, counter):
            try:
                x = float(args[xarg])
            except (KeyError, ValueError):
                continue
            lo, hi = err(v)
            pts.append((x, v["median"], v["median"] - lo, v["median"] + hi))
        if pts:
            blocks.append((label, sorted(pts)))
    return blocks


def plot_sweep(tab, out, spec, use_gnuplot):
    name, _, claims, what, counter, series, xlabel, ylabel, logx = spec
    title = f"{', '.join(claims)}: {what} - {tab.host}"
    blocks = sweep_data(tab, series, counter)
    if logx:  # x = 0 cannot sit on a log axis: place it one decade below the next point
        xs = sorted({p[0] for _, pts in blocks for p in pts if p[0] > 0})
        zero = xs[0] / 10 if xs else 0.1
        if any(p[0] <= 0 for _, pts in blocks for p in pts):
            xlabel += f" (0 drawn at {zero:g})"
        blocks = [(l, [((p[0] if p[0] > 0 else zero),) + tuple(p[1:]) for p in pts])
                  for l, pts in blocks]
    if not blocks:
        return na_figure(out, name, title, tab.why(claims))
    if use_gnuplot and shutil.which("gnuplot"):
        return gnuplot_sweep(out, name, title, blocks, xlabel, ylabel, logx)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, pts in blocks:
        x = [p[0] for p in pts]
        y = [p[1] for p in pts]
        yerr = [[p[1] - p[2] for p in pts], [p[3] - p[1] for p in pts]]
        ax.errorbar(x, y, yerr=yerr, marker="o", capsize=3, label=label,
                    linestyle="--" if label.startswith("Go") else "-")
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    save(fig, out, name)


def gnuplot_sweep(out, name, title, blocks, xlabel, ylabel, logx):
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        dat = os.path.join(tmp, "sweep.dat")
        with open(dat, "w", encoding="utf-8") as f:
            for label, pts in blocks:
                f.write(f'"{label}" 0 0 0\n')
                for p in pts:
                    f.write(" ".join(repr(float(v)) for v in p) + "\n")
                f.write("\n\n")
        for term in ("png", "svg"):
            dest = os.path.join(out, f"{name}.{term}")
            tmpout = os.path.join(tmp, f"out.{term}")
            cmd = ["gnuplot", "-e",
                   f"dat='{dat}'; out='{tmpout}'; term='{term}'; nblocks={len(blocks)}; "
                   f"ttl='{gp_quote(title)}'; xl='{gp_quote(xlabel)}'; yl='{gp_quote(ylabel)}'; "
                   f"logx={1 if logx else 0}",
                   os.path.join(HERE, "sweep.gp")]
            p = subprocess.run(cmd, capture_output=True, text=True)
            if p.returncode != 0 or not os.path.exists(tmpout):
                print(f"{PROG}: gnuplot failed for {name}: {p.stderr.strip()[:200]}",
                      file=sys.stderr)
                return
            shutil.move(tmpout, dest)
    print(f"{PROG}: wrote {out}/{name}.png and .svg (gnuplot)")


def gp_quote(s):
    return s.replace("'", "''")


def main(argv=None):
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", default="results", help="where the tables' CSVs are")
    ap.add_argument("--out", default="plots", help="where figures go (default: plots)")
    ap.add_argument("--no-gnuplot", action="store_true", help="draw sweeps with matplotlib")
    args = ap.parse_args(argv)
    try:
        tabs = {t: Table(args.results, t) for t in ("T1", "T3", "T4", "T5", "T6", "T10")}
    except BadCSV as e:
        print(f"{PROG}: malformed input: {e}", file=sys.stderr)
        return 2
    missing = [t for t, tab in tabs.items() if not tab.present]
    if missing:
        print(f"{PROG}: no CSV for {', '.join(missing)} in {args.results}/ "
              "(run make tables); drawing n/a figures for them")
    plot_t1(tabs["T1"], args.out)
    plot_t3(tabs["T3"], args.out)
    plot_t4(tabs["T4"], args.out)
    for spec in SWEEPS:
        plot_sweep(tabs[spec[1]], args.out, spec, not args.no_gnuplot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
