#!/usr/bin/python3
"""Tests of scripts/run-bench with stand-ins for the bench binary and run-go-bench (no real
benches run; about 10 s): ours and Go's processes alternate per group and merge into one
file each; a partial run goes to results/<host>/partial/; killing run-bench (TERM, KILL)
leaves no bench running and no temporary file (the next run removes what KILL left); the
smoke preset is accepted; bad usage is one line and exit 2; --version."""
import glob
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import hoststate  # noqa: E402  (results/<host-id>/)
RUN_BENCH = os.path.join(ROOT, "scripts", "run-bench")

FAKE_BENCH = textwrap.dedent(r'''
    #!/usr/bin/python3
    # Stand-in for build/benches/bench: --list and runs honour --benchmark_filter (a leading
    # '-' negates); a run logs "c FILTER" to $FAKE_LOG, its pid to $FAKE_PIDS, sleeps
    # $FAKE_SLEEP seconds, then writes Google Benchmark JSON to --benchmark_out.
    import json, os, re, sys, time
    NAMES = ["spawn/g/procs:1", "switch/g_yield/procs:1", "stack/g_parked/n:100000/small:0",
             "chan/throughput/cap:0/procs:1", "procs/sweep/procs:1", "mutex/contend/gs:4/shards:1",
             "runq/layout/pad:0", "harness/empty", "numa/chase/cpu:0/mem:0/thp:0"]
    flt, out, lst = "", None, False
    for a in sys.argv[1:]:
        if a.startswith("--benchmark_filter="): flt = a.split("=", 1)[1]
        elif a.startswith("--benchmark_out="): out = a.split("=", 1)[1]
        elif a == "--list": lst = True
    neg = flt.startswith("-")
    rx = re.compile(flt[1:] if neg else (flt or "."))
    sel = [n for n in NAMES if bool(rx.search(n)) != neg]
    if not sel:
        print("bench: no match", file=sys.stderr); sys.exit(2)
    if lst:
        print("\n".join(sel)); sys.exit(0)
    with open(os.environ["FAKE_LOG"], "a") as f: f.write("c " + flt + "\n")
    with open(os.environ["FAKE_PIDS"], "a") as f: f.write(f"{os.getpid()}\n")
    time.sleep(float(os.environ.get("FAKE_SLEEP", "0")))
    rows = [{"name": n, "run_name": n, "run_type": "iteration", "repetitions": 1,
             "repetition_index": 0, "iterations": 1, "real_time": 1.0, "cpu_time": 1.0,
             "time_unit": "ns"} for n in sel]
    with open(out, "w") as f:
        json.dump({"context": {"date": "x", "host": "fake", "filter": flt}, "benchmarks": rows}, f)
''').lstrip()

FAKE_GO = textwrap.dedent(r'''
    #!/usr/bin/python3
    # Stand-in for scripts/run-go-bench OUT --preset P --filter RE: logs "go RE";
    # --list: two rows a group names and one no group names.  Prints gobench's progress
    # line; the first Go step then sleeps $FAKE_GO_SLEEP seconds.
    import json, os, sys, time
    if "--list" in sys.argv:
        print("go/spawn/procs:1\ngo/switch/gosched\ngo/new/thing"); sys.exit(0)
    out, flt = sys.argv[1], sys.argv[sys.argv.index("--filter") + 1]
    with open(os.environ["FAKE_LOG"], "a+") as f:
        f.seek(0); first = "\ngo " not in "\n" + f.read(); f.write("go " + flt + "\n")
    print(f"gobench: (1/1) go/{flt}  [0.0s]", flush=True)
    if first: time.sleep(float(os.environ.get("FAKE_GO_SLEEP", "0")))
    row = {"name": "go/" + flt, "run_name": "go/" + flt, "run_type": "iteration",
           "iterations": 1, "real_time": 1.0, "cpu_time": 1.0, "time_unit": "ns"}
    with open(out, "w") as f:
        json.dump({"context": {"go_status": "ok", "go_version": "go1.19"}, "benchmarks": [row]}, f)
''').lstrip()


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped) counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1].split()[0] != "Z"
    except OSError:
        return False


class RunBenchTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="test-run-bench-")
        d = self.tmp.name
        self.bench = os.path.join(d, "bench")
        self.go = os.path.join(d, "run-go-bench")
        for path, text in ((self.bench, FAKE_BENCH), (self.go, FAKE_GO)):
            with open(path, "w") as f:
                f.write(text)
            os.chmod(path, 0o755)
        self.results = os.path.join(d, "results")
        self.build = os.path.join(d, "build")
        self.log = os.path.join(d, "calls.log")
        self.pids = os.path.join(d, "pids")
        self.env = dict(os.environ, FAKE_LOG=self.log, FAKE_PIDS=self.pids, BUILD=self.build,
                        RUN_GO_BENCH=self.go, GO="/bin/true", WITH_GO="1")
        self.hostdir = os.path.join(self.results, hoststate.host_id())  # results/<host-id>/

    def tearDown(self):
        self.tmp.cleanup()

    def cmd(self, *extra, preset="quick"):
        return [RUN_BENCH, "--bin", self.bench, "--results", self.results, "--preset", preset,
                "--no-tables"] + list(extra)

    def run_bench(self, *extra, env=None, **kw):
        return subprocess.run(self.cmd(*extra, **kw), capture_output=True, text=True,
                              env=env or self.env, timeout=60)

    def calls(self):
        with open(self.log) as f:
            return [line.split(" ", 1) for line in f.read().splitlines()]

    def test_ours_and_go_alternate_per_group_and_merge(self):
        r = self.run_bench()
        self.assertEqual(r.returncode, 0, r.stderr)
        kinds = [k for k, _ in self.calls()]
        # 7 groups, each ours then Go, then the rows without a Go peer, then the Go rows
        # no group names.
        self.assertEqual(kinds, ["c", "go"] * 7 + ["go", "c", "go"])  # no skynet row of ours
        calls = self.calls()
        self.assertEqual(calls[0][1], "^spawn/")
        self.assertEqual(calls[1][1], "^go/(spawn|pool)/")
        self.assertTrue(calls[-2][1].startswith("-("))
        self.assertEqual(calls[-1][1], "^(go/new/thing)$")
        runs = [p for p in glob.glob(os.path.join(self.hostdir, "*.json"))
                if not p.endswith(".go.json")]
        self.assertEqual(len(runs), 1, os.listdir(self.hostdir))
        with open(runs[0]) as f:
            doc = json.load(f)
        names = [b["name"] for b in doc["benchmarks"]]
        self.assertEqual(sorted(names), sorted([
            "spawn/g/procs:1", "switch/g_yield/procs:1", "stack/g_parked/n:100000/small:0",
            "chan/throughput/cap:0/procs:1", "procs/sweep/procs:1",
            "mutex/contend/gs:4/shards:1", "runq/layout/pad:0", "harness/empty",
            "numa/chase/cpu:0/mem:0/thp:0"]))
        self.assertEqual(doc["context"]["filter"], "^spawn/")  # the first part's context
        self.assertIn("interleaved with Go", doc["context"]["run_parts"])
        with open(runs[0][:-5] + ".go.json") as f:
            go = json.load(f)
        self.assertEqual(len(go["benchmarks"]), 9)
        self.assertEqual(go["context"]["go_status"], "ok")
        self.assertFalse([n for n in os.listdir(self.hostdir) if n.endswith(".tmp")])
        self.assertEqual(os.listdir(os.path.join(self.build, "run-bench")), [])

    def test_no_go(self):
        env = dict(self.env, WITH_GO="0")
        r = self.run_bench(env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([k for k, _ in self.calls()], ["c"] * 8)  # 7 groups with rows + rest
        go = glob.glob(os.path.join(self.hostdir, "*.go.json"))
        with open(go[0]) as f:
            self.assertEqual(json.load(f)["context"]["go_status"],
                             "n/a: Go peers turned off (WITH_GO=0)")

    def test_partial_run_goes_aside(self):
        r = self.run_bench("--", "--benchmark_filter=^spawn/")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.calls(), [["c", "^spawn/"]])
        self.assertEqual(sorted(os.listdir(self.hostdir)), ["partial"])
        part = glob.glob(os.path.join(self.hostdir, "partial", "*.json"))
        self.assertEqual(len(part), 1)
        time.sleep(1.1)  # run stems are per second: never the same file twice
        r = self.run_bench(preset="smoke")  # the bench's smoke preset: accepted, partial
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(os.listdir(self.hostdir)), ["partial"])

    def _start_and_kill(self, sig, preset="quick"):
        env = dict(self.env, FAKE_SLEEP="60")
        p = subprocess.Popen(self.cmd(preset=preset), env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 20
        while not os.path.exists(self.pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertTrue(os.path.exists(self.pids), "the bench never started")
        time.sleep(0.2)
        with open(self.pids) as f:
            bench_pid = int(f.read().split()[0])
        os.kill(p.pid, sig)
        _, err = p.communicate(timeout=20)
        deadline = time.monotonic() + 5
        while alive(bench_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertFalse(alive(bench_pid), f"bench {bench_pid} still runs after {sig!r}")
        return p.returncode, err

    def test_sigterm_stops_the_bench_and_removes_temporaries(self):
        rc, err = self._start_and_kill(signal.SIGTERM)
        self.assertEqual(rc, 128 + signal.SIGTERM, err)
        self.assertIn("run-bench: killed by signal 15", err)
        # A fresh results/ tree: the killed run leaves not even an empty results/<host>/.
        self.assertEqual(os.listdir(self.results), [])
        self.assertEqual(os.listdir(os.path.join(self.build, "run-bench")), [])

    def test_a_long_go_step_says_it_still_runs(self):
        env = dict(self.env, FAKE_GO_SLEEP="2.5", RUN_BENCH_QUIET_S="1")
        r = self.run_bench(env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stderr, r"run-bench:   still running, \ds elapsed; now "
                         r"gobench: \(1/1\) go/\S+  \[0.0s\]\n")

    def test_bench_flag_before_the_separator_says_where_it_goes(self):
        r = self.run_bench("--claims=T1.*")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr, "run-bench: --claims=T1.* is a flag of the bench binary: "
                         "give it after -- (scripts/run-bench -- --claims=T1.*)\n")

    def test_failed_run_leaves_no_empty_folder(self):
        r = self.run_bench("--", "--benchmark_filter=^no-such-row$")
        self.assertNotEqual(r.returncode, 0, r.stderr)
        self.assertEqual(os.listdir(self.results), [], r.stderr)

    def test_killed_partial_run_leaves_no_empty_folder_and_keeps_earlier_runs(self):
        r = self.run_bench()
        self.assertEqual(r.returncode, 0, r.stderr)
        before = sorted(os.listdir(self.hostdir))
        os.unlink(self.pids)
        rc, err = self._start_and_kill(signal.SIGINT, preset="smoke")
        self.assertEqual(rc, 128 + signal.SIGINT, err)
        self.assertEqual(sorted(os.listdir(self.hostdir)), before)  # no empty partial/

    def test_sigkill_bench_dies_next_run_cleans_up(self):
        rc, _ = self._start_and_kill(signal.SIGKILL)
        self.assertEqual(rc, -signal.SIGKILL)
        work = os.path.join(self.build, "run-bench")
        self.assertEqual(len(os.listdir(work)), 1)  # what KILL left behind
        stale = os.path.join(self.hostdir, ".x.json.999999999.tmp")  # a dead pid's temp file
        open(stale, "w").close()
        os.unlink(self.pids)
        r = self.run_bench()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("run-bench: removed 2 temporary file(s) left by a killed run", r.stderr)
        self.assertEqual(os.listdir(work), [])
        self.assertFalse(os.path.exists(stale))

    def test_bad_usage_is_one_line(self):
        for args in (["--preset", "bogus"], ["--bin", "/nonexistent"],
                     ["--", "--benchmark_out=x.json"]):
            r = subprocess.run([RUN_BENCH, "--results", self.results] + args,
                               capture_output=True, text=True, env=self.env, timeout=30)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            lines = r.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, (args, lines))
            self.assertTrue(lines[0].startswith("run-bench: "), lines)

    def test_every_tool_has_version(self):
        """Every executable in scripts/ prints '<its name> <version>' and exits 0."""
        tools = [os.path.join(ROOT, "scripts", n) for n in sorted(os.listdir(
            os.path.join(ROOT, "scripts")))]
        tools = [t for t in tools if os.path.isfile(t) and os.access(t, os.X_OK)]
        self.assertIn(RUN_BENCH, tools)
        for t in tools:
            r = subprocess.run([t, "--version"], capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, (t, r.stderr))
            self.assertRegex(r.stdout, rf"^{os.path.basename(t)} \S+\n$", t)


class ConsoleSummaryTest(unittest.TestCase):
    """scripts/console.py: verdict counts from the index, T1 lines, ours/Go headline, paths."""

    def tmp_keep(self):
        d = tempfile.TemporaryDirectory()
        self.addCleanup(d.cleanup)
        return d.name

    def test_summary(self):
        sys.path.insert(0, os.path.join(ROOT, "scripts"))
        import console
        import io
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "index.md"), "w") as f:
                f.write("# x\n\n- source: h/r.json, h/r.go.json\n\n| Table | Claims | confirmed | refuted | inconclusive | n/a |"
                        " not a measurement |\n|---|---|---|---|---|---|---|\n"
                        "| [T1](T1.md): Table 1 | a, b | 5 | 3 | 0 | 0 | 0 |\n"
                        "| [T3](T3.md): Table 3 | c | 0 | 1 | 2 | 1 | 1 |\n"
                        "| all | | 5 | 4 | 2 | 1 | 1 |\n")
            with open(os.path.join(d, "T1.csv"), "w") as f:
                f.write("table,claim,role,label,verdict\nT1,T1.stack.g,claim,initial stack,"
                        "confirmed\nT1,T1.stack.g,check,x,confirmed\n")

            def row(name, counter, v):
                return {"name": name, "run_name": name, "run_type": "iteration",
                        "iterations": 1, "real_time": 1.0, "time_unit": "ns", counter: v}
            ours = os.path.join(d, "r.json")
            with open(ours, "w") as f:
                json.dump({"context": {}, "benchmarks": [
                    row("switch/g_yield/procs:1/real_time", "ns_per_switch", v)
                    for v in (10, 20, 30)]}, f)
            go = os.path.join(d, "r.go.json")
            with open(go, "w") as f:
                json.dump({"context": {"go_status": "ok"}, "benchmarks": [
                    row("go/switch/gosched", "ns_per_switch", v) for v in (40, 50)]}, f)
            ours_copy = os.path.join(self.tmp_keep(), "r.json")
            with open(ours, "rb") as f, open(ours_copy, "wb") as g:
                g.write(f.read())
            report = os.path.join(d, "report", "index.html")
            os.makedirs(os.path.dirname(report))
            open(report, "w").close()
            out = io.StringIO()
            console.summary(out, final=ours, go_final=go, tables=d, plots="plots", results=d,
                            since=time.time() - 5)
            text = out.getvalue()
        self.assertIn("verdicts over 13 claims: 5 confirmed, 4 refuted, 2 inconclusive, 1 n/a,"
                      " 1 not a measurement", text)
        self.assertIn("T3    1 refuted, 2 inconclusive, 1 n/a, 1 not a measurement", text)
        self.assertRegex(text, r"T1.stack.g +initial stack +confirmed\n")
        self.assertNotIn("  all ", text)
        self.assertRegex(text, r"yield switch, 1 P +ours 20 ns \| Go 45 ns \(0.44\)\n")
        self.assertNotIn("chan round trip, 1 P", text)  # not in this run: left out
        self.assertIn(f"report:      {report}", text)
        self.assertTrue(text.endswith(
            "make bench: 5 confirmed, 4 refuted, 2 inconclusive, 1 n/a, 1 not a measurement; "
            f"report: {report}\n"), text[-300:])
        self.assertNotIn("<br>", text)
        self.assertNotIn("preset smoke", text)  # the run's context names no preset
        # A peer 400x slower: the ratio keeps its digits (was "(0.00)"); a smoke run says
        # its verdicts mean nothing.
        with tempfile.TemporaryDirectory() as d2:
            small = os.path.join(d2, "r.json")
            with open(small, "w") as f:
                json.dump({"context": {"preset": "smoke"}, "benchmarks": [
                    row("switch/g_yield/procs:1/real_time", "ns_per_switch", 20),
                    row("switch/fiber_yield/real_time", "ns_per_switch", 8000)]}, f)
            self.assertIn("  yield switch, 1 P         ours 20 ns | Boost.Fiber 8 us (0.0025)",
                          console.headline(small, os.path.join(d2, "none.go.json")))
            out = io.StringIO()
            console.summary(out, final=small, go_final="none.go.json", tables=d2, plots="p",
                            results=d2, since=time.time() - 5)
            self.assertIn("\npreset smoke: 1 repetition at tiny sizes, a test of the plumbing: "
                          "its numbers and verdicts mean nothing", out.getvalue())
        # The Go file says Go did not run, or is no Google Benchmark JSON: no Go column,
        # the reason instead (read through scripts/stats.py like the rows).
        for go_doc, why in (({"context": {"go_status": "n/a: go not installed"},
                              "benchmarks": []}, "n/a: go not installed"),
                            ("{truncated", "n/a: no Go file for this run")):
            with tempfile.TemporaryDirectory() as d:
                go = os.path.join(d, "r.go.json")
                with open(go, "w") as f:
                    f.write(go_doc if isinstance(go_doc, str) else json.dumps(go_doc))
                lines = console.headline(ours_copy, go)
            self.assertEqual(lines[-1], f"  Go: {why}", lines)
            self.assertRegex(lines[0], r"yield switch, 1 P +ours 20 ns$")
        # Tables not regenerated from this run (make tables failed): no stale verdicts.
        out = io.StringIO()
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "index.md"), "w") as f:
                f.write("- source: h/older.json\n\n| Table | confirmed |\n|---|---|\n"
                        "| T1 | 5 |\n")
            console.summary(out, final=os.path.join(d, "new.json"), go_final="none.go.json",
                            tables=d, plots="plots", results=d, since=time.time())
        text = out.getvalue()
        self.assertIn("verdicts: none from", text)
        self.assertIn("not regenerated from this run", text)
        self.assertNotIn("5 confirmed", text)
        self.assertIn("report:      none written", text)
        self.assertTrue(text.endswith("make bench: no verdicts (the tables were not regenerated "
                                      "from this run)\n"))


if __name__ == "__main__":
    unittest.main()
