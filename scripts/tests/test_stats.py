"""Tests for scripts/stats.py: reading Google Benchmark JSON (fixtures_stats/), summaries,
A/B comparisons and the verdict rules, on fixed samples (never on timings).

Run: /usr/bin/python3 -m unittest discover -s scripts/tests -p test_stats.py -t scripts/tests
"""
import json
import math
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.dirname(HERE)
FIX = os.path.join(HERE, "fixtures_stats", "run.json")
sys.path.insert(0, SCRIPTS)

import stats  # noqa: E402

# Fixed samples (drawn once from normal distributions and written out, so the tests do
# not depend on a random generator's version).
A = [100.2, 98.7, 101.5, 99.9, 100.8, 97.9, 102.1, 100.4, 99.1]
B_FAR = [119.8, 121.3, 118.6, 120.9, 122.0, 119.4, 120.2, 117.9, 121.1]   # +20%
A_TWIN = [99.6, 101.9, 98.4, 100.1, 102.4, 99.3, 100.6, 98.9, 101.2]      # same law as A


class TestLoad(unittest.TestCase):
    def setUp(self):
        self.run = stats.load(FIX)

    def test_rows_in_file_order_with_suffixes_stripped(self):
        self.assertEqual(list(self.run.rows), ["switch/a", "zero/b", "skip/c", "once/d"])

    def test_times_in_ns_from_any_unit(self):
        self.assertEqual(self.run.get("switch/a").values("real_time"), [1000.0, 1100.0, 1200.0])
        self.assertEqual(self.run.get("once/d").values("real_time"), [7e6])

    def test_counted_pass_merged_and_marked(self):
        r = self.run.get("switch/a")
        self.assertEqual(r.n, 3)                       # the counted repetition is not timed
        self.assertTrue(r.counted)
        self.assertFalse(r.timed_with_counters)
        self.assertEqual(r.values("perf::CONTEXT-SWITCHES"), [2.0])
        self.assertEqual(r.values("ns_per_op"), [1000.0, 1100.0, 1200.0])
        self.assertIn("not opened on 1 of 3 threads (perf_event_open: x; y)",
                      r.counters_na["perf::CPU-MIGRATIONS"])

    def test_na_rows_labels_and_context(self):
        self.assertEqual(self.run.get("skip/c").na, "n/a: runtime not built")
        self.assertEqual(self.run.get("skip/c").values("real_time"), [])
        b = self.run.get("zero/b")
        self.assertEqual(b.claims, ["T5.y", "T5.z"])
        self.assertEqual(b.label_fields, {"limit": "cap 10"})
        self.assertEqual(self.run.events, ["perf::CONTEXT-SWITCHES", "perf::CPU-MIGRATIONS"])
        self.assertEqual(self.run.counters_na["PAPI_TOT_CYC"],
                         'no PMU (PAPI: "Event" does not exist)')

    def test_context_values_and_host(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "c.json")
            with open(p, "w") as f:
                json.dump({"context": {"host_name": "box", "p_layout": '[{"pad": 0}]',
                                       "nodes": '{"n": 1}', "cores": "2", "ratio": "1.50",
                                       "broken": "{not json", "load_avg": [0.5, 1.0]},
                           "benchmarks": []}, f)
            run = stats.load(p)
        self.assertEqual(run.context_value("p_layout"), [{"pad": 0}])
        self.assertEqual(run.context_value("nodes"), {"n": 1})
        self.assertEqual(run.context_value("cores"), "2")      # text stays text
        self.assertEqual(run.context_value("ratio"), "1.50")   # as recorded, not 1.5
        self.assertEqual(run.context_value("broken"), "{not json")
        self.assertEqual(run.context_value("load_avg"), [0.5, 1.0])
        self.assertEqual(run.context_value("absent", "-"), "-")
        self.assertEqual(run.host, "box")  # host_name when there is no host key
        self.assertEqual(self.run.host, self.run.context.get("host") or
                         self.run.context.get("host_name"))

    def test_old_files_timed_with_counters_on(self):
        with tempfile.TemporaryDirectory() as d:
            with open(FIX) as f:
                doc = json.load(f)
            doc["benchmarks"] = [b for b in doc["benchmarks"] if "/counted" not in b["name"]]
            p = os.path.join(d, "old.json")
            with open(p, "w") as f:
                json.dump(doc, f)
            r = stats.load(p).get("switch/a")
        self.assertTrue(r.timed_with_counters)
        self.assertFalse(r.counted)

    def test_net_counter_may_be_negative_others_not(self):
        with tempfile.TemporaryDirectory() as d:
            with open(FIX) as f:
                doc = json.load(f)
            row = next(b for b in doc["benchmarks"] if b.get("run_type") != "aggregate")
            row["ns_per_switch_net"] = -12.5  # a difference of two noisy measurements
            p = os.path.join(d, "net.json")
            with open(p, "w") as f:
                json.dump(doc, f)
            stats.load(p, strict=True)  # accepted
            row["ns_per_switch"] = -1.0
            with open(p, "w") as f:
                json.dump(doc, f)
            with self.assertRaises(stats.StatsError):
                stats.load(p, strict=True)

    def test_bad_input_is_one_line_error(self):
        with tempfile.TemporaryDirectory() as d:
            for text, want in (("", "empty file"), ("{", "not JSON"), ("[1]", "not Google"),
                               ('{"context": {}}', "no 'benchmarks'")):
                p = os.path.join(d, "x.json")
                with open(p, "w") as f:
                    f.write(text)
                with self.assertRaises(stats.StatsError) as cm:
                    stats.load(p)
                msg = str(cm.exception)
                self.assertTrue(msg.startswith("stats.py: ") and want in msg and "\n" not in msg,
                                msg)
            r = subprocess.run([sys.executable, os.path.join(SCRIPTS, "stats.py"), "summary",
                                os.path.join(d, "x.json")], capture_output=True, text=True)
            self.assertEqual(r.returncode, 2)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1)
            self.assertTrue(r.stderr.startswith("stats.py: "))


