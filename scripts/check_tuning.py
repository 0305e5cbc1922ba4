#!/usr/bin/python3
"""check_tuning.py - CI tuning gate: is this host tuned for the suite, and do the key ratios hold?

Reads a thresholds profile (TOML, scripts/tuning/*.toml) and checks three kinds of rule:

  host rules      read from /proc and /sys (under --sysroot for tests): cpufreq governor,
                  boost, SMT, THP enabled/defrag, kernel.numa_balancing, perf_event_paranoid,
                  PMU present, NUMA node count and SLIT, isolated/nohz_full CPUs, the CPU
                  affinity and cgroup CPU quota this process gets, and the GOMAXPROCS the
                  runtime derives from them;
  measured rules  ([[measure]]) a value or a ratio of two results rows with a bound, judged
                  on the 95% interval (stats.py: the median's, or the ratio of medians'):
                  PASS inside the bound, FAIL wholly beyond it, SKIP `inconclusive` when it
                  straddles the bound (FAIL with if_inconclusive = "fail"); a row with
                  fewer than 3 repetitions is judged on its value alone and says so; rows
                  picked by bench name (fnmatch pattern) and optionally by claim ID in the
                  row's label; a pattern that matches no row of the results at all (not even
                  a skipped one) FAILs ("no row in FILE matches PATTERN"), so a typo cannot
                  disable a gate; rules the host cannot satisfy (needs_nodes, needs_pmu,
                  needs_cpus) are skipped before any matching;
  baseline rules  (--baseline OTHER.json, [baseline]) every common row x counter compared
                  with scripts/stats.py: ratio of medians current/baseline, its bootstrap
                  95% interval and the Mann-Whitney U p.  FAIL only when the change is
                  significant (p < alpha, default 0.05) and the whole interval lies beyond
                  the tolerance in the bad direction; SKIP `too few repetitions` with fewer
                  than min_repetitions (default 9) on either side; SKIP `host busy` when
                  either run says it was busy (context busy = "yes: <why>", written by
                  scripts/hoststate.py: steal, other processes' CPU time, load before the
                  run); for older runs without it, when the load per CPU (load_avg)
                  exceeds max_load_per_cpu (1.5) or steal exceeds max_steal_pct (5).

GOMAXPROCS: the value the runtime reported in this host's results context
(gomaxprocs_default, else gomaxprocs) when there is one and --env-gomaxprocs sets no value; else derived as runtime/include/mn.h documents it (MN_GOMAXPROCS when > 0,
else the CPUs in the affinity mask, capped at MN_MAX_PROCS read from that header), and the
report says it was derived.  The host.cpu_quota rule flags a quota below it (the runtime
would then run more Ps than it gets CPU time for, and be throttled).

Results (the gate never passes on nothing): --results FILE is used as named (its commit and
age are reported, with a warning when they are not this checkout's); else the newest
results/<host id>/*.json (not *.go.json; host id from scripts/hoststate.py, host name plus a
hash of /etc/machine-id, else the host name for older checkouts) of this commit (the <sha12> in its name), else the
newest of any commit.  The `results` rule FAILs when there is none (every measured rule then
FAILs with the reason), and when the file found is from another commit (context git_sha;
'-dirty' allowed) or older than [results] max_age_hours / --max-age-hours (default 168),
unless --allow-stale.  --run measures now: the quick benches with build/benches/bench
(--bench); without that binary the `results` rule FAILs.  A row with error_occurred is
skipped with its error_message.

Profile checks beyond types: numbers are finite and >= 0, min <= max, a {placeholder}
appears only in a ratio's denominator and names an argument of its numerator pattern
("stealers" of ".../stealers:*"); bounds and tolerances are printed as the profile writes
them.

Statistics: all results are read by scripts/stats.py (the one reader); a measured rule's
value is the median (or mean, `stat`) of the row's timed repetitions; a row the bench
skipped (n/a) or without the counter makes the rule SKIP with the reason.

Output: one line per rule on stdout (PASS/FAIL/SKIP, value, bound), a Markdown summary
(--markdown, default results/check-tuning.md) and JUnit XML (--junit FILE), one testcase
per rule, with the run's timestamp, time and hostname; on a usage or input error the JUnit
file holds one errored testcase with the message.  Exit status: 0 all passed (skips
allowed), 1 a rule failed, 2 usage or input error (one line naming the file, the line where
known, and the key; a profile that defines no rules is one).  scripts/tuning.mk keeps these
through `make check-tuning`.
"""

import argparse
import datetime
import fnmatch
import json
import math
import os
import re
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import time
import tomllib

import atomicfile  # scripts/atomicfile.py: results written whole or not at all
import toolversion  # scripts/toolversion.py: --version
import xml.etree.ElementTree as ET

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def mn_max_procs(top=TOP):
    """mn_max_procs - MN_MAX_PROCS as runtime/include/mn.h defines it (the cap on
    GOMAXPROCS), None when the header cannot be read (no cap applied then)."""
    try:
        with open(os.path.join(top, 'runtime', 'include', 'mn.h')) as f:
            m = re.search(r'^#define\s+MN_MAX_PROCS\s+(\d+)', f.read(), re.M)
    except OSError:
        return None
    return int(m.group(1)) if m else None


class InputError(Exception):
    """Bad profile, results file or option: reported as one line, exit 2."""


class Skip(Exception):
    """The data a rule needs is not there (n/a on this host, row skipped or counter missing)."""


class RuleFail(Exception):
    """The rule cannot hold as written: its row pattern matches no row of the results (not
    even a skipped one), most likely a typo that would otherwise disable the gate."""


# ==== Profile schema ======================================================================
# Each key maps to a type tag: 'bool', 'int', 'num' (int or float), 'str', 'strs', 'ints',
# or a tuple of allowed strings.
IF_ABSENT = ('skip', 'fail')
HOST_SCHEMA = {
    'governor': {'allow': 'strs', 'if_absent': IF_ABSENT},
    'boost': {'expect': ('on', 'off', 'any'), 'if_absent': IF_ABSENT},
    'smt': {'expect': ('on', 'off', 'any')},
    'thp_enabled': {'allow': 'strs'},
    'thp_defrag': {'allow': 'strs'},
    'numa_balancing': {'allow': 'ints'},
    'perf_event_paranoid': {'max': 'int', 'root_exempt': 'bool'},
    'pmu': {'if_absent': IF_ABSENT},
    'numa_nodes': {'min': 'int', 'max': 'int'},
    'numa_slit': {'max_remote_ratio': 'num'},
    'isolation': {'require_isolated': 'bool', 'allow_mixed': 'bool'},
    'affinity': {'min_cpus': 'int', 'require_all_online': 'bool'},
    'cpu_quota': {'min_cpus_per_proc': 'num'},
    'gomaxprocs': {'min': 'int', 'max': 'int'},
}
for _t in HOST_SCHEMA.values():
    _t['enabled'] = 'bool'
    _t['description'] = 'str'

PROFILE_SCHEMA = {'name': 'str', 'description': 'str'}
BENCH_SCHEMA = {'preset': 'str', 'timeout_s': 'int'}
MEASURE_SCHEMA = {
    'name': 'str', 'kind': ('value', 'ratio'), 'description': 'str', 'claim': 'str',
    'row': 'str', 'numerator': 'str', 'denominator': 'str', 'counter': 'str',
    'den_counter': 'str', 'stat': ('median', 'mean'), 'min': 'num', 'max': 'num',
    'needs_nodes': 'int', 'needs_pmu': 'bool', 'needs_cpus': 'int', 'enabled': 'bool',
    'run_claims': 'str', 'if_inconclusive': ('skip', 'fail'),
}
BASELINE_SCHEMA = {
    'rows': 'strs', 'counters': 'strs', 'tolerance': 'num', 'alpha': 'num',
    'min_repetitions': 'int', 'higher_is_better': 'strs', 'max_load_per_cpu': 'num',
    'max_steal_pct': 'num',
}
RESULTS_SCHEMA = {'max_age_hours': 'num'}
TOP_SCHEMA = {'profile': PROFILE_SCHEMA, 'bench': BENCH_SCHEMA, 'host': None,
              'measure': None, 'baseline': BASELINE_SCHEMA, 'results': RESULTS_SCHEMA}
DEFAULT_MAX_AGE_HOURS = 168.0  # [results] max_age_hours: a week


