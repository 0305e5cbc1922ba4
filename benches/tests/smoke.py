#!/usr/bin/python3
"""smoke.py - harness smoke test (part of `make test`): every bench runs once and its JSON
row is sane; the harness's flags and error paths behave.

Usage: benches/tests/smoke.py BENCH_BINARY WORK_DIR

Checks (values and behaviour, never timings):
  - --list prints every instance; --claims=GLOB selects by claim ID, and a glob matching
    no bench exits 2 with "bench: no bench matches --claims=GLOB"; bad flags, an unknown
    preset and a malformed --counters list exit non-zero with one error line;
  - an event name no PMU has (--counters=bogus::EVENT, PAPI_BOGUS) is recorded in
    counters_na as "unknown event", never as a missing PMU;
  - a --preset=smoke run (1 repetition, 1 ms, tiny sizes) writes Google Benchmark JSON
    whose context has the FORMAT.md keys, counters_na is a JSON object, and
  - every listed instance has a row; a row is either skipped with "n/a: <reason>" or has
    positive real_time and iterations, its label starting with the bench's claims, every
    counted event (context `counters`) present and >= 0, and its unit counter (FORMAT.md
    T1 rows) positive;
  - every manipulation check of scripts/claims.toml ([[claim.realised]]) names a counter
    that its row (when listed and measured) reports, unless the label says why not
    ("<counter>=n/a: ..."); the T4 workload causes shootdowns and its control does not
    (pin/shoot/unmap:1 >= 1 started shootdown per iteration, unmap:0 < 0.5); values fixed
    by construction hold: one context switch per same-CPU futex/pipe round trip, the
    offered rate of chan/openloop and migrate/hot rows equals their rate argument, the
    packed run-queue block is 2056 B and needs 56 B to a 64-byte multiple;
  - events are counted on every thread: the futex ping-pong on one CPU records at least
    one context switch per round trip (it needs two; the partner's switches count only
    if the partner thread is covered);
  - timing and counting apart: timed rows carry no event values; each instance has a
    `<name>/counted` row with them; --count_while_timing names its rows
    `<name>/timed_with_counters`;
  - no silent counters: with the thread cap lowered to 1 (BENCH_CTR_MAX_THREADS=1) the
    futex row has no event values and its label says `counters_na={... "thread cap
    reached ..."}`; run as an unprivileged user (root only, setpriv) with
    perf_event_paranoid >= 2, the kernel-side events are n/a with the sysctl that allows
    them, never 0;
  - counters_na stays valid JSON with '"', '\\' and ';' in names and 16 n/a events.
Exit status 0 when all pass; 1 with one line per failure otherwise.
"""
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib

CLAIMS_TOML = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts",
                           "claims.toml")

CONTEXT_KEYS = ["host", "cpu_model", "cores", "smt", "numa_nodes", "slit", "kernel",
                "governor", "thp", "perf_event_paranoid", "pmu", "papi_version",
                "libbenchmark_version", "git_sha", "compiler", "build_flags", "preset",
                "counters", "counters_na", "counting", "boost", "hypervisor", "cpu_quota",
                "gomaxprocs_default"]

# FORMAT.md "Row names for table T1": row prefix -> counter that must be positive.
UNIT_COUNTER = [
    ("harness/empty", "ns_per_op"),
    ("spawn/", "ns_per_spawn"),
    ("switch/g_yield", "ns_per_switch"),
    ("switch/g_chan", "ns_per_roundtrip"),
    ("switch/pthread_futex", "ns_per_roundtrip"),
    ("switch/pipe", "ns_per_roundtrip"),
    ("switch/ucontext", "ns_per_switch"),
    ("switch/fcontext", "ns_per_switch"),
    ("stack/g_parked", "stack_bytes"),
    ("stack/pthread_parked", "bytes_per_thread"),
    ("max/", "reached"),
]
GB_SUFFIX = re.compile(r"(/(real_time|manual_time|process_time|iterations:\d+|repeats:\d+|"
                       r"min_time:[0-9.]+|threads:\d+))+$")

failures = []


