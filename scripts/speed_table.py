#!/usr/bin/python3
"""speed_table.py - the README's speed table: every operation our runtime and a peer both
measure, from one run, losses included.

Reads a `make bench` results file (ours and the C peers: Boost.Context fcontext,
Boost.Fiber, State Threads), its sibling `<stem>.go.json` (Go, run interleaved with ours by
scripts/run-bench) and, when given, a `make bench-instructions` file (`*.instr.json`).
For each pair it prints ours, the peer, ours/peer as the ratio of medians with its
bootstrap 95% interval and the Mann-Whitney p (scripts/stats.py compare), and which side
is faster (`ours faster` / `ours slower` only when p < 0.05, else `no difference shown`).
Lower is better for every time per operation; ops_per_s rows are inverted (peer/ours).

Usage: speed_table.py RUN.json [--instr FILE.instr.json] [--readme README.md]
       speed_table.py --version
  --readme  replace the text between `<!-- speed-table:begin -->` and
            `<!-- speed-table:end -->` in that file (atomically) instead of printing.
Exit status: 0 ok, 2 bad input (one line naming the tool and the file).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stats  # noqa: E402
import atomicfile  # noqa: E402  scripts/atomicfile.py: written whole or not at all
import toolversion  # noqa: E402  scripts/toolversion.py: --version, one-line usage errors

BEGIN, END = "<!-- speed-table:begin -->", "<!-- speed-table:end -->"

# (operation, ours row, counter, peer, peer source ("go" = .go.json, "c" = our file), peer
# row, peer counter).  Rows absent from the run are listed as "not in this run".
PAIRS = [
    ("yield switch, 1 P (ns/switch)", "switch/g_yield/procs:1", "ns_per_switch",
     "Go 1.19 Gosched", "go", "go/switch/gosched", "ns_per_switch"),
    ("yield switch, 1 P (ns/switch)", "switch/g_yield/procs:1", "ns_per_switch",
     "Boost.Fiber yield", "c", "switch/fiber_yield", "ns_per_switch"),
    ("yield switch, 1 P (ns/switch)", "switch/g_yield/procs:1", "ns_per_switch",
     "Boost.Context fcontext (bare swap; target <= 2.5x)", "c", "switch/fcontext",
     "ns_per_switch"),
    ("unbuffered chan round trip, 1 P (ns)", "switch/g_chan/procs:1", "ns_per_roundtrip",
     "Go 1.19", "go", "go/chan/procs:1", "ns_per_roundtrip"),
    ("unbuffered chan round trip, 1 P (ns)", "switch/g_chan/procs:1", "ns_per_roundtrip",
     "Boost.Fiber unbuffered_channel", "c", "switch/fiber_chan", "ns_per_roundtrip"),
    ("unbuffered chan round trip, 1 P (ns)", "switch/g_chan/procs:1", "ns_per_roundtrip",
     "State Threads cond hand-off", "c", "switch/st_handoff", "ns_per_roundtrip"),
    ("unbuffered chan round trip, 2 Ps (ns)", "switch/g_chan/procs:2", "ns_per_roundtrip",
     "Go 1.19", "go", "go/chan/procs:2", "ns_per_roundtrip"),
    ("spawn+run+exit, batches of 1000, 1 P (ns)", "spawn/g/procs:1/reuse:1", "ns_per_spawn",
     "Go 1.19", "go", "go/spawn/procs:1", "ns_per_spawn"),
    ("spawn+run+exit, batches of 1000, 1 P (ns)", "spawn/g/procs:1/reuse:1", "ns_per_spawn",
     "Boost.Fiber create+join", "c", "spawn/fiber/batch:1000", "ns_per_spawn"),
    ("spawn+run+exit, batches of 1000, 1 P (ns)", "spawn/g/procs:1/reuse:1", "ns_per_spawn",
     "State Threads create+join", "c", "spawn/st/batch:1000", "ns_per_spawn"),
    ("spawn+run+exit, batches of 1000, all Ps (ns)", "spawn/g/procs:all/reuse:1",
     "ns_per_spawn", "Go 1.19", "go", "go/spawn/procs:all", "ns_per_spawn"),
    ("skynet 100k leaves, 1 P (ns/leaf)", "skynet/g/leaves:100000/procs:1", "ns_per_leaf",
     "Go 1.19", "go", "go/skynet/leaves:100000/procs:1", "ns_per_leaf"),
    ("skynet 100k leaves, 1 P (ns/leaf)", "skynet/g/leaves:100000/procs:1", "ns_per_leaf",
     "Boost.Fiber (one thread)", "c", "skynet/fiber/leaves:100000", "ns_per_leaf"),
    ("skynet 100k leaves, all Ps (ns/leaf)", "skynet/g/leaves:100000/procs:all", "ns_per_leaf",
     "Go 1.19", "go", "go/skynet/leaves:100000/procs:all", "ns_per_leaf"),
    ("skynet 1M leaves, 1 P (ns/leaf)", "skynet/g/leaves:1000000/procs:1", "ns_per_leaf",
     "Go 1.19", "go", "go/skynet/leaves:1000000/procs:1", "ns_per_leaf"),
    ("skynet 1M leaves, all Ps (ns/leaf)", "skynet/g/leaves:1000000/procs:all", "ns_per_leaf",
     "Go 1.19", "go", "go/skynet/leaves:1000000/procs:all", "ns_per_leaf"),
    ("contended G mutex, 4 Gs, 1 lock (ns/op)", "mutex/contend/gs:4/shards:1", "ns_per_op",
     "Go 1.19 sync.Mutex", "go", "go/mutex/contend/gs:4/shards:1", "ns_per_op"),
    ("contended G mutex, 64 Gs, 1 lock (ns/op)", "mutex/contend/gs:64/shards:1", "ns_per_op",
     "Go 1.19 sync.Mutex", "go", "go/mutex/contend/gs:64/shards:1", "ns_per_op"),
    ("procs sweep, GOMAXPROCS 1 (ops/s, ratio inverted)", "procs/sweep/procs:1", "ops_per_s",
     "Go 1.19", "go", "go/procs/sweep/procs:1", "ops_per_s"),
    ("procs sweep, GOMAXPROCS 2 (ops/s, ratio inverted)", "procs/sweep/procs:2", "ops_per_s",
     "Go 1.19", "go", "go/procs/sweep/procs:2", "ops_per_s"),
]

# instructions per op (callgrind, exact): ours row, peer label, peer row, target note
INSTR_PAIRS = [
    ("yield switch", "instr/switch/g_yield/procs:1",
     [("Boost.Context fcontext", "instr/switch/fcontext"),
      ("Boost.Fiber", "instr/switch/fiber_yield")], "target <= 120"),
    ("unbuffered chan round trip, 1 P", "instr/switch/g_chan/procs:1",
     [("Boost.Fiber", "instr/switch/fiber_chan"),
      ("State Threads hand-off", "instr/switch/st_handoff")], "target <= 350"),
    ("spawn+run+exit, batches of 1000", "instr/spawn/g/procs:1/batch:1000",
     [("Boost.Fiber", "instr/spawn/fiber/batch:1000"),
      ("State Threads", "instr/spawn/st/batch:1000")], "target <= 300"),
    ("spawn+run+exit, batches of 100000", "instr/spawn/g/procs:1/batch:100000", [],
     "within 2x of batches of 1000"),
    ("G mutex hand-off between 2 Gs, 1 P", "instr/mutex/handoff/procs:1", [], ""),
]


def die(msg):
    print(f"speed_table.py: {msg}", file=sys.stderr)
    sys.exit(2)


def fmt(v):
    return "-" if v is None else stats.fmt(v)


def load(path):
    try:
        return stats.load(path)
    except stats.StatsError as e:
        die(e.detail)
    except OSError as e:
        die(f"{path}: {e.strerror}")


def values(run, row, counter):
    if run is None:
        return None, "file missing"
    r = run.rows.get(row)
    if r is None:
        return None, "not in this run"
    if r.na:
        return None, r.na
    xs = r.values(counter)
    return (xs, None) if xs else (None, f"no {counter}")


def time_rows(run, go):
    out = ["| operation | ours | peer | peer value | ours/peer [95% CI] | p | reading |",
           "|---|---|---|---|---|---|---|"]
    worst = []
    for op, orow, oc, peer, src, prow, pc in PAIRS:
        ours, why_o = values(run, orow, oc)
        theirs, why_p = values(go if src == "go" else run, prow, pc)
        so = stats.summarize(ours).median if ours else None
        sp = stats.summarize(theirs).median if theirs else None
        if not ours or not theirs:
            out.append(f"| {op} | {fmt(so) if ours else why_o} | {peer} | "
                       f"{fmt(sp) if theirs else why_p} | - | - | not measured |")
            continue
        inverted = oc == "ops_per_s"
        c = stats.compare(ours, theirs) if inverted else stats.compare(theirs, ours)
        ci = f" [{fmt(c.ci_lo)}, {fmt(c.ci_hi)}]" if c.ci_lo is not None else ""
        if c.p is not None and c.p < stats.ALPHA and c.ratio is not None:
            reading = "ours faster" if c.ratio < 1 else "ours slower"
        else:
            reading = "no difference shown"
        worst.append((c.ratio or 0, op, peer))
        out.append(f"| {op} | {fmt(so)} | {peer} | {fmt(sp)} | {fmt(c.ratio)}{ci} | "
                   f"{fmt(c.p)} | {reading} |")
    return out, sorted(worst, reverse=True)


def skynet_rows(run, go):
    out = []
    for name, src, pre in (("ours", run, "skynet/g/leaves:1000000/procs:"),
                           ("Go 1.19", go, "go/skynet/leaves:1000000/procs:")):
        t1, _ = values(src, pre + "1", "real_time")
        ta, _ = values(src, pre + "all", "real_time")
        if not t1 or not ta:
            out.append(f"| {name} | not measured | - |")
            continue
        m1, ma = stats.summarize(t1).median, stats.summarize(ta).median
        if name == "ours":
            c1, _ = values(src, pre + "1", "cpu_per_wall")
            ca, _ = values(src, pre + "all", "cpu_per_wall")
            cpu = (stats.summarize(ca).median * ma) / (stats.summarize(c1).median * m1) \
                if c1 and ca else None
        else:
            c1, _ = values(src, pre + "1", "cpu_time")
            ca, _ = values(src, pre + "all", "cpu_time")
            cpu = stats.summarize(ca).median / stats.summarize(c1).median if c1 and ca else None
        out.append(f"| {name} | {fmt(m1 / ma)}x | "
                   f"{'-' if cpu is None else fmt((cpu - 1) * 100) + '%'} |")
    return out


def instr_rows(path):
    doc = load(path)
    out = ["| operation | ours | peers | ours/peer | target |", "|---|---|---|---|---|"]
    for op, orow, peers, target in INSTR_PAIRS:
        o, _ = values(doc, orow, "instructions_per_op")
        if not o:
            out.append(f"| {op} | not in this run | - | - | {target} |")
            continue
        ov = o[0]
        ps, rs = [], []
        for label, prow in peers:
            p, _ = values(doc, prow, "instructions_per_op")
            if p:
                ps.append(f"{label} {fmt(p[0])}")
                rs.append(fmt(ov / p[0]))
        out.append(f"| {op} | {fmt(ov)} | {'; '.join(ps) or '-'} | {'; '.join(rs) or '-'} | "
                   f"{target} |")
    return out


def main():
    ap = toolversion.ArgumentParser(prog="speed_table.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--version", action="version", version=toolversion.version("speed_table.py"))
    ap.add_argument("run")
    ap.add_argument("--instr")
    ap.add_argument("--readme")
    a = ap.parse_args()
    run = load(a.run)
    gpath = a.run[:-len(".json")] + ".go.json" if a.run.endswith(".json") else None
    go = load(gpath) if gpath and os.path.exists(gpath) else None
    rel = os.path.relpath(a.run)
    lines = [f"Generated by `scripts/speed_table.py` from `{rel}`"
             + (" (+ `.go.json`)" if go else " (no Go file)")
             + (f" and `{os.path.relpath(a.instr)}`" if a.instr else "")
             + f"; host {run.context.get('host', '?')}, commit "
             f"{str(run.context.get('git_sha', '?'))[:12]}, preset "
             f"{run.context.get('preset', '?')}.  Ratios are ours/peer of medians "
             "(lower = ours faster) with bootstrap 95% intervals; `reading` needs p < 0.05.",
             ""]
    t, worst = time_rows(run, go)
    lines += t
    if worst:
        lines += ["", "Worst three ours/peer ratios in this run: " + "; ".join(
            f"{op} vs {peer}: {fmt(r)}" for r, op, peer in worst[:3]) + "."]
    lines += ["", "Skynet (1M leaves) speed-up from 1 P to all Ps, and the extra CPU time it "
              "costs (process CPU time, all Ps / 1 P, minus 1):", "",
              "| runtime | speed-up | extra CPU |", "|---|---|---|"] + skynet_rows(run, go)
    if a.instr:
        lines += ["", "Instructions per operation (valgrind --tool=callgrind, exact; "
                  "`make bench-instructions`):", ""] + instr_rows(a.instr)
    text = "\n".join(lines) + "\n"
    if not a.readme:
        sys.stdout.write(text)
        return
    try:
        with open(a.readme, encoding="utf-8") as f:
            old = f.read()
    except OSError as e:
        die(f"{a.readme}: {e.strerror}")
    except UnicodeDecodeError as e:
        die(f"{a.readme}: not UTF-8 text: {e}")
    if BEGIN not in old or END not in old or old.index(BEGIN) > old.index(END):
        die(f"{a.readme}: no {BEGIN} ... {END} block")
    new = old[:old.index(BEGIN) + len(BEGIN)] + "\n" + text + old[old.index(END):]
    try:
        atomicfile.write(a.readme, new)
    except OSError as e:
        die(f"{a.readme}: {e.strerror}")


if __name__ == "__main__":
    main()
