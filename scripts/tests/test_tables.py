"""Tests for scripts/tables.py: verdict logic per comparison kind, n/a propagation, units,
parsing of real libbenchmark 1.7.1 JSON (fixtures/), malformed input, reproducible output.

Run: /usr/bin/python3 -m unittest discover -s scripts/tests -t scripts/tests
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
import unittest
import unittest.mock

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.dirname(HERE)
ROOT = os.path.dirname(SCRIPTS)
FIX = os.path.join(HERE, "fixtures")
sys.path.insert(0, SCRIPTS)

import stats  # noqa: E402
import tables  # noqa: E402

CLAIMS_MD = os.path.join(ROOT, "..", "shared", "CLAIMS.md")


def gb_row(name, counters=None, reps=0, label="", error=None, time_ns=10.0):
    """Rows shaped as libbenchmark 1.7.1 writes them: iterations then aggregates."""
    rows = []
    counters = counters or {}
    n = max(reps, 1)
    for i in range(n):
        r = {"name": name + "/real_time", "run_name": name + "/real_time",
             "run_type": "iteration", "repetitions": reps, "repetition_index": i,
             "threads": 1, "iterations": 100, "real_time": time_ns, "cpu_time": time_ns,
             "time_unit": "ns"}
        if error:
            r.update(error_occurred=True, error_message=error)
        else:
            r.update(counters)
            if label:
                r["label"] = label
        rows.append(r)
    return rows


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def write_json(d, name, rows, context=None):
    path = os.path.join(d, name)
    with open(path, "w") as f:
        json.dump({"context": context or {}, "benchmarks": rows}, f)
    return path


def load_run(d, rows, context=None, name="run.json"):
    run = tables.Run()
    run.load(write_json(d, name, rows, context))
    return run


def evaluate(claim, run, go_run=None, go_reason=tables.GO_ABSENT, go_src=None):
    ev = tables.Evaluator(run, go_run, go_reason, go_src or tables.GoFacts(go_run))
    claim = dict(claim)
    claim.setdefault("table", "T1")
    claim.setdefault("what", "w")
    claim.setdefault("doc", "d")
    return ev.claim(claim)


class TestVerdicts(unittest.TestCase):
    """One test per comparison kind, each with a confirming and a refuting value."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.d = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def run_with(self, counters_by_row, context=None):
        rows = []
        for name, c in counters_by_row.items():
            rows += gb_row(name, c, reps=3)
        return load_run(self.d, rows, context)

    def test_equal_within_tolerance(self):
        claim = {"id": "X.eq", "kind": "equal", "check": [
            {"label": "a", "row": "stack/g", "counter": "bytes_per_g", "test": "equal",
             "value": 2048, "tolerance": 0.5}]}
        self.assertEqual(evaluate(claim, self.run_with({"stack/g": {"bytes_per_g": 3000}}))
                         ["verdict"], "confirmed")
        self.assertEqual(evaluate(claim, self.run_with({"stack/g": {"bytes_per_g": 3100}}))
                         ["verdict"], "refuted")

    def test_equal_zero_tolerance_structural(self):
        claim = {"id": "L2.1.runq", "kind": "structural", "unit": "entries", "check": [
            {"row": "runq/layout/pad:*", "counter": "runq_bytes", "divide": 8,
             "test": "equal", "value": 256, "tolerance": 0}]}
        r = evaluate(claim, self.run_with({"runq/layout/pad:0": {"runq_bytes": 2048},
                                           "runq/layout/pad:64": {"runq_bytes": 2048}}))
        self.assertEqual(r["verdict"], "confirmed")
        self.assertIn("256 entries", r["measured"][0])
        r = evaluate(claim, self.run_with({"runq/layout/pad:0": {"runq_bytes": 2048},
                                           "runq/layout/pad:64": {"runq_bytes": 2056}}))
        self.assertEqual(r["verdict"], "refuted")

    def test_above_and_below(self):
        above = {"id": "X.a", "kind": "above", "check": [
            {"row": "max/g", "counter": "reached", "test": "above", "threshold": 1e6}]}
        below = {"id": "X.b", "kind": "below", "check": [
            {"row": "max/g", "counter": "reached", "test": "below", "threshold": 1e6}]}
        run = self.run_with({"max/g": {"reached": 2e6}})
        self.assertEqual(evaluate(above, run)["verdict"], "confirmed")
        self.assertEqual(evaluate(below, run)["verdict"], "refuted")
        run = self.run_with({"max/g": {"reached": 1e6}})  # the threshold itself is not above
        self.assertEqual(evaluate(above, run)["verdict"], "refuted")

    def test_between_half_open(self):
        claim = {"id": "X.r", "kind": "between", "check": [
            {"row": "switch/f", "counter": "ns_per_switch", "test": "between", "lo": 1000,
             "hi": 10000}]}
        for v, want in ((1000, "confirmed"), (9999, "confirmed"), (10000, "refuted"),
                        (999, "refuted")):
            self.assertEqual(evaluate(claim, self.run_with({"switch/f": {"ns_per_switch": v}}))
                             ["verdict"], want, v)

    def test_ratio_against_document_pair(self):
        claim = {"id": "T3.latency", "kind": "ratio", "check": [
            {"num": {"row": "runq/op/pad:64", "counter": "ns_per_op"},
             "den": {"row": "runq/op/pad:0", "counter": "ns_per_op"}, "metric": "ratio",
             "test": "equal", "doc_num": 23, "doc_den": 42, "tolerance": 0.25}]}
        r = evaluate(claim, self.run_with({"runq/op/pad:64": {"ns_per_op": 24},
                                           "runq/op/pad:0": {"ns_per_op": 42}}))
        self.assertEqual(r["verdict"], "confirmed")
        self.assertTrue(r["ratio"][0].startswith("0.571"))
        r = evaluate(claim, self.run_with({"runq/op/pad:64": {"ns_per_op": 40},
                                           "runq/op/pad:0": {"ns_per_op": 42}}))
        self.assertEqual(r["verdict"], "refuted")

    def test_ratio_wildcards_pair_rows(self):
        claim = {"id": "P4.1.pool", "kind": "ratio", "check": [
            {"label": "reuse procs:*", "metric": "ratio",
             "num": {"row": "spawn/g/procs:*/reuse:1", "counter": "ns_per_spawn"},
             "den": {"row": "spawn/g/procs:*/reuse:0", "counter": "ns_per_spawn"},
             "test": "below", "threshold": 1.0}]}
        run = self.run_with({"spawn/g/procs:1/reuse:1": {"ns_per_spawn": 100},
                             "spawn/g/procs:1/reuse:0": {"ns_per_spawn": 200},
                             "spawn/g/procs:2/reuse:1": {"ns_per_spawn": 300},
                             "spawn/g/procs:2/reuse:0": {"ns_per_spawn": 200}})
        r = evaluate(claim, run)
        self.assertEqual(r["verdict"], "refuted")  # procs:2 is slower with reuse
        self.assertEqual([x[:4] for x in r["ratio"]], ["0.5 ", "1.5 "])
        self.assertIn("spawn/g/procs:2/reuse:0", r["rows"])

    def test_hitrate_ratio(self):
        claim = {"id": "T3.l1hit", "kind": "ratio", "needs_pmu": True, "check": [
            {"metric": "ratio", "num": {"row": "a", "hit": ["PAPI_L1_DCM", "PAPI_L1_DCA"]},
             "den": {"row": "b", "hit": ["PAPI_L1_DCM", "PAPI_L1_DCA"]},
             "test": "equal", "doc_num": 94, "doc_den": 72, "tolerance": 0.25}]}
        run = self.run_with({"a": {"PAPI_L1_DCM": 6, "PAPI_L1_DCA": 100},
                             "b": {"PAPI_L1_DCM": 28, "PAPI_L1_DCA": 100}}, {"pmu": "present"})
        r = evaluate(claim, run)
        self.assertEqual(r["verdict"], "confirmed")
        self.assertIn("94%", r["measured"][0])

    def test_slope(self):
        claim = {"id": "T6.per", "kind": "slope", "unit": "pp", "check": [
            {"label": "slope ws:*", "metric": "slope", "row": "migrate/hot/ws:*/rate:*",
             "x": "rate", "miss": ["PAPI_L1_DCM", "PAPI_L1_DCA"], "test": "equal",
             "value": 3.2, "tolerance": 0.5}]}
        # miss rate 10%, 26%, 74% at 0, 5, 20 per s: slope 3.2 pp per (1/s)
        run = self.run_with({"migrate/hot/ws:l1/rate:0": {"PAPI_L1_DCM": 10, "PAPI_L1_DCA": 100},
                             "migrate/hot/ws:l1/rate:5": {"PAPI_L1_DCM": 26, "PAPI_L1_DCA": 100},
                             "migrate/hot/ws:l1/rate:20": {"PAPI_L1_DCM": 74,
                                                           "PAPI_L1_DCA": 100}},
                            {"pmu": "present"})
        r = evaluate(claim, run)
        self.assertEqual(r["verdict"], "confirmed")
        self.assertIn("slope 3.2", r["measured"][0])

    def test_behavioural_is_not_a_measurement(self):
        claim = {"id": "T5.resize", "kind": "behavioural", "test": "runtime/tests/test_resize.c"}
        r = evaluate(claim, self.run_with({}))
        self.assertEqual(r["verdict"], "not a measurement")
        self.assertIn("test_resize.c", r["measured"][0])

    def test_any_refuted_wins_all_confirmed_needed(self):
        claim = {"id": "X", "kind": "below", "check": [
            {"label": "a", "row": "r1", "counter": "ns_per_op", "test": "below", "threshold": 5},
            {"label": "b", "row": "r2", "counter": "ns_per_op", "test": "below", "threshold": 5}]}
        r = evaluate(claim, self.run_with({"r1": {"ns_per_op": 1}}))
        self.assertEqual(r["verdict"], "n/a: bench not in this run")
        r = evaluate(claim, self.run_with({"r1": {"ns_per_op": 1}, "r2": {"ns_per_op": 9}}))
        self.assertEqual(r["verdict"], "refuted")

    def test_go_source_layout_and_grep(self):
        """Go-source claims read the facts goparse.py recorded in the .go.json at bench
        time, never the Go of the machine that renders the tables."""
        rt2 = {"p_fields": ["id", "runqhead", "runqtail", "runq"], "runqhead_type": "uint32",
               "runqtail_type": "uint32", "runq_type": "[256]guintptr"}
        numa = {"files_scanned": 2, "numa_hits": ['numa.go:2: const p = "/sys/devices/system/node"']}
        def go(version):
            return load_run(self.d, gb_row("go/spawn/procs:1", {"ns_per_spawn": 100}),
                            {"go_version": version, "go_runtime2": json.dumps(rt2),
                             "go_numa_detect": json.dumps(numa)}, name="g.go.json")
        head = {"id": "L2.1.headtail", "kind": "go-source", "source": "s",
                "go_fields": ["runqhead", "runqtail"]}
        r = evaluate(head, self.run_with({}), go_run=go("go1.22.1"), go_reason="")
        self.assertEqual(r["verdict"], "refuted")
        self.assertIn("go1.22.1", r["measured"][0])
        det = {"id": "N3.1.detect", "kind": "go-source", "source": "s",
               "go_grep": "/sys/devices/system/node", "go_min": "1.21"}
        r = evaluate(det, self.run_with({}), go_run=go("go1.22.1"), go_reason="")
        self.assertEqual(r["verdict"], "confirmed")
        self.assertIn("numa.go", r["measured"][0])
        r = evaluate(det, self.run_with({}), go_run=go("go1.19.8"), go_reason="")
        self.assertTrue(r["verdict"].startswith("n/a: installed Go is go1.19.8"))
        r = evaluate(det, self.run_with({}))
        self.assertEqual(r["verdict"], "not a measurement")
        self.assertIn("claims data cites", r["measured"][-1])


