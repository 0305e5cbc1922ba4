#!/usr/bin/python3
"""plot.py - draw the suite's figures from the tables' CSVs (results/*.csv).

Usage: plot.py [--results DIR] [--out DIR] [--only T1,T5,...]

Writes PNG and SVG into plots/ (default), all with matplotlib.  Each figure has a title
saying what it shows, its claim IDs and the host; axes labelled with units; a legend where
colours mean something; and a footer saying what the bars or points are (the median of n
repetitions) and what the error bars are: the 95% bootstrap interval of the median when the
tables carry one (ci_lo / ci_hi columns, from scripts/stats.py), else the min-max over the
repetitions, else +- cv x median; a value with n = 1 has none.
  T1   what a G costs next to a thread, a peer library and Go: create+run+exit, switch
       (log axes: they span 1000x), memory per parked task (linear axis)
  T3   run-queue padding: ns per op by padding, false sharing, scheduling latency
  T4   pinning: TLB flushes and mmaps per iteration, unpinned vs pinned, per working set
  T5   GOMAXPROCS sweep: throughput and P idle share, ours and Go
  T6   forced migration sweep: ns per op for the L1 and the L2 working set (own panels)
  T10  channel buffer sweep: ns per message by capacity, ours and Go
Missing data gives a figure that says n/a and why (the claim's verdict); a missing CSV is
reported and drawn as n/a.  Exit 0 when figures were written; 2 when no CSV exists at all
or a CSV is malformed (one line on stderr, nothing written); 1 when the output folder
cannot be written (one line).  A NaN or infinite median is drawn as n/a with one line
saying which row.
"""

import csv
import math
import os
import re
import sys

import toolversion  # scripts/toolversion.py: --version

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator  # noqa: E402

PROG = "plot.py"
# Fixed metadata so that regenerated SVG/PNG files are byte-identical.
SVG_META = {"Date": None, "Creator": None}
PNG_META = {"Software": None}
plt.rcParams["svg.hashsalt"] = "mn-suite"
TABLES = ("T1", "T3", "T4", "T5", "T6", "T10")


class BadCSV(Exception):
    pass


class CannotWrite(Exception):
    pass


NUM_COLS = ("median", "min", "max", "cv", "n", "ci_lo", "ci_hi")


def num(r, k):
    """The float in column k, None when the column is absent or empty."""
    v = r.get(k)
    return float(v) if v not in (None, "") else None


class Table:
    """One table's CSV: values by (bench_row, counter) and verdicts by claim.

    A value is a dict: median, lo and hi (the error bar's ends, None when none), n
    (repetitions, None when the CSV does not say) and kind ("ci", "minmax", "cv", None)."""

    def __init__(self, results, tid):
        self.tid = tid
        self.values = {}
        self.verdicts = {}
        self.nonfinite = []
        self.host = "unknown host"
        path = os.path.join(results, tid + ".csv")
        self.present = os.path.exists(path)
        if not self.present:
            return
        rows = []
        try:
            with open(path, newline="", encoding="utf-8") as f:
                rd = csv.DictReader(f)
                if rd.fieldnames is None:
                    raise BadCSV(f"{path}: empty file (no header; run make tables)")
                if not {"claim", "bench_row", "median"} <= set(rd.fieldnames):
                    raise BadCSV(f"{path}: not a tables.py CSV (missing columns)")
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
            if r.get("role") == "claim":
                self.verdicts[r["claim"]] = r.get("verdict", "")
            elif r["median"] and r.get("counter"):
                try:
                    v = {k: num(r, k) for k in NUM_COLS}
                except ValueError:
                    raise BadCSV(f"{path}: bad number in row {r['bench_row']}")
                key = (r["bench_row"], r["counter"])
                if not math.isfinite(v["median"]):
                    self.nonfinite.append(f"{r['bench_row']} {r['counter']}")
                    continue
                self.values[key] = interval(v)
        md = os.path.join(results, tid + ".md")
        if os.path.exists(md):
            with open(md, encoding="utf-8") as f:
                m = re.search(r"^- host: (\S+)", f.read(), re.M)
            if m:
                self.host = m.group(1)

    def get(self, row, counter):
        return self.values.get((row, counter))

    def first(self, rows, counters):
        """The first value found among rows x counters (names that changed over time)."""
        for row in rows:
            for c in counters:
                v = self.get(row, c)
                if v:
                    return v
        return None

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