def find_key_line(text, path):
    """find_key_line - best-effort 1-based line of the key at path (list of str/int) in TOML
    text; None when not found.  Handles [table], [[array]] headers, dotted and inline keys."""
    counts = {}
    cur = []
    want = [str(p) for p in path]
    for i, raw in enumerate(text.splitlines(), 1):
        line = raw.split('#', 1)[0].strip()
        m = re.match(r'^\[\[\s*([^\]]+?)\s*\]\]$', line)
        if m:
            name = m.group(1).replace('"', '')
            counts[name] = counts.get(name, -1) + 1
            cur = name.split('.') + [str(counts[name])]
            if cur == want:
                return i
            continue
        m = re.match(r'^\[\s*([^\]]+?)\s*\]$', line)
        if m:
            cur = m.group(1).replace('"', '').split('.')
            if cur == want:
                return i
            continue
        m = re.match(r'^([A-Za-z0-9_\-."]+)\s*=(.*)$', line)
        if not m:
            continue
        full = cur + m.group(1).replace('"', '').split('.')
        if full == want:
            return i
        # inline table: key = { a = 1, b = 2 }
        if want[:len(full)] == full and len(want) > len(full):
            if re.search(r'\b' + re.escape(want[-1]) + r'\s*=', m.group(2)):
                return i
    return None


def literal_at(text, line):
    """literal_at - the value of the `key = value` on 1-based line of text as written there
    (comment and surrounding blanks stripped), None when the line has no simple value."""
    if not line:
        return None
    m = re.match(r'^\s*[A-Za-z0-9_\-."]+\s*=\s*([^#]*?)\s*(#.*)?$', text.splitlines()[line - 1])
    return m.group(1) if m and m.group(1) else None


def written(prof, keypath, value):
    """written - how the profile spells the number at keypath ('0.10', '1e-3'), so reports
    quote a bound as the user wrote it; repr of value when the text cannot be found."""
    lit = literal_at(prof.get('_text', ''), find_key_line(prof.get('_text', ''), keypath))
    if lit is not None:
        try:
            if float(lit.replace('_', '')) == float(value):
                return lit
        except ValueError:
            pass
    return fmtnum(value) if isinstance(value, float) else str(value)


class Where:
    """Where - formats 'file:line: key: msg' for profile errors."""

    def __init__(self, path, text):
        self.path, self.text = path, text

    def err(self, keypath, msg):
        line = find_key_line(self.text, keypath)
        key = '.'.join(str(k) if not isinstance(k, int) else '[%d]' % k for k in keypath)
        key = key.replace('.[', '[')
        loc = '%s:%d' % (self.path, line) if line else self.path
        return InputError('%s: %s: %s' % (loc, key, msg))


def check_type(where, keypath, tag, v):
    def bad(expected):
        raise where.err(keypath, 'expected %s, got %s %r' % (expected, type(v).__name__, v))
    if isinstance(tag, tuple):
        if not isinstance(v, str) or v not in tag:
            bad('one of ' + '/'.join(tag))
    elif tag == 'bool':
        if not isinstance(v, bool):
            bad('true or false')
    elif tag == 'int':
        if isinstance(v, bool) or not isinstance(v, int):
            bad('an integer')
    elif tag == 'num':
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            bad('a number')
        if not math.isfinite(v):
            bad('a finite number')
        if v < 0:
            bad('a number >= 0')
    elif tag == 'str':
        if not isinstance(v, str):
            bad('a string')
    elif tag == 'strs':
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            bad('a list of strings')
    elif tag == 'ints':
        if not isinstance(v, list) or not all(isinstance(x, int) and not isinstance(x, bool)
                                              for x in v):
            bad('a list of integers')


def check_table(where, keypath, schema, tbl):
    if not isinstance(tbl, dict):
        raise where.err(keypath, 'expected a table')
    for k, v in tbl.items():
        if k not in schema:
            raise where.err(keypath + [k], 'unknown key (known: %s)' % ', '.join(sorted(schema)))
        check_type(where, keypath + [k], schema[k], v)


def load_profile(path):
    """load_profile - parse and validate a thresholds TOML file; InputError on any problem."""
    try:
        with open(path, 'rb') as f:
            raw = f.read()
    except OSError as e:
        raise InputError('%s: cannot read profile: %s' % (path, e.strerror))
    text = raw.decode('utf-8', 'replace')
    try:
        prof = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r'\(at line (\d+), column \d+\)', str(e))
        msg = re.sub(r'\s*\(at line \d+, column \d+\)', '', str(e))
        loc = '%s:%s' % (path, m.group(1)) if m else path
        raise InputError('%s: malformed TOML: %s' % (loc, msg))
    where = Where(path, text)
    for gone in ('k', 'stat'):
        if isinstance(prof.get('baseline'), dict) and gone in prof['baseline']:
            raise where.err(['baseline', gone], 'no longer used: a baseline change fails only '
                            'when significant (Mann-Whitney p < alpha) and its 95%% interval '
                            'lies beyond tolerance; remove %s' % gone)
    for k, v in prof.items():
        if k not in TOP_SCHEMA:
            raise where.err([k], 'unknown key (known: %s)' % ', '.join(sorted(TOP_SCHEMA)))
        if TOP_SCHEMA[k] is not None:
            check_table(where, [k], TOP_SCHEMA[k], v)
    host = prof.get('host', {})
    if not isinstance(host, dict):
        raise where.err(['host'], 'expected a table')
    for name, tbl in host.items():
        if name not in HOST_SCHEMA:
            raise where.err(['host', name], 'unknown host rule (known: %s)'
                            % ', '.join(sorted(HOST_SCHEMA)))
        check_table(where, ['host', name], HOST_SCHEMA[name], tbl)
        tbl['_written'] = {k: written({'_text': text}, ['host', name, k], v)
                           for k, v in tbl.items() if HOST_SCHEMA[name].get(k) == 'num'}
    measures = prof.get('measure', [])
    if not isinstance(measures, list):
        raise where.err(['measure'], 'expected an array of tables ([[measure]])')
    names = set()
    for i, m in enumerate(measures):
        kp = ['measure', i]
        check_table(where, kp, MEASURE_SCHEMA, m)
        for req in ('name', 'kind', 'counter'):
            if req not in m:
                raise where.err(kp, 'missing required key %r' % req)
        if m['name'] in names:
            raise where.err(kp + ['name'], 'duplicate rule name %r' % m['name'])
        names.add(m['name'])
        need = ('row',) if m['kind'] == 'value' else ('numerator', 'denominator')
        for req in need:
            if req not in m:
                raise where.err(kp, 'kind = "%s" needs key %r' % (m['kind'], req))
        if 'min' not in m and 'max' not in m:
            raise where.err(kp, 'needs a bound: min, max or both')
        if 'min' in m and 'max' in m and m['min'] > m['max']:
            raise where.err(kp + ['min'], 'min = %s is above max = %s: no value can pass'
                            % (m['min'], m['max']))
        check_placeholders(where, kp, m)
        m['_written'] = {b: written({'_text': text}, kp + [b], m[b])
                         for b in ('min', 'max') if b in m}
    base = prof.get('baseline', {})
    if not 0 < base.get('alpha', 0.05) < 1:
        raise where.err(['baseline', 'alpha'], 'must be between 0 and 1')
    if base.get('min_repetitions', 9) < 3:
        raise where.err(['baseline', 'min_repetitions'], 'must be >= 3 (the U test and the '
                        'interval need at least 3 repetitions a side)')
    base['_written'] = {'tolerance': written({'_text': text}, ['baseline', 'tolerance'],
                                             base.get('tolerance', 0.10))}
    age = prof.get('results', {}).get('max_age_hours')
    if age is not None and age <= 0:
        raise where.err(['results', 'max_age_hours'], 'must be > 0')
    if not host and not measures and 'baseline' not in prof:
        raise InputError('%s: profile defines no rules ([host.*], [[measure]] or [baseline])'
                         % path)
    prof['_path'] = path
    prof['_text'] = text
    return prof


def check_placeholders(where, kp, m):
    """check_placeholders - a {name} is allowed only in a ratio's denominator and must name
    an argument of the numerator pattern ("stealers" in ".../stealers:*"): a typo there would
    otherwise match no denominator row for every numerator row and disable the rule."""
    for key in ('row', 'numerator', 'denominator', 'counter', 'den_counter'):
        if key not in m:
            continue
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(m[key]) if f is not None]
        except ValueError as e:
            raise where.err(kp + [key], 'bad {placeholder} in %r: %s' % (m[key], e))
        if not fields:
            continue
        if key != 'denominator':
            raise where.err(kp + [key], '{%s} in %r: placeholders are only allowed in '
                            'denominator' % (fields[0], m[key]))
        args = row_args(m['numerator'])
        for f in fields:
            if f not in args:
                raise where.err(kp + [key], '{%s} in %r names no argument of numerator %r '
                                '(it has: %s)' % (f, m[key], m['numerator'],
                                                  ', '.join(sorted(args)) or 'none'))


