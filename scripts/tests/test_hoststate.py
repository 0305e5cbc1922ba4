"""Tests for scripts/hoststate.py (host id, busy flag) and the tables' header that shows
the host state.  Run: python3 -m unittest discover -s scripts/tests -p
test_hoststate.py -t scripts/tests"""
import os
import re
import sys
import unittest
import unittest.mock

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import hoststate  # noqa: E402
import tables  # noqa: E402


def snap(total, idle, steal, load="0.10 0.20 0.30", own=0.0):
    return {"total": total, "idle": idle, "steal": steal, "loadavg": load, "own_cpu_s": own}


class TestHostState(unittest.TestCase):
    def test_host_id_stable_and_machine_specific(self):
        a, b = hoststate.host_id(), hoststate.host_id()
        self.assertEqual(a, b)
        self.assertRegex(a, r"^[A-Za-z0-9_.-]+-([0-9a-f]{8}|nomachineid)$")
        with unittest.mock.patch("socket.gethostname", return_value="vm"), \
                unittest.mock.patch("builtins.open", unittest.mock.mock_open(read_data="x1\n")):
            one = hoststate.host_id()
        with unittest.mock.patch("socket.gethostname", return_value="vm"), \
                unittest.mock.patch("builtins.open", unittest.mock.mock_open(read_data="x2\n")):
            two = hoststate.host_id()
        self.assertTrue(one.startswith("vm-") and two.startswith("vm-") and one != two)

    def test_quiet_run_is_not_busy(self):
        c = hoststate.context(snap(1000, 500, 0), snap(2000, 1400, 5), ncpus=2)
        self.assertEqual(c["busy"], "no")
        self.assertTrue(c["steal"].startswith("0.5% of CPU time"))

    def test_steal_other_tenants_and_load_flag_a_busy_run(self):
        hz = os.sysconf("SC_CLK_TCK")
        c = hoststate.context(snap(1000, 500, 0, "3.50 2.0 1.0", own=0.0),
                              snap(2000, 600, 100, own=100 / hz), ncpus=2)
        self.assertTrue(c["busy"].startswith("yes: steal 10.0% > 2%"), c["busy"])
        self.assertIn("other processes used 70% of the CPUs", c["busy"])
        self.assertIn("load average 3.5 on 2 CPUs", c["busy"])

    def test_header_flags_a_busy_run(self):
        run = tables.Run()
        run.context = {"busy": "yes: steal 10.0% > 2%", "steal": "10.0% of CPU time",
                       "host_id": "vm-0123abcd", "governor": "unknown: no cpufreq"}
        text = "\n".join(tables.header(run, None, "n/a: x", "T"))
        self.assertIn("**Busy run**: steal 10.0% > 2%.", text)
        self.assertIn("- host: vm-0123abcd", text)
        self.assertIn("governor unknown: no cpufreq", text)
        self.assertTrue(re.search(r"other tenants: steal 10.0% of CPU time", text))


if __name__ == "__main__":
    unittest.main()
