#!/usr/bin/python3
"""test_check_tuning.py - tests for scripts/check_tuning.py.

Host rules run against fake /proc + /sys trees built in a temp dir (--sysroot), with the
affinity and uid given on the command line; measured and baseline rules run on the
Google Benchmark 1.7.1-shaped fixtures in fixtures_tuning/ (make_fixtures.py).  No test
depends on this machine's settings or on timings.
Run: /usr/bin/python3 -m unittest discover -s scripts/tests -p test_check_tuning.py
"""
import contextlib
import datetime
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
SCRIPT = os.path.join(TOP, 'scripts', 'check_tuning.py')
FIX = os.path.join(HERE, 'fixtures_tuning')
DEFAULT = os.path.join(TOP, 'scripts', 'tuning', 'default.toml')
STRICT = os.path.join(TOP, 'scripts', 'tuning', 'strict-bare-metal.toml')
PY = '/usr/bin/python3'
sys.path.insert(0, os.path.dirname(SCRIPT))
import check_tuning  # noqa: E402

# A tuned two-socket bare-metal host.
METAL = {
    'proc/cpuinfo': 'processor\t: 0\nflags\t\t: fpu sse2 avx2\n',
    'proc/sys/kernel/numa_balancing': '0\n',
    'proc/sys/kernel/perf_event_paranoid': '-1\n',
    'proc/self/cgroup': '0::/ci.slice/job\n',
    'sys/fs/cgroup/cgroup.controllers': 'cpu memory\n',
    'sys/fs/cgroup/ci.slice/cpu.max': 'max 100000\n',
    'sys/fs/cgroup/ci.slice/job/cpu.max': 'max 100000\n',
    'sys/devices/system/cpu/online': '0-7\n',
    'sys/devices/system/cpu/isolated': '4-7\n',
    'sys/devices/system/cpu/nohz_full': '4-7\n',
    'sys/devices/system/cpu/smt/active': '0\n',
    'sys/devices/system/cpu/smt/control': 'off\n',
    'sys/devices/system/cpu/cpufreq/boost': '0\n',
    'sys/kernel/mm/transparent_hugepage/enabled': 'always [madvise] never\n',
    'sys/kernel/mm/transparent_hugepage/defrag': 'always defer defer+madvise [madvise] never\n',
    'sys/bus/event_source/devices/cpu/type': '4\n',
    'sys/bus/event_source/devices/software/type': '1\n',
    'sys/devices/system/node/online': '0-1\n',
    'sys/devices/system/node/node0/distance': '10 21\n',
    'sys/devices/system/node/node1/distance': '21 10\n',
}
for _c in range(8):
    METAL['sys/devices/system/cpu/cpu%d/cpufreq/scaling_governor' % _c] = 'performance\n'

# The project's KVM guest: no cpufreq, no PMU, one node, cgroup v1 without quota.
VM = {
    'proc/cpuinfo': 'processor\t: 0\nflags\t\t: fpu sse2 hypervisor\n',
    'proc/sys/kernel/numa_balancing': '0\n',
    'proc/sys/kernel/perf_event_paranoid': '2\n',
    'proc/self/cgroup': '1:cpu:/\n0::/\n',
    'sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1\n',
    'sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n',
    'sys/devices/system/cpu/online': '0-1\n',
    'sys/devices/system/cpu/isolated': '\n',
    'sys/devices/system/cpu/smt/active': '0\n',
    'sys/devices/system/cpu/smt/control': 'notsupported\n',
    'sys/kernel/mm/transparent_hugepage/enabled': 'always [madvise] never\n',
    'sys/kernel/mm/transparent_hugepage/defrag': 'always defer defer+madvise [madvise] never\n',
    'sys/bus/event_source/devices/software/type': '1\n',
    'sys/bus/event_source/devices/tracepoint/type': '2\n',
    'sys/devices/system/node/online': '0\n',
    'sys/devices/system/node/node0/distance': '10\n',
}


def git_head():
    """git_head - HEAD of the checkout under test (the tests run in a git checkout)."""
    return subprocess.run(['git', '-C', TOP, 'rev-parse', 'HEAD'], capture_output=True,
                          text=True, check=True).stdout.strip()


def iso_ago(hours):
    """iso_ago - ISO 8601 UTC time `hours` ago, as Google Benchmark writes context.date."""
    t = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=hours)
    return t.isoformat(timespec='seconds')


def make_root(base, files, drop=()):
    root = tempfile.mkdtemp(dir=base)
    for rel, text in files.items():
        if rel in drop:
            continue
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, 'w') as f:
            f.write(text)
    return root


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='test-check-tuning-')
        self.empty_results = os.path.join(self.tmp, 'no-results')
        os.makedirs(self.empty_results)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def profile(self, text):
        p = os.path.join(self.tmp, 'p%d.toml' % len(os.listdir(self.tmp)))
        with open(p, 'w') as f:
            f.write(text)
        return p

    def run_ct(self, *args, root=None, affinity='0-1', uid=1000, junit=None):
        """run_ct - run the script; returns (rc, {rule: (status, line)}, stdout, stderr)."""
        cmd = [PY, SCRIPT, '--markdown', os.path.join(self.tmp, 'report.md'),
               '--results-dir', self.empty_results, '--no-run',
               '--affinity', affinity, '--uid', str(uid), '--env-gomaxprocs', '']
        if root is not None:
            cmd += ['--sysroot', root]
        if junit:
            cmd += ['--junit', junit]
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = check_tuning.main(cmd[2:] + list(args))  # in-process: one scipy import
        p = subprocess.CompletedProcess(cmd, rc, out.getvalue(), err.getvalue())
        rules = {}
        for line in p.stdout.splitlines():
            st = line[:4]
            if st in ('PASS', 'FAIL', 'SKIP'):
                name = line[6:].split('  ')[0].strip()
                rules[name] = (st, line)
        return p.returncode, rules, p.stdout, p.stderr


# ==== host rules ==========================================================================

