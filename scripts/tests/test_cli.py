"""test_cli.py - every tool in scripts/ behaves the same on its command line
(scripts/toolversion.py's module doc): --help and --version exit 0; a bad flag, a missing,
empty or non-UTF-8 input file, an unwritable output each give exactly one stderr line that
starts with the tool's own name, a non-zero exit, and no traceback.  Nothing is written into
the checkout (every output goes to a temporary folder or an unwritable path).

About 90 short processes (0.1-0.8 s of CPU each), 2 at a time: ~35 s on a quiet 2-CPU
machine."""
import concurrent.futures
import os
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SCRIPTS = os.path.join(ROOT, "scripts")
FULL = os.path.join(HERE, "fixtures", "full.json")           # a bench run (tables' fixture)
GO_LINES = os.path.join(HERE, "fixtures_go", "quick_subset.jsonl")
NOWHERE = "/proc/no-such-dir/out"  # cannot be created, even by root

# Every executable in scripts/ (checked below, so a new tool must be added here).
TOOLS = ("bench-instructions", "check_tuning.py", "claims_list.py", "compare.py",
         "ensure-deps", "goparse.py", "hoststate.py", "plot.py", "report.py", "run-bench",
         "run-go-bench", "speed_table.py", "stats.py", "tables.py")


def run(argv, cwd):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=cwd,
                       stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