class TestStrict(unittest.TestCase):
    def test_negative_only_for_differences(self):
        with tempfile.TemporaryDirectory() as d:
            for key, ok in (("ns_per_switch_net", True), ("x_delta", True),
                            ("ns_per_switch", False)):
                p = os.path.join(d, "r.json")
                with open(p, "w") as f:
                    json.dump({"context": {}, "benchmarks": [
                        {"name": "r", "real_time": 1.0, "cpu_time": 1.0, "time_unit": "ns",
                         key: -5.0}]}, f)
                if ok:
                    self.assertEqual(stats.load(p, strict=True).get("r").values(key), [-5.0])
                else:
                    with self.assertRaises(stats.StatsError):
                        stats.load(p, strict=True)


class TestVerdictWord(unittest.TestCase):
    def test_word_of_each_verdict_form(self):
        for v, w in (("confirmed", "confirmed"), ("confirmed (n=1: no interval)", "confirmed"),
                     ("refuted (n=1: no interval)", "refuted"),
                     ("inconclusive: 95% CI of the value 1-2 straddles the band edge 1.5",
                      "inconclusive"),
                     ("n/a: no PMU", "n/a"), ("not a measurement", "not a measurement"),
                     ("  refuted ", "refuted"), ("", None), (None, None), ("maybe", None)):
            self.assertEqual(stats.verdict_word(v), w, v)
        self.assertEqual(stats.VERDICT_WORDS,
                         ("confirmed", "refuted", "inconclusive", "n/a", "not a measurement"))


