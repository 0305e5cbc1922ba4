#!/usr/bin/python3
"""test_compare.py - tests for scripts/compare.py on the invented runs in
fixtures_compare/ (make_fixtures.py says what each row is for).  No timing is asserted:
the fixtures' values are fixed data.
Run: /usr/bin/python3 -m unittest discover -s scripts/tests -p test_compare.py
"""
import contextlib
import csv
import io
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
SCRIPT = os.path.join(TOP, 'scripts', 'compare.py')
FIX = os.path.join(HERE, 'fixtures_compare')
A, B = os.path.join(FIX, 'a.json'), os.path.join(FIX, 'b.json')
PY = '/usr/bin/python3'
sys.path.insert(0, os.path.join(TOP, 'scripts'))
import compare  # noqa: E402


def table_rows(md):
    """table_rows - {row name: [cells]} of the Markdown row tables."""
    out = {}
    for line in md.splitlines():
        if line.startswith('| ') and '/' in line.split('|')[1]:
            cells = [c.strip() for c in line.strip().strip('|').split('|')]
            out[cells[0]] = cells
    return out


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='test-compare-')
        self.csv = os.path.join(self.tmp, 'out', 'c.csv')

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def run_cmp(self, *args, csv_path=None):
        """run_cmp - compare.main in this process (one scipy import for all tests)."""
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = compare.main(['--csv', csv_path if csv_path is not None else self.csv]
                              + list(args))
        return rc, out.getvalue(), err.getvalue()


class TestPair(Base):
    def test_rows_words_and_units(self):
        rc, out, err = self.run_cmp(A, B)
        self.assertEqual(rc, 0, out + err)
        rows = table_rows(out)
        # row: name, unit, A, B, ratio [CI], p, word
        spawn = rows['spawn/g/procs:1/reuse:1']
        self.assertEqual(spawn[1], 'ns_per_spawn')  # per spawn, not per batch of 1000
        self.assertTrue(spawn[2].startswith('60.') and '(n=9,' in spawn[2], spawn)
        self.assertEqual(spawn[6], 'slower')
        ratio, ci = spawn[4].split(' ', 1)
        lo, hi = (float(x) for x in ci.strip('[]').split('-'))
        self.assertTrue(1.2 < float(ratio) < 1.35 and lo <= float(ratio) <= hi and lo > 1, spawn)
        self.assertLess(float(spawn[5]), 0.05)
        self.assertEqual(rows['switch/g_yield/procs:1'][6], 'no significant change')
        self.assertEqual(rows['switch/g_yield/procs:1'][1], 'ns_per_switch')
        self.assertGreaterEqual(float(rows['switch/g_yield/procs:1'][5]), 0.05)
        self.assertEqual(rows['procs/sweep/procs:2'][1], 'ops_per_s')
        self.assertEqual(rows['procs/sweep/procs:2'][6], 'faster')  # a higher rate
        self.assertEqual(rows['stack/g_parked/n:10000'][1], 'bytes_per_g')
        self.assertEqual(rows['stack/g_parked/n:10000'][6],
                         'not comparable: n = 1 and 1 (need >= 3 a side)')
        self.assertEqual(rows['pin/walk/bind:1'][6], 'not comparable: B n/a: no PMU')
        self.assertEqual(rows['chan/throughput/cap:0/procs:1'][6], 'not comparable: only in A')
        # Go rows from the .go.json beside each run
        self.assertIn('## Go rows', out)
        self.assertEqual(rows['go/spawn/procs:1'][6], 'no significant change')
        self.assertIn('7 rows: 3 not comparable, 2 no significant change, 1 faster, 1 slower',
                      out)

    def test_host_state_diff(self):
        rc, out, _ = self.run_cmp(A, B)
        state = {}
        for line in out.split('## Host state')[1].split('##')[0].splitlines():
            if line.startswith('| ') and not line.startswith('| |'):
                cells = [c.strip() for c in line.strip().strip('|').split('|')]
                state[cells[0]] = cells[1:]
        self.assertEqual(state['THP'], ['always [madvise] never', 'always madvise [never]',
                                        'differs'])
        self.assertEqual(state['governor'][2], 'differs')
        self.assertEqual(state['load after'][2], 'differs')
        self.assertEqual(state['CPU'], ['AMD EPYC', 'AMD EPYC', ''])
        for k in ('kernel', 'compiler', 'flags', 'libbenchmark', 'PAPI', 'preset', 'commit'):
            self.assertIn(k, state)

    def test_csv(self):
        rc, out, _ = self.run_cmp(A, B)
        with open(self.csv) as f:
            rows = {(r['side'], r['row']): r for r in csv.DictReader(f)}
        r = rows[('C', 'spawn/g/procs:1/reuse:1')]
        self.assertEqual((r['counter'], r['better'], r['a_n'], r['b_n'], r['change']),
                         ('ns_per_spawn', 'lower', '9', '9', 'slower'))
        self.assertLess(float(r['ratio_ci_lo']), float(r['ratio']))
        self.assertLess(float(r['p']), 0.05)
        self.assertEqual(rows[('C', 'pin/walk/bind:1')]['reason'], 'B n/a: no PMU')
        self.assertEqual(rows[('Go', 'go/spawn/procs:1')]['change'], 'no significant change')
        self.assertEqual(len(rows), 7)

    def test_same_run_twice_no_change(self):
        rc, out, _ = self.run_cmp(A, A)
        self.assertEqual(rc, 0)
        words = {r[6] for r in table_rows(out).values()}
        self.assertEqual(words, {'no significant change', 'not comparable: n = 1 and 1 '
                                 '(need >= 3 a side)'}, out)

    def test_fail_on_regression(self):
        rc, out, err = self.run_cmp(A, B, '--fail-on-regression=10')
        self.assertEqual(rc, 1, err)
        self.assertIn('spawn/g/procs:1/reuse:1 ns_per_spawn +2', err)
        rc, out, err = self.run_cmp(A, B, '--fail-on-regression=40')
        self.assertEqual(rc, 0, err)
        # the other way round the spawn row is faster, the rate row slower by ~16% in time
        rc, out, err = self.run_cmp(B, A, '--fail-on-regression=10')
        self.assertEqual(rc, 1, err)
        self.assertIn('procs/sweep/procs:2 ops_per_s', err)

    def test_folders_and_host_ids(self):
        root = os.path.join(self.tmp, 'results')
        for host, src in (('hostA', 'a'), ('hostB', 'b')):
            os.makedirs(os.path.join(root, host))
            for ext in ('.json', '.go.json'):
                shutil.copy(os.path.join(FIX, src + ext),
                            os.path.join(root, host, '20261201T000000Z-x' + ext))
        shutil.copy(B, os.path.join(root, 'hostA', '20261130T000000Z-old.json'))  # older
        rc, out, err = self.run_cmp('--results-root', root, 'hostA', os.path.join(root, 'hostB'))
        self.assertEqual(rc, 0, err)
        self.assertIn('20261201T000000Z-x.json', out)
        self.assertIn('20261201T000000Z-x.go.json', out)
        self.assertEqual(table_rows(out)['spawn/g/procs:1/reuse:1'][6], 'slower')

    def test_rows_and_counters_options(self):
        rc, out, _ = self.run_cmp(A, B, '--rows', '^switch/', '--counters', 'ns_per_*')
        rows = [line for line in out.splitlines() if line.startswith('| switch/')]
        self.assertEqual(len(rows), 2, out)  # ns_per_roundtrip and ns_per_switch
        self.assertNotIn('spawn/g', out)


