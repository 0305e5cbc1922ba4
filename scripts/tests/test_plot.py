"""Tests for scripts/plot.py: figures from fixture tables, n/a figures when data is missing,
exit 2 on a malformed CSV, identical output when regenerated.

Run: /usr/bin/python3 -m unittest discover -s scripts/tests -p 'test_plot.py' -t scripts/tests
"""

import contextlib
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
        quiet(plot.main, ["--results", self.res, "--out", self.out])
        self.assertEqual(self.snapshot(), files)

    def test_missing_data_gives_na_figures(self):
        self.tables_from("skips.json")
        rc, _ = quiet(plot.main, ["--results", self.res, "--out", self.out, "--no-gnuplot"])
        self.assertEqual(rc, 0)
        files = self.snapshot()
        self.assertIn(b"n/a", files["T1.svg"])  # every T1 bench skipped or missing
        self.assertIn(b"n/a", files["T10.svg"])

    def test_no_csv_at_all(self):
        os.makedirs(self.res)
        rc, log = quiet(plot.main, ["--results", self.res, "--out", self.out])
        self.assertEqual(rc, 0)
        self.assertIn("no CSV for", log)
        self.assertEqual(len(self.snapshot()), 2 * len(FIGS))

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
