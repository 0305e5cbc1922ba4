#!/usr/bin/python3
"""make_fixtures.py - regenerate the Google Benchmark 1.7.1-shaped JSON fixtures used by
test_check_tuning.py.  Values are invented test data (not measurements); each file's
purpose is in its name.  Run: /usr/bin/python3 make_fixtures.py (writes next to itself)."""
import json
import os
import statistics

HERE = os.path.dirname(os.path.abspath(__file__))
CONTEXT = {
    "date": "2024-01-01T00:00:00+00:00", "host_name": "fixture", "executable": "bench",
    "num_cpus": 2, "mhz_per_cpu": 0, "cpu_scaling_enabled": False, "caches": [],
    "load_avg": [0.1, 0.1, 0.1], "library_build_type": "release",
    "host": "fixture", "numa_nodes": "2", "pmu": "present", "cores": "2", "preset": "quick",
}


def rows(name, label, counter, values, real_time=True, error=None):
    """rows - repetition rows plus mean/median/stddev/cv aggregates for one instance."""
    rn = name + ("/real_time" if real_time else "")
    out = []
    if error:
        return [{"name": rn, "family_index": 0, "per_family_instance_index": 0,
                 "run_name": rn, "run_type": "iteration", "repetitions": 1,
                 "repetition_index": 0, "threads": 1, "iterations": 0, "real_time": 0,
                 "cpu_time": 0, "time_unit": "ns", "label": label,
                 "error_occurred": True, "error_message": error}]
    for i, v in enumerate(values):
        out.append({"name": rn, "family_index": 0, "per_family_instance_index": 0,
                    "run_name": rn, "run_type": "iteration", "repetitions": len(values),
                    "repetition_index": i, "threads": 1, "iterations": 100000,
                    "real_time": v * 1000 / 1000.0, "cpu_time": v, "time_unit": "ns",
                    "label": label, counter: v})
    if len(values) > 1:
        mean, med = statistics.fmean(values), statistics.median(values)
        sd = statistics.stdev(values)
        for agg, v, unit in (("mean", mean, "time"), ("median", med, "time"),
                             ("stddev", sd, "time"),
                             ("cv", sd / mean if mean else float("nan"), "percentage")):
            out.append({"name": rn + "_" + agg, "family_index": 0,
                        "per_family_instance_index": 0, "run_name": rn,
                        "run_type": "aggregate", "repetitions": len(values), "threads": 1,
                        "aggregate_name": agg, "aggregate_unit": unit,
                        "iterations": len(values), "real_time": v, "cpu_time": v,
                        "time_unit": "ns", "label": label, counter: v})
    return out


def around(x, spread):
    """around - five repetitions centred on x with relative spread."""
    return [x * (1 + spread * f) for f in (-1.0, -0.5, 0.0, 0.5, 1.0)]


def write(name, benchmarks, context=CONTEXT):
    with open(os.path.join(HERE, name), "w") as f:
        json.dump({"context": context, "benchmarks": benchmarks}, f, indent=1)
        f.write("\n")


