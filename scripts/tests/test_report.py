"""Tests for scripts/report.py: the page from the fixture's tables holds the host state,
every table with coloured verdicts, the plots embedded, ours vs Go, links to the raw JSON;
bad input is one line and exit 2; an unwritable page is one line and exit 1.
(scripts/tests/report_browser.sh opens a page in headless Chromium.)

Run: /usr/bin/python3 -m unittest discover -s scripts/tests -p 'test_report.py' -t scripts/tests
"""

import base64
import contextlib
import io
import os
import re
import struct
import sys
import tempfile
import unittest
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.dirname(HERE)
sys.path.insert(0, SCRIPTS)

import report  # noqa: E402
import tables  # noqa: E402

FIXTURE = os.path.join(HERE, "fixtures", "full.json")


def tiny_png():
    """A valid 1x1 PNG (so the test needs no plotting)."""
    def chunk(kind, data):
        c = kind + data
        return struct.pack(">I", len(data)) + c + struct.pack(">I", zlib.crc32(c))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\x80")) + chunk(b"IEND", b""))


def run(argv):
    with contextlib.redirect_stdout(io.StringIO()) as out, \
            contextlib.redirect_stderr(io.StringIO()) as err:
        rc = report.main(argv)
    return rc, out.getvalue(), err.getvalue()


class TestReport(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.res = os.path.join(cls.tmp.name, "results")
        cls.plots = os.path.join(cls.tmp.name, "plots")
        with contextlib.redirect_stdout(io.StringIO()):
            assert tables.main(["--out", cls.res, "--no-go-source", FIXTURE]) == 0
        os.makedirs(cls.plots)
        for t in ("T1", "T5"):
            with open(os.path.join(cls.plots, t + ".png"), "wb") as f:
                f.write(tiny_png())
        cls.out = os.path.join(cls.tmp.name, "page", "run.html")
        rc, cls.log, err = run(["--results", cls.res, "--plots", cls.plots, "--run", FIXTURE,
                                "--out", cls.out])
        assert rc == 0, err
        with open(cls.out, encoding="utf-8") as f:
            cls.page = f.read()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_every_table_with_verdicts(self):
        with open(os.path.join(self.res, "index.md"), encoding="utf-8") as f:
            listed = re.findall(r"^\| \[(\w+)\]\(\1\.md\)", f.read(), re.M)
        self.assertGreaterEqual(len(listed), 8)
        for t in listed:
            self.assertIn(f'<section id="{t}">', self.page, t)
        self.assertIn('class="v v-confirmed">confirmed</td>', self.page)
        self.assertIn('class="v v-refuted">refuted</td>', self.page)
        self.assertIn('href="#T1"', self.page)  # index links point inside the page
        self.assertNotIn('.md"', self.page.split('id="raw"')[0])
        self.assertRegex(self.page, r'<span class="v-confirmed">confirmed: [1-9]\d*</span>')

    def test_host_state_and_raw_links(self):
        self.assertIn("<th>host_name</th>", self.page)
        self.assertIn("<th>num_cpus</th>", self.page)
        # JSON text in the context (stats.Run.context_value) shown decoded, as code
        self.assertRegex(self.page, r"<th>counters_na</th><td><code>\{&quot;PAPI_")
        self.assertIn("<b>fixturehost</b>", self.page)  # stats.Run.host
        rel = os.path.relpath(FIXTURE, os.path.dirname(self.out))
        self.assertIn(f'href="{rel}"', self.page)
        self.assertIn('full.go.json</a>: the Go peer run', self.page)

    def test_plots_embedded_self_contained(self):
        imgs = re.findall(r'<img [^>]*src="([^"]+)"', self.page)
        self.assertEqual(len(imgs), 2)
        for src in imgs:
            self.assertTrue(src.startswith("data:image/png;base64,"), src[:40])
            self.assertEqual(base64.b64decode(src.split(",", 1)[1]), tiny_png())
        self.assertNotRegex(self.page, r'(src|href)="https?:')  # nothing fetched
        self.assertIn('data-images="pending"', self.page)  # the load check is in the page

    def test_ours_vs_go(self):
        sec = self.page.split('id="speed"')[1].split("<section")[0]
        self.assertIn("<th>ours/Go</th>", sec)
        self.assertRegex(sec, r"<td>T1\.create\.g</td><td>[^<]+</td><td>[\d.]+ ns</td>"
                              r"<td>[\d.]+ ns</td><td>[\d.]+</td>")

    def test_default_out_beside_run(self):
        d = os.path.join(self.tmp.name, "h")
        os.makedirs(d, exist_ok=True)
        run_copy = os.path.join(d, "20260101T000000Z-abc.json")
        with open(FIXTURE) as f, open(run_copy, "w") as g:
            g.write(f.read())
        rc, log, err = run(["--results", self.res, "--plots", self.plots, "--run", run_copy])
        self.assertEqual(rc, 0, err)
        self.assertTrue(os.path.exists(os.path.join(d, "20260101T000000Z-abc.html")))

    def test_no_tables_exit_2_one_line(self):
        empty = os.path.join(self.tmp.name, "empty")
        os.makedirs(empty, exist_ok=True)
        rc, _, err = run(["--results", empty, "--run", FIXTURE])
        self.assertEqual(rc, 2)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertTrue(err.startswith("report.py: no tables in"), err)

    def test_bad_run_json_exit_2_one_line(self):
        bad = os.path.join(self.tmp.name, "bad.json")
        with open(bad, "w") as f:
            f.write("{not json")
        rc, _, err = run(["--results", self.res, "--run", bad, "--out",
                          os.path.join(self.tmp.name, "x.html")])
        self.assertEqual(rc, 2)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertIn("bad.json", err)

    def test_unwritable_page_exit_1_one_line(self):
        blocker = os.path.join(self.tmp.name, "afile")
        with open(blocker, "w") as f:
            f.write("x")  # a file where the page's folder should be: even root cannot
        rc, _, err = run(["--results", self.res, "--plots", self.plots, "--run", FIXTURE,
                          "--out", os.path.join(blocker, "r.html")])
        self.assertEqual(rc, 1)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertTrue(err.startswith("report.py: cannot write"), err)


if __name__ == "__main__":
    unittest.main()