def finite(x):
    return x is not None and math.isfinite(x)


def interval(v):
    """The value with its error bar: the CI of the median when the tables give one, else
    min-max over the repetitions, else +- cv x median; none for n = 1."""
    m = v["median"]
    out = {"median": m, "n": v["n"], "lo": None, "hi": None, "kind": None}
    if v["n"] is not None and v["n"] <= 1:
        return out
    if finite(v["ci_lo"]) and finite(v["ci_hi"]):
        out.update(lo=min(v["ci_lo"], m), hi=max(v["ci_hi"], m), kind="ci")
    elif finite(v["min"]) and finite(v["max"]):
        out.update(lo=min(v["min"], m), hi=max(v["max"], m), kind="minmax")
    elif finite(v["cv"]):
        out.update(lo=m - abs(v["cv"] * m), hi=m + abs(v["cv"] * m), kind="cv")
    return out


def yerr(v):
    """matplotlib's [[below], [above]] for one value."""
    if v["kind"] is None:
        return [[0.0], [0.0]]
    return [[v["median"] - v["lo"]], [v["hi"] - v["median"]]]


KIND_TEXT = {
    "ci": "95% bootstrap interval of the median (scripts/stats.py)",
    "minmax": "min-max over the repetitions (the tables give no confidence interval)",
    "cv": "+- cv x median (the tables give neither interval nor min-max)",
}


def note(values, what="Bars"):
    """The footer: what the bars are and what their error bars are."""
    values = [v for v in values if v]
    ns = sorted({int(v["n"]) for v in values if v["n"] is not None})
    if not ns:
        n = "n repetitions (n not in the tables)"
    elif len(ns) == 1:
        n = f"n = {ns[0]} repetition" + ("s" if ns[0] != 1 else "")
    else:
        n = f"n = {ns[0]}..{ns[-1]} repetitions"
    kinds = [k for k in ("ci", "minmax", "cv") if any(v["kind"] == k for v in values)]
    if kinds:
        bars = "; ".join(KIND_TEXT[k] for k in kinds)
        one = " (none where n = 1)" if 1 in ns else ""
        err = f"Error bars: {bars}{one}."
    else:
        err = "No error bars: no value has more than one repetition."
    return f"{what}: median of {n}.  {err}"


def footer(fig, text):
    fig.text(0.01, 0.005, text, ha="left", va="bottom", fontsize=8, wrap=True,
             color="0.25")


def title(fig, what, claims, host):
    fig.suptitle(f"{what}\n{', '.join(claims)} - host {host}", fontsize=10)


def save(fig, out, name):
    try:
        os.makedirs(out, exist_ok=True)
        for ext, meta in (("png", PNG_META), ("svg", SVG_META)):
            path = os.path.join(out, f"{name}.{ext}")
            tmp = path + ".tmp." + ext
            try:
                fig.savefig(tmp, format=ext, dpi=100, metadata=meta, bbox_inches="tight")
                os.replace(tmp, path)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
    except OSError as e:
        raise CannotWrite(f"cannot write {out}/{name}.png: "
                          f"{e.strerror or e}{' (' + e.filename + ')' if e.filename else ''}")
    finally:
        plt.close(fig)
    print(f"{PROG}: wrote {out}/{name}.png and .svg")