def suite(switch_g, pad64, bind1, remote, foreign):
    b = []
    b += rows("switch/g_yield/procs:1", "T1.switch.g", "ns_per_switch", around(switch_g, 0.02))
    b += rows("switch/pthread_futex/cpus:1", "T1.switch.pthread", "ns_per_switch",
              around(2000, 0.05))
    for st in (0, 1):
        b += rows("runq/op/pad:0/stealers:%d" % st, "T3.latency,T3.l1hit", "ns_per_op",
                  around(40, 0.03))
        b += rows("runq/op/pad:64/stealers:%d" % st, "T3.latency,T3.l1hit", "ns_per_op",
                  around(pad64 if st else 39, 0.03))
    # T4 is judged on pin/shoot (unmap:1); pin/touch (T4.tlbmiss, PMU only) is not gated:
    # its pinned arm is 3x dearer here and must not decide the T4 rule
    b += rows("pin/shoot/unmap:1/bind:0", "T4.flush,T4.local,T4.mmap", "ns_per_op",
              around(10, 0.02))
    b += rows("pin/shoot/unmap:1/bind:1", "T4.flush,T4.local,T4.mmap", "ns_per_op",
              around(bind1, 0.02))
    b += rows("pin/touch/ws_kib:64/bind:0", "T4.tlbmiss", "ns_per_op", around(10, 0.02))
    b += rows("pin/touch/ws_kib:64/bind:1", "T4.tlbmiss", "ns_per_op", around(30, 0.02))
    b += rows("numa/chase/cpu:0/mem:0/thp:0", "N3.3.penalty,N3.2.latency", "ns_per_access",
              around(100, 0.01))
    b += rows("numa/chase/cpu:0/mem:1/thp:0", "N3.3.penalty,N3.2.latency", "ns_per_access",
              around(remote, 0.01))
    b += rows("numa/bind/local:1", "N3.2.remote,N3.3.foreign", "foreign_share",
              around(foreign, 0.0))
    return b


# every measured rule of default.toml passes
write("results_pass.json", suite(switch_g=40, pad64=35, bind1=9, remote=180, foreign=0.01))
# every measured rule of default.toml fails
write("results_fail.json", suite(switch_g=400, pad64=60, bind1=15, remote=300, foreign=0.2))
# one-node host: the remote rows are skipped by the bench, context says 1 node, no PMU
ctx1 = dict(CONTEXT, numa_nodes="1", pmu="absent")
b = suite(switch_g=40, pad64=35, bind1=9, remote=180, foreign=0.01)
b = [r for r in b if not r["run_name"].startswith(("numa/", "switch/g_yield"))]
b += rows("switch/g_yield/procs:1", "T1.switch.g", "ns_per_switch", [], error="n/a: runtime not built")
b += rows("numa/chase/cpu:0/mem:0/thp:0", "N3.3.penalty", "ns_per_access", around(100, 0.01))
write("results_vm.json", b, ctx1)

# baseline comparisons (counter ns_per_op, row sched/spawn/pad:0), 9 repetitions a side
def around9(x, spread):
    """around9 - nine repetitions centred on x with relative spread."""
    return [x * (1 + spread * f) for f in (-1.0, -0.75, -0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0)]


write("baseline.json", rows("sched/spawn/pad:0", "T3.latency", "ns_per_op", around9(100, 0.02)))
# 30% slower with a tight spread: a regression
write("current_regressed.json", rows("sched/spawn/pad:0", "T3.latency", "ns_per_op",
                                     around9(130, 0.02)))
# 5% slower, significant, but inside the 10% tolerance: not a regression
write("current_slower_within.json", rows("sched/spawn/pad:0", "T3.latency", "ns_per_op",
                                         around9(105, 0.005)))
# medians 18% apart, samples overlapping: not significant
write("baseline_noisy.json", rows("sched/spawn/pad:0", "T3.latency", "ns_per_op",
                                  [70, 85, 100, 115, 130, 60, 140, 95, 105]))
write("current_noisy.json", rows("sched/spawn/pad:0", "T3.latency", "ns_per_op",
                                 [75, 118, 90, 135, 125, 65, 150, 120, 130]))
# only 5 repetitions: too few to compare
write("current_fewreps.json", rows("sched/spawn/pad:0", "T3.latency", "ns_per_op",
                                   around(150, 0.01)))
# the regressed run, on a host whose load said another tenant competed
write("current_busy.json", rows("sched/spawn/pad:0", "T3.latency", "ns_per_op",
                                around9(130, 0.02)),
      dict(CONTEXT, load_avg=[6.0, 4.0, 2.0]))
# a counter improving from 10 to 0 (was a FAIL with bound nan%)
write("baseline_to_zero.json", rows("sched/spawn/pad:0", "T3.latency", "ns_per_op",
                                    around9(10, 0.02)))
write("current_zero.json", rows("sched/spawn/pad:0", "T3.latency", "ns_per_op", [0.0] * 9))