class TestHostRules(Base):
    def test_metal_passes_strict_host_rules(self):
        root = make_root(self.tmp, METAL)
        rc, rules, out, err = self.run_ct('--profile', STRICT, root=root, affinity='4-7')
        host = {k: v for k, v in rules.items() if k.startswith('host.')}
        self.assertEqual(len(host), 14, out)
        self.assertEqual([k for k, v in host.items() if v[0] != 'PASS'], [], out)
        self.assertIn('performance', host['host.governor'][1])
        self.assertIn('value 2.10', host['host.numa_slit'][1])  # 21 / 10
        self.assertIn('value 4', host['host.gomaxprocs'][1])
        # the measured rules have no results here: the gate does not pass on nothing
        self.assertEqual(rc, 1, out + err)
        self.assertEqual(rules['results'][0], 'FAIL', out)
        self.assertEqual([k for k, v in rules.items() if v[0] == 'FAIL'
                          and k.startswith('host.')], [], out)

    def test_vm_default_passes_and_says_why_skipped(self):
        root = make_root(self.tmp, VM)
        rc, rules, out, err = self.run_ct('--profile', DEFAULT, root=root)
        self.assertEqual(rc, 1, out + err)  # no results: measured rules fail
        self.assertEqual([k for k, v in rules.items() if k.startswith('host.')
                          and v[0] == 'FAIL'], [], out)
        self.assertEqual(rules['host.governor'][0], 'SKIP')
        self.assertIn('no cpufreq', rules['host.governor'][1])
        self.assertIn('a VM', rules['host.governor'][1])
        self.assertEqual(rules['host.pmu'][0], 'SKIP')
        self.assertIn('no PMU', rules['host.pmu'][1])
        self.assertEqual(rules['host.numa_slit'][0], 'SKIP')
        self.assertIn('1 NUMA node', rules['host.numa_slit'][1])
        self.assertEqual(rules['host.cpu_quota'][0], 'PASS')
        self.assertIn('no quota', rules['host.cpu_quota'][1])
        self.assertIn('no results', out)

    def test_vm_fails_strict(self):
        root = make_root(self.tmp, VM)
        rc, rules, out, _ = self.run_ct('--profile', STRICT, root=root)
        self.assertEqual(rc, 1)
        for r in ('host.governor', 'host.pmu', 'host.numa_nodes', 'host.isolation',
                  'host.affinity', 'host.gomaxprocs', 'host.perf_event_paranoid'):
            self.assertEqual(rules[r][0], 'FAIL', r + '\n' + out)

    def test_each_host_rule_fails_on_mistuned_host(self):
        bad = dict(METAL)
        for c in range(8):
            bad['sys/devices/system/cpu/cpu%d/cpufreq/scaling_governor' % c] = 'userspace\n'
        bad.update({
            'sys/devices/system/cpu/cpufreq/boost': '1\n',
            'sys/devices/system/cpu/smt/active': '1\n',
            'sys/devices/system/cpu/smt/control': 'on\n',
            'sys/kernel/mm/transparent_hugepage/enabled': '[always] madvise never\n',
            'sys/kernel/mm/transparent_hugepage/defrag': '[always] defer madvise never\n',
            'proc/sys/kernel/numa_balancing': '1\n',
            'proc/sys/kernel/perf_event_paranoid': '3\n',
            'sys/devices/system/node/node0/distance': '10 40\n',
            'sys/devices/system/node/node1/distance': '40 10\n',
            'sys/fs/cgroup/ci.slice/cpu.max': '150000 100000\n',  # 1.5 CPUs, parent
        })
        root = make_root(self.tmp, bad, drop=('sys/bus/event_source/devices/cpu/type',))
        # affinity mixes isolated 4-7 with 2-3; not all online
        rc, rules, out, _ = self.run_ct('--profile', STRICT, root=root, affinity='2-5')
        self.assertEqual(rc, 1)
        for r in ('governor', 'boost', 'smt', 'thp_enabled', 'thp_defrag', 'numa_balancing',
                  'perf_event_paranoid', 'pmu', 'numa_slit', 'isolation', 'cpu_quota'):
            self.assertEqual(rules['host.' + r][0], 'FAIL', r + '\n' + out)
        self.assertIn('1.50 CPUs', rules['host.cpu_quota'][1])
        self.assertIn('GOMAXPROCS 4', rules['host.cpu_quota'][1])

    def test_isolation_mixed_fails_default(self):
        root = make_root(self.tmp, METAL)
        rc, rules, out, _ = self.run_ct('--profile', DEFAULT, root=root, affinity='3-4')
        self.assertEqual(rules['host.isolation'][0], 'FAIL', out)
        rc, rules, out, _ = self.run_ct('--profile', DEFAULT, root=root, affinity='0-3')
        self.assertEqual(rules['host.isolation'][0], 'PASS', out)

    def test_cgroup_v1_quota_and_gomaxprocs_env(self):
        files = dict(VM)
        files['sys/fs/cgroup/cpu/job/cpu.cfs_quota_us'] = '50000\n'
        files['sys/fs/cgroup/cpu/job/cpu.cfs_period_us'] = '100000\n'
        files['proc/self/cgroup'] = '1:cpu:/job\n0::/\n'
        root = make_root(self.tmp, files)
        rc, rules, out, _ = self.run_ct('--profile', DEFAULT, root=root)
        self.assertEqual(rules['host.cpu_quota'][0], 'FAIL', out)
        self.assertIn('0.50 CPUs', rules['host.cpu_quota'][1])
        self.assertEqual(rc, 1)
        # MN_GOMAXPROCS overrides the affinity count, as the runtime does
        p = self.profile('[host.gomaxprocs]\nmin = 2\n[host.cpu_quota]\nmin_cpus_per_proc = 0.5\n')
        rc, rules, out, _ = self.run_ct('--profile', p, '--env-gomaxprocs', '1', root=root)
        self.assertEqual(rules['host.gomaxprocs'][0], 'FAIL', out)
        self.assertIn('MN_GOMAXPROCS=1', rules['host.gomaxprocs'][1])
        self.assertEqual(rules['host.cpu_quota'][0], 'PASS', out)

    def test_paranoid_root_exempt(self):
        files = dict(VM, **{'proc/sys/kernel/perf_event_paranoid': '3\n'})
        root = make_root(self.tmp, files)
        p = self.profile('[host.perf_event_paranoid]\nmax = 2\nroot_exempt = true\n')
        _, rules, out, _ = self.run_ct('--profile', p, root=root, uid=0)
        self.assertEqual(rules['host.perf_event_paranoid'][0], 'PASS', out)
        _, rules, out, _ = self.run_ct('--profile', p, root=root, uid=1000)
        self.assertEqual(rules['host.perf_event_paranoid'][0], 'FAIL', out)

    def test_disabled_and_unlisted_rules_not_run(self):
        root = make_root(self.tmp, VM)
        p = self.profile('[host.smt]\nexpect = "on"\nenabled = false\n[host.numa_nodes]\nmin = 1\n')
        rc, rules, out, _ = self.run_ct('--profile', p, root=root)
        self.assertEqual(sorted(rules), ['host.numa_nodes'], out)
        self.assertEqual(rc, 0)