# ==== Host probing ========================================================================

def parse_cpulist(s):
    """parse_cpulist - '0-3,8,10-11' -> set of ints; '' -> empty set."""
    out = set()
    for part in s.strip().split(','):
        part = part.strip()
        if not part:
            continue
        if '-' in part:
            a, b = part.split('-', 1)
            out.update(range(int(a), int(b) + 1))
        else:
            out.add(int(part))
    return out


def fmt_cpulist(cpus):
    cpus = sorted(cpus)
    out, i = [], 0
    while i < len(cpus):
        j = i
        while j + 1 < len(cpus) and cpus[j + 1] == cpus[j] + 1:
            j += 1
        out.append(str(cpus[i]) if i == j else '%d-%d' % (cpus[i], cpus[j]))
        i = j + 1
    return ','.join(out) or '(none)'


class Host:
    """Host - reads the machine's settings from files under sysroot ('/' normally)."""

    def __init__(self, sysroot='/', affinity=None, env=None, uid=None):
        self.root = sysroot
        self.env = os.environ if env is None else env
        self.uid = os.geteuid() if uid is None else uid
        self.affinity = set(affinity) if affinity is not None else set(os.sched_getaffinity(0))
        self.reported = None

    def p(self, path):
        return os.path.join(self.root, path.lstrip('/'))

    def read(self, path):
        """read - stripped content of path, None when missing or unreadable."""
        try:
            with open(self.p(path)) as f:
                return f.read().strip()
        except OSError:
            return None

    def exists(self, path):
        return os.path.exists(self.p(path))

    def listdir(self, path):
        try:
            return sorted(os.listdir(self.p(path)))
        except OSError:
            return []

    def online_cpus(self):
        s = self.read('/sys/devices/system/cpu/online')
        return parse_cpulist(s) if s is not None else None

    def is_vm(self):
        info = self.read('/proc/cpuinfo') or ''
        return re.search(r'^flags\s*:.*\bhypervisor\b', info, re.M) is not None

    def governors(self):
        """governors - {cpu: governor} for CPUs exposing cpufreq; {} when none does."""
        out = {}
        for d in self.listdir('/sys/devices/system/cpu'):
            if re.fullmatch(r'cpu\d+', d):
                g = self.read('/sys/devices/system/cpu/%s/cpufreq/scaling_governor' % d)
                if g is not None:
                    out[int(d[3:])] = g
        if not out:
            for d in self.listdir('/sys/devices/system/cpu/cpufreq'):
                if d.startswith('policy'):
                    g = self.read('/sys/devices/system/cpu/cpufreq/%s/scaling_governor' % d)
                    if g is not None:
                        out[d] = g
        return out

    def thp(self, which):
        s = self.read('/sys/kernel/mm/transparent_hugepage/' + which)
        if s is None:
            return None
        m = re.search(r'\[([^\]]+)\]', s)
        return m.group(1) if m else s

    def numa_nodes(self):
        """numa_nodes - sorted node ids; [0] for a kernel without NUMA sysfs."""
        s = self.read('/sys/devices/system/node/online')
        if s is not None:
            return sorted(parse_cpulist(s))
        nodes = [int(d[4:]) for d in self.listdir('/sys/devices/system/node')
                 if re.fullmatch(r'node\d+', d)]
        return sorted(nodes) or [0]

    def slit(self):
        rows = {}
        for n in self.numa_nodes():
            s = self.read('/sys/devices/system/node/node%d/distance' % n)
            if s is None:
                return None
            rows[n] = [int(x) for x in s.split()]
        return rows

    def pmu(self):
        """pmu - names of CPU PMUs (same rule as benches/harness/sysinfo.c)."""
        return [d for d in self.listdir('/sys/bus/event_source/devices')
                if d == 'cpu' or d.startswith('cpu_') or d.startswith('armv8')
                or d.startswith('arm_')]

    def gomaxprocs(self):
        """gomaxprocs - (value, how).  The GOMAXPROCS the runtime itself reported in this
        host's results context (key gomaxprocs) when there is one: the runtime's rule
        (MN_GOMAXPROCS, affinity, quota) is its own, not re-derived here.  Key
        gomaxprocs_default ("2 (CPUs in the affinity mask, ...)"), else gomaxprocs.  Without it, the
        rule of runtime/include/mn.h as documented there: MN_GOMAXPROCS when > 0, else the
        CPUs in the affinity mask, capped at MN_MAX_PROCS."""
        if self.reported is not None:
            return self.reported
        cap = mn_max_procs()
        v = self.env.get('MN_GOMAXPROCS', '')
        if v.strip().isdigit() and int(v) > 0:
            n, how = int(v), 'MN_GOMAXPROCS=%s' % v.strip()
        else:
            n, how = len(self.affinity), 'CPUs in affinity mask'
        if cap is not None and n > cap:
            n, how = cap, how + ', capped at MN_MAX_PROCS %d' % cap
        return n, how + ' (derived here: no gomaxprocs in the results context)'

    def take_reported_gomaxprocs(self, ctx, where):
        """take_reported_gomaxprocs - use the GOMAXPROCS recorded in a results context of
        this host (gomaxprocs, else GOMAXPROCS from a Go run); ignored when absent."""
        for key in ('gomaxprocs_default', 'gomaxprocs'):
            m = re.match(r'\s*(\d+)\s*(?:\((.*)\))?', str(ctx.get(key, '')))
            if m and int(m.group(1)) > 0:
                how = ': ' + m.group(2) if m.group(2) else ''
                self.reported = (int(m.group(1)), 'reported by the runtime in %s (%s%s)'
                                 % (where, key, how))
                return

    def cpu_quota(self):
        """cpu_quota - (cpus or None for unlimited, source); raises Skip when no cgroup
        CPU controller can be found.  Effective quota = smallest along the path to root."""
        cg = self.read('/proc/self/cgroup')
        if cg is None:
            raise Skip('no /proc/self/cgroup')
        v1path = v2path = None
        for line in cg.splitlines():
            parts = line.split(':', 2)
            if len(parts) != 3:
                continue
            if parts[0] == '0' and parts[1] == '':
                v2path = parts[2]
            elif 'cpu' in parts[1].split(','):
                v1path = parts[2]
        best, src = None, None
        if v1path is not None:
            for base in ('/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu,cpuacct',
                         '/sys/fs/cgroup/cpuacct,cpu'):
                if not self.exists(base):
                    continue
                d = base + v1path.rstrip('/')
                if not self.exists(d):
                    d = base  # cgroup namespace: our cgroup is the mount's root
                while True:
                    q = self.read(d + '/cpu.cfs_quota_us')
                    per = self.read(d + '/cpu.cfs_period_us')
                    if q is not None and per is not None and int(q) > 0 and int(per) > 0:
                        c = int(q) / int(per)
                        if best is None or c < best:
                            best, src = c, d + '/cpu.cfs_quota_us'
                    if len(d) <= len(base):
                        break
                    d = os.path.dirname(d)
                return best, (src or base + ' (cgroup v1, no quota)')
        if v2path is not None and self.exists('/sys/fs/cgroup/cgroup.controllers'):
            base = '/sys/fs/cgroup'
            d = base + v2path.rstrip('/')
            if not self.exists(d):
                d = base
            while True:
                s = self.read(d + '/cpu.max')
                if s is not None:
                    f = s.split()
                    if f and f[0] != 'max' and len(f) == 2 and int(f[1]) > 0:
                        c = int(f[0]) / int(f[1])
                        if best is None or c < best:
                            best, src = c, d + '/cpu.max'
                if len(d) <= len(base):
                    break
                d = os.path.dirname(d)
            return best, (src or 'cgroup v2, no cpu.max limit')
        raise Skip('no cgroup CPU controller found (neither v1 cpu nor v2 cpu.max)')


# ==== Rule results =========================================================================

class Result:
    def __init__(self, name, status, value='', bound='', detail='', group='host'):
        self.name, self.status, self.value, self.bound = name, status, value, bound
        self.detail, self.group = detail, group


def mk(name, ok, value, bound, detail='', group='host'):
    return Result(name, 'PASS' if ok else 'FAIL', value, bound, detail, group)


def absent(name, cfg, reason):
    if cfg.get('if_absent', 'skip') == 'fail':
        return Result(name, 'FAIL', 'absent', 'present', reason)
    return Result(name, 'SKIP', 'absent', 'present', reason)