def na_figure(out, name, what, claims, host, reason):
    fig, ax = plt.subplots(figsize=(7, 2.5))
    ax.axis("off")
    title(fig, what, claims, host)
    ax.text(0.5, 0.5, reason, ha="center", va="center", wrap=True, fontsize=10)
    footer(fig, "Nothing drawn: no measured value for this figure in this run, so no bars "
                "and no error bars.")
    save(fig, out, name)


def eng(x, digits=3):
    """x in the figures' one number format: plain below 1000 (0.256, 63.5), then k / M / G
    (41.9 k, 2.18 M); digits significant digits, trailing zeros dropped."""
    for exp, prefix in ((9, "G"), (6, "M"), (3, "k")):
        if abs(x) >= 10 ** exp:
            return f"{x / 10 ** exp:.{digits}g}\u2009{prefix}"
    return f"{x:.{digits}g}"


def eng3(x):
    return eng(x, 3)


# Axis ticks in the same format (no 1e6 offsets, no 'm' for milli).
FMT = FuncFormatter(lambda x, pos: eng(x, 6))


def bar_label(ax, x, v):
    """The median printed above its bar, in the figures' one number format."""
    top = v["hi"] if v["kind"] else v["median"]
    ax.annotate(eng3(v["median"]), (x, top), xytext=(0, 2),
                textcoords="offset points", ha="center", va="bottom", fontsize=7)


def na_mark(ax, x):
    ax.text(x, 0.02, "n/a", ha="center", va="bottom", fontsize=8,
            transform=ax.get_xaxis_transform())


def eng_axis(ax, which="y"):
    axis = ax.yaxis if which == "y" else ax.xaxis
    axis.set_major_formatter(FMT)
    if (ax.get_yscale() if which == "y" else ax.get_xscale()) == "log":
        axis.set_minor_formatter(plt.NullFormatter())


# ==== T1: grouped bars ====================================================================

T1_GROUPS = [
    ("create + run + exit", "ns per create + run + exit", True, [
        ("our G, 1 P", "spawn/g/procs:1/reuse:1", "ns_per_spawn"),
        ("our G, all Ps", "spawn/g/procs:all/reuse:1", "ns_per_spawn"),
        ("pthread", "spawn/pthread", "ns_per_spawn"),
        ("Go, 1 P", "go/spawn/procs:1", "ns_per_spawn"),
    ]),
    ("switch", "ns per switch", True, [
        ("our G yield", "switch/g_yield/procs:1", "ns_per_switch"),
        ("pthread futex, 1 CPU", "switch/pthread_futex/cpus:1", "ns_per_switch"),
        ("pthread futex, 2 CPUs", "switch/pthread_futex/cpus:2", "ns_per_switch"),
        ("peer ucontext", "switch/ucontext", "ns_per_switch"),
        ("peer fcontext", "switch/fcontext", "ns_per_switch"),
        ("Go Gosched", "go/switch/gosched", "ns_per_switch"),
    ]),
    ("memory per parked task", "bytes of RSS per parked task", False, [
        ("our G, 100k", "stack/g_parked/n:100000/small:0", "bytes_per_g"),
        ("our G, 100k, 2 KiB stacks", "stack/g_parked/n:100000/small:1", "bytes_per_g"),
        ("pthread, default stack", "stack/pthread_parked/n:1000/stack:default",
         "bytes_per_thread"),
        ("Go, 100k", "go/stack/parked/n:100000", "bytes_per_g"),
    ]),
]
T1_COLORS = [("our", "tab:blue", "our runtime (G)"), ("pthread", "tab:red", "pthread"),
             ("peer", "tab:gray", "peer library (ucontext, Boost fcontext)"),
             ("Go", "tab:green", "Go (the peer runtime)")]