# ==== measured rules ======================================================================

class TestMeasured(Base):
    NAMES = ('T1.switch: pthread futex switch / G yield switch',
             'T3.latency: padded / packed runq op', 'T4: pinned / unpinned map-touch-unmap (pin/shoot)',
             'N3.3.penalty: remote / local chase', 'N3.3.foreign: numa_foreign share, bound')

    def measured(self, results, profile=DEFAULT):
        root = make_root(self.tmp, VM)
        rc, rules, out, err = self.run_ct('--profile', profile, '--results',
                                          os.path.join(FIX, results), root=root)
        return rc, {k: v for k, v in rules.items()
                    if not k.startswith('host.') and k != 'results'}, out + err

    def test_ratio_and_value_rules_pass(self):
        rc, rules, out = self.measured('results_pass.json')
        self.assertEqual(rc, 0, out)
        self.assertEqual(sorted(rules), sorted(self.NAMES), out)
        self.assertTrue(all(v[0] == 'PASS' for v in rules.values()), out)
        self.assertIn('value 50 (2000 / 40)', rules[self.NAMES[0]][1])
        self.assertIn('value 0.01 foreign_share', rules[self.NAMES[4]][1])
        # the sweep is checked row by row; the tightest pair is shown
        self.assertIn('stealers:0', rules[self.NAMES[1]][1])
        self.assertIn('worst of 2 rows', rules[self.NAMES[1]][1])
        # T4 is gated on the rows its claims are judged on (pin/shoot), not pin/touch
        self.assertIn('pin/shoot/unmap:1/bind:1 / pin/shoot/unmap:1/bind:0 ns_per_op',
                      rules[self.NAMES[2]][1])
        self.assertIn('value 0.9 (9 / 10)', rules[self.NAMES[2]][1])

    def test_ratio_and_value_rules_fail(self):
        rc, rules, out = self.measured('results_fail.json')
        self.assertEqual(rc, 1, out)
        self.assertTrue(all(v[0] == 'FAIL' for v in rules.values()), out)
        self.assertIn('value 5 (2000 / 400)', rules[self.NAMES[0]][1])
        self.assertIn('stealers:1', rules[self.NAMES[1]][1])  # the failing pair
        self.assertIn('value 3 (300 / 100)', rules[self.NAMES[3]][1])

    def test_skipped_rows_and_one_node_skip_with_reason(self):
        rc, rules, out = self.measured('results_vm.json')
        self.assertEqual(rc, 0, out)
        self.assertEqual(rules[self.NAMES[0]][0], 'SKIP')
        self.assertIn('n/a: runtime not built', rules[self.NAMES[0]][1])
        self.assertEqual(rules[self.NAMES[3]][0], 'SKIP')
        self.assertIn('n/a: 1 NUMA node', rules[self.NAMES[3]][1])
        self.assertEqual(rules[self.NAMES[1]][0], 'PASS')

    def test_interval_straddling_the_bound_is_inconclusive(self):
        with open(os.path.join(FIX, 'results_pass.json')) as f:
            doc = json.load(f)
        spread = {'pin/shoot/unmap:1/bind:1': [8, 10, 12, 14, 16],   # median ratio 1.2,
                  'pin/shoot/unmap:1/bind:0': [8, 9, 10, 11, 12]}    # CI across 1.25
        for r in doc['benchmarks']:
            vals = spread.get(r['run_name'].removesuffix('/real_time'))
            if vals and r['run_type'] == 'iteration':
                r['ns_per_op'] = float(vals[r['repetition_index']])
        path = os.path.join(self.tmp, 'straddle.json')
        with open(path, 'w') as f:
            json.dump(doc, f)
        root = make_root(self.tmp, VM)
        rc, rules, out, err = self.run_ct('--profile', DEFAULT, '--results', path, root=root)
        st, line = rules[self.NAMES[2]]
        self.assertEqual((rc, st), (0, 'SKIP'), out + err)
        self.assertIn('value 1.2 (12 / 10) [95% CI ', line)
        self.assertIn('inconclusive: 95% CI of the ratio', line)
        self.assertIn('straddles the band edge 1.25', line)
        with open(DEFAULT) as f:
            text = f.read()
        p = self.profile(text.replace('claim = "T4.flush"\n',
                                     'claim = "T4.flush"\nif_inconclusive = "fail"\n'))
        rc, rules, out, err = self.run_ct('--profile', p, '--results', path, root=root)
        self.assertEqual((rc, rules[self.NAMES[2]][0]), (1, 'FAIL'), out + err)
        self.assertIn('if_inconclusive = "fail"', rules[self.NAMES[2]][1])

    def test_missing_row_fails_missing_counter_skips(self):
        p = self.profile(
            '[[measure]]\nname = "a"\nkind = "value"\nrow = "nosuch/row"\ncounter = "x"\nmax = 1\n'
            '[[measure]]\nname = "b"\nkind = "value"\nrow = "numa/bind/local:1"\n'
            'counter = "nosuch_counter"\nmax = 1\n'
            '[[measure]]\nname = "c"\nkind = "value"\nrow = "numa/bind/local:1"\n'
            'claim = "T1.*"\ncounter = "foreign_share"\nmax = 1\n'
            '[[measure]]\nname = "d"\nkind = "value"\nrow = "switch/g_yield/procs:1"\n'
            'counter = "real_time"\nmin = 39\nmax = 41\n')
        rc, rules, out = self.measured('results_pass.json', p)
        self.assertEqual(rc, 1, out)  # a: a pattern that matches nothing is a broken gate
        self.assertEqual(rules['a'][0], 'FAIL')
        self.assertIn('no row in %s matches nosuch/row' % os.path.join(FIX, 'results_pass.json'),
                      rules['a'][1])
        self.assertEqual(rules['b'][0], 'SKIP')
        self.assertIn('no counter nosuch_counter', rules['b'][1])
        self.assertEqual(rules['c'][0], 'SKIP')  # label has no T1 claim
        self.assertEqual(rules['d'][0], 'PASS', out)  # real_time in ns, /real_time stripped

    def test_typo_in_row_or_denominator_fails(self):
        p = self.profile(
            '[[measure]]\nname = "typo"\nkind = "ratio"\nnumerator = "runq/op/pad:64/stealrs:*"\n'
            'denominator = "runq/op/pad:0/stealrs:{stealrs}"\ncounter = "ns_per_op"\nmax = 2\n'
            '[[measure]]\nname = "den"\nkind = "ratio"\nnumerator = "runq/op/pad:64/stealers:*"\n'
            'denominator = "runq/op/pad:00/stealers:{stealers}"\ncounter = "ns_per_op"\nmax = 2\n'
            '[[measure]]\nname = "skipped row"\nkind = "value"\nrow = "switch/g_yield/procs:1"\n'
            'counter = "ns_per_switch"\nmax = 1000\n'
            '[[measure]]\nname = "host"\nkind = "value"\nrow = "nosuch/*"\nneeds_nodes = 2\n'
            'counter = "x"\nmax = 1\n')
        rc, rules, out = self.measured('results_vm.json', p)
        self.assertEqual(rc, 1, out)
        self.assertEqual(rules['typo'][0], 'FAIL', out)
        self.assertIn('no row in %s matches runq/op/pad:64/stealrs:*'
                      % os.path.join(FIX, 'results_vm.json'), rules['typo'][1])
        self.assertEqual(rules['den'][0], 'FAIL', out)
        self.assertIn('matches runq/op/pad:00/stealers:', rules['den'][1])
        # a row that exists but was skipped by the bench stays SKIP with its reason
        self.assertEqual(rules['skipped row'][0], 'SKIP', out)
        self.assertIn('n/a: runtime not built', rules['skipped row'][1])
        # what the host cannot satisfy is skipped before the pattern is looked at
        self.assertEqual(rules['host'][0], 'SKIP', out)
        self.assertIn('n/a: 1 NUMA node', rules['host'][1])

    def test_empty_profile_is_an_error(self):
        for text in ('', '[profile]\nname = "empty"\n[bench]\npreset = "quick"\n'):
            rc, rules, out, err = self.run_ct('--profile', self.profile(text))
            self.assertEqual(rc, 2, out + err)
            self.assertIn('profile defines no rules', err)
            self.assertEqual(len(err.strip().splitlines()), 1, err)
        rc, rules, out, err = self.run_ct('--profile', self.profile('[baseline]\ntolerance = 0.1\n'))
        self.assertEqual(rc, 2, out + err)
        self.assertIn('profile defines no rules', err)

    def test_no_results_fails_measured_and_says_why(self):
        root = make_root(self.tmp, VM)
        rc, rules, out, err = self.run_ct('--profile', DEFAULT, root=root)
        self.assertEqual(rc, 1, out + err)
        head = git_head()
        self.assertEqual(rules['results'][0], 'FAIL', out)
        self.assertIn('no results for commit %s on host' % head[:12], rules['results'][1])
        self.assertIn('make bench', rules['results'][1])
        for n in self.NAMES[:3]:
            self.assertEqual(rules[n][0], 'FAIL', out)
            self.assertIn('no results for commit', rules[n][1])
        for n in self.NAMES[3:]:  # what this host cannot measure stays n/a
            self.assertEqual(rules[n][0], 'SKIP', out)
        # a profile with host rules only needs no results
        p = self.profile('[host.numa_nodes]\nmin = 1\n')
        rc, rules, out, err = self.run_ct('--profile', p, root=root)
        self.assertEqual((rc, sorted(rules)), (0, ['host.numa_nodes']), out + err)

    def results_dir(self, files):
        """results_dir - a results folder with fixture copies: {name: (fixture, context
        changes)}; a context value None deletes the key."""
        d = tempfile.mkdtemp(dir=self.tmp)
        for name, (fix, ctx) in files.items():
            with open(os.path.join(FIX, fix)) as f:
                doc = json.load(f)
            for k, v in ctx.items():
                if v is None:
                    doc['context'].pop(k, None)
                else:
                    doc['context'][k] = v
            with open(os.path.join(d, name), 'w') as f:
                json.dump(doc, f)
        return d

    def test_newest_results_of_this_commit_are_used(self):
        head, now = git_head(), iso_ago(1)
        d = self.results_dir({
            '20240101T000000Z-%s.json' % head[:12]: ('results_pass.json',
                                                     {'git_sha': head, 'date': now}),
            '20240102T000000Z-0123456789ab.json': ('results_fail.json',
                                                   {'git_sha': '0123456789ab' * 3, 'date': now}),
            '20240103T000000Z-%s.go.json' % head[:12]: ('results_fail.json', {})})
        root = make_root(self.tmp, VM)
        rc, rules, out, _ = self.run_ct('--profile', DEFAULT, '--results-dir', d, root=root)
        self.assertIn('20240101T000000Z-%s.json' % head[:12], out)
        self.assertEqual(rules['results'][0], 'PASS', out)
        self.assertIn('commit %s' % head[:12], rules['results'][1])
        self.assertEqual(rc, 0, out)

    def test_results_of_another_commit_or_too_old_fail_unless_allowed(self):
        head = git_head()
        root = make_root(self.tmp, VM)
        cases = (
            ({'git_sha': 'f' * 40, 'date': iso_ago(1)}, 'from commit ffffffffffff, HEAD is'),
            ({'git_sha': None, 'date': iso_ago(1)}, 'no git_sha'),
            ({'git_sha': head + '-dirty', 'date': iso_ago(200)}, 'more than max_age_hours 168'),
        )
        for ctx, why in cases:
            d = self.results_dir({'20240101T000000Z-x.json': ('results_pass.json', ctx)})
            rc, rules, out, err = self.run_ct('--profile', DEFAULT, '--results-dir', d,
                                              root=root)
            self.assertEqual(rc, 1, out + err)
            self.assertEqual(rules['results'][0], 'FAIL', out)
            self.assertIn(why, rules['results'][1])
            self.assertIn('--allow-stale', rules['results'][1])
            self.assertIn('warning', err)
            # the measured rules are still evaluated, for information
            self.assertEqual(rules[self.NAMES[0]][0], 'PASS', out)
            rc, rules, out, err = self.run_ct('--profile', DEFAULT, '--results-dir', d,
                                              '--allow-stale', root=root)
            self.assertEqual(rc, 0, out + err)
            self.assertIn('allowed by --allow-stale', rules['results'][1])
        # the age limit comes from the command line, else the profile
        d = self.results_dir({'20240101T000000Z-x.json': ('results_pass.json',
                                                          {'git_sha': head, 'date': iso_ago(5)})})
        rc, rules, out, _ = self.run_ct('--profile', DEFAULT, '--results-dir', d,
                                        '--max-age-hours', '4', root=root)
        self.assertEqual((rc, rules['results'][0]), (1, 'FAIL'), out)
        with open(DEFAULT) as f:
            text = f.read()
        self.assertIn('max_age_hours = 168', text)
        p = self.profile(text.replace('max_age_hours = 168', 'max_age_hours = 4.5'))
        rc, rules, out, _ = self.run_ct('--profile', p, '--results-dir', d, root=root)
        self.assertEqual((rc, rules['results'][0]), (1, 'FAIL'), out)
        self.assertIn('more than max_age_hours 4.5', rules['results'][1])
        rc, rules, out, _ = self.run_ct('--profile', DEFAULT, '--results-dir', d, root=root)
        self.assertEqual((rc, rules['results'][0]), (0, 'PASS'), out)

    def test_gomaxprocs_from_the_results_context(self):
        hid, key = check_tuning.host_id()
        ctx = {'git_sha': git_head(), 'date': iso_ago(1), key: hid, 'host': hid,
               'gomaxprocs_default': '3 (CPUs in the affinity mask, mn_config.gomaxprocs = 0)'}
        d = self.results_dir({'20240101T000000Z-x.json': ('results_pass.json', ctx)})
        root = make_root(self.tmp, VM)
        rc, rules, out, _ = self.run_ct('--profile', DEFAULT, '--results-dir', d, root=root)
        self.assertIn('value 3', rules['host.gomaxprocs'][1])
        self.assertIn('reported by the runtime', rules['host.gomaxprocs'][1])
        self.assertIn('GOMAXPROCS 3', rules['host.cpu_quota'][1])
        # what-if: a value given on the command line is derived, not read
        rc, rules, out, _ = self.run_ct('--profile', DEFAULT, '--results-dir', d,
                                        '--env-gomaxprocs', '5', root=root)
        self.assertIn('value 5', rules['host.gomaxprocs'][1])
        self.assertIn('MN_GOMAXPROCS=5', rules['host.gomaxprocs'][1])

    def test_named_results_are_used_with_a_warning(self):
        root = make_root(self.tmp, VM)
        rc, rules, out, err = self.run_ct('--profile', DEFAULT, '--results',
                                          os.path.join(FIX, 'results_pass.json'), root=root)
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(rules['results'][0], 'SKIP', out)
        self.assertIn('named with --results', rules['results'][1])
        self.assertIn('warning', err)  # 2024 fixture, no git_sha

    def test_run_without_bench_binary_fails(self):
        root = make_root(self.tmp, VM)
        cmd = [PY, SCRIPT, '--profile', DEFAULT, '--markdown', '', '--sysroot', root,
               '--results-dir', self.empty_results, '--run', '--affinity', '0-1',
               '--bench', os.path.join(self.tmp, 'no-such-bench')]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r'FAIL  results .*no bench binary')


