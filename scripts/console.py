"""console.py - the end of `make bench` on a terminal (imported by scripts/run-bench).

summary() prints, as plain text (Markdown stays in the files):
  - the verdict counts over all claims and per table, read from the index tables.py writes
    (results/index.md: its table's header names the verdict columns);
  - T1's claims with their verdicts (from results/T1.csv, role `claim`);
  - the ours/Go headline: median of each pair of rows below over timed repetitions, and the
    ratio ours/Go (< 1: ours is faster or smaller), both from the run just made;
  - where the raw JSON, tables, plots and HTML report are.
Reading a file that is missing or has another shape prints what is missing instead; the
summary never fails the run.  The run's JSON and its .go.json are read through
scripts/stats.py (the one reader of Google Benchmark JSON); the tables' index.md and CSVs
are tables.py's output.
"""
import csv
import glob
import os
import statistics

import stats  # scripts/stats.py (run-bench puts scripts/ on sys.path)

# (what, counter, our row, [(peer, file "go" | "ours", peer row)]): the headline rows, the
# same unit on both sides; Go's rows come from the .go.json, the C peers' from the run itself.
HEADLINE = [
    ("yield switch, 1 P", "ns_per_switch", "switch/g_yield/procs:1",
     [("Go", "go", "go/switch/gosched"), ("Boost.Fiber", "ours", "switch/fiber_yield")]),
    ("chan round trip, 1 P", "ns_per_roundtrip", "switch/g_chan/procs:1",
     [("Go", "go", "go/chan/procs:1"), ("Boost.Fiber", "ours", "switch/fiber_chan"),
      ("State Threads", "ours", "switch/st_handoff")]),
    ("chan round trip, 2 Ps", "ns_per_roundtrip", "switch/g_chan/procs:2",
     [("Go", "go", "go/chan/procs:2")]),
    ("spawn, 1 P", "ns_per_spawn", "spawn/g/procs:1/reuse:1",
     [("Go", "go", "go/spawn/procs:1"), ("Boost.Fiber", "ours", "spawn/fiber/batch:1000"),
      ("State Threads", "ours", "spawn/st/batch:1000")]),
    ("spawn, all Ps", "ns_per_spawn", "spawn/g/procs:all/reuse:1",
     [("Go", "go", "go/spawn/procs:all")]),
    ("skynet 1M leaves, 1 P", "ns_per_leaf", "skynet/g/leaves:1000000/procs:1",
     [("Go", "go", "go/skynet/leaves:1000000/procs:1")]),
    ("bytes per parked G, 100k", "bytes_per_g", "stack/g_parked/n:100000/small:0",
     [("Go", "go", "go/stack/parked/n:100000")]),
]
VERDICTS = ("confirmed", "refuted", "inconclusive", "n/a", "not a measurement")


def row_values(path, counter):
    """{row name: [values of counter over timed repetitions]} of one results file
    (stats.Row.values); ValueError with stats' one line when the file cannot be read."""
    try:
        run = stats.load(path)
    except stats.StatsError as e:
        raise ValueError(str(e)) from None
    return {name: row.values(counter) for name, row in run.rows.items()}


def go_status(go_final):
    """The Go run's go_status (context; "n/a: <reason>" when Go did not run), or
    "n/a: no Go file for this run" when the file is missing or unreadable."""
    try:
        return str(stats.load(go_final).context.get("go_status", ""))
    except stats.StatsError:
        return "n/a: no Go file for this run"


def fmt_value(v, counter):
    if counter.startswith("bytes"):
        return f"{v:.0f} B"
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if v >= scale:
            return f"{v / scale:.3g} {unit}"
    return f"{v:.3g} ns"


def headline(final, go_final):
    """Lines 'what: ours X | peer Y (ours/peer r) ...' from medians over timed repetitions."""
    status = go_status(go_final)
    cache = {}

    def values(path, counter):
        if (path, counter) not in cache:
            cache[path, counter] = row_values(path, counter)
        return cache[path, counter]

    lines = []
    for what, counter, ours, peers in HEADLINE:
        try:
            a = values(final, counter).get(ours) or []
        except (OSError, ValueError, KeyError) as e:
            return [f"  cannot read {final}: {e}"]
        if not a:
            continue  # not in this run (a partial run, an older binary)
        ma = statistics.median(a)
        parts = [f"ours {fmt_value(ma, counter)}"]
        for peer, where, row in peers:
            if where == "go" and status.startswith("n/a"):
                continue
            try:
                b = values(go_final if where == "go" else final, counter).get(row) or []
            except (OSError, ValueError, KeyError):
                b = []
            if b:
                mb = statistics.median(b)
                parts.append(f"{peer} {fmt_value(mb, counter)} ({ma / mb:.2g})")
        lines.append(f"  {what:25} " + " | ".join(parts))
    if status.startswith("n/a"):
        lines.append(f"  Go: {status}")
    return lines or ["  none of the headline rows is in this run"]


