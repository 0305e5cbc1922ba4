"""Tests for scripts/goparse.py and scripts/run-go-bench.

Run: /usr/bin/python3 -m unittest discover -s scripts/tests -p 'test_goparse.py'
(make test-go).  The converter is tested on captured benches/go output in fixtures_go/;
the runtime2.go parser on the installed Go's source and the end-to-end run on the installed
Go, both skipped with a printed reason when go is absent.  No timing is asserted.
"""

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.dirname(HERE)
ROOT = os.path.dirname(SCRIPTS)
FIX = os.path.join(HERE, "fixtures_go")
sys.path.insert(0, SCRIPTS)

import goparse  # noqa: E402

GO = shutil.which("go")
NO_GO = "go not installed: installed-source and end-to-end Go checks skipped"

# The counter each row family must carry (benches/FORMAT.md).
EXPECTED = {
    "go/spawn/": ["ns_per_spawn"],
    "go/switch/gosched": ["ns_per_switch"],
    "go/chan/procs:": ["ns_per_roundtrip", "ns_per_switch"],
    "go/stack/parked/": ["bytes_per_g", "stack_bytes"],
    "go/chan/throughput/": ["ns_per_msg", "msgs_per_s"],
    "go/chan/latency/": ["lat_mean_ns", "lat_p50_ns", "lat_p99_ns"],
    "go/procs/sweep/": ["ops_per_s", "idle_share", "globrunq_mean", "globrunq_max"],
    "go/mutex/contend/": ["ns_per_op", "contentions", "wait_ns_mean"],
    "go/runq/layout": ["off_runqhead", "off_runqtail", "headtail_same_line"],
}


def read(name):
    with open(os.path.join(FIX, name)) as f:
        return f.read()


def expected_counters(name):
    for prefix, keys in EXPECTED.items():
        if name.startswith(prefix):
            return keys
    raise AssertionError(f"no expectation for row {name}")


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600, **kw)


class TestParseOutput(unittest.TestCase):
    def setUp(self):
        self.p = goparse.parse_output(read("quick_subset.jsonl"))

    def test_context_and_runs(self):
        self.assertRegex(self.p["context"]["go_version"], r"^go\d+\.\d+")
        self.assertEqual(self.p["context"]["reps"], 3)
        self.assertEqual(len(self.p["runs"]), 45)
        self.assertEqual(self.p["skips"], [])
        names = {r["name"] for r in self.p["runs"]}
        self.assertEqual(len(names), 15)
        for r in self.p["runs"]:
            self.assertGreater(r["iterations"], 0)

    def test_every_row_has_its_counters(self):
        for r in self.p["runs"]:
            for k in expected_counters(r["name"]):
                self.assertIn(k, r["counters"], r["name"])

    def test_values_are_consistent(self):
        for r in self.p["runs"]:
            c, n = r["counters"], r["name"]
            if n.startswith("go/chan/procs:"):
                self.assertAlmostEqual(c["ns_per_switch"] * 2, c["ns_per_roundtrip"], places=6)
            if n.startswith("go/spawn/"):
                self.assertAlmostEqual(c["ns_per_spawn"], r["real_ns"] / r["iterations"], places=6)
            if n.startswith("go/chan/latency/"):
                self.assertLessEqual(c["lat_p50_ns"], c["lat_p99_ns"])
            if n.startswith("go/stack/parked/"):
                self.assertGreaterEqual(c["stack_bytes"], 2048)  # Go's minimum stack
                self.assertEqual(c["n"], r["iterations"])
            if n.startswith("go/procs/sweep/"):
                self.assertTrue(0 <= c.get("idle_share", 0) <= 1)
            if n == "go/procs/sweep/resize":
                self.assertEqual(c["lost"], 0)
            if n == "go/runq/layout":
                self.assertEqual(c["runq_entries"], 256)
                self.assertEqual(c["runq_bytes"], 2048)

    def test_skip_line(self):
        p = goparse.parse_output(read("skip_stack.jsonl"))
        self.assertEqual(p["runs"], [])
        self.assertEqual(len(p["skips"]), 1)
        self.assertTrue(p["skips"][0]["reason"].startswith("n/a: MemAvailable"))

    def test_bad_inputs_name_the_line(self):
        cases = {
            "bad_run_before_context.jsonl": "line 1: 'run' line before the context line",
            "bad_zero_iterations.jsonl": "line 2: go/spawn/procs:1: iterations must be > 0",
            "bad_name_not_go.jsonl": "line 2: row name 'spawn/g/procs:1' is not go/",
            "bad_counter_not_number.jsonl": "counter 'ns_per_spawn' is not a finite number",
            "bad_truncated.jsonl": "line 2: not JSON",
        }
        for name, msg in cases.items():
            with self.subTest(name=name):
                with self.assertRaises(goparse.GoParseError) as cm:
                    goparse.parse_output(read(name))
                self.assertIn(msg, str(cm.exception))
        with self.assertRaisesRegex(goparse.GoParseError, "no context line"):
            goparse.parse_output("")