class TestRunBenches(Base):
    def test_runs_fake_bench_per_claim_glob(self):
        log = os.path.join(self.tmp, 'bench.log')
        bench = os.path.join(self.tmp, 'bench')
        with open(bench, 'w') as f:
            f.write('#!/bin/sh\necho "$@" >> %s\n'
                    # no bench for the glob: what benches/harness/gbench.cc does
                    'case "$*" in *--claims=T4.flush) echo "bench: no bench matches --claims=T4.flush" >&2;'
                    ' exit 2;; esac\n'
                    'for a; do case "$a" in\n'
                    '  --benchmark_out=*) cp %s "${a#--benchmark_out=}";;\nesac; done\n'
                    % (log, os.path.join(FIX, 'results_pass.json')))
        os.chmod(bench, 0o755)
        root = make_root(self.tmp, VM)
        cmd = [PY, SCRIPT, '--profile', DEFAULT, '--markdown', '', '--sysroot', root,
               '--results-dir', self.empty_results, '--bench', bench, '--affinity', '0-1', '--run',
               '--bench-out', os.path.join(self.tmp, 'runs')]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        with open(log) as f:
            calls = f.read().splitlines()
        # one run per claim glob; the NUMA rules are not run on a one-node host
        self.assertEqual(sorted(c.split('--claims=')[1] for c in calls),
                         ['T1.switch.*', 'T3.latency', 'T4.flush'])
        self.assertTrue(all('--preset=quick' in c for c in calls))
        self.assertIn('no bench for claim T4.flush', p.stderr)
        self.assertRegex(p.stdout, r'PASS  T1.switch: .*value 50 ')
        # the fake output's context says 2 nodes: rules follow the results, not this host
        self.assertRegex(p.stdout, r'PASS  N3.3.penalty: ')
        self.assertIn('note: results come from host fixture', p.stdout)
        self.assertEqual(len(os.listdir(os.path.join(self.tmp, 'runs'))), 1)


