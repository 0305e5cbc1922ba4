#!/usr/bin/python3
"""make_fixtures.py - regenerate the Google Benchmark 1.7.1-shaped runs used by
test_compare.py.  Values are invented test data (not measurements), drawn from a seeded
generator so the files are reproducible; what each row is for is said beside it.
Run: /usr/bin/python3 make_fixtures.py (writes next to itself)."""
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
REPS = 9


def context(host, sha, date, load, **extra):
    c = {"date": date, "host_name": host, "executable": "build/benches/bench", "num_cpus": 2,
         "mhz_per_cpu": 2596, "cpu_scaling_enabled": False, "caches": [],
         "load_avg": load, "library_build_type": "debug", "host": host,
         "cpu_model": "AMD EPYC", "kernel": "Linux 6.18.44 x86_64", "governor": "none",
         "thp": "always [madvise] never", "numa_nodes": "1", "smt": "0",
         "compiler": "C: cc (Debian 12.2.0-14) 12.2.0; C++: g++ 12.2.0",
         "build_flags": "-O2 -g", "libbenchmark_version": "1.7.1-1",
         "papi_version": "7.0.0.0", "preset": "quick", "git_sha": sha}
    c.update(extra)
    return c


def rows(name, label, values, counter, extra=None, na=None):
    """rows - one iteration row per value (the timed repetitions), real_time per
    iteration scaled from the per-op counter by a batch of 1000, plus GB's aggregates."""
    rn = name + "/real_time"
    if na:
        return [{"name": rn, "family_index": 0, "per_family_instance_index": 0,
                 "run_name": rn, "run_type": "iteration", "repetitions": 1,
                 "repetition_index": 0, "threads": 1, "iterations": 0, "real_time": 0,
                 "cpu_time": 0, "time_unit": "ns", "label": label,
                 "error_occurred": True, "error_message": na}]
    out = []
    for i, v in enumerate(values):
        r = {"name": rn, "family_index": 0, "per_family_instance_index": 0, "run_name": rn,
             "run_type": "iteration", "repetitions": len(values), "repetition_index": i,
             "threads": 1, "iterations": 1000, "real_time": v * 1000.0,
             "cpu_time": v * 1000.0, "time_unit": "ns", counter: v, "label": label}
        r.update(extra or {})
        out.append(r)
    for agg in ("mean", "median", "stddev", "cv"):  # present as in real files; not used
        out.append({"name": rn + "_" + agg, "family_index": 0, "per_family_instance_index": 0,
                    "run_name": rn, "run_type": "aggregate", "repetitions": len(values),
                    "threads": 1, "aggregate_name": agg, "iterations": len(values),
                    "real_time": 0.0, "cpu_time": 0.0, "time_unit": "ns", counter: 0.0,
                    "label": label})
    return out


def sample(rng, centre, spread, n=REPS):
    return [centre * (1 + rng.uniform(-spread, spread)) for _ in range(n)]


def write(name, ctx, benchmarks):
    with open(os.path.join(HERE, name), "w") as f:
        json.dump({"context": ctx, "benchmarks": benchmarks}, f, indent=1)
        f.write("\n")


def main():
    rng = random.Random(15)
    a_ctx = context("hostA", "a" * 40, "2026-12-01T10:00:00+00:00", [0.2, 0.3, 0.3])
    b_ctx = context("hostA", "b" * 40, "2026-12-01T11:00:00+00:00", [3.5, 2.0, 1.0],
                    thp="always madvise [never]", governor="performance")
    a, b = [], []
    # 30% slower in B, far outside the spread: "slower", p < 0.05
    a += rows("spawn/g/procs:1/reuse:1", "T1.create.g", sample(rng, 60, 0.03), "ns_per_spawn",
              {"batch": 1000})
    b += rows("spawn/g/procs:1/reuse:1", "T1.create.g", sample(rng, 78, 0.03), "ns_per_spawn",
              {"batch": 1000})
    # the same distribution on both sides: "no significant change"
    a += rows("switch/g_yield/procs:1", "T1.switch.g", sample(rng, 20, 0.05), "ns_per_switch",
              {"ns_per_roundtrip": 40})
    b += rows("switch/g_yield/procs:1", "T1.switch.g", sample(rng, 20, 0.05), "ns_per_switch",
              {"ns_per_roundtrip": 40})
    # a rate 20% higher in B: "faster"
    a += rows("procs/sweep/procs:2", "T5.idle", sample(rng, 1e5, 0.02), "ops_per_s")
    b += rows("procs/sweep/procs:2", "T5.idle", sample(rng, 1.2e5, 0.02), "ops_per_s")
    # measured once: "not comparable" (n < 3)
    a += rows("stack/g_parked/n:10000", "L2.stack", [2300.0], "bytes_per_g")
    b += rows("stack/g_parked/n:10000", "L2.stack", [2400.0], "bytes_per_g")
    # n/a in B: "not comparable" with the reason
    a += rows("pin/walk/bind:1", "T4.walk", sample(rng, 5, 0.02), "ns_per_op")
    b += rows("pin/walk/bind:1", "T4.walk", [], "ns_per_op", na="n/a: no PMU")
    # only in A
    a += rows("chan/throughput/cap:0/procs:1", "T10.lat", sample(rng, 40, 0.02), "ns_per_msg")
    write("a.json", a_ctx, a)
    write("b.json", b_ctx, b)
    ga_ctx = dict(a_ctx, go_version="go1.19.8", gomaxprocs="2")
    gb_ctx = dict(b_ctx, go_version="go1.19.8", gomaxprocs="2")
    write("a.go.json", ga_ctx, rows("go/spawn/procs:1", "", sample(rng, 250, 0.03),
                                    "ns_per_spawn", {"batch": 1000}))
    write("b.go.json", gb_ctx, rows("go/spawn/procs:1", "", sample(rng, 250, 0.03),
                                    "ns_per_spawn", {"batch": 1000}))


if __name__ == "__main__":
    main()