def verdict_counts(index_md):
    """[(table, {verdict: count})] from the index table tables.py writes."""
    out = []
    with open(index_md, encoding="utf-8") as f:
        header = None
        for line in f:
            if not line.startswith("|"):
                header = None if not line.strip() else header
                continue
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if header is None:
                if any(c.lower() in VERDICTS for c in cells):
                    header = [c.lower() for c in cells]
                continue
            if set("".join(cells)) <= set("-: "):
                continue
            counts = {}
            for h, c in zip(header, cells):
                if h in VERDICTS and c.isdigit():
                    counts[h] = int(c)
            name = cells[0].split("]")[0].lstrip("[") if cells else "?"
            out.append((name, counts))
    return out


def claims_of(csv_path):
    """[(claim, what, verdict)] of one table's CSV (rows with role `claim`)."""
    out = []
    with open(csv_path, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r.get("role") == "claim":
                out.append((r.get("claim", "?"), r.get("label", ""), r.get("verdict", "")))
    return out


def find_report(results, tables, since):
    """The HTML report written by this run (newest .html under the results or tables folder)."""
    found = []
    for top in {results, tables}:
        for p in glob.glob(os.path.join(top, "**", "*.html"), recursive=True):
            try:
                if os.path.getmtime(p) >= since - 1:
                    found.append((os.path.getmtime(p), p))
            except OSError:
                pass
    return max(found)[1] if found else None


def run_preset(final):
    """The run's preset (context key `preset`), or None when the file does not say."""
    try:
        return stats.load(final).context.get("preset")
    except (stats.StatsError, AttributeError):
        return None


def summary(out, final, go_final, tables, plots, results, since):
    w = out.write
    w("\n== make bench: summary ==\n")
    if run_preset(final) == "smoke":
        w("preset smoke: 1 repetition at tiny sizes, a test of the plumbing: its numbers and "
          "verdicts mean nothing (make bench runs quick)\n")
    index = os.path.join(tables, "index.md")
    stem = os.path.basename(final)[:-len(".json")]
    try:
        with open(index, encoding="utf-8") as f:
            src = [line for line in f if line.startswith("- source:")]
        if src and stem not in src[0]:
            raise ValueError(f"it was not regenerated from this run; it still says "
                             f"{src[0].strip()[2:]}")
        per = verdict_counts(index)
        totals = [c for name, c in per if name.lower() in ("all", "total", "**all**")]
        per = [(name, c) for name, c in per if name.lower() not in ("all", "total", "**all**")]
        total = {v: sum(c.get(v, 0) for _, c in per) for v in VERDICTS}
        if totals and totals[0] != {v: n for v, n in total.items() if v in totals[0]}:
            raise ValueError(f"its totals row {totals[0]} is not the sum of its tables {total}")
        if not per:
            raise ValueError("its table has no verdict columns")
        nclaims = sum(total.values())
        w(f"verdicts over {nclaims} claims: " + ", ".join(
            f"{total[v]} {v}" for v in VERDICTS if v in ("confirmed", "refuted", "inconclusive",
                                                          "n/a") or total[v]) + "\n")
        for name, c in per:
            w(f"  {name:5} " + ", ".join(f"{c[v]} {v}" for v in VERDICTS if c.get(v)) + "\n")
    except (OSError, ValueError) as e:
        w(f"verdicts: none from {index} ({e})\n")
        per = None
    t1 = os.path.join(tables, "T1.csv")
    try:
        if per is None:
            raise ValueError("the tables are not this run's")
        rows = claims_of(t1)
        if rows:
            w("T1 (goroutine vs pthread):\n")
            for claim, what, verdict in rows:
                verdict = verdict if len(verdict) <= 64 else verdict[:61] + "..."
                w(f"  {claim:18} {what[:28]:28} {verdict}\n")
    except (OSError, ValueError, csv.Error) as e:
        w(f"T1: cannot read {t1} ({e})\n")
    w("ours vs peers, same run, medians (ours/peer in brackets; < 1: ours faster or "
      "smaller):\n")
    for line in headline(final, go_final):
        w(line + "\n")
    w(f"raw results: {final}" + (f" (+ {os.path.basename(go_final)})"
                                 if os.path.exists(go_final) else "") + "\n")
    w(f"tables:      {index} (one .md and .csv per table beside it)\n")
    w(f"plots:       {plots}/\n")
    report = find_report(results, tables, since) if per is not None else None
    w(f"report:      {report}\n" if report else "report:      none written for this run\n")
    # The last line: what a user looks for first.
    if per is not None:
        w("make bench: " + ", ".join(f"{total[v]} {v}" for v in VERDICTS
                                     if v != "not a measurement" or total[v])
          + f"; report: {report or 'none'}\n")
    else:
        w("make bench: no verdicts (the tables were not regenerated from this run)\n")
    out.flush()