def rule_governor(h, cfg, name):
    allow = cfg.get('allow', ['performance'])
    g = h.governors()
    if not g:
        why = 'no cpufreq: hypervisor flag set in /proc/cpuinfo, a VM (the host controls ' \
              'frequency)' if h.is_vm() else 'no cpufreq: no cpufreq driver in this kernel'
        return absent(name, cfg, why)
    vals = sorted(set(g.values()))
    bad = [v for v in vals if v not in allow]
    return mk(name, not bad, ','.join(vals), 'in [%s]' % ', '.join(allow),
              'CPUs with a disallowed governor: %s' % ', '.join(
                  str(c) for c, v in sorted(g.items(), key=str) if v in bad) if bad else '')


def rule_boost(h, cfg, name):
    expect = cfg.get('expect', 'any')
    val, src = None, None
    s = h.read('/sys/devices/system/cpu/cpufreq/boost')
    if s is not None:
        val, src = s == '1', 'cpufreq/boost'
    else:
        s = h.read('/sys/devices/system/cpu/intel_pstate/no_turbo')
        if s is not None:
            val, src = s == '0', 'intel_pstate/no_turbo'
        else:
            s = h.read('/sys/devices/system/cpu/cpufreq/policy0/boost')
            if s is not None:
                val, src = s == '1', 'cpufreq/policy0/boost'
    if val is None:
        why = 'no boost control in sysfs' + (' (a VM: no cpufreq)' if h.is_vm() else '')
        return absent(name, cfg, why)
    v = 'on' if val else 'off'
    return mk(name, expect in ('any', v), v, expect, 'from ' + src)


def rule_smt(h, cfg, name):
    expect = cfg.get('expect', 'any')
    active = h.read('/sys/devices/system/cpu/smt/active')
    control = h.read('/sys/devices/system/cpu/smt/control')
    if active is not None:
        v = 'on' if active == '1' else 'off'
    else:
        sib = h.read('/sys/devices/system/cpu/cpu0/topology/thread_siblings_list')
        if sib is None:
            raise Skip('no SMT information in sysfs')
        v = 'on' if len(parse_cpulist(sib)) > 1 else 'off'
    shown = v + (' (control=%s)' % control if control else '')
    return mk(name, expect in ('any', v), shown, expect)


def rule_thp(which):
    def rule(h, cfg, name):
        v = h.thp(which)
        if v is None:
            raise Skip('no /sys/kernel/mm/transparent_hugepage/%s (kernel without THP)' % which)
        allow = cfg.get('allow', [])
        return mk(name, v in allow, v, 'in [%s]' % ', '.join(allow))
    return rule


def rule_numa_balancing(h, cfg, name):
    s = h.read('/proc/sys/kernel/numa_balancing')
    if s is None:
        raise Skip('no kernel.numa_balancing (kernel without CONFIG_NUMA_BALANCING)')
    allow = cfg.get('allow', [0])
    return mk(name, int(s) in allow, s, 'in [%s]' % ', '.join(map(str, allow)))


def rule_paranoid(h, cfg, name):
    s = h.read('/proc/sys/kernel/perf_event_paranoid')
    if s is None:
        raise Skip('no kernel.perf_event_paranoid (kernel without perf events)')
    mx = cfg.get('max', 1)
    if cfg.get('root_exempt', True) and h.uid == 0:
        return mk(name, True, '%s (running as root: not restricted)' % s, '<= %d or root' % mx)
    return mk(name, int(s) <= mx, s, '<= %d' % mx)


def rule_pmu(h, cfg, name):
    p = h.pmu()
    if not p:
        why = 'no PMU: no cpu/armv8 device in /sys/bus/event_source/devices'
        if h.is_vm():
            why += ' (a VM without a virtual PMU); PMU-counter claims are n/a'
        return absent(name, cfg, why)
    return mk(name, True, ','.join(p), 'present')


def rule_numa_nodes(h, cfg, name):
    n = len(h.numa_nodes())
    lo, hi = cfg.get('min', 1), cfg.get('max')
    bound = '>= %d' % lo + (' and <= %d' % hi if hi is not None else '')
    return mk(name, n >= lo and (hi is None or n <= hi), str(n), bound)


def rule_numa_slit(h, cfg, name):
    nodes = h.numa_nodes()
    if len(nodes) < 2:
        raise Skip('1 NUMA node: no remote distance to check')
    rows = h.slit()
    if rows is None:
        raise Skip('no node*/distance files')
    worst = 0.0
    for i, n in enumerate(nodes):
        row = rows[n]
        local = row[i] if i < len(row) else 10
        for j, d in enumerate(row):
            if j != i:
                worst = max(worst, d / local)
    mx = cfg.get('max_remote_ratio', 3.0)
    slit = '; '.join(' '.join(map(str, rows[n])) for n in nodes)
    shown = cfg.get('_written', {}).get('max_remote_ratio', '%g' % mx)
    return mk(name, worst <= mx, '%.2f' % worst, '<= %s' % shown, 'SLIT ' + slit)


def rule_isolation(h, cfg, name):
    iso = parse_cpulist(h.read('/sys/devices/system/cpu/isolated') or '')
    nz_s = h.read('/sys/devices/system/cpu/nohz_full')
    nz = parse_cpulist(nz_s) if nz_s and nz_s != '(null)' else set()
    aff = h.affinity
    value = 'isolated=%s nohz_full=%s%s affinity=%s' % (
        fmt_cpulist(iso), fmt_cpulist(nz), '' if nz_s is not None else ' (not in kernel)',
        fmt_cpulist(aff))
    if cfg.get('require_isolated', False) and not aff <= iso:
        return mk(name, False, value, 'affinity within isolated CPUs',
                  'not isolated: %s' % fmt_cpulist(aff - iso))
    if not cfg.get('allow_mixed', False) and (aff & iso) and (aff - iso):
        return mk(name, False, value, 'affinity not mixing isolated and other CPUs',
                  'the scheduler does not balance onto isolated CPUs %s' % fmt_cpulist(aff & iso))
    bound = 'affinity within isolated CPUs' if cfg.get('require_isolated') else \
        ('any' if cfg.get('allow_mixed') else 'not mixed')
    return mk(name, True, value, bound)


def rule_affinity(h, cfg, name):
    aff = h.affinity
    on = h.online_cpus()
    mn = cfg.get('min_cpus', 1)
    v = '%d CPUs (%s)' % (len(aff), fmt_cpulist(aff))
    if cfg.get('require_all_online', False) and on is not None and aff != on:
        return mk(name, False, v, 'all online CPUs (%s)' % fmt_cpulist(on),
                  'missing %s' % fmt_cpulist(on - aff))
    detail = 'online %s' % fmt_cpulist(on) if on is not None else ''
    return mk(name, len(aff) >= mn, v, '>= %d CPUs' % mn, detail)


def rule_cpu_quota(h, cfg, name):
    quota, src = h.cpu_quota()
    procs, how = h.gomaxprocs()
    per = cfg.get('min_cpus_per_proc', 1.0)
    bound = '>= %s x GOMAXPROCS %d = %g CPUs' % (
        cfg.get('_written', {}).get('min_cpus_per_proc', '%g' % per), procs, per * procs)
    if quota is None:
        return mk(name, True, 'no quota', bound, src)
    return mk(name, quota >= per * procs - 1e-9, '%.2f CPUs' % quota, bound,
              '%s; GOMAXPROCS from %s (the runtime ignores the quota)' % (src, how))


def rule_gomaxprocs(h, cfg, name):
    procs, how = h.gomaxprocs()
    lo, hi = cfg.get('min', 1), cfg.get('max')
    bound = '>= %d' % lo + (' and <= %d' % hi if hi is not None else '')
    return mk(name, procs >= lo and (hi is None or procs <= hi), str(procs), bound, how)


HOST_RULES = {
    'governor': rule_governor, 'boost': rule_boost, 'smt': rule_smt,
    'thp_enabled': rule_thp('enabled'), 'thp_defrag': rule_thp('defrag'),
    'numa_balancing': rule_numa_balancing, 'perf_event_paranoid': rule_paranoid,
    'pmu': rule_pmu, 'numa_nodes': rule_numa_nodes, 'numa_slit': rule_numa_slit,
    'isolation': rule_isolation, 'affinity': rule_affinity, 'cpu_quota': rule_cpu_quota,
    'gomaxprocs': rule_gomaxprocs,
}
assert set(HOST_RULES) == set(HOST_SCHEMA)