# ==== baseline ============================================================================

class TestBaseline(Base):
    RULE = 'baseline:sched/spawn/pad:0:ns_per_op'

    def cmp(self, base, cur, extra=''):
        p = self.profile('[baseline]\ntolerance = 0.10\nmin_repetitions = 9\n' + extra)
        root = make_root(self.tmp, VM)
        rc, rules, out, err = self.run_ct('--profile', p, '--results', os.path.join(FIX, cur),
                                          '--baseline', os.path.join(FIX, base), root=root)
        return rc, rules[self.RULE], out + err

    def test_regression_detected(self):
        rc, (st, line), out = self.cmp('baseline.json', 'current_regressed.json')
        self.assertEqual((rc, st), (1, 'FAIL'), out)
        self.assertIn('+30.0% (100 -> 130)', line)
        self.assertRegex(line, r'95% CI \+2\d\.\d%\.\.\+3\d\.\d%, p 0.0004')
        self.assertIn('significant, beyond tolerance', line)

    def test_significant_but_within_tolerance_passes(self):
        rc, (st, line), out = self.cmp('baseline.json', 'current_slower_within.json')
        self.assertEqual((rc, st), (0, 'PASS'), out)
        self.assertIn('+5.0%', line)
        self.assertIn('interval not wholly beyond tolerance', line)

    def test_noisy_not_significant_not_flagged(self):
        rc, (st, line), out = self.cmp('baseline_noisy.json', 'current_noisy.json')
        self.assertEqual((rc, st), (0, 'PASS'), out)
        self.assertIn('+20.0% (100 -> 120)', line)  # beyond the 10% tolerance, not significant
        self.assertIn('not significant', line)

    def test_too_few_repetitions_skipped(self):
        rc, (st, line), out = self.cmp('baseline.json', 'current_fewreps.json')
        self.assertEqual((rc, st), (0, 'SKIP'), out)
        self.assertIn('too few repetitions: baseline 9, current 5, need >= 9 each', line)

    def test_busy_host_skipped_not_a_regression(self):
        rc, (st, line), out = self.cmp('baseline.json', 'current_busy.json')
        self.assertEqual((rc, st), (0, 'SKIP'), out)
        self.assertIn('host busy (current: load_avg 3.00 per CPU > 1.5)', line)
        # a looser profile judges it, and it is the regression it looks like
        rc, (st, line), out = self.cmp('baseline.json', 'current_busy.json',
                                       'max_load_per_cpu = 4.0\n')
        self.assertEqual((rc, st), (1, 'FAIL'), out)

    def test_improvement_passes(self):
        rc, (st, line), out = self.cmp('current_regressed.json', 'baseline.json')
        self.assertEqual((rc, st), (0, 'PASS'), out)
        self.assertIn('significant improvement', line)
        # to zero: an improvement, not a FAIL with a nan% bound; from zero: no ratio
        rc, (st, line), out = self.cmp('baseline_to_zero.json', 'current_zero.json')
        self.assertEqual((rc, st), (0, 'PASS'), out)
        self.assertNotIn('nan', line)
        rc, (st, line), out = self.cmp('current_zero.json', 'baseline_to_zero.json')
        self.assertEqual((rc, st), (0, 'SKIP'), out)
        self.assertIn('baseline median of ns_per_op is 0', line)

    def test_busy_from_the_runs_own_verdict(self):
        def variant(name, **ctx):
            with open(os.path.join(FIX, 'current_regressed.json')) as f:
                doc = json.load(f)
            doc['context'].update(ctx)
            path = os.path.join(self.tmp, name)
            with open(path, 'w') as f:
                json.dump(doc, f)
            return path
        p = self.profile('[baseline]\ntolerance = 0.10\n')
        root = make_root(self.tmp, VM)
        busy = variant('busy.json', busy='yes: steal 3.1% > 2% (another tenant competed)',
                       steal='3.1% of CPU time during the run (/proc/stat steal)')
        quiet = variant('quiet.json', busy='no', load_avg=[9.0, 9.0, 9.0])
        rc, rules, out, err = self.run_ct('--profile', p, '--results', busy, '--baseline',
                                          os.path.join(FIX, 'baseline.json'), root=root)
        self.assertEqual((rc, rules[self.RULE][0]), (0, 'SKIP'), out + err)
        self.assertIn('host busy (current: steal 3.1% > 2%', rules[self.RULE][1])
        # the run's own "no" wins over an end-of-run load average that counts our threads
        rc, rules, out, err = self.run_ct('--profile', p, '--results', quiet, '--baseline',
                                          os.path.join(FIX, 'baseline.json'), root=root)
        self.assertEqual((rc, rules[self.RULE][0]), (1, 'FAIL'), out + err)

    def test_old_k_key_says_what_replaced_it(self):
        p = self.profile('[baseline]\ntolerance = 0.10\nk = 2.0\n')
        rc, _, out, err = self.run_ct('--profile', p, '--baseline',
                                      os.path.join(FIX, 'baseline.json'))
        self.assertEqual(rc, 2, out + err)
        self.assertIn('baseline.k: no longer used', err)


