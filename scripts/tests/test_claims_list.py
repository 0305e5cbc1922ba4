#!/usr/bin/python3
"""Tests of scripts/claims_list.py: the list has every claim of a claims file with its
document value, subject and reading; --check says whether the file is current; a malformed
claims file is one line and exit 2."""
import os
import subprocess
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(ROOT, "scripts", "claims_list.py")

CLAIMS = '''
[[table]]
id = "T1"
title = "Table 1 - goroutine vs pthread"
[[claim]]
id = "T1.stack.g"
table = "T1"
what = "initial stack of a G"
doc = "~2 KB | grows"
subject = "go"
reading = "bytes per parked G within 50% of 2048 B"
  [[claim.check]]
  row = "stack/g_parked/n:100000/small:1"
[[claim]]
id = "T5.grunq"
table = "T5"
what = "global runq length"
doc = "> 200"
doc_lost = true
kind = "above"
[[out_of_scope]]
chapter = 5
what = "microservices"
why = "another system"
'''


class ClaimsListTest(unittest.TestCase):
    def run_tool(self, *args):
        return subprocess.run([TOOL] + list(args), capture_output=True, text=True, timeout=30)

    def test_list_check_and_errors(self):
        with tempfile.TemporaryDirectory() as d:
            src, out = os.path.join(d, "c.toml"), os.path.join(d, "C.md")
            with open(src, "w") as f:
                f.write(CLAIMS)
            r = self.run_tool("--claims", src, "--out", out, "--check")
            self.assertEqual(r.returncode, 1)  # not written yet
            self.assertIn("run `make claims-list`", r.stderr)
            self.assertEqual(self.run_tool("--claims", src, "--out", out).returncode, 0)
            with open(out) as f:
                text = f.read()
            self.assertIn("## T1: Table 1 - goroutine vs pthread", text)
            self.assertIn("| T1.stack.g | initial stack of a G | ~2 KB \\| grows | go | bytes per "
                          "parked G within 50% of 2048 B; rows `stack/g_parked/n:100000/small:1` |",
                          text)
            self.assertIn("| T5.grunq | global runq length | > 200 (lost) |  | above |", text)
            self.assertIn("- Chapter 5: microservices - another system.", text)
            self.assertIn("2 claims.", text)
            self.assertEqual(self.run_tool("--claims", src, "--out", out, "--check").returncode, 0)
            with open(src, "w") as f:
                f.write("[[claim]\n")
            r = self.run_tool("--claims", src, "--out", out)
            self.assertEqual(r.returncode, 2)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1)
            self.assertTrue(r.stderr.startswith("claims_list.py: "))

    def test_version(self):
        r = self.run_tool("--version")
        self.assertEqual(r.returncode, 0)
        self.assertTrue(r.stdout.startswith("claims_list.py "))


if __name__ == "__main__":
    unittest.main()