FLEET = os.path.join(FIX, 'fleet')
sys.path.insert(0, os.path.join(TOP, 'scripts'))
import tables  # noqa: E402
ENGINE = hasattr(tables, 'claim_verdicts')  # the verdict engine apart from rendering


@unittest.skipUnless(ENGINE, 'scripts/tables.py has no claim_verdicts() yet')
class TestFleet(Base):
    """Two hosts' committed fixture folders (fleet/make_fleet.py): hostB's G spawns are
    100x dearer, so T1.create.g is confirmed on hostA and refuted on hostB."""

    def verdicts(self, out):
        sec = out.split('## Verdicts')[1].split('##')[0] if '## Verdicts' in out else \
            out.split("## Claims' verdicts on A and B")[1]
        rows = {}
        for line in sec.splitlines():
            if line.startswith('| ') and not line.startswith('| claim'):
                cells = [c.strip() for c in line.strip().strip('|').split('|')]
                rows[cells[0]] = cells[1:]
        return rows

    def test_per_host_verdict_table(self):
        a, b = os.path.join(FLEET, 'hostA'), os.path.join(FLEET, 'hostB')
        rc, out, err = self.run_cmp('--fleet', a, b)
        self.assertEqual(rc, 0, err)
        self.assertIn('| claim | hostA | hostB | |', out)
        v = self.verdicts(out)
        self.assertEqual(v['T1.create.g'], ['confirmed', 'refuted', 'differs'])
        self.assertEqual(v['T3.l1hit'], ['n/a: no PMU', 'n/a: no PMU', ''])
        differs = [k for k, x in v.items() if x[-1] == 'differs']
        self.assertIn('T1.create.g', differs)
        self.assertLess(len(differs), 4, differs)  # only what reads the spawn/g rows
        self.assertIn('- hostA: ', out)
        self.assertRegex(out, r'\| kernel \| .* \| Linux 6.1.0-28 x86_64 \| differs \|')
        with open(self.csv) as f:
            rows = {r['claim']: r for r in csv.DictReader(f)}
        self.assertEqual((rows['T1.create.g']['hostA'], rows['T1.create.g']['hostB'],
                          rows['T1.create.g']['differs']), ('confirmed', 'refuted', 'yes'))
        # three arguments: the fleet view without --fleet; a column per argument
        rc, out3, err = self.run_cmp(a, b, a)
        self.assertEqual(rc, 0, err)
        self.assertIn('| claim | hostA (20261129T101524Z-0123abc.json) | hostB', out3)
        self.assertEqual(self.verdicts(out3)['T1.create.g'][:3],
                         ['confirmed', 'refuted', 'confirmed'])

    def test_pair_shows_both_hosts_verdicts(self):
        rc, out, err = self.run_cmp(os.path.join(FLEET, 'hostA'), os.path.join(FLEET, 'hostB'))
        self.assertEqual(rc, 0, err)
        self.assertEqual(table_rows(out)['spawn/g/procs:1/reuse:1'][6], 'slower')
        self.assertEqual(self.verdicts(out)['T1.create.g'], ['confirmed', 'refuted', 'differs'])