def fail(msg):
    failures.append(msg)
    print(f"FAIL: {msg}")


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=240, **kw)


def row_na(b):
    """The row's withheld events: label segment `counters_na={JSON}` (FORMAT.md)."""
    for seg in str(b.get("label", "")).split(";")[1:]:
        if seg.startswith("counters_na="):
            return json.loads(seg[len("counters_na="):])
    return {}


def futex_json(binary, env=None, prefix=(), flags=()):
    """One smoke repetition of switch/pthread_futex/cpus:1 as JSON on stdout: (context,
    the row that carries the counters) or (None, error text)."""
    r = run(list(prefix) + [binary, "--preset=smoke", "--warm_ms=0",
                            "--benchmark_filter=^switch/pthread_futex/cpus:1(/|$)",
                            "--benchmark_format=json"] + list(flags),
            env=dict(os.environ, **(env or {})))
    try:
        doc = json.loads(r.stdout)
        bs = doc["benchmarks"]
        counted = [b for b in bs if "/counted" in b["name"] or "/timed_with" in b["name"]]
        return doc["context"], (counted or bs)[0]
    except (ValueError, KeyError, IndexError):
        return None, f"exit {r.returncode}: {r.stderr.strip()[-300:]}"


def check_counter_honesty(binary):
    """Counters are read from every thread or withheld with a reason."""
    ctx, b = futex_json(binary, {"BENCH_CTR_MAX_THREADS": "1"})
    if ctx is None:
        fail(f"futex row with BENCH_CTR_MAX_THREADS=1: {b}")
    else:
        for e in [e for e in ctx.get("counters", "").split(",") if e]:
            if e in b:
                fail(f"thread cap 1: {e} = {b[e]} reported although a thread went uncounted")
            elif "thread cap reached" not in row_na(b).get(e, ""):
                fail(f"thread cap 1: {e} has no 'thread cap reached' reason: {b.get('label')!r}")
    try:
        paranoid = int(open("/proc/sys/kernel/perf_event_paranoid").read())
    except (OSError, ValueError):
        paranoid = None
    if os.geteuid() != 0 or paranoid is None or not shutil.which("setpriv"):
        print("smoke: unprivileged counter check skipped (needs root, setpriv, "
              "perf_event_paranoid)")
        return
    ctx, b = futex_json(binary, prefix=["setpriv", "--reuid=65534", "--regid=65534",
                                         "--clear-groups"])
    if ctx is None:
        fail(f"futex row as uid 65534: {b}")
        return
    na = json.loads(ctx.get("counters_na", "{}"))
    for e in ("perf::CONTEXT-SWITCHES", "perf::CPU-MIGRATIONS"):
        if paranoid >= 2:
            if e in b:
                fail(f"uid 65534, perf_event_paranoid={paranoid}: {e} = {b[e]}, want n/a")
            if "sysctl" not in na.get(e, ""):
                fail(f"uid 65534: {e} n/a reason lacks the sysctl: {na.get(e)!r}")
        elif e == "perf::CONTEXT-SWITCHES" and not b.get(e, 0) >= 1:
            fail(f"uid 65534, perf_event_paranoid={paranoid}: {e} = {b.get(e)!r}, want >= 1")


def check_na_json(binary, work):
    """counters_na is valid JSON whatever the names and however many."""
    names = ['bad"quote::X', 'back\\slash::Y', 'semi;colon::Z'] + \
            [f"nosuch{i:02d}::{'E' * 50}" for i in range(13)]
    out = os.path.join(work, "na.json")
    r = run([binary, "--preset=smoke", "--warm_ms=0", "--benchmark_filter=^harness/empty$",
             "--counters=" + ",".join(names), f"--benchmark_out={out}",
             "--benchmark_out_format=json"])
    try:
        with open(out) as f:
            na = json.loads(json.load(f)["context"]["counters_na"])
        if sorted(na) != sorted(names) or any(not v for v in na.values()):
            fail(f"16 unknown events: counters_na has {sorted(na)}")
    except (OSError, ValueError, KeyError) as e:
        fail(f"16 unknown events with quotes (exit {r.returncode}): counters_na not JSON: {e}")