class TestNAPropagation(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.d = self.tmp.name
        self.claim = {"id": "X", "kind": "below", "check": [
            {"label": "a", "row": "r", "counter": "ns_per_op", "test": "below",
             "threshold": 5}]}

    def tearDown(self):
        self.tmp.cleanup()

    def test_skipped_row_reason(self):
        run = load_run(self.d, gb_row("r", error="n/a: 1 NUMA node", reps=3))
        self.assertEqual(evaluate(self.claim, run)["verdict"], "n/a: 1 NUMA node")

    def test_skip_reason_without_prefix_gets_one(self):
        run = load_run(self.d, gb_row("r", error="pid_max reached"))
        self.assertEqual(evaluate(self.claim, run)["verdict"], "n/a: pid_max reached")

    def test_bench_missing(self):
        run = load_run(self.d, gb_row("other", {"ns_per_op": 1}))
        self.assertEqual(evaluate(self.claim, run)["verdict"], "n/a: bench not in this run")

    def test_counter_missing(self):
        run = load_run(self.d, gb_row("r", {"ns_per_msg": 1}))
        self.assertEqual(evaluate(self.claim, run)["verdict"],
                         "n/a: counter ns_per_op not in row r")

    def test_counters_na_reason_from_context(self):
        claim = {"id": "X", "kind": "below", "check": [
            {"row": "r", "counter": "PAPI_TLB_DM", "test": "below", "threshold": 5}]}
        run = load_run(self.d, gb_row("r", {"ns_per_op": 1}),
                       {"counters_na": json.dumps({"PAPI_TLB_DM": "event not supported"})})
        self.assertEqual(evaluate(claim, run)["verdict"], "n/a: event not supported")

    def test_host_preconditions(self):
        pmu = dict(self.claim, needs_pmu=True)
        run = load_run(self.d, gb_row("r", {"ns_per_op": 1}), {"pmu": "absent"})
        self.assertEqual(evaluate(pmu, run)["verdict"], "n/a: no PMU")
        nodes = dict(self.claim, needs_nodes=2)
        run = load_run(self.d, gb_row("r", {"ns_per_op": 1}), {"numa_nodes": "1"})
        self.assertEqual(evaluate(nodes, run)["verdict"], "n/a: 1 NUMA node")
        run = load_run(self.d, gb_row("r", {"ns_per_op": 1}), {"numa_nodes": "2"})
        self.assertEqual(evaluate(nodes, run)["verdict"], "confirmed (n=1: no interval)")

    def test_go_status_from_file(self):
        p = write_json(self.d, "r.json", gb_row("r", {"ns_per_op": 1}))
        write_json(self.d, "r.go.json", [], {"go_status": "n/a: go 1.11 too old (need >= 1.19)"})
        go_run, reason = tables.load_go([p])
        self.assertIsNone(go_run)
        self.assertEqual(reason, "n/a: go 1.11 too old (need >= 1.19)")

    def test_go_column(self):
        claim = dict(self.claim, go=[{"label": "spawn",
                                      "ours": {"row": "r", "counter": "ns_per_op"},
                                      "go": {"row": "go/r", "counter": "ns_per_op"}}])
        run = load_run(self.d, gb_row("r", {"ns_per_op": 4}, reps=3))
        r = evaluate(claim, run)
        self.assertEqual(r["go"], ["spawn: n/a: go not installed"])
        go = load_run(self.d, gb_row("go/r", {"ns_per_op": 2}, reps=3), {"go_version": "go1.19"},
                      name="run.go.json")
        r = evaluate(claim, run, go_run=go, go_reason="")
        self.assertEqual(r["go"], ["spawn: Go 2 ns [all equal], n=3, ours/Go 2 (CI 2-2, p 0.047, "
                                   "n=3)"])


def claims_data():
    with open(os.path.join(SCRIPTS, "claims.toml"), "rb") as f:
        return tomllib.load(f)


def real_claim(cid):
    """A claim exactly as scripts/claims.toml states it."""
    return next(c for c in claims_data()["claim"] if c["id"] == cid)


class TestCapAndGoReason(unittest.TestCase):
    """Rows stopped at the harness cap (label `limit=cap N`), the Go n/a reason keys, the
    claims data's T4 readings and Go's compiled layout in the L2 table."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.d = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def max_run(self, name, reached, label):
        return load_run(self.d, gb_row(name, {"reached": reached}, label=label))

    def test_label_fields_and_cap(self):
        run = self.max_run("max/g", 1000000, "T1.max.g;limit=cap 1000000")
        s = run.series["max/g"]
        self.assertEqual(s.label_fields(), {"limit": "cap 1000000"})
        self.assertEqual(s.cap(), 1000000)
        run = self.max_run("max/g", 10, "T1.max.g;limit=memory cap")
        self.assertIsNone(run.series["max/g"].cap())
        run = self.max_run("max/g", 10, "T1.max.g")
        self.assertEqual((run.series["max/g"].label_fields(), run.series["max/g"].cap()),
                         ({}, None))

    def test_max_g_cap_reached_meets_millions(self):
        claim = real_claim("T1.max.g")
        r = evaluate(claim, self.max_run("max/g", 1000000, "T1.max.g;limit=cap 1000000"))
        self.assertEqual(r["verdict"], "confirmed (n=1: no interval)")  # one shot, said so
        self.assertIn("at least 1,000,000", r["measured"][0])
        self.assertIn("(limit: cap 1000000)", r["measured"][0])
        self.assertIn("(claim >= 1,000,000)", r["measured"][0])
        # the same count without the cap in the label is not "above" a million
        r = evaluate(claim, self.max_run("max/g", 1000000, "T1.max.g;limit=memory cap"))
        self.assertEqual(r["verdict"], "refuted (n=1: no interval)")
        self.assertIn("(limit: memory cap)", r["measured"][0])
        self.assertIn("(claim > 1,000,000)", r["measured"][0])
        # a smoke-sized cap below the threshold decides nothing
        r = evaluate(claim, self.max_run("max/g", 2000, "T1.max.g;limit=cap 2000"))
        self.assertTrue(r["verdict"].startswith("n/a: stopped at the harness cap"), r["verdict"])

    def test_max_pthread_cap_reading(self):
        claim = real_claim("T1.max.pthread")
        for reached, label, want in (
                (5000, "T1.max.pthread;limit=cap 5000", "confirmed"),
                (30000, "T1.max.pthread;limit=cap 30000", "refuted"),
                (100, "T1.max.pthread;limit=cap 100", "n/a: stopped at the harness cap"),
                (4000, "T1.max.pthread;limit=pid_max", "confirmed"),
                (500, "T1.max.pthread;limit=vm.max_map_count", "refuted")):
            r = evaluate(claim, self.max_run("max/pthread", reached, label))
            self.assertTrue(r["verdict"].startswith(want), (reached, label, r["verdict"]))
            self.assertIn("(limit: " + label.split("limit=")[1] + ")", r["measured"][0])

    def test_cap_in_rendered_table(self):
        p = write_json(self.d, "r.json",
                       gb_row("max/g", {"reached": 1000000, "bytes_per_g": 4096},
                              label="T1.max.g;limit=cap 1000000"))
        out = os.path.join(self.d, "out")
        self.assertEqual(tables.main(["--out", out, "--no-go-source", p]), 0)
        row = next(l for l in read(os.path.join(out, "T1.md")).splitlines()
                   if l.startswith("| T1.max.g |"))
        self.assertIn("(limit: cap 1000000)", row)
        self.assertEqual(row.split(" | ")[-2], "confirmed (n=1: no interval)")

    def write_go(self, context, rows=()):
        p = write_json(self.d, "r.json", gb_row("r", {"ns_per_op": 1}))
        write_json(self.d, "r.go.json", list(rows), context)
        return p

    def test_go_na_reason_first(self):
        p = self.write_go({"go_na": "n/a: go not installed", "go_status": "n/a: other",
                           "error": "n/a: third"})
        self.assertEqual(tables.load_go([p]), (None, "n/a: go not installed"))
        p = self.write_go({"go_status": "n/a: go 1.11 too old (need >= 1.19)",
                           "error": "boom"})
        self.assertEqual(tables.load_go([p]), (None, "n/a: go 1.11 too old (need >= 1.19)"))
        p = self.write_go({"go_status": "gobench failed"})  # not "ok": the reason
        self.assertEqual(tables.load_go([p]), (None, "n/a: gobench failed"))
        p = self.write_go({"go_status": "ok", "error": "build failed"})
        self.assertEqual(tables.load_go([p]), (None, "n/a: build failed"))
        p = self.write_go({"go_status": "ok", "go_version": "go1.19"},
                          gb_row("go/r", {"ns_per_op": 2}))
        go_run, reason = tables.load_go([p])
        self.assertIsNotNone(go_run)
        self.assertIsNone(reason)

    def test_go_na_document_from_goparse(self):
        """The file run-go-bench writes without go reaches the tables' header and Go cells."""
        import goparse
        p = write_json(self.d, "r.json", gb_row("r", {"ns_per_op": 1}))
        doc = goparse.na_document("n/a: go not installed", {"preset": "quick"})
        with open(os.path.join(self.d, "r.go.json"), "w") as f:
            json.dump(doc, f)
        go_run, reason = tables.load_go([p])
        self.assertIsNone(go_run)
        self.assertEqual(reason, "n/a: go not installed")
        out = os.path.join(self.d, "out")
        self.assertEqual(tables.main(["--out", out, "--no-go-source", p]), 0)
        t1 = read(os.path.join(out, "T1.md"))
        self.assertIn("- Go (this host): n/a: go not installed", t1)

    def test_t4_mmap_workload_counts(self):
        claim = dict(real_claim("T4.mmap"), table="T4")
        run = load_run(self.d, gb_row("pin/shoot/unmap:1/bind:1",
                                      {"mmaps": 8, "migrations": 0, "m_cpu_moves": 0}, reps=5)
                       + gb_row("pin/shoot/unmap:1/bind:0",
                                {"mmaps": 12, "migrations": 3, "m_cpu_moves": 0.01}, reps=5))
        r = evaluate(claim, run)
        self.assertEqual(r["verdict"], "confirmed")
        self.assertTrue(r["ratio"][0].startswith("0.667"), r["ratio"])

    def test_check_on_go_row_judges_go(self):
        """T1.stack.g's subject is Go: its checks read the .go.json."""
        claim = dict(real_claim("T1.stack.g"), table="T1")
        ours = load_run(self.d, gb_row("stack/g_parked/n:100000/small:1", {"bytes_per_g": 9999}))
        go = load_run(self.d, gb_row("go/stack/parked/n:100000", {"stack_bytes": 2048,
                                                                  "bytes_per_g": 2719}, reps=3)
                      + gb_row("go/stack/parked/n:1000000", {"stack_bytes": 2048,
                                                             "bytes_per_g": 2741}, reps=3),
                      {"go_version": "go1.19.8"}, name="r.go.json")
        self.assertEqual(evaluate(claim, ours, go, "")["verdict"], "confirmed")
        go_big = load_run(self.d, gb_row("go/stack/parked/n:100000", {"stack_bytes": 8192},
                                         reps=3)
                          + gb_row("go/stack/parked/n:1000000", {"stack_bytes": 8192}, reps=3),
                          {"go_version": "go1.19.8"}, name="big.go.json")
        self.assertEqual(evaluate(claim, ours, go_big, "")["verdict"], "refuted")
        r = evaluate(claim, ours, None, "n/a: go not installed")
        self.assertEqual(r["verdict"], "n/a: go not installed")

    def test_t4_walk_reason_from_pin_walk_rows(self):
        claim = dict(real_claim("T4.walk"), table="T4")
        rows = (gb_row("pin/walk/bind:0", error="n/a: no PMU")
                + gb_row("pin/walk/bind:1", error="n/a: no PMU"))
        r = evaluate(claim, load_run(self.d, rows, {"pmu": "absent"}))
        self.assertEqual(r["verdict"], "n/a: no PMU")
        self.assertEqual(r["rows"], ["pin/walk/bind:1", "pin/walk/bind:0"])
        why = "n/a: walk depth is no portable PMU event"
        rows = gb_row("pin/walk/bind:0", error=why) + gb_row("pin/walk/bind:1", error=why)
        r = evaluate(claim, load_run(self.d, rows, {"pmu": "present"}))
        self.assertEqual(r["verdict"], why)

    def test_t4_local_note(self):
        note = real_claim("T4.local").get("note", "")
        self.assertIn("task-switch", note)
        self.assertIn("sender", note)
        self.assertIn("receiver", note)

    def test_go_layout_row_beside_source_check(self):
        run = load_run(self.d, gb_row("runq/layout/pad:0",
                                      {"headtail_same_line": 1, "runq_lines": 32}, reps=1))
        go = load_run(self.d, gb_row("go/runq/layout",
                                     {"off_runqhead": 400, "off_runqtail": 404,
                                      "headtail_same_line": 1, "runq_lines": 33}),
                      {"go_version": "go1.19.8"}, name="r.go.json")
        for cid, want in (("L2.1.headtail", "head and tail on one line (go1.19.8, "
                                            "`go/runq/layout`): 1"),
                          ("L2.1.fourlines", "runq (go1.19.8, `go/runq/layout`): 33")):
            r = evaluate(dict(real_claim(cid), table="L2"), run, go_run=go, go_reason="")
            self.assertTrue(any(want in g for g in r["go"]), (cid, r["go"]))
            r = evaluate(dict(real_claim(cid), table="L2"), run)
            self.assertTrue(all(g.endswith("n/a: go not installed") for g in r["go"]), r["go"])
        lines, _ = tables.render_layout(run, tables.GoFacts(None), go)
        self.assertTrue(any(l.startswith("| `go/runq/layout` (Go's compiled P, go1.19.8) | "
                                         "400 (line 6) | 404 (line 6) |") for l in lines), lines)


class TestUnits(unittest.TestCase):
    def test_format(self):
        f = tables.fmt_value
        self.assertEqual(f(35000, "time"), "35 us")
        self.assertEqual(f(4.1e6, "time"), "4.1 ms")
        self.assertEqual(f(2741, "bytes"), "2.68 KiB")
        self.assertEqual(f(8388608, "bytes"), "8 MiB")
        self.assertEqual(f(0.944, "share"), "94.4%")
        self.assertEqual(f(1500000, "rate"), "1,500,000 /s")
        self.assertEqual(f(256, "entries"), "256 entries")

    def test_counter_kinds(self):
        k = tables.counter_kind
        self.assertEqual([k("ns_per_switch"), k("lat_p99_ns"), k("wait_ns_mean"),
                          k("bytes_per_g"), k("stack_bytes"), k("bytes_per_s"),
                          k("remote_share"), k("ops_per_s"), k("reached")],
                         ["time", "time", "time", "bytes", "bytes", "byterate", "share",
                          "rate", "count"])

    def test_time_unit_conversion(self):
        with tempfile.TemporaryDirectory() as d:
            run = load_run(d, [{"name": "x", "real_time": 2.5, "cpu_time": 2.5,
                                "time_unit": "us"}])
        self.assertEqual(run.series["x"].stat("real_time").median, 2500.0)

    def test_suffixes_stripped(self):
        b = lambda row: stats._base_name(row)[0]
        self.assertEqual(b({"name": "switch/g_yield/procs:1/iterations:1000/real_time"}),
                         "switch/g_yield/procs:1")
        self.assertEqual(b({"name": "spawn/pthread/min_time:0.5/repeats:5_median",
                            "run_type": "aggregate", "aggregate_name": "median"}),
                         "spawn/pthread")


class TestFixtures(unittest.TestCase):
    """Real libbenchmark 1.7.1 output (scripts/tests/fixtures/regen)."""

    def load(self, *names):
        run = tables.Run()
        for n in names:
            run.load(os.path.join(FIX, n))
        return run

    def test_repetitions_and_aggregates(self):
        run = self.load("full.json")
        self.assertIn("switch/g_yield/procs:1", run.series)
        self.assertFalse(any("real_time" in n or "iterations:" in n for n in run.series))
        st = run.series["spawn/pthread"].stat("ns_per_spawn")
        self.assertEqual((st.median, st.n, st.kind), (35000.0, 3, "time"))
        self.assertAlmostEqual(st.cv, 0.0)
        self.assertEqual(run.series["switch/fcontext"].error, "n/a: Boost.Context not built")
        self.assertEqual(run.series["max/g"].label, "T1.max.g;limit=memory cap")
        self.assertEqual(run.context["pmu"], "absent")
        self.assertEqual(run.counters_na()["PAPI_L1_DCM"], "no PMU")

    def test_aggregates_only(self):
        run = self.load("aggonly.json")
        s = run.series["spawn/pthread"]
        self.assertEqual(s.iters, [])
        st = s.stat("ns_per_spawn")
        self.assertEqual((st.median, st.n), (35000.0, 3))  # repetitions from `iterations`

    def test_skips_and_missing_counters(self):
        run = self.load("skips.json")
        with self.assertRaises(tables.NA):
            run.series["spawn/pthread"].stat("ns_per_spawn")
        with self.assertRaises(KeyError):
            run.series["switch/g_yield/procs:1"].stat("ns_per_switch")

    def test_fixture_tables(self):
        with tempfile.TemporaryDirectory() as out:
            self.assertEqual(tables.main(["--out", out, "--no-go-source",
                                          os.path.join(FIX, "full.json")]), 0)
            t1 = read(os.path.join(out, "T1.md"))
            row = lambda cid: next(l for l in t1.splitlines() if l.startswith(f"| {cid} |"))
            self.assertTrue(row("T1.stack.pthread").split(" | ")[-2] == "refuted")
            self.assertIn("n/a: Boost.Context not built", row("T1.switch.g"))
            self.assertIn("ours/Go 0.75", row("T1.create.g"))  # 120 ns vs Go's 160 ns
            self.assertIn("- PMU: absent", t1)
            self.assertIn("- NUMA nodes: 1", t1)
            self.assertIn("- commit: 0123abc", t1)
            l2 = read(os.path.join(out, "L2.md"))
            self.assertIn("| `runq/layout/pad:0` | 16 (line 0) | 20 (line 0) |", l2)
            n3 = read(os.path.join(out, "N3.md"))
            self.assertIn("| N3.3.penalty |", n3)
            self.assertIn("n/a: 1 NUMA node", n3)

    def test_skips_run_go_absent(self):
        with tempfile.TemporaryDirectory() as out, \
                unittest.mock.patch.dict(os.environ, {"PATH": "/nonexistent"}):
            self.assertEqual(tables.main(["--out", out, "--no-go-source",
                                          os.path.join(FIX, "skips.json")]), 0)
            t1 = read(os.path.join(out, "T1.md"))
            # no .go.json beside the run: said from the files, whatever Go this machine has
            self.assertIn(f"- Go (this host): {tables.GO_NO_RUN}", t1)
            self.assertIn("| n/a: pid_max reached |", t1)
            self.assertIn("n/a: counter ns_per_switch not in row switch/g_yield/procs:1", t1)


class TestOutputs(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.out = os.path.join(self.tmp.name, "results")

    def tearDown(self):
        self.tmp.cleanup()

    def gen(self, *extra):
        return tables.main(["--out", self.out, "--no-go-source", *extra,
                            os.path.join(FIX, "full.json")])

    def snapshot(self):
        return {n: read(os.path.join(self.out, n), "rb") for n in os.listdir(self.out)}

    def test_every_claim_in_exactly_one_row(self):
        self.assertEqual(self.gen(), 0)
        with open(os.path.join(SCRIPTS, "claims.toml"), "rb") as f:
            ids = [c["id"] for c in tomllib.load(f)["claim"]]
        if os.path.exists(CLAIMS_MD):
            with open(CLAIMS_MD) as f:
                doc_ids = re.findall(r"^\| ([A-Z][0-9]+\.[a-z0-9.]+) \|", f.read(), re.M)
            self.assertEqual(sorted(ids), sorted(doc_ids))
        rows = []
        for n in sorted(os.listdir(self.out)):
            if n.endswith(".md") and n != "index.md":
                rows += re.findall(r"^\| ([A-Z][0-9]+\.[a-z0-9.]+) \|",
                                   read(os.path.join(self.out, n)), re.M)
        self.assertEqual(sorted(rows), sorted(ids))
        self.assertEqual(len(ids), len(set(ids)))
        for t in ("T1", "L2", "T3", "T4", "T5", "T6", "N3", "T10", "P4"):
            self.assertTrue(os.path.exists(os.path.join(self.out, t + ".csv")), t)

    def test_regenerate_identical(self):
        self.assertEqual(self.gen(), 0)
        first = self.snapshot()
        self.assertEqual(self.gen(), 0)
        self.assertEqual(self.snapshot(), first)
        for n in os.listdir(self.out):
            os.unlink(os.path.join(self.out, n))
        self.assertEqual(self.gen(), 0)
        self.assertEqual(self.snapshot(), first)

    def test_malformed_exit_2_tables_untouched(self):
        self.assertEqual(self.gen(), 0)
        before = self.snapshot()
        bad_cases = {
            "notjson.json": "{ not json",
            "nolist.json": json.dumps({"context": {}}),
            "noname.json": json.dumps({"context": {}, "benchmarks": [{"real_time": 1}]}),
            "badctx.json": json.dumps({"context": [], "benchmarks": []}),
        }
        for name, text in bad_cases.items():
            bad = os.path.join(self.tmp.name, name)
            with open(bad, "w") as f:
                f.write(text)
            p = subprocess.run([sys.executable, os.path.join(SCRIPTS, "tables.py"),
                                "--out", self.out, "--no-go-source", bad],
                               capture_output=True, text=True)
            self.assertEqual(p.returncode, 2, name)
            self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
            self.assertIn(name, p.stderr)
            self.assertEqual(self.snapshot(), before, name)

    def test_bad_time_or_counter_value_exit_2(self):
        """A time or counter that is not a non-negative finite number is a malformed file:
        one line naming file, row and key, exit 2, tables untouched (not `n/a: counter ...
        not in row`, and a negative value is never judged)."""
        self.assertEqual(self.gen(), 0)
        before = self.snapshot()
        cases = {
            "str": ("ns_per_spawn", "fast", "not a number"),
            "null": ("ns_per_spawn", None, "not a number"),
            "bool": ("ns_per_spawn", True, "not a number"),
            "neg": ("ns_per_spawn", -5, "negative"),
            "negtime": ("real_time", -5.0, "negative"),
            "strtime": ("cpu_time", "10", "not a number"),
            "nan": ("ns_per_spawn", float("nan"), "not finite"),
            "inf": ("real_time", float("inf"), "not finite"),
            "unit": ("time_unit", "fortnights", "time_unit"),
        }
        for case, (key, val, why) in cases.items():
            rows = gb_row("spawn/pthread", {"ns_per_spawn": 7000.0}, reps=3)
            rows[1][key] = val
            bad = write_json(self.tmp.name, f"bad_{case}.json", rows)
            p = subprocess.run([sys.executable, os.path.join(SCRIPTS, "tables.py"),
                                "--out", self.out, "--no-go-source", bad],
                               capture_output=True, text=True)
            self.assertEqual(p.returncode, 2, (case, p.stderr))
            lines = p.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, p.stderr)
            self.assertIn(bad, lines[0])
            self.assertIn("benchmarks[1]", lines[0])
            self.assertIn("spawn/pthread", lines[0])
            self.assertIn(key, lines[0])
            self.assertIn(why, lines[0])
            self.assertNotIn("not in row", lines[0])
            self.assertEqual(self.snapshot(), before, case)

    def test_nan_cv_aggregate_accepted(self):
        """Google Benchmark writes a cv of NaN for a counter whose mean is 0: not malformed."""
        rows = gb_row("spawn/pthread", {"ns_per_spawn": 7000.0, "migrations": 0.0}, reps=2)
        rows.append({"name": "spawn/pthread/real_time_cv", "run_name": "spawn/pthread/real_time",
                     "run_type": "aggregate", "aggregate_name": "cv", "aggregate_unit": "percentage",
                     "iterations": 2, "real_time": 0.01, "cpu_time": 0.01, "time_unit": "ns",
                     "ns_per_spawn": 0.0, "migrations": float("nan")})
        run = load_run(self.tmp.name, rows)
        self.assertEqual(run.series["spawn/pthread"].stat("ns_per_spawn").median, 7000.0)

    def test_error_names_path_as_given(self):
        missing = os.path.join(self.tmp.name, "deep", "er", "nonexist.json")
        p = subprocess.run([sys.executable, os.path.join(SCRIPTS, "tables.py"),
                            "--out", self.out, "--no-go-source", missing],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn(f"{missing}: cannot read", p.stderr)
        rel = os.path.relpath(missing)
        p = subprocess.run([sys.executable, os.path.join(SCRIPTS, "tables.py"),
                            "--out", self.out, "--no-go-source", rel],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn(f" {rel}: cannot read", p.stderr)

    def test_no_results_exit_1(self):
        p = subprocess.run([sys.executable, os.path.join(SCRIPTS, "tables.py"),
                            "--results", self.tmp.name, "--host", "nohost"],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no results JSON", p.stderr)

    def test_newest_run_and_sibling_go(self):
        host = os.path.join(self.tmp.name, "res", "h")
        os.makedirs(host)
        full = read(os.path.join(FIX, "full.json"))
        skips = read(os.path.join(FIX, "skips.json"))
        for name, text in (("20260101T000000Z-aaa.json", full),
                           ("20260102T000000Z-bbb.json", skips),
                           ("20260102T000000Z-bbb.go.json", read(
                               os.path.join(FIX, "full.go.json")))):
            with open(os.path.join(host, name), "w") as f:
                f.write(text)
        self.assertEqual(tables.main(["--results", os.path.join(self.tmp.name, "res"),
                                      "--host", "h", "--no-go-source"]), 0)
        t1 = read(os.path.join(self.tmp.name, "res", "T1.md"))
        self.assertIn("h/20260102T000000Z-bbb.json, h/20260102T000000Z-bbb.go.json", t1)
        self.assertIn("- Go (this host): go1.19.8 (GOMAXPROCS 2)", t1)

    def test_help(self):
        p = subprocess.run([sys.executable, os.path.join(SCRIPTS, "tables.py"), "--help"],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0)
        self.assertIn("--results", p.stdout)


if __name__ == "__main__":
    unittest.main()


class TestStatisticalVerdicts(unittest.TestCase):
    """The verdict engine on intervals and significance, on fixed samples."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.d = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def rows(self, name, counter, values):
        rows = gb_row(name, {counter: values[0]}, reps=len(values))
        for r, v in zip(rows, values):
            r[counter] = v
        return rows

    def ratio_claim(self, **test):
        return {"id": "X.r", "kind": "ratio", "check": [dict(
            {"label": "b / a", "metric": "ratio", "num": {"row": "b", "counter": "ns_per_op"},
             "den": {"row": "a", "counter": "ns_per_op"}}, **test)]}

    A = [100.0, 101.0, 99.0, 100.5, 99.5, 100.2, 99.8, 100.1, 100.3]

    def test_interval_straddling_the_band_is_inconclusive(self):
        b = [64.0, 87.0, 70.0, 66.0, 80.0, 68.0, 75.0, 65.0, 84.0]  # T3-like: 0.64-0.87
        run = load_run(self.d, self.rows("a", "ns_per_op", self.A)
                       + self.rows("b", "ns_per_op", b))
        r = evaluate(self.ratio_claim(test="below", threshold=0.685), run)
        self.assertTrue(r["verdict"].startswith("inconclusive: 95% CI of the ratio "),
                        r["verdict"])
        self.assertIn("straddles the band edge 0.685", r["verdict"])
        self.assertRegex(r["ratio"][0], r"^0\.\d+ \(CI 0\.6\d*-0\.8\d*, p 0\.000\d+, n=9\)")
        self.assertIn("n=9", r["measured"][0])

    def test_no_significant_difference_is_inconclusive_with_p(self):
        b = [99.6, 101.9, 98.4, 100.1, 102.4, 99.3, 100.6, 98.9, 101.2]
        run = load_run(self.d, self.rows("a", "ns_per_op", self.A)
                       + self.rows("b", "ns_per_op", b))
        r = evaluate(self.ratio_claim(test="between", lo=0.9, hi=0.995), run)
        self.assertRegex(r["verdict"], r"^inconclusive: no significant difference "
                                       r"\(Mann-Whitney p = 0\.[0-9]+, n = 9 and 9\)$")

    def test_clear_ratio_confirmed_and_refuted(self):
        b = [x * 0.5 for x in self.A]
        run = load_run(self.d, self.rows("a", "ns_per_op", self.A)
                       + self.rows("b", "ns_per_op", b))
        self.assertEqual(evaluate(self.ratio_claim(test="below", threshold=0.6), run)
                         ["verdict"], "confirmed")
        self.assertEqual(evaluate(self.ratio_claim(test="below", threshold=0.4), run)
                         ["verdict"], "refuted")
        # a tight interval at 1.0 refutes "twice as fast" although p is large
        run = load_run(self.d, self.rows("a", "ns_per_op", self.A)
                       + self.rows("b", "ns_per_op", list(self.A)), name="same.json")
        self.assertEqual(evaluate(self.ratio_claim(test="below", threshold=0.6), run)
                         ["verdict"], "refuted")

    def test_condition_not_realised(self):
        claim = dict(self.ratio_claim(test="below", threshold=0.6), realised=[
            {"label": "moves per s, b", "row": "b", "counter": "moves_per_s",
             "test": "between", "lo": 16, "hi": 24}])
        rows = self.rows("a", "ns_per_op", self.A) + self.rows("b", "ns_per_op",
                                                               [x * 0.5 for x in self.A])
        for r in rows:
            if r["name"].startswith("b/"):
                r["moves_per_s"] = 9.5
        r = evaluate(claim, load_run(self.d, rows))
        self.assertEqual(r["verdict"], "inconclusive: condition not realised "
                                       "(moves per s, b = 9.5 /s)")
        self.assertTrue(any(m.startswith("realised: moves per s, b = 9.5") and m.endswith("NO")
                            for m in r["measured"]), r["measured"])
        for r_ in rows:
            if r_["name"].startswith("b/"):
                r_["moves_per_s"] = 20.0
        r = evaluate(claim, load_run(self.d, rows, name="ok.json"))
        self.assertEqual(r["verdict"], "confirmed")
        self.assertTrue(any(m.endswith("yes") for m in r["measured"]), r["measured"])

    def test_slope_interval(self):
        claim = {"id": "T6.per", "kind": "slope", "unit": "pp", "check": [
            {"label": "slope ws:*", "metric": "slope", "row": "sweep/ws:l1/rate:*", "x": "rate",
             "counter": "miss_pct", "test": "equal", "value": 3.2, "tolerance": 0.1}]}
        tight = [[10, 10.2, 9.8, 10.1, 9.9], [26, 26.1, 25.9, 26.2, 25.8],
                 [74, 74.2, 73.8, 74.1, 73.9]]
        wide = [[10, 2, 18, 6, 14], [26, 10, 42, 18, 34], [74, 40, 108, 57, 91]]
        for data, want in ((tight, "confirmed"), (wide, "inconclusive: 95% CI of the slope")):
            rows = []
            for rate, v in zip((0, 5, 20), data):
                rows += self.rows(f"sweep/ws:l1/rate:{rate}", "miss_pct", v)
            r = evaluate(claim, load_run(self.d, rows, name=f"{len(want)}.json"))
            self.assertTrue(r["verdict"].startswith(want), r["verdict"])
            self.assertIn("(3 points, n=5 each, CI ", r["measured"][0])

    def test_cannot_fail_and_design(self):
        run = load_run(self.d, self.rows("a", "ns_per_op", self.A))
        chk = [{"row": "a", "counter": "ns_per_op", "test": "above", "threshold": 0}]
        r = evaluate({"id": "X", "kind": "above", "check": chk,
                      "cannot_fail": "a time is never negative"}, run)
        self.assertEqual(r["verdict"], "inconclusive: test cannot fail (a time is never "
                                       "negative)")
        r = evaluate({"id": "X", "kind": "above", "check": chk, "design": True}, run)
        self.assertEqual(r["verdict"], "not a measurement")

    def test_value_interval(self):
        run = load_run(self.d, self.rows("a", "ns_per_op", self.A))
        chk = lambda t: {"id": "X", "kind": "below", "check": [dict(
            {"row": "a", "counter": "ns_per_op"}, **t)]}
        self.assertEqual(evaluate(chk({"test": "below", "threshold": 200}), run)["verdict"],
                         "confirmed")
        v = evaluate(chk({"test": "below", "threshold": 100.1}), run)["verdict"]
        self.assertTrue(v.startswith("inconclusive: 95% CI of the value 99"), v)
        self.assertIn("straddles the band edge 100 ns", v)
        r = evaluate(chk({"test": "below", "threshold": 50}), run)
        self.assertEqual(r["verdict"], "refuted")
        self.assertRegex(r["measured"][0], r"100 ns \[99 ns-101 ns\], n=9, CI 9\d.* ns-100 ns")

    def test_index_counts_every_verdict_word(self):
        with tempfile.TemporaryDirectory() as out:
            self.assertEqual(tables.main(["--out", out, os.path.join(FIX, "full.json")]), 0)
            idx = read(os.path.join(out, "index.md"))
        self.assertIn("| Table | Claims | confirmed | refuted | inconclusive | n/a | "
                      "not a measurement |", idx)
        self.assertRegex(idx, r"\n\| all \| \| \d+ \| \d+ \| \d+ \| \d+ \| \d+ \|")

    def test_empty_results_file_exit_2_one_line(self):
        p = os.path.join(self.d, "empty.json")
        open(p, "w").close()
        r = subprocess.run([sys.executable, os.path.join(SCRIPTS, "tables.py"), "--out",
                            os.path.join(self.d, "out"), p], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertTrue(lines[0].startswith("tables.py: ") and "empty file" in lines[0], lines)


class TestPureFunctionOfResults(unittest.TestCase):
    """The committed tables are what the committed results render to on a machine with no
    Go (PATH and GOROOT pointing nowhere) and whatever host name: byte for byte."""

    def test_committed_tables_render_identically_without_go(self):
        results = os.path.join(ROOT, "results")
        newest = tables.newest_run(results)
        if newest is None:
            self.skipTest("no committed results")
        env = dict(os.environ, PATH="/nonexistent", GOROOT="/nonexistent", GOPATH="/nonexistent")
        with tempfile.TemporaryDirectory() as out:
            r = subprocess.run([sys.executable, os.path.join(SCRIPTS, "tables.py"), "--out",
                                out, "--results", results], capture_output=True, text=True,
                               env=env, cwd=ROOT)
            self.assertEqual(r.returncode, 0, r.stderr)
            made = sorted(n for n in os.listdir(out))
            self.assertTrue(made)
            for n in made:
                self.assertEqual(read(os.path.join(out, n), "rb"),
                                 read(os.path.join(results, n), "rb"),
                                 f"results/{n} is not what {newest} renders to")

    def test_no_go_no_hostname_calls(self):
        src = read(os.path.join(SCRIPTS, "tables.py"))
        for bad in ("gethostname", "subprocess", "shutil.which", "os.environ", "getenv"):
            self.assertNotIn(bad, src, f"tables.py must not use {bad}")