def plot_t1(tab, out):
    claims = ["T1.create.g", "T1.create.pthread", "T1.switch.g", "T1.switch.pthread",
              "T1.stack.g", "T1.stack.pthread"]
    what = "T1: what a G costs next to a thread, a peer library and Go"
    groups = [(g, yl, log, [(l, tab.get(r, c)) for l, r, c in bars])
              for g, yl, log, bars in T1_GROUPS]
    if not any(v for *_, bars in groups for _, v in bars):
        return na_figure(out, "T1", what, claims, tab.host, tab.why(claims))
    fig, axes = plt.subplots(1, len(groups), figsize=(13, 5.2))
    for ax, (gname, ylabel, log, bars) in zip(axes, groups):
        for i, (label, v) in enumerate(bars):
            color = next((c for k, c, _ in T1_COLORS if label.startswith(k)), "tab:purple")
            if v is None or v["median"] <= 0:
                na_mark(ax, i)
                continue
            ax.bar(i, v["median"], color=color, yerr=yerr(v), capsize=3)
            bar_label(ax, i, v)
        if log:
            ax.set_yscale("log")
        else:
            ax.set_ylim(bottom=0)
        ax.margins(y=0.12)
        eng_axis(ax)
        ax.set_xticks(range(len(bars)))
        ax.set_xticklabels([l for l, _ in bars], rotation=30, ha="right", fontsize=8)
        ax.set_ylabel(ylabel + (" (log axis)" if log else ""))
        ax.set_title(gname, fontsize=9)
    title(fig, what, claims, tab.host)
    fig.tight_layout(rect=(0, 0.04, 1, 0.93))
    top = max(ax.get_position().y1 for ax in axes)  # the legend sits above the panel titles
    fig.legend(handles=[Patch(color=c, label=t) for _, c, t in T1_COLORS],
               loc="lower center", fontsize=8, ncol=4, bbox_to_anchor=(0.5, top + 0.045),
               frameon=False)
    footer(fig, note([v for *_, bars in groups for _, v in bars]))
    save(fig, out, "T1")


# ==== T3 / T4: grouped comparison bars ====================================================


def grouped(ax, groups, series, colors, ylabel, log=False):
    """Bars by group (x) and series (colour).  groups: [label]; series: [(label,
    {group: value})].  Returns the values drawn."""
    drawn = []
    if not series or not groups:
        ax.text(0.5, 0.5, "n/a: no rows in this run", ha="center", transform=ax.transAxes)
        ax.set_xticks([])
        ax.set_yticks([])
        return drawn
    k = len(series)
    if not k:  # nothing measured for this panel
        ax.text(0.5, 0.5, "n/a: no rows", ha="center", transform=ax.transAxes)
        return drawn
    width = 0.8 / k
    for j, (slabel, vals) in enumerate(series):
        for i, g in enumerate(groups):
            x = i - 0.4 + width * (j + 0.5)
            v = vals.get(g)
            if not v or (log and v["median"] <= 0):
                na_mark(ax, x)
                continue
            ax.bar(x, v["median"], width, color=colors[j], yerr=yerr(v), capsize=2)
            bar_label(ax, x, v)
            drawn.append(v)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, fontsize=8)
    if log:
        ax.set_yscale("log")
    else:
        ax.set_ylim(bottom=0)
    ax.margins(y=0.15)
    eng_axis(ax)
    ax.set_ylabel(ylabel)
    ax.legend(handles=[Patch(color=colors[j], label=s) for j, (s, _) in enumerate(series)],
              fontsize=8, loc="best")
    return drawn


PAD_COLORS = ["tab:orange", "tab:blue", "tab:cyan", "tab:purple"]