class TestToGbench(unittest.TestCase):
    def setUp(self):
        self.p = goparse.parse_output(read("quick_subset.jsonl"))
        self.doc = goparse.to_gbench(self.p, {"git_sha": "abc1234"})
        self.rows = self.doc["benchmarks"]

    def test_context(self):
        ctx = self.doc["context"]
        self.assertEqual(ctx["go_status"], "ok")
        self.assertEqual(ctx["go_version"], self.p["context"]["go_version"])
        self.assertEqual(ctx["gomaxprocs"], str(self.p["context"]["gomaxprocs"]))
        self.assertEqual(ctx["git_sha"], "abc1234")
        self.assertIn("host", ctx)
        for k in ("go_version", "gomaxprocs", "preset", "go_status", "host"):
            self.assertIsInstance(ctx[k], str, k)

    def test_iteration_rows_mirror_the_runs(self):
        it = [r for r in self.rows if r["run_type"] == "iteration"]
        self.assertEqual(len(it), len(self.p["runs"]))
        for row, src in zip(it, self.p["runs"]):
            self.assertEqual(row["name"], src["name"])
            self.assertEqual(row["run_name"], src["name"])
            self.assertEqual(row["repetition_index"], src["rep"])
            self.assertEqual(row["repetitions"], 3)
            self.assertEqual(row["time_unit"], "ns")
            self.assertEqual(row["label"], src["label"])
            self.assertAlmostEqual(row["real_time"], src["real_ns"] / src["iterations"])
            for k, v in src["counters"].items():
                self.assertEqual(row[k], v)

    def test_aggregates_as_libbenchmark_171(self):
        by = {}
        for r in self.rows:
            by.setdefault(r["run_name"], []).append(r)
        for name, rows in by.items():
            it = [r for r in rows if r["run_type"] == "iteration"]
            agg = {r["aggregate_name"]: r for r in rows if r["run_type"] == "aggregate"}
            self.assertEqual(sorted(agg), ["cv", "mean", "median", "stddev"], name)
            times = sorted(r["real_time"] for r in it)
            mean = sum(times) / 3
            sd = math.sqrt(sum((t - mean) ** 2 for t in times) / 2)
            self.assertAlmostEqual(agg["median"]["real_time"], times[1])
            self.assertAlmostEqual(agg["mean"]["real_time"], mean)
            self.assertAlmostEqual(agg["stddev"]["real_time"], sd)
            self.assertAlmostEqual(agg["cv"]["real_time"], sd / mean if mean else 0.0)
            for a, r in agg.items():
                self.assertEqual(r["name"], f"{name}_{a}")
                self.assertEqual(r["iterations"], 3)
                self.assertNotIn("repetition_index", r)
                self.assertEqual(r["aggregate_unit"], "percentage" if a == "cv" else "time")
                self.assertEqual(r["label"], it[0]["label"])
            key = expected_counters(name)[0]
            vals = sorted(r[key] for r in it)
            self.assertAlmostEqual(agg["median"][key], vals[1])

    def test_family_indices(self):
        fams = {}
        for r in self.rows:
            fams.setdefault(r["family_index"], set()).add(goparse._family(r["run_name"]))
        for idx, names in fams.items():
            self.assertEqual(len(names), 1, names)
        self.assertEqual(goparse._family("go/chan/throughput/cap:1/procs:2"), "go/chan/throughput")

    def test_skip_becomes_error_row(self):
        doc = goparse.to_gbench(goparse.parse_output(read("skip_stack.jsonl")))
        (row,) = doc["benchmarks"]
        self.assertTrue(row["error_occurred"])
        self.assertTrue(row["error_message"].startswith("n/a: MemAvailable"))
        self.assertEqual(row["label"], "T1.stack.g")

    def test_sampled_counter_missing_in_one_repetition(self):
        ctx = '{"type":"context","go_version":"go1.19.8","reps":2}'
        run = ('{"type":"run","name":"go/procs/sweep/procs:1","label":"T5.idle","rep":%d,'
               '"reps":2,"iterations":10,"real_ns":100,"cpu_ns":100,"counters":%s}')
        text = "\n".join([ctx, run % (0, '{"ops_per_s":1,"idle_share":0.5}'),
                          run % (1, '{"ops_per_s":3}')])
        rows = goparse.to_gbench(goparse.parse_output(text))["benchmarks"]
        mean = next(r for r in rows if r.get("aggregate_name") == "mean")
        self.assertEqual(mean["ops_per_s"], 2)
        self.assertEqual(mean["idle_share"], 0.5)  # not averaged with a made-up 0

    def test_single_repetition_has_no_aggregates(self):
        lines = read("quick_subset.jsonl").splitlines()
        one = [lines[0]] + [l for l in lines[1:] if '"rep":0' in l]
        one = [l.replace('"reps":3', '"reps":1') for l in one]
        doc = goparse.to_gbench(goparse.parse_output("\n".join(one)))
        self.assertTrue(doc["benchmarks"])
        self.assertFalse([r for r in doc["benchmarks"] if r["run_type"] == "aggregate"])