# ==== input errors ========================================================================

class TestInputErrors(Base):
    def bad(self, text, *want):
        p = self.profile(text)
        rc, _, out, err = self.run_ct('--profile', p)
        self.assertEqual(rc, 2, out + err)
        lines = err.strip().splitlines()
        self.assertEqual(len(lines), 1, err)
        for w in (p,) + want:
            self.assertIn(w, lines[0])
        return lines[0]

    def test_malformed_toml(self):
        self.bad('[host.smt]\nexpect = "on\n', ':2:', 'malformed TOML')

    def test_unknown_key(self):
        self.bad('[host.smt]\n# comment\nexpec = "on"\n', ':3:', 'host.smt.expec', 'unknown key')

    def test_unknown_host_rule_and_top_key(self):
        self.bad('[host.nosuch]\nx = 1\n', ':1:', 'host.nosuch')
        self.bad('[profile]\nname = "x"\n\n[thresholds]\na = 1\n', ':4:', 'thresholds')

    def test_unknown_key_in_measure_array(self):
        self.bad('[[measure]]\nname = "a"\nkind = "value"\nrow = "r"\ncounter = "c"\nmax = 1\n'
                 '[[measure]]\nname = "b"\nkind = "value"\nrow = "r"\ncounter = "c"\nmaxx = 1\n',
                 ':12:', 'measure[1].maxx')

    def test_wrong_type(self):
        self.bad('[host.affinity]\nmin_cpus = "two"\n', ':2:', 'host.affinity.min_cpus',
                 'expected an integer')
        self.bad('[host.smt]\nexpect = "maybe"\n', ':2:', 'host.smt.expect', 'on/off/any')
        self.bad('[host.numa_slit]\nenabled = 1\n', ':2:', 'enabled', 'true or false')

    def test_measure_missing_bound(self):
        self.bad('[[measure]]\nname = "a"\nkind = "ratio"\nnumerator = "r"\ndenominator = "s"\n'
                 'counter = "c"\n', ':1:', 'needs a bound')

    def test_placeholder_typo_and_bad_bounds(self):
        ratio = ('[[measure]]\nname = "r"\nkind = "ratio"\nnumerator = "runq/op/pad:64/stealers:*"\n'
                 'denominator = "runq/op/pad:0/stealers:%s"\ncounter = "ns_per_op"\n%s\n')
        line = self.bad(ratio % ('{stealer}', 'max = 2'), ':5:', 'measure[0].denominator',
                        '{stealer}', 'names no argument of numerator', 'stealers')
        self.bad(ratio % ('{stealers', 'max = 2'), ':5:', 'bad {placeholder}')
        self.bad(ratio.replace('pad:64/', 'pad:{pad}/') % ('1', 'max = 2'), ':4:',
                 'measure[0].numerator', 'only allowed in denominator')
        self.bad(ratio % ('{stealers}', 'max = nan'), ':7:', 'measure[0].max', 'finite')
        self.bad(ratio % ('{stealers}', 'min = -inf'), ':7:', 'measure[0].min', 'finite')
        self.bad(ratio % ('{stealers}', 'min = -0.5'), ':7:', 'measure[0].min', '>= 0')
        self.bad(ratio % ('{stealers}', 'min = 3\nmax = 2'), ':7:', 'measure[0].min',
                 'above max')
        self.bad('[baseline]\ntolerance = -0.1\n', ':2:', 'baseline.tolerance', '>= 0')
        self.bad('[baseline]\nmin_repetitions = 2\n', ':2:', 'baseline.min_repetitions')
        self.bad('[host.numa_slit]\nmax_remote_ratio = nan\n', ':2:', 'finite')
        self.bad('[host.numa_nodes]\nmin = 1\n[results]\nmax_age_hours = 0\n', ':4:',
                 'results.max_age_hours')
        self.assertNotIn('Traceback', line)

    def test_usage_errors_exit_2_one_line(self):
        for args in (('--no-such-flag',), ('--max-age-hours', 'soon'),
                     ('--max-age-hours', '-1', '--results', os.path.join(FIX, 'results_pass.json')),
                     ('--run', '--no-run')):
            rc, _, out, err = self.run_ct('--profile', DEFAULT, *args)
            self.assertEqual(rc, 2, (args, out, err))
            self.assertEqual(len(err.strip().splitlines()), 1, err)
            self.assertTrue(err.startswith('check_tuning.py: '), err)

    def test_missing_profile_and_results(self):
        rc, _, out, err = self.run_ct('--profile', os.path.join(self.tmp, 'nope.toml'))
        self.assertEqual(rc, 2)
        self.assertIn('nope.toml', err)
        rc, _, out, err = self.run_ct('--profile', DEFAULT, '--results',
                                      os.path.join(self.tmp, 'nope.json'))
        self.assertEqual(rc, 2)
        self.assertIn('nope.json', err)
        bad = os.path.join(self.tmp, 'bad.json')
        with open(bad, 'w') as f:
            f.write('{\n "context": {},\n "benchmarks": [\n')
        rc, _, out, err = self.run_ct('--profile', DEFAULT, '--results', bad)
        self.assertEqual(rc, 2)
        self.assertIn('bad.json:', err)

    def test_shipped_profiles_load(self):
        sys.path.insert(0, os.path.dirname(SCRIPT))
        try:
            import check_tuning
        finally:
            sys.path.pop(0)
        for p in (DEFAULT, STRICT):
            prof = check_tuning.load_profile(p)
            self.assertEqual(set(prof['host']), set(check_tuning.HOST_SCHEMA))
            self.assertGreaterEqual(len(prof['measure']), 5)

    def test_help(self):
        p = subprocess.run([PY, SCRIPT, '--help'], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0)
        self.assertIn('--baseline', p.stdout)
        self.assertIn('--junit', p.stdout)