def plot_t3(tab, out):
    claims = ["T3.latency", "T3.l1hit"]
    what = "T3: does padding the run queue (64-byte lines) speed up the scheduler?"
    ops = tab.match(r"runq/op/pad:\d+/stealers:\d+", "ns_per_op")
    pads = sorted({a["pad"] for _, a, _ in ops}, key=int)
    steal = sorted({a["stealers"] for _, a, _ in ops}, key=int)
    fs = [("same cache line", tab.get("falseshare/same_line", "ns_per_op")),
          ("separate lines", tab.get("falseshare/separate_lines", "ns_per_op"))]
    lat = [(a["pad"], v) for _, a, v in tab.match(r"sched/pingpong/pad:\d+", "lat_mean_ns")]
    if not ops and not any(v for _, v in fs) and not lat:
        return na_figure(out, "T3", what, claims, tab.host, tab.why(claims))
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.8),
                             gridspec_kw={"width_ratios": [max(2, len(steal)), 1.3, 1.3]})
    drawn = []
    ax = axes[0]
    if ops:
        groups = [f"{s} stealer" + ("s" if s != "1" else "") for s in steal]
        series = [(f"pad:{p}" + (" (unpadded)" if p == "0" else ""),
                   {f"{a['stealers']} stealer" + ("s" if a["stealers"] != "1" else ""): v
                    for _, a, v in ops if a["pad"] == p}) for p in pads]
        drawn += grouped(ax, groups, series, PAD_COLORS,
                         "ns per run-queue op (put + get); padding in bytes")
    else:
        ax.text(0.5, 0.5, "n/a: no runq/op rows", ha="center", transform=ax.transAxes)
    ax.set_title("run-queue op by padding", fontsize=9)
    ax.set_xlabel("concurrent stealers")
    ax = axes[1]
    drawn += grouped(ax, ["two counters"], [(l, {"two counters": v}) for l, v in fs],
                     ["tab:orange", "tab:blue"], "ns per increment")
    ax.set_title("false sharing: counters on one line vs two", fontsize=9)
    ax = axes[2]
    drawn += grouped(ax, ["ping-pong"], [(f"pad:{p}" + (" (unpadded)" if p == "0" else ""),
                                          {"ping-pong": v}) for p, v in lat],
                     PAD_COLORS, "mean scheduling latency, ns")
    ax.set_title("scheduling latency (T3.latency)", fontsize=9)
    title(fig, what, claims, tab.host)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    footer(fig, note(drawn))
    save(fig, out, "T3")


# T4 panels: (counter names, panel title, y label, log axis, scale).  pin/shoot (4 Gs per P
# mmap, touch and munmap 64 KiB chunks; unmap:0 the control) is what the claims judge;
# pin/touch (working-set sizes) is drawn when a run predates it.
T4_SHOOT = [
    (("shootdown_events",), "TLB flush events (T4.flush)", "flush events per iteration (count)",
     False, 1.0),
    (("mmaps",), "mmap calls (T4.mmap)", "mmap calls per iteration (count)", False, 1.0),
    (("local_share",), "shootdowns needing no IPI (T4.local)",
     "local share, % of shootdowns started", False, 100.0),
    (("migrations",), "check: did the unpinned Ms move?",
     "migrations of the workload's Ms per repetition (count)", False, 1.0),
]
T4_TOUCH = [
    (("tlb_flush",), "TLB flushes (T4.flush)", "TLB flushes per iteration (count, log axis)",
     True, 1.0),
    (("mmaps_run", "mmaps"), "mmap calls (T4.mmap)", "mmap calls per run (count)", False, 1.0),
]
BIND_SERIES = (("0", "unpinned (bind:0)"), ("1", "pinned (bind:1)"))


def scaled(v, k):
    if v is None or k == 1.0:
        return v
    return dict(v, median=v["median"] * k, lo=None if v["lo"] is None else v["lo"] * k,
                hi=None if v["hi"] is None else v["hi"] * k)


