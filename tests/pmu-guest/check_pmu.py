#!/usr/bin/python3
"""check_pmu.py LOG RUN1 RUN2 [INSTR_JSON] - check what the arm64 PMU guest produced.

LOG is the guest's console (tests/pmu-guest/run.sh), RUN1 the bench JSON counted with
PAPI_TOT_CYC, PAPI_TOT_INS, PAPI_L1_DCM, PAPI_TLB_DM and a software event, RUN2 the JSON
counted with more hardware events than the PMU has counters.  INSTR_JSON (optional) is an
x86-64 `make bench-instructions` result (callgrind, rows instr/<op>).

Checks (values, never timings: guest time is emulated):
  - PAPI reports the PMU (papi_avail: Number Hardware Counters > 0), the guest has 2 NUMA
    nodes, and the unit tests and both bench runs in the guest exited 0;
  - RUN1: context pmu = present; PAPI_TOT_CYC and PAPI_TOT_INS counted; PAPI_L1_DCM and
    PAPI_TLB_DM in counters_na as "event not supported by this PMU ..." (QEMU's PMUv3
    implements CPU_CYCLES and INST_RETIRED only), never "no PMU";
  - every counted row has both > 0 per iteration and no withheld event; the rows that run
    on several Ms (switch/g_chan/procs:2, spawn/g/procs:all/...) are among them, and the
    spawn rows count at least 100 instructions per spawn (the Gs run on M threads, not on
    the benchmark's thread: counted on every thread); the yield round trip is below 1e5
    per iteration (normalised per iteration, not a total);
  - RUN2: some row has counters_running_share < 1 (the kernel multiplexed: the treatment
    happened); on every row counted in both runs each user-space instruction count
    (PAPI_TOT_INS, perf::INSTRUCTIONS:u) on the one-M rows (whose counts repeat exactly)
    is within +-25 % of RUN1's exact PAPI_TOT_INS
    (scaled by enabled/running), or withheld with a multiplexing reason (in the row: never
    on a counter; in counters_na: PAPI could not multiplex, so it would not be scaled);
    at least one is compared; no instruction or cycle event reads 0;
  - instructions per operation (yield switch = yield round trip / 2, channel round trip,
    spawn = per spawn at reuse:1) printed; with INSTR_JSON each must be within
    [0.5, 2.0] x the x86-64 callgrind figure of the same operation (a different ISA, a
    different compiler back end: the band only catches a counter that counts something
    else, such as kernel time or one thread of several).
Prints one line per problem; exit 0 when there is none, 1 otherwise.
"""
import json
import re
import sys

BAND = (0.5, 2.0)
MUX_TOL = 0.25


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        return {"error": f"{path}: {e}"}


def rows(doc):
    out = {}
    for b in doc.get("benchmarks", []):
        name = re.sub(r"/(counted|real_time|repeats:\d+|iterations:\d+|min_time:[^/]*)", "",
                      b.get("run_name", b["name"]))
        if b.get("run_type", "iteration") != "iteration":
            continue
        if "PAPI_TOT_INS" in b or "counters_na=" in b.get("label", "") or "/counted" in b["name"]:
            out[name] = b
    return out