def row_match(pattern, name):
    """claims.toml row pattern: `*` stands for one argument value (no '/')."""
    return fnmatch.fnmatchcase(name, pattern) and name.count("/") == pattern.count("/")


def check_realised(listed, rows, counted=None):
    """Each [[claim.realised]] counter is reported by the rows it names (FORMAT.md: the
    bench measures its own manipulation checks)."""
    try:
        with open(CLAIMS_TOML, "rb") as f:
            claims = tomllib.load(f).get("claim", [])
    except (OSError, tomllib.TOMLDecodeError) as e:
        fail(f"{CLAIMS_TOML}: {e}")
        return
    for c in claims:
        for m in c.get("realised", []):
            names = [n for n in listed if row_match(m["row"], n)]
            go = m["row"].startswith("go/")
            if not names and not go:
                fail(f"{c['id']}: realised check {m['label']!r} names row {m['row']} that "
                     "no bench lists")
            for n in names:
                b = rows.get(n)
                if b is None or b.get("error_occurred"):
                    continue
                cb = (counted or {}).get(n, {})  # a harness event lives in the counted pass
                if m["counter"] not in b and m["counter"] not in cb \
                        and "n/a" not in str(b.get("label", "")):
                    fail(f"{n}: no counter {m['counter']} for {c['id']}'s realised check "
                         f"{m['label']!r}")


def check_manipulations(rows):
    """Counts the redone experiments must get right even in a 1 ms smoke run:
    values fixed by construction, never timings."""
    def measured(name):
        b = rows.get(name)
        return b if b and not b.get("error_occurred") else None

    for name in ("switch/pthread_futex/cpus:1", "switch/pipe/cpus:1"):
        b = measured(name)
        if b and not b.get("csw_per_roundtrip", 0) >= 0.9:
            fail(f"{name}: csw_per_roundtrip {b.get('csw_per_roundtrip')!r}: both threads are "
                 "pinned to one CPU, every round trip must switch")
        if b and not b.get("transport_ns_per_roundtrip", 0) > 0:
            fail(f"{name}: transport_ns_per_roundtrip {b.get('transport_ns_per_roundtrip')!r}")
    for name, b in rows.items():
        args = dict(p.split(":", 1) for p in name.split("/") if ":" in p)
        if name.startswith(("chan/openloop/", "migrate/hot/")) and not b.get("error_occurred"):
            if b.get("offered_rate_hz") != float(args["rate"]):
                fail(f"{name}: offered_rate_hz {b.get('offered_rate_hz')!r} is not the row's rate")
        if name.startswith("migrate/hot/") and not b.get("error_occurred") \
                and b.get("rate_realised") not in (0, 1):
            fail(f"{name}: rate_realised {b.get('rate_realised')!r}, want 0 or 1")
    b = measured("runq/layout/pad:0")
    if b and (b.get("runq_block_bytes") != 2056 or b.get("pad_to_64") != 56):
        fail(f"runq/layout/pad:0: runq_block_bytes {b.get('runq_block_bytes')!r} pad_to_64 "
             f"{b.get('pad_to_64')!r}, want 2056 and 56 (packed head, tail, 256 x 8 B)")