def plot_t4(tab, out):
    claims = ["T4.flush", "T4.mmap", "T4.local"]
    what = "T4: does pinning each P to a CPU cut TLB flushes and mmaps?"
    panels = []
    shoot = any(re.fullmatch(r"pin/shoot/unmap:[01]/bind:[01]", r) for r, _ in tab.values)
    rx, arg, specs = ((r"pin/shoot/unmap:[01]/bind:[01]", "unmap", T4_SHOOT) if shoot else
                      (r"pin/touch/ws_kib:\d+/bind:[01]", "ws_kib", T4_TOUCH))
    for ctrs, sub, ylabel, log, k in specs:
        for ctr in ctrs:
            rows = tab.match(rx, ctr)
            if rows:
                panels.append((sub, ylabel, log, [(r, a, scaled(v, k)) for r, a, v in rows]))
                break
    if not panels:
        return na_figure(out, "T4", what, claims, tab.host, tab.why(claims))
    cols = min(len(panels), 2 if len(panels) == 4 else 3)
    nrow = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(nrow, cols, figsize=(6.5 * cols, 4.3 * nrow), squeeze=False)
    drawn = []
    for ax, (sub, ylabel, log, rows) in zip(axes.flat, panels):
        keys = sorted({a[arg] for _, a, _ in rows}, key=int, reverse=shoot)
        if shoot:
            names = {"1": "munmap each pass", "0": "control: mapped once"}
            xlabel = "workload (4 Gs per P over 64 KiB chunks)"
        else:
            names = {w: f"{int(w) // 1024} MiB" if int(w) >= 1024 else f"{w} KiB" for w in keys}
            xlabel = "working set touched per iteration"
        groups = [names[k] for k in keys]
        series = [(lab, {names[a[arg]]: v for _, a, v in rows if a["bind"] == b})
                  for b, lab in BIND_SERIES]
        drawn += grouped(ax, groups, series, ["tab:orange", "tab:blue"], ylabel, log=log)
        ax.set_xlabel(xlabel)
        ax.set_title(sub, fontsize=9)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    title(fig, what, claims, tab.host)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    footer(fig, note(drawn))
    save(fig, out, "T4")


# ==== Sweeps ==============================================================================


def sweep_points(tab, rx, counter, xarg, scale=1.0):
    pts = []
    for _, args, v in tab.match(rx, counter):
        try:
            x = float(args[xarg])
        except (KeyError, ValueError):
            continue
        pts.append((x, v, scale))
    return sorted(pts, key=lambda p: p[0])


def draw_line(ax, pts, label, style="-", color=None):
    x = [p[0] for p in pts]
    y = [p[1]["median"] * p[2] for p in pts]
    e = [[(p[1]["median"] - p[1]["lo"]) * p[2] if p[1]["kind"] else 0 for p in pts],
         [(p[1]["hi"] - p[1]["median"]) * p[2] if p[1]["kind"] else 0 for p in pts]]
    ax.errorbar(x, y, yerr=e, marker="o", capsize=3, label=label, linestyle=style,
                color=color)
    return [p[1] for p in pts]


def zero_on_log(ax, xs):
    """x = 0 cannot sit on a log axis: draw it one decade below the next point, ticked '0'.
    Returns the x mapping."""
    pos = sorted({x for x in xs if x > 0})
    z = pos[0] / 10 if pos else 0.1
    ticks = ([z] if any(x <= 0 for x in xs) else []) + pos
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels(["0" if t == z and any(x <= 0 for x in xs) else
                        (f"{int(t)}" if t == int(t) else eng3(t)) for t in ticks])
    return lambda x: x if x > 0 else z