class TestVerdictCounts(unittest.TestCase):
    """The per-host counts and 'differs' go by the verdict's word (stats.verdict_word), so a
    verdict with a note after its word counts as that word."""

    def test_words_with_notes_are_counted(self):
        per_host = [{'X.a': 'confirmed (n=1: no interval)', 'X.b': 'inconclusive: p = 0.3',
                     'X.c': 'n/a: no PMU', 'X.d': 'refuted (n=1: no interval)'},
                    {'X.a': 'confirmed', 'X.b': 'refuted', 'X.c': 'not a measurement',
                     'X.d': 'refuted'}]
        saved = compare.claim_verdicts
        compare.claim_verdicts = lambda sides, claims: (['X.a', 'X.b', 'X.c', 'X.d'], per_host)
        try:
            lines, table = compare.verdict_section(None, None, ['A', 'B'], 'Verdicts')
        finally:
            compare.claim_verdicts = saved
        self.assertIn('- A: 1 confirmed, 1 refuted, 1 inconclusive, 1 n/a, 0 not a measurement',
                      lines)
        self.assertIn('- B: 1 confirmed, 2 refuted, 0 inconclusive, 0 n/a, 1 not a measurement',
                      lines)
        differs = {r[0]: r[-1] for r in csv.reader(io.StringIO(table))}
        self.assertEqual(differs, {'claim': 'differs', 'X.a': '', 'X.b': 'yes', 'X.c': 'yes',
                                   'X.d': ''})


class TestErrors(Base):
    def one_line(self, *args):
        rc, out, err = self.run_cmp(*args)
        self.assertEqual(rc, 2, out + err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertTrue(err.startswith('compare.py: '), err)
        self.assertEqual(out, '')
        return err

    def test_usage_and_input_errors(self):
        self.assertIn('at least two runs', self.one_line(A))
        self.assertIn('nope.json', self.one_line(A, os.path.join(self.tmp, 'nope.json')))
        bad = os.path.join(self.tmp, 'bad.json')
        with open(bad, 'w') as f:
            f.write('{"context": {}, "benchmarks": [')
        self.assertIn('bad.json', self.one_line(A, bad))
        empty = os.path.join(self.tmp, 'empty')
        os.makedirs(empty)
        self.assertIn('no results JSON', self.one_line(A, empty))
        self.one_line(A, B, '--fail-on-regression=-5')
        self.one_line(A, B, '--rows', '(')
        self.one_line(A, B, '--bogus')
        self.assertIn('matches none', self.one_line(A, B, '--rows', '^nothing$'))
        self.assertFalse(os.path.exists(self.csv))

    def test_help_and_version(self):
        p = subprocess.run([PY, SCRIPT, '--help'], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0)
        self.assertIn('--fail-on-regression', p.stdout)
        p = subprocess.run([PY, SCRIPT, '--version'], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout, r'^compare\.py \S+')


class TestThroughMake(Base):
    def make(self, *args):
        env = {k: v for k, v in os.environ.items()
               if k not in ('MAKEFLAGS', 'MFLAGS', 'MAKELEVEL', 'MAKEOVERRIDES')}
        p = subprocess.run(['make', '-C', TOP, '--no-print-directory', 'compare'] + list(args),
                           capture_output=True, text=True, timeout=120, env=env)
        return p.returncode, p.stdout, p.stderr

    def test_exit_codes_survive_make(self):
        csv_arg = '--csv=' + self.csv
        rc, out, err = self.make('A=' + A, 'B=' + B, 'COMPARE_ARGS=' + csv_arg)
        self.assertEqual(rc, 0, out + err)
        self.assertIn('| spawn/g/procs:1/reuse:1 |', out)
        rc, out, err = self.make('A=' + A, 'B=' + B,
                                 'COMPARE_ARGS=--fail-on-regression=10 ' + csv_arg)
        self.assertEqual(rc, 1, out + err)
        rc, out, err = self.make('A=' + A, 'COMPARE_ARGS=' + csv_arg)
        self.assertEqual(rc, 2, out + err)
        self.assertIn('at least two runs', err)
        hosts = ' '.join(os.path.join(FLEET, h) for h in ('hostA', 'hostB', 'hostA'))
        rc, out, err = self.make('RUNS=' + hosts, 'COMPARE_ARGS=' + csv_arg)
        if ENGINE:
            self.assertEqual(rc, 0, out + err)
            self.assertIn("# fleet: each claim's verdict per host", out)
        else:
            self.assertEqual(rc, 2, out + err)
            self.assertIn('claim_verdicts', err)


if __name__ == '__main__':
    unittest.main()