class TestCli(unittest.TestCase):
    def setUp(self):
        self.d = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.d)

    def cli(self, *args):
        return run([sys.executable, os.path.join(SCRIPTS, "goparse.py"), *args])

    def test_help(self):
        r = self.cli("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("convert", r.stdout)

    def test_convert_writes_and_bad_input_keeps_old_file(self):
        out = os.path.join(self.d, "r.go.json")
        r = self.cli("convert", os.path.join(FIX, "quick_subset.jsonl"), out, "--context", "k=v")
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out) as f:
            first = f.read()
        self.assertEqual(json.loads(first)["context"]["k"], "v")
        r = self.cli("convert", os.path.join(FIX, "bad_truncated.jsonl"), out)
        self.assertEqual(r.returncode, 2)
        self.assertIn("line 2: not JSON", r.stderr)
        with open(out) as f:
            self.assertEqual(f.read(), first)
        self.assertEqual([n for n in os.listdir(self.d) if n.endswith(".tmp")], [])

    def test_errors(self):
        out = os.path.join(self.d, "x.go.json")
        r = self.cli("convert", os.path.join(self.d, "missing.jsonl"), out)
        self.assertEqual(r.returncode, 2)
        self.assertIn("cannot read", r.stderr)
        r = self.cli("na", out, "--reason", "go missing")
        self.assertEqual(r.returncode, 2)
        self.assertIn("must start with 'n/a'", r.stderr)
        r = self.cli("convert", os.path.join(FIX, "quick_subset.jsonl"), out, "--context", "novalue")
        self.assertEqual(r.returncode, 2)
        self.assertFalse(os.path.exists(out))

    def test_output_mode_follows_umask(self):
        """The .go.json is created like open() would create it (0666 & ~umask), not with
        mkstemp's 0600, so other users and the web server can read results."""
        src = os.path.join(FIX, "quick_subset.jsonl")
        for mask, want in ((0o022, 0o644), (0o027, 0o640), (0o002, 0o664)):
            out = os.path.join(self.d, f"m{mask:o}.go.json")
            r = run(["/bin/sh", "-c", f'umask {mask:03o} && exec "$@"', "sh", sys.executable,
                     os.path.join(SCRIPTS, "goparse.py"), "convert", src, out])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(os.stat(out).st_mode & 0o777, want, f"umask {mask:03o}")
        out = os.path.join(self.d, "sub", "na.go.json")
        r = run(["/bin/sh", "-c", 'umask 022 && exec "$@"', "sh",
                 os.path.join(SCRIPTS, "run-go-bench"), out],
                env=dict(os.environ, GO="/nonexistent/go"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(os.stat(out).st_mode & 0o777, 0o644)

    def test_scripts_with_shebang_are_executable(self):
        for d in (SCRIPTS, HERE):
            for n in sorted(os.listdir(d)):
                p = os.path.join(d, n)
                if os.path.isfile(p):
                    with open(p, "rb") as f:
                        if f.read(2) == b"#!":
                            self.assertTrue(os.access(p, os.X_OK), f"{p} has a shebang, mode "
                                            f"{os.stat(p).st_mode & 0o777:o}")

    def test_ensure_deps_options(self):
        """--help/-h print usage, exit 0; another '-' argument is a usage error (exit 2);
        neither looks a package up nor installs one (stub dpkg-query/apt-get log calls)."""
        stubs = os.path.join(self.d, "bin")
        os.makedirs(stubs)
        log = os.path.join(self.d, "calls.log")
        for tool in ("dpkg-query", "apt-get"):
            with open(os.path.join(stubs, tool), "w") as f:
                f.write(f'#!/bin/sh\necho "{tool} $*" >> {log}\nexit 1\n')
            os.chmod(os.path.join(stubs, tool), 0o755)
        env = dict(os.environ, PATH=stubs + os.pathsep + os.environ.get("PATH", ""))
        ed = os.path.join(SCRIPTS, "ensure-deps")
        for flag in ("--help", "-h"):
            r = run([ed, flag, "python3"], env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("ensure-deps PKG...", r.stdout)
        for bad in (["-y"], ["python3", "--no-such"]):
            r = run([ed, *bad], env=env)
            self.assertEqual(r.returncode, 2, bad)
            self.assertIn("unknown option", r.stderr)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertFalse(os.path.exists(log), "ensure-deps looked up or installed a package")

    def test_na_document(self):
        doc = goparse.na_document("n/a: go not installed", {"preset": "quick"})
        self.assertEqual(doc["benchmarks"], [])
        self.assertEqual(doc["context"]["go_status"], "n/a: go not installed")
        self.assertEqual(doc["context"]["go_na"], "n/a: go not installed")
        self.assertEqual(doc["context"]["preset"], "quick")

    def test_run_go_bench_without_go(self):
        out = os.path.join(self.d, "sub", "r.go.json")
        env = dict(os.environ, GO="/nonexistent/go")
        r = run([os.path.join(SCRIPTS, "run-go-bench"), out, "--preset", "quick"], env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out) as f:
            doc = json.load(f)
        self.assertEqual(doc["context"]["go_status"], "n/a: go not installed")
        self.assertEqual(doc["benchmarks"], [])

    def test_run_go_bench_bad_arguments(self):
        rgb = os.path.join(SCRIPTS, "run-go-bench")
        for args, msg in (([], "no output file"), (["x.json"], "must end in .go.json"),
                          (["x.go.json", "--preset", "huge"], "unknown preset"),
                          (["x.go.json", "--bogus"], "unknown option")):
            r = run([rgb, *args])
            self.assertEqual(r.returncode, 2, args)
            self.assertIn(msg, r.stderr)
        r = run([rgb, "--help"])
        self.assertEqual(r.returncode, 0)
        self.assertIn("usage: scripts/run-go-bench", r.stdout)


class TestRuntime2Parser(unittest.TestCase):
    def test_synthetic_padded_layout(self):
        f = goparse.parse_runtime2(os.path.join(FIX, "synthetic_runtime2_padded.go.txt"))
        self.assertEqual(f["p_fields"], ["id", "status", "gFree", "a", "b", "numaNode",
                                         "runqhead", "_", "runqtail", "runq", "runnext",
                                         "embedded"])
        self.assertFalse(f["headtail_adjacent"])
        self.assertEqual(f["between_headtail"], ["_"])
        self.assertEqual(f["numa_fields"], ["numaNode"])
        self.assertTrue(f["p_has_numa_field"])
        self.assertEqual(f["runq_entries"], 256)

    def test_missing_struct_and_file(self):
        with self.assertRaisesRegex(goparse.GoParseError, "no `type p struct"):
            goparse.p_struct_fields("package x\ntype q struct {\n}\n")
        with self.assertRaisesRegex(goparse.GoParseError, "cannot read"):
            goparse.parse_runtime2(os.path.join(FIX, "nonexistent.go"))

    def test_version_at_least(self):
        self.assertFalse(goparse.version_at_least("go1.19.8", "1.21"))
        self.assertTrue(goparse.version_at_least("go1.21.0", "1.21"))
        self.assertTrue(goparse.version_at_least("go1.22", "1.19"))
        self.assertFalse(goparse.version_at_least("devel +abc", "1.19"))


@unittest.skipIf(GO is None, NO_GO)
class TestInstalledGo(unittest.TestCase):
    """On the installed Go: its runtime2.go, its NUMA scan, and one short end-to-end run."""

    @classmethod
    def setUpClass(cls):
        cls.goroot = goparse.goroot_of()
        cls.version = goparse.go_version(cls.goroot)
        print(f"\n[test_goparse] installed Go: {cls.version} at {cls.goroot}", file=sys.stderr)

    def test_runtime2_p_struct(self):
        f = goparse.parse_runtime2(os.path.join(self.goroot, "src", "runtime", "runtime2.go"))
        for k in ("runqhead", "runqtail", "runq", "runnext"):
            self.assertIn(k, f["p_fields"])
        self.assertEqual(f["runq_entries"], 256)
        self.assertEqual(f["runqhead_type"], "uint32")
        if self.version.startswith("go1.19"):  # the source this suite was written against
            self.assertTrue(f["headtail_adjacent"])
            self.assertFalse(f["p_has_numa_field"])

    def test_numa_scan(self):
        s = goparse.numa_scan(self.goroot)
        self.assertGreater(s["files_scanned"], 100)
        self.assertEqual(s["detects_numa"], bool(s["numa_hits"]))
        if self.version.startswith("go1.19"):
            self.assertFalse(s["detects_numa"])
            self.assertIn("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size",
                          s["sys_paths_read"])

    def test_version_matches_go_env(self):
        r = subprocess.run([GO, "env", "GOVERSION"], capture_output=True, text=True)
        self.assertEqual(self.version, r.stdout.strip())

    def test_end_to_end_source_agrees_with_dwarf(self):
        d = tempfile.mkdtemp()
        try:
            out = os.path.join(d, "r.go.json")
            r = run([os.path.join(SCRIPTS, "run-go-bench"), out, "--reps", "2",
                     "--benchtime", "2ms", "--filter", r"spawn/procs:1$|chan/procs:1$|layout"])
            self.assertEqual(r.returncode, 0, r.stderr[-2000:])
            with open(out) as f:
                doc = json.load(f)
        finally:
            shutil.rmtree(d)
        ctx = doc["context"]
        self.assertEqual(ctx["go_status"], "ok")
        self.assertEqual(ctx["go_version"], self.version)
        names = {r["run_name"] for r in doc["benchmarks"]}
        self.assertEqual(names, {"go/spawn/procs:1", "go/chan/procs:1", "go/runq/layout"})
        for row in doc["benchmarks"]:
            self.assertFalse(row.get("error_occurred"), row.get("error_message"))
            if row["run_name"] != "go/runq/layout":
                self.assertGreater(row["real_time"], 0)
        med = {r["run_name"]: r for r in doc["benchmarks"] if r.get("aggregate_name") == "median"}
        self.assertGreater(med["go/spawn/procs:1"]["ns_per_spawn"], 0)
        lay = med["go/runq/layout"]
        src = json.loads(ctx["go_runtime2"])
        # Source and compiled layout agree: adjacent uint32 fields are 4 bytes apart.
        self.assertEqual(src["headtail_adjacent"],
                         lay["off_runqtail"] - lay["off_runqhead"] == 4)
        self.assertEqual(lay["runq_entries"], src["runq_entries"])
        numa = json.loads(ctx["go_numa_detect"])
        self.assertIn("detects_numa", numa)


if __name__ == "__main__":
    unittest.main()