def plot_t10(tab, out):
    claims = ["T10.lat"]
    what = "T10: channel latency and time per message by buffer capacity, ours and Go"
    # left: what T10.lat judges, open-loop mean send-to-receive latency at a fixed offered
    # rate, one line per (GOMAXPROCS, rate); right: closed-loop time per message
    open_lines = []
    for who, prefix, st in (("ours", "", "-"), ("Go", "go/", "--")):
        found = {}
        for _, a, v in tab.match(prefix + r"chan/openloop/cap:\d+/procs:\d+/rate:\d+",
                                 "lat_mean_ns"):
            found.setdefault((a["procs"], a["rate"]), []).append((float(a["cap"]), v, 1e-3))
        for (procs, rate), pts in sorted(found.items(), key=lambda t: (int(t[0][0]),
                                                                      int(t[0][1]))):
            open_lines.append((f"{who}, GOMAXPROCS {procs}, {eng3(float(rate))} msg/s offered",
                               sorted(pts, key=lambda p: p[0]), st))
    thr = [(lab, sweep_points(tab, rx, "ns_per_msg", "cap"), st)
           for lab, rx, st in (
               ("ours, GOMAXPROCS 1", r"chan/throughput/cap:\d+/procs:1", "-"),
               ("ours, GOMAXPROCS 2", r"chan/throughput/cap:\d+/procs:2", "-"),
               ("Go, GOMAXPROCS 1", r"go/chan/throughput/cap:\d+/procs:1", "--"),
               ("Go, GOMAXPROCS 2", r"go/chan/throughput/cap:\d+/procs:2", "--"))]
    thr = [t for t in thr if t[1]]
    if not open_lines and not thr:
        return na_figure(out, "T10", what, claims, tab.host, tab.why(claims))
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    drawn = []
    for ax, lines, ylabel, sub in (
            (axes[0], open_lines, "mean send-to-receive latency, us",
             "open loop at a fixed offered rate (T10.lat judges this)"),
            (axes[1], thr, "ns per message", "closed loop: saturated producer, time per message")):
        ax.set_title(sub, fontsize=9)
        if not lines:
            ax.text(0.5, 0.5, "n/a: no rows in this run", ha="center", transform=ax.transAxes)
            ax.set_xticks([])
            ax.set_yticks([])
            continue
        mapx = zero_on_log(ax, [p[0] for _, pts, _ in lines for p in pts])
        for lab, pts, st in lines:
            drawn += draw_line(ax, [(mapx(x), v, k) for x, v, k in pts], lab, st)
        ax.set_ylim(bottom=0)
        eng_axis(ax)
        ax.set_xlabel("channel capacity (messages; 0 = unbuffered; log axis)")
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    title(fig, what, claims, tab.host)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    footer(fig, note(drawn, "Points"))
    save(fig, out, "T10")


def plot_t5(tab, out):
    claims = ["T5.idle", "T5.grunq"]
    what = "T5: throughput and idle Ps as GOMAXPROCS grows, ours and Go"
    thr = [(lab, sweep_points(tab, rx, "ops_per_s", "procs"), st)
           for lab, rx, st in (("ours", r"procs/sweep/procs:\d+", "-"),
                               ("Go", r"go/procs/sweep/procs:\d+", "--"))]
    idle = [(lab, sweep_points(tab, rx, "idle_share", "procs", 100.0), st)
            for lab, rx, st in (("ours", r"procs/sweep/procs:\d+", "-"),
                                ("Go", r"go/procs/sweep/procs:\d+", "--"))]
    thr = [t for t in thr if t[1]]
    idle = [t for t in idle if t[1]]
    if not thr and not idle:
        return na_figure(out, "T5", what, claims, tab.host, tab.why(claims))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    drawn = []
    colors = {"ours": "tab:blue", "Go": "tab:green"}
    procs = set()
    for ax, lines, ylabel, sub in ((axes[0], thr, "operations per second", "throughput"),
                                   (axes[1], idle, "P idle share, % of P time",
                                    "idle Ps (T5.idle: the document calls < 30% over-"
                                    "provisioned)")):
        for lab, pts, st in lines:
            drawn += draw_line(ax, pts, lab, st, colors[lab])
            procs |= {int(p[0]) for p in pts}
        ax.set_ylim(bottom=0)
        eng_axis(ax)
        ax.set_xlabel("GOMAXPROCS")
        ax.set_ylabel(ylabel)
        ax.set_title(sub, fontsize=9)
        ax.grid(alpha=0.3)
        if lines:
            ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, "n/a: no rows", ha="center", transform=ax.transAxes)
    for ax in axes:  # GOMAXPROCS is a whole number: tick only the values measured
        ax.xaxis.set_major_locator(FixedLocator(sorted(procs)))
        ax.xaxis.set_major_formatter(plt.FormatStrFormatter("%d"))
    title(fig, what, claims, tab.host)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    footer(fig, note(drawn, "Points"))
    save(fig, out, "T5")