def run_host_rules(prof, h):
    out = []
    for key, cfg in prof.get('host', {}).items():
        if not cfg.get('enabled', True):
            continue
        name = 'host.' + key
        try:
            out.append(HOST_RULES[key](h, cfg, name))
        except Skip as e:
            out.append(Result(name, 'SKIP', '', '', str(e)))
        except (ValueError, IndexError) as e:
            out.append(Result(name, 'SKIP', '', '', 'unreadable sysfs value: %s' % e))
    return out


# ==== Results files ========================================================================

def import_stats():
    """import_stats - scripts/stats.py, the one reader of results and their statistics."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    try:
        import stats
    except ImportError as e:
        raise InputError('cannot import scripts/stats.py: %s (python3-scipy: make deps)' % e)
    finally:
        sys.path.pop(0)
    return stats


class Group:
    """Group - one bench row (a stats.Row) as the rules read it: a value per statistic,
    skipped with the reason when the bench skipped the row or the counter is missing."""

    def __init__(self, row):
        self.row, self.name = row, row.name

    def claims(self):
        return set(self.row.claims)

    def reps(self):
        return self.row.n

    def counters(self):
        keys = set()
        for r in self.row.reps:
            keys.update(k for k in r if k != 'repetition_index')
        return keys

    def values(self, counter):
        """values - the finite values of counter over the timed repetitions (Skip when the
        row was skipped or has no such counter)."""
        if self.row.na:
            raise Skip('row %s skipped: %s' % (self.name, self.row.na))
        vs = self.row.values(counter)
        if not vs:
            raise Skip('row %s has no counter %s' % (self.name, counter))
        return vs

    def stat(self, counter, stat='median'):
        vs = self.values(counter)
        return statistics.median(vs) if stat == 'median' else statistics.fmean(vs)


class Results:
    """Results - one results file read by stats.load; rows picked by fnmatch pattern."""

    def __init__(self, path):
        stats = import_stats()
        try:
            run = stats.load(path)
        except stats.StatsError as e:
            raise InputError(e.detail)
        self.path, self.context, self.run = path, run.context, run
        self.groups = {name: Group(row) for name, row in run.rows.items()}

    def match(self, pattern, claim=None):
        out = [g for n, g in sorted(self.groups.items()) if fnmatch.fnmatchcase(n, pattern)]
        if claim:
            out = [g for g in out if any(fnmatch.fnmatchcase(c, claim) for c in g.claims())]
        return out


def row_args(name):
    """row_args - {'pad': '64', ...} from 'runq/op/pad:64/stealers:1'."""
    return dict(seg.split(':', 1) for seg in name.split('/') if ':' in seg)


def fmtnum(v):
    if v == 0 or 0.01 <= abs(v) < 1e6:
        return ('%.4g' % v)
    return '%.3e' % v


# ==== Measured rules =======================================================================

class Ctx:
    """Ctx - what measured rules may depend on: nodes, PMU, CPUs (results context first)."""

    def __init__(self, h, res):
        c = res.context if res else {}
        try:
            self.nodes = int(c['numa_nodes'])
        except (KeyError, ValueError, TypeError):
            self.nodes = len(h.numa_nodes())
        self.pmu = c['pmu'] == 'present' if c.get('pmu') in ('present', 'absent') \
            else bool(h.pmu())
        try:
            self.cpus = int(c['cores'])
        except (KeyError, ValueError, TypeError):
            self.cpus = len(h.affinity)


def check_bounds(m, v):
    lo, hi = m.get('min'), m.get('max')
    ok = (lo is None or v >= lo) and (hi is None or v <= hi)
    w = m.get('_written', {})
    parts = []
    if lo is not None:
        parts.append('>= %s' % w.get('min', fmtnum(lo)))
    if hi is not None:
        parts.append('<= %s' % w.get('max', fmtnum(hi)))
    return ok, ' and '.join(parts)


def eval_measure(m, res, ctx, why_no_results):
    name = m['name']
    stat = m.get('stat', 'median')
    why = needs_unmet(m, ctx)
    if why:
        raise Skip(why)
    if res is None:
        raise RuleFail(why_no_results)  # nothing measured: the gate must not pass
    claim = m.get('claim')
    pat = m['row'] if m['kind'] == 'value' else m['numerator']
    if not res.match(pat):
        raise RuleFail('no row in %s matches %s' % (res.path, pat))
    groups = res.match(pat, claim)
    if not groups:
        raise Skip('no row matching %r carries claim %s in %s' % (pat, claim, res.path))
    stats = import_stats()
    rank = {'FAIL': 0, 'INCONCLUSIVE': 1, 'PASS': 2}
    worst = None  # (status, margin, shown, rowdesc, note)
    counter = m['counter']
    for g in groups:
        if m['kind'] == 'value':
            vs = g.values(counter)
            v = statistics.median(vs) if stat == 'median' else statistics.fmean(vs)
            sm = stats.summarize(vs)
            lo, hi, n = sm.ci_lo, sm.ci_hi, 'n=%d' % sm.n
            shown = '%s %s' % (fmtnum(v), counter)
            rowdesc, what = g.name, 'value'
        else:
            try:
                den_name = m['denominator'].format(**row_args(g.name))
            except (KeyError, IndexError, ValueError) as e:
                raise Skip('denominator %r: no argument %s in row %s'
                           % (m['denominator'], e, g.name))
            dens = res.match(den_name)
            if not dens:
                raise RuleFail('no row in %s matches %s' % (res.path, den_name))
            if len(dens) != 1:
                raise Skip('%d rows match denominator %r' % (len(dens), den_name))
            dc = m.get('den_counter', counter)
            num, den = g.values(counter), dens[0].values(dc)
            cmp = stats.compare(den, num)  # ratio = median(num) / median(den)
            a, b = ((statistics.median(num), statistics.median(den)) if stat == 'median'
                    else (statistics.fmean(num), statistics.fmean(den)))
            if b == 0 or cmp.ratio is None:
                raise Skip('denominator %s %s is 0' % (dens[0].name, dc))
            v = a / b
            lo, hi, n = cmp.ci_lo, cmp.ci_hi, 'n=%d/%d' % (cmp.n_b, cmp.n_a)
            shown = '%s (%s / %s)' % (fmtnum(v), fmtnum(a), fmtnum(b))
            rowdesc, what = '%s / %s %s' % (g.name, dens[0].name, dc), 'ratio'
        point_ok, _ = check_bounds(m, v)
        if lo is None:  # fewer than 3 repetitions: no interval; the point decides, said so
            status = 'PASS' if point_ok else 'FAIL'
            note = '%s: judged on the %s alone, no 95%% CI (fewer than 3 repetitions)' % (
                n, stat)
        else:
            shown += ' [95%% CI %s-%s]' % (fmtnum(lo), fmtnum(hi))
            verdict = stats.band_verdict(lo, hi, m.get('min'), m.get('max'), what)
            status = {'confirmed': 'PASS', 'refuted': 'FAIL'}.get(stats.verdict_word(verdict),
                                                                  'INCONCLUSIVE')
            note = n + ('; ' + verdict if status == 'INCONCLUSIVE' else '')
        margins = ([v - m['min']] if 'min' in m else []) + ([m['max'] - v] if 'max' in m else [])
        cand = (status, min(margins), shown, rowdesc, note)
        # report the failing, else the inconclusive, else the tightest passing pair
        if worst is None or rank[status] < rank[worst[0]] or \
                (status == worst[0] and cand[1] < worst[1]):
            worst = cand
    status, _, shown, rowdesc, note = worst
    bound = check_bounds(m, 0.0)[1]
    detail = '%s %s, %s' % (stat, rowdesc, note)
    if len(groups) > 1:
        detail += ' (worst of %d rows)' % len(groups)
    if status == 'INCONCLUSIVE':
        if m.get('if_inconclusive', 'skip') == 'fail':
            return Result(name, 'FAIL', shown, bound, detail + ' (if_inconclusive = "fail")',
                          'measure')
        return Result(name, 'SKIP', shown, bound, detail, 'measure')
    return Result(name, status, shown, bound, detail, 'measure')


def run_measures(prof, res, ctx, why_no_results):
    out = []
    for m in prof.get('measure', []):
        if not m.get('enabled', True):
            continue
        try:
            out.append(eval_measure(m, res, ctx, why_no_results))
        except Skip as e:
            out.append(Result(m['name'], 'SKIP', '', check_bounds(m, 0.0)[1], str(e), 'measure'))
        except RuleFail as e:
            out.append(Result(m['name'], 'FAIL', '', check_bounds(m, 0.0)[1], str(e), 'measure'))
    return out


# ==== Baseline ==============================================================================

def load_per_cpu(ctx):
    """load_per_cpu - (1-minute load average / CPUs, which figure) from a results context:
    the load before the run when the harness recorded it (other tenants only), else Google
    Benchmark's load_avg at the end (which includes the bench's own threads); None when
    neither is there."""
    try:
        cpus = float(ctx.get('num_cpus') or ctx.get('cores'))
    except (TypeError, ValueError):
        return None
    for key in ('loadavg_before', 'load_avg'):
        v = ctx.get(key)
        if isinstance(v, str):
            v = [x for x in re.split(r'[\s,]+', v.split('(')[0].strip('[] ')) if x]
        try:
            first = float(v[0]) if isinstance(v, list) and v else float(v)
        except (TypeError, ValueError):
            continue
        if cpus > 0 and math.isfinite(first):
            return first / cpus, key
    return None


def steal_pct(ctx):
    """steal_pct - CPU time stolen by the hypervisor during the run, in percent, from the
    context (steal_pct, or steal as a share or 'N%'), None when not recorded."""
    for key, scale in (('steal_pct', 1.0), ('steal', None)):
        v = ctx.get(key)
        if v is None:
            continue
        m = re.match(r'\s*([0-9.]+(?:e-?\d+)?)\s*(%)?', str(v))
        if not m:
            continue
        try:
            x = float(m.group(1))
        except ValueError:
            continue
        if scale is None:
            scale = 1.0 if m.group(2) or x > 1 else 100.0
        return x * scale
    return None


def host_busy(ctx, max_load, max_steal):
    """host_busy - why the run's host was busy (another tenant competed), or None.  The
    run's own judgement (context busy = "no" | "yes: <why>", scripts/hoststate.py: steal,
    other processes' CPU time, load before the run) where recorded; for older runs the
    load average per CPU against max_load and steal against max_steal."""
    b = str(ctx.get('busy', '')).strip()
    if b:
        return None if b == 'no' else b.removeprefix('yes: ')
    why = []
    lp = load_per_cpu(ctx)
    if lp is not None and lp[0] > max_load:
        why.append('%s %.2f per CPU > %g' % (lp[1], lp[0], max_load))
    st = steal_pct(ctx)
    if st is not None and st > max_steal:
        why.append('steal %.1f%% > %g%%' % (st, max_steal))
    return '; '.join(why) or None


def run_baseline(prof, res, base):
    """run_baseline - compare every common row x counter of res with base (stats.compare:
    ratio of medians, bootstrap 95% interval, Mann-Whitney p).  A rule FAILs only on a
    significant change (p < alpha) whose whole interval lies beyond the tolerance in the bad
    direction; SKIP with too few repetitions on either side or when a run's host was busy."""
    stats = import_stats()
    cfg = prof.get('baseline', {})
    rows = cfg.get('rows', ['*'])
    counters = cfg.get('counters', ['ns_per_*', 'bytes_per_*', '*_per_s'])
    tol = cfg.get('tolerance', 0.10)
    tol_txt = cfg.get('_written', {}).get('tolerance', fmtnum(tol))
    alpha = cfg.get('alpha', stats.ALPHA)
    nmin = cfg.get('min_repetitions', 9)
    hib = cfg.get('higher_is_better', ['*_per_s', 'reached', '*_per_second'])
    if res is None:
        return [Result('baseline', 'SKIP', '', '', 'no current results to compare', 'baseline')]
    busy = ['%s: %s' % (tag, why) for tag, r in (('baseline', base), ('current', res))
            for why in [host_busy(r.context, cfg.get('max_load_per_cpu', 1.5),
                                  cfg.get('max_steal_pct', 5.0))] if why]
    out = []
    for name, g in sorted(res.groups.items()):
        if not any(fnmatch.fnmatchcase(name, p) for p in rows) or name not in base.groups:
            continue
        b = base.groups[name]
        for c in sorted(g.counters() & b.counters()):
            if not any(fnmatch.fnmatchcase(c, p) for p in counters):
                continue
            rname = 'baseline:%s:%s' % (name, c)
            higher = any(fnmatch.fnmatchcase(c, p) for p in hib)
            bound = '%s within tolerance %s, or not significant (p >= %g)' % (
                'drop' if higher else 'rise', tol_txt, alpha)
            try:
                if busy:
                    raise Skip('host busy (%s): not judged as a regression' % '; '.join(busy))
                vb, vc = b.values(c), g.values(c)
                if min(len(vb), len(vc)) < nmin:
                    raise Skip('too few repetitions: baseline %d, current %d, need >= %d each'
                               % (len(vb), len(vc), nmin))
                cmp = stats.compare(vb, vc)
                if cmp.ratio is None:
                    raise Skip('baseline median of %s is 0: no ratio' % c)
                if cmp.ci_lo is None or cmp.p is None:
                    raise Skip('no interval or p for %s' % c)
                worse_ci = (1 - cmp.ci_hi) if higher else (cmp.ci_lo - 1)
                fail = cmp.p < alpha and worse_ci > tol
                value = '%+.1f%% (%s -> %s), 95%% CI %+.1f%%..%+.1f%%, p %.2g' % (
                    (cmp.ratio - 1) * 100, fmtnum(statistics.median(vb)),
                    fmtnum(statistics.median(vc)), (cmp.ci_lo - 1) * 100,
                    (cmp.ci_hi - 1) * 100, cmp.p)
                worse = (cmp.ratio < 1) if higher else (cmp.ratio > 1)
                note = ('significant, beyond tolerance' if fail else
                        'not significant' if cmp.p >= alpha else
                        'significant, interval not wholly beyond tolerance' if worse else
                        'significant improvement')
                out.append(mk(rname, not fail, value, bound, 'median of %d / %d reps; %s'
                              % (len(vb), len(vc), note), 'baseline'))
            except Skip as e:
                out.append(Result(rname, 'SKIP', '', bound, str(e), 'baseline'))
    if not out:
        out.append(Result('baseline', 'SKIP', '', '', 'no row and counter common to %s and %s '
                          'matching [baseline] rows/counters' % (base.path, res.path), 'baseline'))
    return out