# ==== outputs =============================================================================

class TestOutputs(Base):
    def test_junit_and_markdown(self):
        root = make_root(self.tmp, VM)
        j = os.path.join(self.tmp, 'out', 'junit.xml')
        rc, rules, out, _ = self.run_ct('--profile', DEFAULT, '--results',
                                        os.path.join(FIX, 'results_fail.json'),
                                        root=root, junit=j)
        self.assertEqual(rc, 1)
        tree = ET.parse(j)
        cases = tree.getroot().findall('./testsuite/testcase')
        self.assertEqual(len(cases), len(rules))
        self.assertEqual(sorted(c.get('name') for c in cases), sorted(rules))
        by = {c.get('name'): c for c in cases}
        for name, (st, _) in rules.items():
            c = by[name]
            self.assertEqual(c.find('failure') is not None, st == 'FAIL', name)
            self.assertEqual(c.find('skipped') is not None, st == 'SKIP', name)
            if st == 'SKIP':
                self.assertTrue(c.find('skipped').get('message'))
        suite = tree.getroot().find('testsuite')
        self.assertEqual(int(suite.get('tests')), len(rules))
        self.assertEqual(int(suite.get('failures')),
                         sum(v[0] == 'FAIL' for v in rules.values()))
        with open(os.path.join(self.tmp, 'report.md')) as f:
            md = f.read()
        self.assertIn('| host.governor | SKIP |', md)
        self.assertEqual(md.count('| FAIL |'), sum(v[0] == 'FAIL' for v in rules.values()))
        self.assertEqual([n for n in os.listdir(os.path.join(self.tmp, 'out'))], ['junit.xml'])

    def test_junit_carries_time_and_host_and_input_errors(self):
        root = make_root(self.tmp, VM)
        j = os.path.join(self.tmp, 'j.xml')
        rc, rules, out, _ = self.run_ct('--profile', DEFAULT, '--results',
                                        os.path.join(FIX, 'results_pass.json'),
                                        root=root, junit=j)
        self.assertEqual(rc, 0, out)
        suite = ET.parse(j).getroot().find('testsuite')
        self.assertRegex(suite.get('timestamp'), r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$')
        self.assertGreater(float(suite.get('time')), 0.0)
        self.assertEqual(suite.get('hostname'), socket.gethostname())
        self.assertEqual(suite.get('errors'), '0')
        # an input error still writes the file: one errored testcase saying why
        p = self.profile('[host.smt]\nexpect = "maybe"\n')
        for args in (('--profile', p), ('--profile', DEFAULT, '--bogus')):
            rc, _, out, err = self.run_ct(*args, junit=j)
            self.assertEqual(rc, 2, out + err)
            suite = ET.parse(j).getroot().find('testsuite')
            self.assertEqual((suite.get('tests'), suite.get('errors')), ('1', '1'))
            self.assertTrue(suite.get('timestamp') and suite.get('hostname'))
            e = suite.find('testcase/error')
            self.assertEqual(e.get('message'), err.strip())

    def test_bounds_and_tolerance_printed_as_written(self):
        root = make_root(self.tmp, VM)
        p = self.profile('[[measure]]\nname = "v"\nkind = "value"\nrow = "numa/bind/local:1"\n'
                         'counter = "foreign_share"\nmin = 0.0\nmax = 5e-2  # 5%\n'
                         '[baseline]\ntolerance = 0.10\nmin_repetitions = 9\n')
        rc, rules, out, _ = self.run_ct('--profile', p, '--results',
                                        os.path.join(FIX, 'current_regressed.json'),
                                        '--baseline', os.path.join(FIX, 'baseline.json'),
                                        root=root)
        self.assertIn('bound >= 0.0 and <= 5e-2', rules['v'][1])
        base = [v for k, v in rules.items() if k.startswith('baseline:')]
        self.assertTrue(base, out)
        for st, line in base:
            self.assertRegex(line, r'tolerance 0\.10\b', line)
        p = self.profile('[host.numa_slit]\nmax_remote_ratio = 2.50\n'
                         '[host.cpu_quota]\nmin_cpus_per_proc = 1.0\n')
        rc, rules, out, _ = self.run_ct('--profile', p, root=make_root(self.tmp, METAL),
                                        affinity='0-3')
        self.assertIn('bound <= 2.50', rules['host.numa_slit'][1])
        self.assertIn('bound >= 1.0 x GOMAXPROCS 4', rules['host.cpu_quota'][1])

    def test_reports_mode_follows_umask(self):
        """Reports are created as open() would (0666 & ~umask), not with mkstemp's 0600."""
        root = make_root(self.tmp, VM)
        for mask, want in ((0o022, 0o644), (0o077, 0o600), (0o002, 0o664)):
            md = os.path.join(self.tmp, 'm%o.md' % mask)
            j = os.path.join(self.tmp, 'j%o.xml' % mask)
            p = subprocess.run(['/bin/sh', '-c', 'umask %03o && exec "$@"' % mask, 'sh', PY,
                                SCRIPT, '--profile', DEFAULT, '--sysroot', root, '--no-run',
                                '--results', os.path.join(FIX, 'results_pass.json'),
                                '--affinity', '0-1', '--markdown', md, '--junit', j],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            for f in (md, j):
                self.assertEqual(os.stat(f).st_mode & 0o777, want, (f, oct(mask)))


# ==== through make ========================================================================

class TestThroughMake(Base):
    """make check-tuning ends with the script's own status (0, 1, 2), not make's 2."""

    def make(self, *ct_args, goals=('check-tuning',)):
        root = make_root(self.tmp, VM)
        env = {k: v for k, v in os.environ.items()
               if k not in ('MAKEFLAGS', 'MFLAGS', 'MAKELEVEL', 'MAKEOVERRIDES')}
        args = ['--sysroot', root, '--affinity', '0-1', '--uid', '1000', '--env-gomaxprocs=',
                '--markdown=', '--results-dir', self.empty_results] + list(ct_args)
        p = subprocess.run(['make', '-C', TOP, '--no-print-directory'] + list(goals)
                           + ['CHECK_TUNING_ARGS=' + ' '.join(args)],
                           capture_output=True, text=True, timeout=120, env=env)
        return p.returncode, p.stdout, p.stderr

    def test_exit_codes_survive_make(self):
        rc, out, err = self.make('--results', os.path.join(FIX, 'results_pass.json'))
        self.assertEqual(rc, 0, out + err)
        self.assertIn('0 failed', out)  # the report reaches make's stdout
        rc, out, err = self.make('--results', os.path.join(FIX, 'results_fail.json'))
        self.assertEqual(rc, 1, out + err)
        self.assertRegex(out, r'FAIL  T1.switch')
        rc, out, err = self.make()  # no results of this commit: fails, says why
        self.assertEqual(rc, 1, out + err)
        self.assertIn('no results for commit', out)
        bad = self.profile('[[measure]]\nname = "r"\nkind = "ratio"\nnumerator = "a/n:*"\n'
                           'denominator = "b/n:{m}"\ncounter = "c"\nmax = 2\n')
        rc, out, err = self.make('--profile', bad)
        self.assertEqual(rc, 2, out + err)
        self.assertIn('{m}', err.splitlines()[0])
        rc, out, err = self.make('--bogus-flag')
        self.assertEqual(rc, 2, out + err)
        # with another goal beside it make can only say 2, and the script's status is printed
        rc, out, err = self.make('--results', os.path.join(FIX, 'results_fail.json'),
                                 goals=('deps', 'check-tuning'))
        self.assertEqual(rc, 2, out + err)
        self.assertIn('check_tuning.py exited 1', err)


if __name__ == '__main__':
    unittest.main()