def main():
    if len(sys.argv) not in (4, 5):
        print("usage: check_pmu.py LOG RUN1 RUN2 [INSTR_JSON]", file=sys.stderr)
        return 2
    log_path, r1_path, r2_path = sys.argv[1:4]
    problems = []
    try:
        log = open(log_path, errors="replace").read()
    except OSError as e:
        print(f"pmu: cannot read {log_path}: {e}")
        return 1
    m = re.search(r"Number Hardware Counters\s*:\s*(\d+)", log)
    ncnt = int(m.group(1)) if m else 0
    if ncnt <= 0:
        problems.append("PAPI does not report the PMU (papi_avail: no hardware counters)")
    if not re.search(r"^PMU-NODES 2$", log, re.M):
        problems.append("the guest does not have 2 NUMA nodes")
    whats = ["test_sched", "test_numa", "bench1", "bench2"]
    whats += [t for t in ("test_fair", "test_procs")
              if re.search(rf"^PMU-GUEST-RC {t} ", log, re.M)]
    for what in whats:
        rc = re.search(rf"^PMU-GUEST-RC {what} (\d+)$", log, re.M)
        if not rc or rc.group(1) != "0":
            problems.append(f"{what} in the guest: exit {rc.group(1) if rc else 'missing'}")

    d1, d2 = load(r1_path), load(r2_path)
    for d in (d1, d2):
        if "error" in d:
            problems.append(f"bench JSON: {d['error']}")
    c1 = d1.get("context", {})
    if c1.get("pmu") != "present":
        problems.append(f"context pmu = {c1.get('pmu')!r}, expected present")
    counted = c1.get("counters", "").split(",")
    for ev in ("PAPI_TOT_CYC", "PAPI_TOT_INS"):
        if ev not in counted:
            problems.append(f"{ev} not counted (counters_na: {c1.get('counters_na')})")
    try:
        na = json.loads(c1.get("counters_na", "{}"))
    except ValueError:
        na = {}
    for ev in ("PAPI_L1_DCM", "PAPI_TLB_DM"):
        why = na.get(ev, "")
        if not why.startswith("event not supported by this PMU"):
            problems.append(f"{ev}: expected 'n/a: event not supported by this PMU', got "
                            f"{'counted' if ev in counted else repr(why)}")

    r1, r2 = rows(d1), rows(d2)
    need = ["switch/g_yield/procs:1", "switch/g_chan/procs:1", "switch/g_chan/procs:2",
            "spawn/g/procs:1/reuse:1", "spawn/g/procs:all/reuse:1"]
    for n in need:
        if n not in r1:
            problems.append(f"{n}: no counted row")
    for n, b in r1.items():
        if "counters_na=" in b.get("label", ""):
            problems.append(f"{n}: events withheld: {b['label']}")
            continue
        for ev in ("PAPI_TOT_CYC", "PAPI_TOT_INS"):
            if not b.get(ev, 0) > 0:
                problems.append(f"{n}: {ev} = {b.get(ev)}")
        if n.startswith("spawn/") and b.get("PAPI_TOT_INS", 0) / max(b.get("batch", 1), 1) < 100:
            problems.append(f"{n}: {b.get('PAPI_TOT_INS')} instructions per batch of "
                            f"{b.get('batch')}: the M threads were not counted")
    y = r1.get("switch/g_yield/procs:1", {})
    if y and not y.get("PAPI_TOT_INS", 0) < 1e5:
        problems.append(f"yield round trip: {y.get('PAPI_TOT_INS')} instructions: not per iteration")

    # Multiplexing.
    shares = [b["counters_running_share"] for b in r2.values() if "counters_running_share" in b]
    if not shares:
        problems.append("RUN2: no row was multiplexed (counters_running_share absent): "
                        "the treatment did not happen")
    try:
        na2 = json.loads(d2.get("context", {}).get("counters_na", "{}"))
    except ValueError:
        na2 = {}
    checked = 0
    for n, b in r2.items():
        # Compared only where the count repeats exactly from run to run: one M (several Ms
        # interleave differently each run, spinning included).
        ref = r1.get(n, {}).get("PAPI_TOT_INS") if re.search(
            r"^(switch/g_(yield|chan)/procs:1|spawn/g/procs:1/reuse:1)$", n) else None
        label = b.get("label", "")
        for ev in [k for k in b if k.startswith(("PAPI_TOT", "perf::"))]:
            if b[ev] == 0:
                problems.append(f"RUN2 {n}: {ev} reads 0")
        for ev in ("PAPI_TOT_INS", "perf::INSTRUCTIONS:u"):
            if ev not in b:
                if (f'"{ev}": "multiplexed out' not in label
                        and "multiplexed" not in na2.get(ev, "")):
                    problems.append(f"RUN2 {n}: {ev} missing without a multiplexing reason")
                continue
            if ref:
                checked += 1
                if abs(b[ev] / ref - 1) > MUX_TOL:
                    problems.append(f"RUN2 {n}: {ev} = {b[ev]:.0f} vs exact {ref:.0f} "
                                    f"(share {b.get('counters_running_share', 1):.2f}): not scaled")
    if not checked:
        problems.append("RUN2: no scaled instruction count could be compared")
    print(f"pmu: {ncnt} counters; multiplexed rows {len(shares)} (running share "
          f"{min(shares) if shares else 1:.2f}..{max(shares) if shares else 1:.2f}); "
          f"{checked} scaled instruction counts compared")

    # Instructions per operation.
    ops = {}
    if y.get("PAPI_TOT_INS"):
        ops["switch/g_yield/procs:1"] = y["PAPI_TOT_INS"] / 2
    ch = r1.get("switch/g_chan/procs:1", {})
    if ch.get("PAPI_TOT_INS"):
        ops["switch/g_chan/procs:1"] = ch["PAPI_TOT_INS"]
    sp = r1.get("spawn/g/procs:1/reuse:1", {})
    if sp.get("PAPI_TOT_INS") and sp.get("batch"):
        ops["spawn/g/procs:1/batch:1000"] = sp["PAPI_TOT_INS"] / sp["batch"]
    x86 = {}
    if len(sys.argv) == 5:
        dx = load(sys.argv[4])
        for b in dx.get("benchmarks", []):
            if b["name"].startswith("instr/") and b.get("instructions_per_op"):
                x86[b["name"][6:]] = b["instructions_per_op"]
    for op, v in ops.items():
        ref = x86.get(op)
        if ref:
            ratio = v / ref
            ok = BAND[0] <= ratio <= BAND[1]
            print(f"pmu: {op}: {v:.1f} instructions per op on arm64 (PMU), {ref:.1f} on "
                  f"x86-64 (callgrind), ratio {ratio:.2f} {'within' if ok else 'OUTSIDE'} "
                  f"[{BAND[0]}, {BAND[1]}]")
            if not ok:
                problems.append(f"{op}: arm64/x86 instructions per op {ratio:.2f} outside {BAND}")
        else:
            print(f"pmu: {op}: {v:.1f} instructions per op on arm64 (PMU); x86-64 callgrind "
                  f"figure: n/a (no {'instr JSON' if not x86 else 'row'}: make bench-instructions)")
    for p in problems:
        print("pmu: " + p)
    print(f"pmu: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