def plot_t6(tab, out):
    claims = ["T6.l1d", "T6.per", "T6.reuse"]
    what = "T6: time per op as a G is forced to migrate between Ps more often"
    panels = [(ws, sweep_points(tab, rf"migrate/hot/ws:{ws}/rate:\d+", "ns_per_op", "rate"))
              for ws in ("l1", "l2")]
    panels = [p for p in panels if p[1]]
    if not panels:
        return na_figure(out, "T6", what, claims, tab.host, tab.why(claims))
    # one panel per working set, each with its own y axis: the L2 set's time per op is
    # ~20x the L1 set's, and on a shared axis the L1 line lies flat on the floor
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.8), squeeze=False)
    drawn = []
    colors = {"l1": "tab:blue", "l2": "tab:purple"}
    for ax, (ws, pts) in zip(axes[0], panels):
        mapx = zero_on_log(ax, [p[0] for p in pts])
        drawn += draw_line(ax, [(mapx(x), v, s) for x, v, s in pts],
                           f"working set fits {ws.upper()}", "-", colors[ws])
        hi = max(p[1]["hi"] if p[1]["kind"] else p[1]["median"] for p in pts)
        ax.set_ylim(0, hi * 1.15 if hi > 0 else 1)
        eng_axis(ax)
        ax.set_xlabel("forced migrations per second (0 = none; log axis)")
        ax.set_ylabel("ns per op")
        ax.set_title(f"{ws.upper()}-sized working set", fontsize=9)
        ax.legend(fontsize=8, loc="lower right")
        ax.grid(alpha=0.3)
    title(fig, what, claims, tab.host)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    footer(fig, note(drawn, "Points"))
    save(fig, out, "T6")


PLOTTERS = {"T1": plot_t1, "T3": plot_t3, "T4": plot_t4, "T5": plot_t5, "T6": plot_t6,
            "T10": plot_t10}


def main(argv=None):
    ap = toolversion.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    ap.add_argument("--version", action="version", version=toolversion.version(PROG))
    ap.add_argument("--results", default="results", help="where the tables' CSVs are")
    ap.add_argument("--out", default="plots", help="where figures go (default: plots)")
    ap.add_argument("--only", default=",".join(TABLES),
                    help=f"comma-separated figures to draw (default: all: {','.join(TABLES)})")
    args = ap.parse_args(argv)
    only = [t.strip() for t in args.only.split(",") if t.strip()]
    bad = [t for t in only if t not in TABLES]
    if bad or not only:
        print(f"{PROG}: --only: unknown figure {', '.join(bad) or '(none)'} "
              f"(known: {', '.join(TABLES)})", file=sys.stderr)
        return 2
    try:
        tabs = {t: Table(args.results, t) for t in TABLES}
    except BadCSV as e:
        print(f"{PROG}: malformed input: {e}", file=sys.stderr)
        return 2
    missing = [t for t, tab in tabs.items() if not tab.present]
    if len(missing) == len(TABLES):
        print(f"{PROG}: no table CSV ({', '.join(t + '.csv' for t in TABLES)}) in "
              f"{args.results}/: run make tables first", file=sys.stderr)
        return 2
    if missing:
        print(f"{PROG}: no CSV for {', '.join(missing)} in {args.results}/ "
              "(run make tables); drawing n/a figures for them")
    for t, tab in tabs.items():
        for row in tab.nonfinite:
            print(f"{PROG}: {t}.csv: {row}: median is not a finite number; drawn as n/a")
    try:
        for t in only:
            PLOTTERS[t](tabs[t], args.out)
    except CannotWrite as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