# ==== Finding or producing results ==========================================================

def hostname():
    """hostname - gethostname(), as benches/harness/sysinfo.c writes the context key."""
    return socket.gethostname() or 'unknown'


def host_id():
    """host_id - (this machine's results folder name, the context key that names it):
    scripts/hoststate.py's host_id() (host name + hash of /etc/machine-id, unique per
    machine) when that module is there, else the host name (older runs)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    try:
        import hoststate
        return hoststate.host_id(), 'host_id'
    except (ImportError, AttributeError):
        return hostname(), 'host'
    finally:
        sys.path.pop(0)


def results_files(resdir):
    """results_files - the C results JSON files in resdir (not *.go.json), oldest first by
    name (<utc>-<sha>.json sorts by time); [] when the folder is missing."""
    try:
        names = [n for n in os.listdir(resdir)
                 if n.endswith('.json') and not n.endswith('.go.json')]
    except OSError:
        return []
    return [os.path.join(resdir, n) for n in sorted(names)]


def git_head(top):
    """git_head - full SHA of HEAD of the checkout at top, None outside a git checkout."""
    try:
        p = subprocess.run(['git', '-C', top, 'rev-parse', 'HEAD'], capture_output=True,
                           text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    sha = p.stdout.strip()
    return sha if p.returncode == 0 and re.fullmatch(r'[0-9a-f]{40}', sha) else None


def pick_results(resdir, head):
    """pick_results - the newest results file in resdir for commit head (by the <sha12> in
    its name), else the newest of any commit; None when resdir has none."""
    files = results_files(resdir)
    if head:
        mine = [f for f in files if os.path.basename(f).split('.')[0].endswith('-' + head[:12])]
        if mine:
            return mine[-1]
    return files[-1] if files else None


def parse_when(ctx, path):
    """parse_when - UTC epoch seconds when the run was made: the context's date (ISO 8601,
    as Google Benchmark writes it), else the <utc> in the file name, else the file's mtime;
    (seconds, where from)."""
    d = ctx.get('date')
    if isinstance(d, str):
        try:
            t = datetime.datetime.fromisoformat(d)
            if t.tzinfo is None:
                t = t.replace(tzinfo=datetime.timezone.utc)
            return t.timestamp(), 'context date'
        except ValueError:
            pass
    m = re.match(r'(\d{8}T\d{6}Z)', os.path.basename(path))
    if m:
        t = datetime.datetime.strptime(m.group(1), '%Y%m%dT%H%M%SZ')
        return t.replace(tzinfo=datetime.timezone.utc).timestamp(), 'file name'
    return os.path.getmtime(path), 'file mtime'


def freshness(res, head, max_age_h, now=None):
    """freshness - (problems, facts) about results res for this checkout: problems is a
    list of reasons the gate must not rely on them (another commit, older than max_age_h),
    facts a short description (commit, age) for the report."""
    now = time.time() if now is None else now
    sha = str(res.context.get('git_sha', '') or '')
    clean = sha.removesuffix('-dirty')
    problems, facts = [], []
    if not clean:
        facts.append('commit unknown (no git_sha in the context)')
        if head:
            problems.append('no git_sha in its context, so not known to be from commit %s'
                            % head[:12])
    else:
        facts.append('commit %s%s' % (clean[:12], ' (modified tree)' if sha != clean else ''))
        if head and not (head.startswith(clean) or clean.startswith(head)):
            problems.append('from commit %s, HEAD is %s' % (clean[:12], head[:12]))
    when, src = parse_when(res.context, res.path)
    age = (now - when) / 3600.0
    facts.append('%.1f h old (%s)' % (age, src))
    if age > max_age_h:
        problems.append('%.1f h old, more than max_age_hours %g' % (age, max_age_h))
    if not head:
        facts.append('HEAD unknown (not a git checkout): commit not checked')
    return problems, facts


def needs_unmet(m, ctx):
    """needs_unmet - why rule m cannot be evaluated with ctx, or None."""
    if ctx.nodes < m.get('needs_nodes', 1):
        return 'n/a: %d NUMA node%s, needs %d' % (ctx.nodes, '' if ctx.nodes == 1 else 's',
                                                 m['needs_nodes'])
    if m.get('needs_pmu') and not ctx.pmu:
        return 'n/a: no PMU'
    if ctx.cpus < m.get('needs_cpus', 1):
        return 'n/a: %d CPUs, needs %d' % (ctx.cpus, m['needs_cpus'])
    return None


def run_benches(prof, bench, outdir, ctx):
    """run_benches - run the preset once per claim glob the measured rules need (run_claims,
    else claim; everything if a rule has neither), skipping rules this host cannot satisfy;
    merge into one JSON under outdir and return its path."""
    bcfg = prof.get('bench', {})
    preset = bcfg.get('preset', 'quick')
    timeout = bcfg.get('timeout_s', 900)
    ms = [m for m in prof.get('measure', []) if m.get('enabled', True)
          and needs_unmet(m, ctx) is None]
    claims = sorted({m.get('run_claims', m.get('claim')) for m in ms} - {None})
    runs = [None] if any(not m.get('run_claims', m.get('claim')) for m in ms) else claims
    merged = {'context': {}, 'benchmarks': []}
    seen = set()
    for cl in runs:
        fd, tmp = tempfile.mkstemp(suffix='.json', prefix='check-tuning-')
        os.close(fd)
        cmd = [bench, '--preset=' + preset, '--benchmark_out=' + tmp,
               '--benchmark_out_format=json'] + (['--claims=' + cl] if cl else [])
        print('check_tuning.py: running %s' % ' '.join(cmd), file=sys.stderr)
        try:
            p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, timeout=timeout)
            if p.returncode == 2 and cl and 'no bench matches --claims=' in p.stderr:
                print('check_tuning.py: no bench for claim %s' % cl, file=sys.stderr)
                continue
            if p.returncode != 0:
                tail = (p.stderr.strip().splitlines() or [''])[-1]
                raise InputError('%s: exited %d: %s' % (' '.join(cmd), p.returncode, tail))
            if os.path.getsize(tmp) == 0:  # no bench matched the claim: no rows
                print('check_tuning.py: no bench for claim %s' % cl, file=sys.stderr)
                continue
            with open(tmp) as f:
                doc = json.load(f)
        except subprocess.TimeoutExpired:
            raise InputError('%s: timed out after %d s ([bench] timeout_s)'
                             % (' '.join(cmd), timeout))
        except (OSError, json.JSONDecodeError) as e:
            raise InputError('%s: no usable JSON output: %s' % (' '.join(cmd), e))
        finally:
            os.unlink(tmp)
        merged['context'] = merged['context'] or doc.get('context', {})
        for r in doc.get('benchmarks', []):
            key = (r.get('name'), r.get('repetition_index'), r.get('aggregate_name'))
            if key not in seen:
                seen.add(key)
                merged['benchmarks'].append(r)
    path = os.path.join(outdir, 'check-tuning-%s.json' % time.strftime('%Y%m%dT%H%M%SZ',
                                                                      time.gmtime()))
    atomicfile.write(path, json.dumps(merged, indent=1) + '\n')
    return path


# ==== Reports ================================================================================

def line_for(r):
    s = '%-4s  %-34s' % (r.status, r.name)
    if r.value:
        s += '  value %s' % r.value
    if r.bound:
        s += '  bound %s' % r.bound
    if r.detail:
        s += '  (%s)' % r.detail
    return s


def markdown(results, header):
    def esc(s):
        return str(s).replace('|', '\\|').replace('\n', ' ')
    out = ['# check-tuning report', '']
    out += ['- %s' % h for h in header]
    n = {s: sum(r.status == s for r in results) for s in ('PASS', 'FAIL', 'SKIP')}
    out += ['- %d passed, %d failed, %d skipped' % (n['PASS'], n['FAIL'], n['SKIP']), '',
            '| rule | status | value | bound | detail |', '|---|---|---|---|---|']
    for r in results:
        out.append('| %s | %s | %s | %s | %s |' % tuple(esc(x) for x in (
            r.name, r.status, r.value, r.bound, r.detail)))
    return '\n'.join(out) + '\n'


def junit(results, started, elapsed_s, error=None, suite='check-tuning'):
    """junit - JUnit XML: one testcase per rule, or, on an input error (error = the one-line
    message), a single errored testcase so CI shows why nothing was checked.  The testsuite
    carries timestamp (UTC start, ISO 8601), time (seconds) and hostname."""
    if error is not None:
        results = [Result('check-tuning', 'ERROR', '', '', error, 'input')]
    ts = ET.Element('testsuite', name=suite, tests=str(len(results)),
                    failures=str(sum(r.status == 'FAIL' for r in results)),
                    errors=str(sum(r.status == 'ERROR' for r in results)),
                    skipped=str(sum(r.status == 'SKIP' for r in results)),
                    timestamp=time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(started)),
                    time='%.3f' % elapsed_s, hostname=hostname())
    for r in results:
        tc = ET.SubElement(ts, 'testcase', classname='%s.%s' % (suite, r.group), name=r.name)
        if r.status == 'FAIL':
            f = ET.SubElement(tc, 'failure', message='value %s, bound %s' % (r.value, r.bound)
                              if r.value or r.bound else r.detail)
            f.text = line_for(r)
        elif r.status == 'ERROR':
            e = ET.SubElement(tc, 'error', message=r.detail, type='input error (exit 2)')
            e.text = r.detail
        elif r.status == 'SKIP':
            ET.SubElement(tc, 'skipped', message=r.detail or 'skipped')
        so = ET.SubElement(tc, 'system-out')
        so.text = line_for(r)
    root = ET.Element('testsuites')
    root.append(ts)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, 'unicode') + '\n'


# ==== Main ====================================================================================

class ArgParser(argparse.ArgumentParser):
    """ArgParser - usage errors raise InputError (one line, exit 2, JUnit written)."""

    def error(self, message):
        raise InputError('%s (see --help)' % message)


def parse_args(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    top = os.path.dirname(here)
    ap = ArgParser(
        prog='check_tuning.py',
        description='CI tuning gate: check host tuning (/proc, /sys) and the suite\'s key '
                    'ratios against a thresholds profile.  Exit 0 all pass (skips allowed), '
                    '1 a rule failed (including: no results of this commit and host to '
                    'check, or results too old), 2 usage or input error.',
        epilog='Results: --results FILE (checked as named), else the newest '
               'results/<host>/*.json of this commit (one from another commit or older than '
               '[results] max_age_hours fails the gate unless --allow-stale), else, with --run, '
               'the quick benches are run with --bench; with none of these every measured '
               'rule fails and says why.')
    ap.add_argument('--version', action='version', version=toolversion.version('check_tuning.py'))
    ap.add_argument('--profile', default=os.path.join(here, 'tuning', 'default.toml'),
                    help='thresholds TOML file (default: scripts/tuning/default.toml)')
    ap.add_argument('--results', help='Google Benchmark JSON to check; used as named, '
                    'whatever its commit and age (those are reported)')
    ap.add_argument('--results-dir', default=None,
                    help='where to look for the newest results (default: results/<host>)')
    ap.add_argument('--allow-stale', action='store_true',
                    help='gate on found results from another commit or older than '
                         '--max-age-hours (reported, not failed)')
    ap.add_argument('--max-age-hours', type=float, default=None,
                    help='found results older than this fail the gate (default: the '
                         'profile\'s [results] max_age_hours, else %g)' % DEFAULT_MAX_AGE_HOURS)
    ap.add_argument('--run', action='store_true',
                    help='run the quick benches for the measured rules (with --bench) instead '
                         'of reading results')
    ap.add_argument('--no-run', action='store_true',
                    help='never run benches (the default; kept for old callers)')
    ap.add_argument('--bench', default=os.path.join(top, 'build', 'benches', 'bench'),
                    help='bench binary for --run (default: build/benches/bench)')
    ap.add_argument('--bench-out', default=os.path.join(top, 'build', 'check-tuning'),
                    help='where merged bench output goes (default: build/check-tuning)')
    ap.add_argument('--baseline', help='earlier results JSON to compare against ([baseline])')
    ap.add_argument('--markdown', default=os.path.join(top, 'results', 'check-tuning.md'),
                    help='Markdown summary file (default: results/check-tuning.md, not '
                         'tracked; "" = none)')
    ap.add_argument('--junit', help='JUnit XML file, one testcase per rule (one errored '
                    'testcase on a usage or input error)')
    ap.add_argument('--sysroot', default='/', help='read /proc and /sys under this directory '
                    '(for tests; default /)')
    ap.add_argument('--affinity', help='pretend the CPU affinity is this CPU list, e.g. 0-3 '
                    '(for tests and what-if; default: this process\'s)')
    ap.add_argument('--env-gomaxprocs', help='pretend MN_GOMAXPROCS has this value (for '
                    'tests and what-if; the results\' recorded GOMAXPROCS is then not used)')
    ap.add_argument('--uid', type=int, help=argparse.SUPPRESS)
    return ap.parse_args(argv), top


def junit_path(argv):
    """junit_path - the --junit FILE of argv even when the rest of argv is unusable."""
    for i, a in enumerate(argv):
        if a == '--junit' and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith('--junit='):
            return a.split('=', 1)[1]
    return None


def find_results(args, prof, top, h):
    """find_results - (Results or None, Result row about them or None, why there are none).
    Only the measured rules and the baseline need results; a profile without them needs
    none."""
    if not prof.get('measure') and not args.baseline:
        return None, None, ''
    head = git_head(top)
    max_age = args.max_age_hours
    if max_age is None:
        max_age = prof.get('results', {}).get('max_age_hours', DEFAULT_MAX_AGE_HOURS)
    elif not (max_age > 0 and math.isfinite(max_age)):
        raise InputError('--max-age-hours: must be a number > 0, got %r' % args.max_age_hours)
    if args.results:
        res = Results(args.results)
        problems, facts = freshness(res, head, max_age)
        detail = 'named with --results: used as named; ' + ', '.join(facts)
        if problems:
            print('check_tuning.py: warning: %s: %s' % (res.path, '; '.join(problems)),
                  file=sys.stderr)
            detail += '; warning: ' + '; '.join(problems)
        return res, Result('results', 'SKIP', os.path.basename(res.path), 'this commit, '
                           '<= %g h old' % max_age, detail, 'results'), ''
    if args.run:
        if not os.access(args.bench, os.X_OK):
            why = ('no results: --run, but no bench binary %s (did `make bench-bin` fail?)'
                   % args.bench)
            return None, Result('results', 'FAIL', '', 'measured now', why, 'results'), why
        res = Results(run_benches(prof, args.bench, args.bench_out, Ctx(h, None)))
        return res, Result('results', 'PASS', os.path.basename(res.path), 'measured now',
                           'quick benches run now with %s' % args.bench, 'results'), ''
    hid, _ = host_id()
    resdir = args.results_dir or os.path.join(top, 'results', hid)
    by_name = os.path.join(top, 'results', hostname())
    if args.results_dir is None and not os.path.isdir(resdir) and os.path.isdir(by_name):
        resdir = by_name  # runs from before host ids (results/<host name>/): commit-checked
    path = pick_results(resdir, head)
    bound = 'commit %s, <= %g h old' % (head[:12] if head else '?', max_age)
    if path is None:
        why = ('no results for commit %s on host %s: %s has no *.json'
               % (head[:12] if head else '(unknown)', hid, resdir))
        return None, Result('results', 'FAIL', 'none', bound, why + '; run `make bench` '
                            'first, or name a file with --results FILE, or measure now with '
                            '--run', 'results'), why
    res = Results(path)
    problems, facts = freshness(res, head, max_age)
    if problems and not args.allow_stale:
        why = ('%s: %s; run `make bench` for fresh results, or pass --allow-stale to gate on '
               'these' % (res.path, '; '.join(problems)))
        print('check_tuning.py: warning: ' + why, file=sys.stderr)
        return res, Result('results', 'FAIL', os.path.basename(path), bound,
                           why + ' (' + ', '.join(facts) + ')', 'results'), ''
    detail = ', '.join(facts)
    if problems:
        detail += '; allowed by --allow-stale: ' + '; '.join(problems)
        print('check_tuning.py: warning: %s: %s (--allow-stale)' % (res.path, '; '.join(problems)),
              file=sys.stderr)
    return res, Result('results', 'PASS', os.path.basename(path), bound, detail, 'results'), ''


def main(argv=None):
    started = time.time()
    argv = sys.argv[1:] if argv is None else list(argv)
    jpath = junit_path(argv)
    try:
        args, top = parse_args(argv)
        prof = load_profile(args.profile)
        try:
            aff = parse_cpulist(args.affinity) if args.affinity is not None else None
        except ValueError:
            raise InputError('--affinity: not a CPU list: %r' % args.affinity)
        env = dict(os.environ)
        if args.env_gomaxprocs is not None:
            env['MN_GOMAXPROCS'] = args.env_gomaxprocs
        h = Host(args.sysroot, aff, env, args.uid)
        if args.run and args.no_run:
            raise InputError('--run and --no-run: choose one')
        if not prof.get('host') and not prof.get('measure') and not args.baseline:
            raise InputError('%s: profile defines no rules: only [baseline], and no --baseline '
                             'FILE to compare with' % args.profile)
        res, res_row, why = find_results(args, prof, top, h)
        base = Results(args.baseline) if args.baseline else None
    except InputError as e:
        msg = 'check_tuning.py: %s' % e
        print(msg, file=sys.stderr)
        if jpath:
            try:
                atomicfile.write(jpath, junit([], started, time.time() - started, error=msg))
            except OSError as e2:
                print('check_tuning.py: %s: cannot write: %s' % (jpath, e2.strerror),
                      file=sys.stderr)
        return 2

    hid, hkey = host_id()
    same_host = res is not None and (res.context.get(hkey) == hid if hkey in res.context
                                     else res.context.get('host') in (None, hostname()))
    if res is not None and same_host and not args.env_gomaxprocs:
        h.take_reported_gomaxprocs(res.context, os.path.basename(res.path))
    results = run_host_rules(prof, h)
    if res_row is not None:
        results.append(res_row)
    results += run_measures(prof, res, Ctx(h, res), why)
    if base is not None:
        results += run_baseline(prof, res, base)

    header = ['profile: %s (%s)' % (prof.get('profile', {}).get('name', '?'), args.profile),
              'host: %s, sysroot %s' % (hid, args.sysroot)]
    if res is not None:
        rh, mine = res.context.get(hkey), hid
        if rh is None:  # a run from before host ids: its host name
            rh, mine = res.context.get('host'), hostname()
        header.append('results: %s (host %s, preset %s)' % (
            res.path, rh or '?', res.context.get('preset', '?')))
        if rh and rh != mine:
            header.append('note: results come from host %s; host rules describe this one' % rh)
    elif why:
        header.append(why)
    if base is not None:
        header.append('baseline: %s' % base.path)

    for hl in header:
        print(hl)
    for r in results:
        print(line_for(r))
    n = {s: sum(r.status == s for r in results) for s in ('PASS', 'FAIL', 'SKIP')}
    print('check_tuning.py: %d passed, %d failed, %d skipped' % (n['PASS'], n['FAIL'], n['SKIP']))
    try:
        if args.markdown:
            atomicfile.write(args.markdown, markdown(results, header))
        if args.junit:
            atomicfile.write(args.junit, junit(results, started, time.time() - started))
    except OSError as e:
        print('check_tuning.py: %s: cannot write: %s' % (e.filename, e.strerror), file=sys.stderr)
        return 2
    return 1 if n['FAIL'] else 0


if __name__ == '__main__':
    sys.exit(main())
