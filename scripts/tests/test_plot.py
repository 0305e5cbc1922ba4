"""Tests for scripts/plot.py: figures from fixture tables, n/a figures when data is missing,
exit 2 on no CSV or a malformed CSV, NaN medians drawn as n/a, an unwritable output folder
(exit 1, one line), what the error bars are said in each figure, identical output when
regenerated.

Run: /usr/bin/python3 -m unittest discover -s scripts/tests -p 'test_plot.py' -t scripts/tests
"""

import contextlib
import csv
import io
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.dirname(HERE)
sys.path.insert(0, SCRIPTS)

import plot  # noqa: E402
import tables  # noqa: E402

FIGS = ("T1", "T3", "T4", "T5", "T6", "T10")


def quiet(fn, *args):
    with contextlib.redirect_stdout(io.StringIO()) as out:
        rc = fn(*args)
    return rc, out.getvalue()


class TestPlot(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.res = os.path.join(self.tmp.name, "results")
        self.out = os.path.join(self.tmp.name, "plots")

    def tearDown(self):
        self.tmp.cleanup()

    def tables_from(self, fixture):
        rc, _ = quiet(tables.main, ["--out", self.res, "--no-go-source",
                                    os.path.join(HERE, "fixtures", fixture)])
        self.assertEqual(rc, 0)

    def snapshot(self):
        out = {}
        for n in sorted(os.listdir(self.out)):
            with open(os.path.join(self.out, n), "rb") as f:
                out[n] = f.read()
        return out

    def test_figures_and_reproducible(self):
        self.tables_from("full.json")
        rc, log = quiet(plot.main, ["--results", self.res, "--out", self.out])
        self.assertEqual(rc, 0)
        files = self.snapshot()
        for f in FIGS:
            self.assertIn(f + ".png", files)
            self.assertIn(f + ".svg", files)
            self.assertTrue(files[f + ".png"].startswith(b"\x89PNG"), f)
        self.assertIn(b"T1.create.g", files["T1.svg"])  # title carries claim IDs and host
        self.assertIn(b"fixturehost", files["T1.svg"])
        for f in FIGS:  # each says what it shows, its units and what its error bars are
            svg = files[f + ".svg"].decode()
            self.assertIn(f + ": ", svg, f)
            if "<!-- Nothing drawn: " in svg:
                self.assertIn("n/a", svg)  # nothing measured in the fixture: says why
                continue
            self.assertRegex(svg, r"(Bars|Points): median of n", f)
            self.assertRegex(svg, r"Error bars: |No error bars", f)
        self.assertIn("ns per switch", files["T1.svg"].decode())
        self.assertIn("bytes of RSS per parked task", files["T1.svg"].decode())
        quiet(plot.main, ["--results", self.res, "--out", self.out])
        self.assertEqual(self.snapshot(), files)

    def test_missing_data_gives_na_figures(self):
        self.tables_from("skips.json")
        rc, _ = quiet(plot.main, ["--results", self.res, "--out", self.out])
        self.assertEqual(rc, 0)
        files = self.snapshot()
        self.assertIn(b"n/a", files["T1.svg"])  # every T1 bench skipped or missing
        self.assertIn(b"n/a", files["T10.svg"])

    def test_no_csv_at_all(self):
        """No table CSV at all: one line naming the tool, exit 2, nothing drawn."""
        os.makedirs(self.res)
        with contextlib.redirect_stderr(io.StringIO()) as err:
            rc, log = quiet(plot.main, ["--results", self.res, "--out", self.out])
        self.assertEqual(rc, 2)
        msg = err.getvalue().strip().splitlines()
        self.assertEqual(len(msg), 1, err.getvalue())
        self.assertTrue(msg[0].startswith("plot.py: no table CSV"), msg[0])
        self.assertFalse(os.path.exists(self.out))
        with contextlib.redirect_stderr(io.StringIO()) as err:
            rc, _ = quiet(plot.main, ["--results", self.res, "--only", "T2"])
        self.assertEqual(rc, 2)
        self.assertIn("unknown figure T2", err.getvalue())

    def test_some_csv_missing_gives_na_figure(self):
        self.tables_from("full.json")
        os.unlink(os.path.join(self.res, "T6.csv"))
        rc, log = quiet(plot.main, ["--results", self.res, "--out", self.out, "--only", "T6"])
        self.assertEqual(rc, 0)
        self.assertIn("no CSV for T6", log)
        self.assertIn(b"T6.csv missing", self.snapshot()["T6.svg"])

    def rewrite(self, name, fn):
        """Apply fn(row) to every row of results/<name>.csv (fn may add columns)."""
        path = os.path.join(self.res, name + ".csv")
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        for r in rows:
            fn(r)
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
            w.writeheader()
            w.writerows(rows)

    def test_nan_median_is_na_not_a_traceback(self):
        self.tables_from("full.json")

        def nan(r):
            if r["bench_row"] == "switch/g_yield/procs:1" and r["median"]:
                r["median"] = "nan"
        self.rewrite("T1", nan)
        rc, log = quiet(plot.main, ["--results", self.res, "--out", self.out, "--only", "T1"])
        self.assertEqual(rc, 0)
        self.assertIn("T1.csv: switch/g_yield/procs:1 ns_per_switch: median is not a finite "
                      "number; drawn as n/a", log)
        self.assertIn(b"n/a", self.snapshot()["T1.svg"])

    def test_ci_columns_are_the_error_bars(self):
        """When the tables carry ci_lo / ci_hi (scripts/stats.py), the bars are that
        interval and the figure says so."""
        self.tables_from("full.json")

        def ci(r):
            m = float(r["median"]) if r["median"] else None
            r["ci_lo"] = repr(m * 0.9) if m else ""
            r["ci_hi"] = repr(m * 1.2) if m else ""
        self.rewrite("T1", ci)
        rc, _ = quiet(plot.main, ["--results", self.res, "--out", self.out, "--only", "T1"])
        self.assertEqual(rc, 0)
        svg = self.snapshot()["T1.svg"].decode()
        self.assertIn("95% bootstrap interval of the median", svg)
        self.assertNotIn("min-max", svg)
        v = plot.Table(self.res, "T1").get("switch/g_yield/procs:1", "ns_per_switch")
        self.assertEqual(v["kind"], "ci")
        self.assertAlmostEqual(v["hi"] / v["median"], 1.2)

    def test_t4_pin_shoot_panels(self):
        """A run with pin/shoot rows is drawn from them (the rows the T4 claims judge):
        munmap vs control per binding, one panel per counter, local share in %."""
        os.makedirs(self.res)
        cols = ["table", "claim", "role", "label", "bench_row", "counter", "unit", "median",
                "cv", "min", "max", "n", "doc_value", "ratio", "verdict"]
        rows = []
        for unmap in (0, 1):
            for bind in (0, 1):
                for ctr, v in (("shootdown_events", 16 * unmap + bind), ("mmaps", 8 * unmap),
                               ("local_share", 0.9 * bind), ("migrations", 2 - 2 * bind)):
                    rows.append(dict.fromkeys(cols, "") | {
                        "table": "T4", "claim": "T4.flush", "role": "show", "label": "x",
                        "bench_row": f"pin/shoot/unmap:{unmap}/bind:{bind}", "counter": ctr,
                        "median": repr(float(v)), "min": repr(float(v)),
                        "max": repr(float(v) + 1), "n": "3"})
        with open(os.path.join(self.res, "T4.csv"), "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=cols)
            w.writeheader()
            w.writerows(rows)
        rc, _ = quiet(plot.main, ["--results", self.res, "--out", self.out, "--only", "T4"])
        self.assertEqual(rc, 0)
        svg = self.snapshot()["T4.svg"].decode()
        for text in ("munmap each pass", "control: mapped once", "T4.local",
                     "local share, % of shootdowns started", "pinned (bind:1)",
                     "did the unpinned Ms move", "Error bars: min-max"):
            self.assertIn(text, svg)
        self.assertIn("<!-- 90 -->", svg)  # local share 0.9 printed as 90 (%)

    def test_unwritable_output_exit_1_one_line(self):
        self.tables_from("full.json")
        blocker = os.path.join(self.tmp.name, "afile")
        with open(blocker, "w") as f:
            f.write("x")  # a file where the plots folder should be: even root cannot
        with contextlib.redirect_stderr(io.StringIO()) as err:
            rc, _ = quiet(plot.main, ["--results", self.res, "--out", blocker, "--only", "T1"])
        self.assertEqual(rc, 1)
        msg = err.getvalue().strip().splitlines()
        self.assertEqual(len(msg), 1, err.getvalue())
        self.assertTrue(msg[0].startswith("plot.py: cannot write"), msg[0])

    def test_malformed_csv_exit_2(self):
        os.makedirs(self.res)
        with open(os.path.join(self.res, "T1.csv"), "w") as f:
            f.write("a,b\n1,2\n")
        with contextlib.redirect_stderr(io.StringIO()) as err:
            rc, _ = quiet(plot.main, ["--results", self.res, "--out", self.out])
        self.assertEqual(rc, 2)
        self.assertIn("T1.csv", err.getvalue())
        self.assertFalse(os.path.exists(self.out))

    def test_truncated_csv_exit_2(self):
        """A CSV whose last line is cut off (fewer fields than the header) or a row with
        extra fields is malformed: one line naming file and line, exit 2, nothing drawn."""
        self.tables_from("full.json")
        path = os.path.join(self.res, "T1.csv")
        with open(path, newline="") as f:
            good = f.read()
        lines = good.splitlines(keepends=True)
        cut = lines[-1][: lines[-1].index(",", lines[-1].index(",") + 1)]  # first 2 fields
        for name, text in (("short", "".join(lines[:-1]) + cut),
                           ("long", good + lines[-1].rstrip("\n") + ",extra\n")):
            with open(path, "w", newline="") as f:
                f.write(text)
            with contextlib.redirect_stderr(io.StringIO()) as err:
                rc, _ = quiet(plot.main, ["--results", self.res, "--out", self.out])
            self.assertEqual(rc, 2, name)
            msg = err.getvalue().strip().splitlines()
            self.assertEqual(len(msg), 1, err.getvalue())
            self.assertIn("T1.csv: line %d" % (len(lines) + (1 if name == "long" else 0)),
                          msg[0])
            self.assertFalse(os.path.exists(self.out), name)


if __name__ == "__main__":
    unittest.main()