def main():
    if len(sys.argv) != 3:
        print("usage: smoke.py BENCH_BINARY WORK_DIR", file=sys.stderr)
        return 2
    binary, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)

    # ---- flags -------------------------------------------------------------------------
    r = run([binary, "--list", "--preset=smoke"])
    if r.returncode != 0:
        fail(f"--list exited {r.returncode}: {r.stderr.strip()}")
    listed = {}
    for line in r.stdout.splitlines():
        parts = line.split(None, 2)
        if parts:
            listed[parts[0]] = parts[1] if len(parts) > 1 and "." in parts[1] else ""
    for must in ["harness/empty", "switch/fcontext", "switch/pthread_futex/cpus:1",
                 "spawn/pthread"]:
        if must not in listed:
            fail(f"--list lacks {must}")
    r = run([binary, "--list", "--claims=T1.switch.*"])
    sel = [l.split()[0] for l in r.stdout.splitlines() if l.strip()]
    if r.returncode != 0 or not sel or any(not n.startswith("switch/") for n in sel):
        fail(f"--claims=T1.switch.* selected {sel}")
    if "switch/g_yield/procs:1" not in sel:
        fail("--claims=T1.switch.* misses switch/g_yield/procs:1")
    src = [l for l in r.stdout.splitlines() if l.startswith("switch/g_yield/procs:1 ")]
    if not src or not src[0].endswith("[benches/switch_pingpong.c]"):
        fail(f"--list does not name switch/g_yield's source file: {src}")
    # An empty glob selects nothing either (it used to select the claimless harness/empty).
    for glob, extra in (("ZZZ*", []), ("ZZZ*", ["--list"]), ("", ["--list"])):
        r = run([binary, "--warm_ms=0", f"--claims={glob}"] + extra)
        if r.returncode != 2 or r.stderr.strip() != f"bench: no bench matches --claims={glob}" \
                or r.stdout.strip():
            fail(f"--claims={glob} {extra}: exit {r.returncode}, stdout "
                 f"{r.stdout.strip()[:80]!r}, stderr {r.stderr.strip()[-200:]!r}")
    cout = os.path.join(work, "counters.json")
    r = run([binary, "--preset=smoke", "--warm_ms=0", "--benchmark_filter=^harness/empty$",
             "--counters=bogus::EVENT,PAPI_BOGUS,PAPI_TOT_CYC", f"--benchmark_out={cout}",
             "--benchmark_out_format=json"])
    try:
        with open(cout) as f:
            cctx = json.load(f)["context"]
        cna = json.loads(cctx["counters_na"])
        for ev in ("bogus::EVENT", "PAPI_BOGUS"):
            if cna.get(ev) != "unknown event":
                fail(f"--counters={ev}: counters_na says {cna.get(ev)!r}, want 'unknown event'")
        counted = cctx.get("counters", "").split(",")
        if "PAPI_TOT_CYC" not in counted and cna.get("PAPI_TOT_CYC", "") == "unknown event":
            fail(f"PAPI_TOT_CYC reported as an unknown event: {cna}")
    except (OSError, ValueError, KeyError) as e:
        fail(f"--counters=bogus::EVENT run (exit {r.returncode}): no usable JSON: {e}")
    # ---- the row filter: one filter, applied once, to the name and the full name ----------
    for flt, want in (("^switch/g_yield/procs:1$", ["switch/g_yield/procs:1"]),
                      ("^max/g/iterations:1/repeats:1/real_time$", ["max/g"]),
                      ("procs:1$", None), ("real_time$", None)):
        r = run([binary, "--list", f"--benchmark_filter={flt}"])
        got = [l.split()[0] for l in r.stdout.splitlines() if l.strip()]
        if r.returncode != 0 or not got or (want is not None and got != want):
            fail(f"--benchmark_filter={flt}: exit {r.returncode}, listed {got[:5]}")
        if flt == "procs:1$" and any(not n.endswith("procs:1") for n in got):
            fail(f"--benchmark_filter={flt} listed {got}")
        if flt == "real_time$" and ("harness/empty" in got or "switch/g_yield/procs:1" not in got):
            fail(f"--benchmark_filter=real_time$ listed {got}: want the real-time rows only")
    r = run([binary, "--list", "--benchmark_filter=-^(numa|chan|switch|spawn|stack|max)/"])
    got = [l.split()[0] for l in r.stdout.splitlines() if l.strip()]
    if r.returncode != 0 or "harness/empty" not in got or any(n.startswith("switch/") for n in got):
        fail(f"negative filter: exit {r.returncode}, listed {got}")
    for flt, msg in (("(", "bench: invalid --benchmark_filter '('"),
                     ("^nothing_here$", "bench: --benchmark_filter='^nothing_here$' matches no "
                                        "bench")):
        for extra in (["--list"], ["--warm_ms=0"]):
            r = run([binary, f"--benchmark_filter={flt}"] + extra)
            lines = r.stderr.strip().splitlines()
            if r.returncode != 2 or len(lines) != 1 or not lines[0].startswith(msg):
                fail(f"--benchmark_filter={flt} {extra}: exit {r.returncode}, stderr {lines}")
    r = run([binary, "--version"])
    if r.returncode != 0 or not r.stdout.startswith("bench "):
        fail(f"--version: exit {r.returncode}, {r.stdout.strip()!r}")
    for bad in (["--no_such_flag"], ["--benchmark_repetitions=abc"], ["--preset=bogus"],
                ["--counters=a,,b"], ["--warm_ms=x"]):
        r = run([binary, "--warm_ms=0"] + bad + ["--benchmark_filter=harness/empty"])
        if r.returncode == 0:
            fail(f"{bad} was accepted")
        elif not r.stderr.strip():
            fail(f"{bad}: no error message")
        elif not r.stderr.strip().splitlines()[-1].startswith("bench: "):
            fail(f"{bad}: the error does not start with 'bench: ': {r.stderr.strip()!r}")

    # an MN_* value in range but invalid (not a page multiple) is one usage error naming
    # the variable, exit 2, not G rows turned n/a with exit 0
    if "stub" not in os.path.basename(binary):
        env = dict(os.environ, MN_STACK_BYTES="20000")
        r = run([binary, "--warm_ms=0", "--benchmark_filter=harness/empty"], env=env)
        lines = r.stderr.strip().splitlines()
        if r.returncode != 2 or not lines or "MN_STACK_BYTES=20000" not in lines[0] \
                or not lines[-1].startswith("bench: invalid MN_* environment variable"):
            fail(f"MN_STACK_BYTES=20000: exit {r.returncode}, stderr {lines}")

    # ---- one smoke run of everything ----------------------------------------------------
    out = os.path.join(work, "smoke.json")
    if os.path.exists(out):
        os.unlink(out)
    r = run([binary, "--preset=smoke", "--warm_ms=0", "--progress", f"--benchmark_out={out}",
             "--benchmark_out_format=json"])
    if r.returncode != 0:
        fail(f"smoke run exited {r.returncode}: {r.stderr.strip()[-400:]}")
        return 1
    with open(out) as f:
        doc = json.load(f)
    # --progress: no console table on stdout, no per-instance error lines, a skip line per
    # skipped family with its count, and the total.
    if r.stdout.strip() or "ERROR OCCURRED" in r.stderr:
        fail(f"--progress printed Google Benchmark's table: {r.stdout[:200]!r}")
    if not re.search(r"^bench: done: \d+ benches \(\d+ skipped\) in ", r.stderr, re.M):
        fail(f"--progress: no 'bench: done' line in {r.stderr[-300:]!r}")
    skipped_rows = {}
    for b in doc.get("benchmarks", []):
        if b.get("error_occurred"):
            fam = "/".join(GB_SUFFIX.sub("", b.get("run_name", b["name"])).split("/")[:2])
            skipped_rows.setdefault(fam, set()).add(b.get("run_name"))
    for fam, rows in skipped_rows.items():
        if not re.search(rf"^bench: skipped {re.escape(fam)}: ", r.stderr, re.M):
            fail(f"--progress: no skip line for {fam} ({len(rows)} skipped rows)")
    ctx = doc.get("context", {})
    for k in CONTEXT_KEYS:
        if k not in ctx or not isinstance(ctx[k], str) or not ctx[k]:
            fail(f"context key {k} missing or empty")
    try:
        na = json.loads(ctx.get("counters_na", ""))
        if not isinstance(na, dict):
            raise ValueError
    except ValueError:
        fail(f"counters_na is not a JSON object: {ctx.get('counters_na')!r}")
    if ctx.get("preset") != "smoke":
        fail(f"context preset = {ctx.get('preset')!r}")
    events = [e for e in ctx.get("counters", "").split(",") if e]

    rows, counted = {}, {}
    for b in doc.get("benchmarks", []):
        if b.get("run_type", "iteration") != "iteration":
            continue
        name = GB_SUFFIX.sub("", b["name"])
        if name.endswith("/counted"):
            counted[GB_SUFFIX.sub("", name[:-len("/counted")])] = b
        else:
            rows[name] = b
    if events and "separate" not in ctx.get("counting", ""):
        fail(f"context counting = {ctx.get('counting')!r}, want the separate counted pass")
    for name, claims in listed.items():
        b = rows.get(name)
        if b is None:
            fail(f"{name}: no row in the JSON")
            continue
        if b.get("error_occurred"):
            if not str(b.get("error_message", "")).startswith("n/a: "):
                fail(f"{name}: skipped without an n/a reason: {b.get('error_message')!r}")
            continue
        if not b.get("real_time", 0) > 0 or not b.get("iterations", 0) >= 1:
            fail(f"{name}: real_time {b.get('real_time')} iterations {b.get('iterations')}")
        if b.get("time_unit") != "ns":
            fail(f"{name}: time_unit {b.get('time_unit')}")
        if claims and not str(b.get("label", "")).startswith(claims):
            fail(f"{name}: label {b.get('label')!r} does not start with {claims!r}")
        # Timed with no counter open; the events come from the counted pass.
        for e in events:
            if e in b:
                fail(f"{name}: timed row carries event {e}: counters were on while timing")
        cb = counted.get(name)
        if events and cb is None:
            fail(f"{name}: no counted pass row {name}/counted")
            continue
        withheld = row_na(cb) if cb else {}
        for e in events:
            if e in withheld and e not in cb:
                continue  # n/a for this row with the reason in the label
            if not (isinstance(cb.get(e), (int, float)) and cb[e] >= 0):
                fail(f"{name}/counted: counted event {e} missing or negative ({cb.get(e)!r})")
        for prefix, counter in UNIT_COUNTER:
            if name.startswith(prefix) and not b.get(counter, 0) > 0:
                fail(f"{name}: {counter} = {b.get(counter)!r}, want > 0")
        if name.startswith("max/") and ";limit=" not in b.get("label", ""):
            fail(f"{name}: label lacks ;limit=: {b.get('label')!r}")
        if name.startswith("max/") and ";limit=cap " in b.get("label", "") \
                and ";bound=lower" not in b.get("label", ""):
            fail(f"{name}: stopped at the harness cap without ;bound=lower: {b.get('label')!r}")
    check_realised(listed, rows, counted)
    check_manipulations(rows)
    for bind in ("0", "1"):
        on, off = rows.get(f"pin/shoot/unmap:1/bind:{bind}"), rows.get(f"pin/shoot/unmap:0/bind:{bind}")
        if on and off and not on.get("error_occurred") and "shootdowns" in on:
            if not on["shootdowns"] >= 1:
                fail(f"pin/shoot/unmap:1/bind:{bind}: shootdowns {on['shootdowns']} per "
                     "iteration, want >= 1 (each G unmaps a touched chunk)")
            if not off.get("shootdowns", 0) < 0.5:
                fail(f"pin/shoot/unmap:0/bind:{bind}: shootdowns {off.get('shootdowns')} per "
                     "iteration, want < 0.5 (the control maps nothing in its loop)")
    fut = counted.get("switch/pthread_futex/cpus:1")
    if fut and not fut.get("error_occurred") and "perf::CONTEXT-SWITCHES" in events:
        if not fut["perf::CONTEXT-SWITCHES"] >= 1.0:
            fail(f"futex ping-pong on 1 CPU counted {fut['perf::CONTEXT-SWITCHES']} context "
                 "switches per round trip: the partner thread is not being counted")
    ctx2, b = futex_json(binary, flags=["--count_while_timing"])
    if ctx2 is None or not GB_SUFFIX.sub("", b["name"]).endswith("/timed_with_counters") \
            or not b.get("perf::CONTEXT-SWITCHES", 0) >= 1:
        fail(f"--count_while_timing: want one row <name>/timed_with_counters with the "
             f"events, got {b if ctx2 is None else b['name']!r}")
    check_counter_honesty(binary)
    check_na_json(binary, work)
    n_ok = sum(1 for n in listed if n in rows and not rows[n].get("error_occurred"))
    print(f"smoke: {len(listed)} instances, {n_ok} measured, {len(listed) - n_ok} n/a or "
          f"failed, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