class TestCommandLine(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmpdir = tempfile.TemporaryDirectory(prefix="test-cli-")
        t = cls.tmp = cls.tmpdir.name
        cls.missing = os.path.join(t, "missing.json")
        cls.empty = os.path.join(t, "empty.json")
        cls.binary = os.path.join(t, "binary.json")
        cls.broken = os.path.join(t, "broken.json")
        open(cls.empty, "w").close()
        with open(cls.binary, "wb") as f:
            f.write(b"\x00\xff\xfe\x80")
        with open(cls.broken, "w") as f:
            f.write('{"context": {}, "benchmarks": [')
        os.makedirs(os.path.join(t, "emptydir"))

    @classmethod
    def tearDownClass(cls):
        cls.tmpdir.cleanup()

    def many(self, cases):
        """{case: (rc, stdout, stderr)} of (tool, args...) tuples, 2 at a time, run in the
        temporary folder (a tool's default output lands there, not in the checkout)."""
        with concurrent.futures.ThreadPoolExecutor(2) as ex:
            futs = {c: ex.submit(run, [os.path.join(SCRIPTS, c[0])] + list(c[1:]), self.tmp)
                    for c in cases}
            return {c: f.result() for c, f in futs.items()}

    def test_tool_list_is_complete(self):
        found = sorted(n for n in os.listdir(SCRIPTS)
                       if os.path.isfile(os.path.join(SCRIPTS, n))
                       and os.access(os.path.join(SCRIPTS, n), os.X_OK))
        self.assertEqual(found, sorted(TOOLS))

    def test_help_and_version(self):
        res = self.many([(t, "--help") for t in TOOLS] + [(t, "--version") for t in TOOLS])
        for t in TOOLS:
            rc, out, err = res[t, "--help"]
            self.assertEqual(rc, 0, (t, err))
            self.assertIn(t, out, t)                      # the usage names the tool
            self.assertIn("--version", out, t)            # and lists --version
            rc, out, err = res[t, "--version"]
            self.assertEqual(rc, 0, (t, err))
            self.assertRegex(out, rf"^{t} \S+\n$")

    def one_line(self, case, result, rc_ok=(1, 2)):
        rc, out, err = result
        tool = case[0]
        self.assertIn(rc, rc_ok, (case, out, err))
        self.assertNotIn("Traceback", err, case)
        lines = err.strip().splitlines()
        self.assertEqual(len(lines), 1, (case, err))
        self.assertTrue(lines[0].startswith(tool.split()[0] + ": "), (case, lines[0]))
        return lines[0]

    def test_bad_flag_is_one_line(self):
        cases = [(t, "--no-such-flag") for t in TOOLS if t != "ensure-deps"]
        cases.append(("ensure-deps", "--no-such-flag"))
        for c, r in self.many(cases).items():
            self.one_line(c, r, rc_ok=(2,))

    def test_bad_input_files_are_one_line(self):
        t = self.tmp
        out = os.path.join(t, "out")
        cases = []
        # Results JSON: every reader goes through stats.load (test_stats.py tries each kind
        # of bad file on it); here each tool's handling of its failure.
        for bad in (self.missing, self.empty):
            cases += [
                ("stats.py", "summary", bad),
                ("tables.py", "--out", out, bad),
                ("compare.py", "--csv", "", bad, FULL),
                ("check_tuning.py", "--results", bad, "--markdown", "", "--allow-stale"),
                ("speed_table.py", bad),
            ]  # report.py --run BAD: test_report.py
        # Inputs a tool reads itself (TOML, Go's JSON lines): every kind of bad file.
        for bad in (self.missing, self.empty, self.binary, self.broken):
            cases += [
                ("check_tuning.py", "--profile", bad, "--results", FULL, "--markdown", ""),
                ("goparse.py", "convert", bad, os.path.join(t, "o.go.json")),
                ("claims_list.py", "--claims", bad, "--out", os.path.join(t, "C.md")),
                ("tables.py", "--claims", bad, "--out", out, FULL),
            ]
        res = self.many(cases)
        for c, r in res.items():
            line = self.one_line(c, r)
            self.assertTrue(any(os.path.basename(a) in line for a in c[1:]
                                if a.startswith(t) and "out" not in os.path.basename(a)),
                            (c, line))  # the line names the bad file
        self.assertFalse(os.path.exists(os.path.join(t, "o.go.json")))
        self.assertFalse(os.path.exists(out))

    def test_bad_arguments_and_unwritable_outputs_are_one_line(self):
        t = self.tmp
        cases = [
            ("stats.py", "summary", FULL, "("),                 # invalid regex
            ("stats.py", "compare", FULL, "no/such", "row"),    # unknown row
            ("stats.py",),                                      # no command
            ("hoststate.py", "nope"),
            ("goparse.py", "convert", GO_LINES, NOWHERE),       # unwritable output
            ("goparse.py", "na", NOWHERE, "--reason", "n/a: test"),
            ("claims_list.py", "--out", NOWHERE),
            ("tables.py", "--out", NOWHERE, FULL),
            ("plot.py", "--results", os.path.join(t, "emptydir"), "--out", t),   # no CSVs
            ("plot.py", "--only", "T99", "--out", t),
            ("report.py", "--results", os.path.join(t, "emptydir")),
            ("run-bench", "--results", NOWHERE, "--bin", "/bin/true"),
            ("run-bench", "--bin", os.path.join(t, "no-bench")),
            ("bench-instructions", "--bin", os.path.join(t, "no-instr")),
            ("speed_table.py", FULL, "--readme", self.binary),
            ("speed_table.py", FULL, "--readme", self.missing),
            ("ensure-deps", "not a package!"),
            ("compare.py", FULL, FULL, "--rows", "("),
            ("run-go-bench", os.path.join(t, "x.go.json"), "--preset", "bogus"),
        ]
        for c, r in self.many(cases).items():
            self.one_line(c, r)
        self.assertFalse(os.path.exists(os.path.join(t, "results")))

    def test_plot_rejects_an_empty_csv(self):
        d = os.path.join(self.tmp, "csvs")
        os.makedirs(d, exist_ok=True)
        open(os.path.join(d, "T1.csv"), "w").close()
        c = ("plot.py", "--results", d, "--out", os.path.join(self.tmp, "plots"))
        line = self.one_line(c, self.many([c])[c], rc_ok=(2,))
        self.assertIn("T1.csv: empty file", line)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "plots")))

    def test_make_targets_name_the_script_that_failed(self):
        # README: a make target that wraps a script adds one line naming both.
        for target, var, tool in (("tables", "TABLES_ARGS=" + self.missing, "tables.py"),
                                  ("plots", "PLOTS_ARGS=--bogus", "plot.py"),
                                  ("report", "REPORT_ARGS=--run " + self.missing, "report.py")):
            rc, _, err = run(["make", "--no-print-directory", "-s", target, var], ROOT)
            lines = err.splitlines()
            self.assertEqual(rc, 2, (target, err))
            self.assertTrue(lines and lines[0].startswith(tool + ": "), (target, err))
            self.assertIn(f"{target}: scripts/{tool} exited 2", err)
            self.assertNotIn("Traceback", err)


if __name__ == "__main__":
    unittest.main()