class TestStatistics(unittest.TestCase):
    def test_summary_fields(self):
        s = stats.summarize(A + [float("nan"), None, float("inf")])
        self.assertEqual(s.n, 9)
        self.assertEqual(s.median, 100.2)
        self.assertEqual((s.lo, s.hi), (97.9, 102.1))
        self.assertLessEqual(s.q1, s.median)
        self.assertLessEqual(s.median, s.q3)
        self.assertLessEqual(s.ci_lo, s.median)
        self.assertGreaterEqual(s.ci_hi, s.median)
        self.assertGreaterEqual(s.ci_lo, s.lo)
        self.assertAlmostEqual(s.cv, 0.0134, places=4)

    def test_reproducible_interval(self):
        self.assertEqual(stats.summarize(A), stats.summarize(list(A)))
        self.assertEqual(stats.compare(A, B_FAR), stats.compare(A, B_FAR))

    def test_small_n_has_no_interval(self):
        s = stats.summarize([1.0, 2.0])
        self.assertIsNone(s.ci_lo)
        self.assertEqual(s.median, 1.5)
        self.assertEqual(stats.summarize([]).n, 0)

    def test_clear_difference_is_significant(self):
        c = stats.compare(A, B_FAR)
        self.assertLess(c.p, 0.001)
        self.assertAlmostEqual(c.ratio, 120.2 / 100.2)
        self.assertTrue(c.ci_lo < c.ratio < c.ci_hi)
        self.assertGreater(c.ci_lo, 1.1)
        self.assertIsNone(stats.difference_verdict(c))
        self.assertEqual(stats.ratio_verdict(c, band_lo=1.1), stats.CONFIRMED)
        self.assertEqual(stats.ratio_verdict(c, band_hi=1.05), stats.REFUTED)

    def test_same_distribution_is_not_significant(self):
        c = stats.compare(A, A_TWIN)
        self.assertGreater(c.p, 0.05)
        v = stats.ratio_verdict(c, band_lo=1.1)
        self.assertTrue(v.startswith("inconclusive: no significant difference (Mann-Whitney "
                                     "p = "), v)
        self.assertIn("n = 9 and 9", v)

    def test_ratio_interval_straddling_band_is_inconclusive(self):
        # T3-like: per-repetition ratios 0.64-0.87 around a 0.685 band edge.
        a = [100.0, 101.0, 99.0, 100.5, 99.5, 100.2, 99.8, 100.1, 100.3]
        b = [64.0, 87.0, 70.0, 66.0, 80.0, 68.0, 75.0, 65.0, 84.0]
        c = stats.compare(a, b)
        self.assertLess(c.p, 0.05)
        self.assertLess(c.ci_lo, 0.685)
        self.assertGreater(c.ci_hi, 0.685)
        v = stats.ratio_verdict(c, band_hi=0.685)
        self.assertTrue(v.startswith("inconclusive: 95% CI of the ratio "), v)
        self.assertIn("straddles the band edge 0.685", v)

    def test_band_verdict_edges(self):
        self.assertEqual(stats.band_verdict(1, 2, 0.5, 3), stats.CONFIRMED)
        self.assertEqual(stats.band_verdict(4, 5, None, 3), stats.REFUTED)
        self.assertEqual(stats.band_verdict(1, 2, 3, None), stats.REFUTED)
        self.assertTrue(stats.band_verdict(None, None, 1, 2).startswith("inconclusive: no 95% CI"))

    def test_nan_cv_and_zero_mean_do_not_break_a_comparison(self):
        run = stats.load(FIX)
        zero = run.get("zero/b")
        self.assertIn("cv", zero.aggregates)            # Google Benchmark's NaN cv was read
        self.assertTrue(math.isnan(zero.aggregates["cv"]["steals"]))
        self.assertEqual(zero.values("steals"), [0.0, 0.0, 0.0])
        s = zero.summary("steals")
        self.assertEqual((s.median, s.cv), (0.0, None))
        c = stats.compare(zero.values("steals"), zero.values("steals"))
        self.assertIsNone(c.ratio)
        self.assertEqual(c.p, 1.0)
        self.assertTrue(stats.ratio_verdict(c).startswith("inconclusive: ratio undefined"))
        # improving from 10 to 0 is a ratio of 0 with a finite interval, not 'nan%'
        c = stats.compare([10.0, 10.0, 11.0, 9.0], [0.0, 0.0, 0.0, 0.0])
        self.assertEqual(c.ratio, 0.0)
        self.assertEqual((c.ci_lo, c.ci_hi), (0.0, 0.0))
        self.assertLess(c.p, 0.05)

    def test_spread_text(self):
        self.assertEqual(stats.spread_text(stats.summarize([1.0, 2.0])), "n=2, 1.5 [1-2]")
        self.assertTrue(stats.spread_text(stats.summarize(A)).startswith("n=9, 100 [97.9-102] CI "))


if __name__ == "__main__":
    unittest.main()
