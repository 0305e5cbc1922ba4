"""console.py - the end of `make bench` on a terminal (imported by scripts/run-bench).

summary() prints, as plain text (Markdown stays in the files):
  - the verdict counts over all claims and per table, read from the index tables.py writes
    (results/index.md: its table's header names the verdict columns);
  - T1's claims with their verdicts (from results/T1.csv, role `claim`);
  - the ours/Go headline: median of each pair of rows below over timed repetitions, and the
    ratio ours/Go (< 1: ours is faster or smaller), both from the run just made;
  - where the raw JSON, tables, plots and HTML report are.
Reading a file that is missing or has another shape prints what is missing instead; the
summary never fails the run.
"""
import csv
import glob
import json
import os
import statistics

# (what, our row, Go row, counter): the headline pairs, same unit on both sides.
HEADLINE = [
    ("yield switch, 1 P", "switch/g_yield/procs:1", "go/switch/gosched", "ns_per_switch"),
    ("chan round trip, 1 P", "switch/g_chan/procs:1", "go/chan/procs:1", "ns_per_roundtrip"),
    ("chan round trip, 2 Ps", "switch/g_chan/procs:2", "go/chan/procs:2", "ns_per_roundtrip"),
    ("spawn, 1 P", "spawn/g/procs:1/reuse:1", "go/spawn/procs:1", "ns_per_spawn"),
    ("spawn, all Ps", "spawn/g/procs:all/reuse:1", "go/spawn/procs:all", "ns_per_spawn"),
    ("bytes per parked G, 100k", "stack/g_parked/n:100000/small:0", "go/stack/parked/n:100000",
     "bytes_per_g"),
]
VERDICTS = ("confirmed", "refuted", "inconclusive", "n/a", "not a measurement")


def _strip(name):
    """Row name without Google Benchmark's suffixes (/real_time, /iterations:1, ...)."""
    parts = [p for p in name.split("/") if not (
        p in ("real_time", "manual_time", "process_time")
        or p.split(":")[0] in ("iterations", "repeats", "min_time", "threads"))]
    return "/".join(parts)


def row_values(path, counter):
    """{row name: [values of counter over timed repetitions]} of one results file."""
    try:
        import stats  # scripts/stats.py, the suite's reader, when present
        run = stats.load(path)
        return {name: row.values(counter) for name, row in run.rows.items()}
    except ImportError:
        pass
    with open(path) as f:
        doc = json.load(f)
    out = {}
    for b in doc.get("benchmarks", []):
        if b.get("run_type") == "aggregate" or b.get("error_occurred"):
            continue
        v = b.get(counter)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            out.setdefault(_strip(b.get("run_name", b["name"])), []).append(float(v))
    return out


def fmt_value(v, counter):
    if counter.startswith("bytes"):
        return f"{v:.0f} B"
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if v >= scale:
            return f"{v / scale:.3g} {unit}"
    return f"{v:.3g} ns"


def headline(final, go_final):
    lines = []
    if not os.path.exists(go_final):
        return ["  no Go file for this run"]
    try:
        with open(go_final) as f:
            status = json.load(f).get("context", {}).get("go_status", "")
    except (OSError, ValueError) as e:
        return [f"  cannot read {go_final}: {e}"]
    if status.startswith("n/a"):
        return [f"  Go: {status}"]
    for what, ours, go, counter in HEADLINE:
        try:
            a = row_values(final, counter).get(ours) or []
            b = row_values(go_final, counter).get(go) or []
        except (OSError, ValueError, KeyError) as e:
            return [f"  cannot read the results: {e}"]
        if not a or not b:
            lines.append(f"  {what:26} n/a (no {'our' if not a else 'Go'} {counter})")
            continue
        ma, mb = statistics.median(a), statistics.median(b)
        lines.append(f"  {what:26} ours {fmt_value(ma, counter):>9}   Go {fmt_value(mb, counter):>9}"
                     f"   ours/Go {ma / mb:.2f}   (medians, n={len(a)}/{len(b)})")
    return lines


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


def summary(out, final, go_final, tables, plots, results, since):
    w = out.write
    w("\n== make bench: summary ==\n")
    index = os.path.join(tables, "index.md")
    stem = os.path.basename(final)[:-len(".json")]
    try:
        with open(index, encoding="utf-8") as f:
            src = [line for line in f if line.startswith("- source:")]
        if src and stem not in src[0]:
            raise ValueError(f"it was not regenerated from this run; it still says "
                             f"{src[0].strip()[2:]}")
        per = verdict_counts(index)
        total = {v: sum(c.get(v, 0) for _, c in per) for v in VERDICTS}
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
                w(f"  {claim:18} {verdict[:40]:40} {what}\n")
    except (OSError, ValueError, csv.Error) as e:
        w(f"T1: cannot read {t1} ({e})\n")
    w("ours vs Go on this host, same run (ratio < 1: ours faster or smaller):\n")
    for line in headline(final, go_final):
        w(line + "\n")
    w(f"raw results: {final}" + (f" (+ {os.path.basename(go_final)})"
                                 if os.path.exists(go_final) else "") + "\n")
    w(f"tables:      {index} (one .md and .csv per table beside it)\n")
    w(f"plots:       {plots}/\n")
    report = find_report(results, tables, since) if per is not None else None
    w(f"report:      {report}\n" if report else "report:      none written (no `make report`)\n")
    out.flush()
