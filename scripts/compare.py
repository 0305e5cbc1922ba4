#!/usr/bin/python3
"""compare.py - did this kernel setting, this machine or this change make it better or worse?

Usage: compare.py [options] A B            two runs or two hosts, row by row
       compare.py [options] H1 H2 H3 ...   fleet view: each claim's verdict per host

A run is a results JSON (results/<host>/<utc>-<sha>.json; its Go peer <stem>.go.json beside
it is read too), a .go.json alone, a results folder (results/<host>/: its newest run), or a
host id (the folder results/<host id>/).  Nothing is measured here: each host measures itself
with `make bench` and the files are compared offline.

Two runs: one line per bench row present in either run (C rows, then Go rows), in the row's
own unit, not the batch time: the first of UNIT_COUNTERS the row carries (ns_per_spawn,
ns_per_switch, ns_per_msg, ..., bytes_per_g, ops_per_s), else real_time (ns per iteration).
Per row: A and B medians with n and spread (min-max), the ratio B/A with its bootstrap 95%
interval, the two-sided Mann-Whitney U p-value, and a word:
  faster / slower            p < --alpha (0.05); for times (ns_*, *_ns) lower is faster, for
                             rates (*_per_s) higher is faster
  smaller / larger           the same for sizes (bytes_*, *_bytes)
  higher / lower             the same for counters with no better direction
  no significant change      p >= alpha
  not comparable: <reason>   n < 3 on either side, an n/a on either side (its reason), the
                             row or its unit counter missing on one side
All statistics come from scripts/stats.py (median, bootstrap interval, scipy's U test).
Above the rows, the two hosts' state side by side (CPU, kernel, governor, boost, THP, NUMA,
load, steal, compiler and flags, library versions, preset, commit), differences marked.

Fleet view (more than two arguments, one per host): one table with a column per host and each
claim's verdict on that host, from scripts/tables.py's verdict engine (the same verdicts the
host's own tables show), and the hosts' state below it.

Output: Markdown on stdout, and a CSV (--csv FILE, default build/compare/compare.csv, or
fleet.csv), written atomically.  Exit status: 0; 1 with --fail-on-regression=PCT when a
significant change in the bad direction exceeds PCT percent (slower, or larger); 2 usage or
input error (one line naming the tool).
"""

import argparse
import csv
import fnmatch
import io
import math
import os
import re
import sys

import atomicfile  # scripts/atomicfile.py: results written whole or not at all

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
PROG = 'compare.py'

# The operation's own unit, first match wins (a row carries few of these).
UNIT_COUNTERS = ('ns_per_spawn', 'ns_per_switch', 'ns_per_msg', 'ns_per_access', 'ns_per_op',
                 'ns_per_line', 'bytes_per_g', 'bytes_per_thread', 'msgs_per_s', 'ops_per_s',
                 'ns_per_*', 'bytes_per_*', '*_per_s')

# Host state shown in the header: (label, context keys tried in order).
HOST_KEYS = (
    ('host', ('host_id', 'host')), ('CPU', ('cpu_model',)), ('CPUs', ('num_cpus', 'cores')),
    ('MHz', ('mhz_per_cpu',)), ('kernel', ('kernel',)), ('hypervisor', ('hypervisor',)),
    ('governor', ('governor',)), ('boost', ('boost',)), ('SMT', ('smt',)), ('THP', ('thp',)),
    ('NUMA nodes', ('numa_nodes',)), ('CPU quota', ('cpu_quota',)),
    ('GOMAXPROCS default', ('gomaxprocs_default',)), ('busy', ('busy',)),
    ('load before', ('loadavg_before',)), ('load after', ('loadavg_after', 'load_avg')),
    ('steal', ('steal',)), ('other CPU', ('other_cpu',)), ('compiler', ('compiler',)),
    ('flags', ('build_flags',)), ('libbenchmark', ('libbenchmark_version',)),
    ('PAPI', ('papi_version',)), ('counters', ('counters',)), ('preset', ('preset',)),
    ('commit', ('git_sha',)), ('date', ('date',)), ('Go', ('go_version',)),
    ('GOMAXPROCS (Go)', ('gomaxprocs',)),
)


class InputError(Exception):
    """Bad argument or unreadable input: one line, exit 2."""


def import_stats():
    """import_stats - scripts/stats.py, the one reader of results and statistics."""
    sys.path.insert(0, HERE)
    try:
        import stats
    except ImportError as e:
        raise InputError('cannot import scripts/stats.py: %s (install python3-scipy: '
                         'make deps)' % e)
    finally:
        sys.path.pop(0)
    return stats


# ==== Finding runs ============================================================================

class Side:
    """Side - one argument resolved: the C run and/or the Go run, and how they were found."""

    def __init__(self, arg, c_path, go_path):
        self.arg, self.c_path, self.go_path = arg, c_path, go_path
        self.c = self.go = None

    @property
    def context(self):
        """context - the C run's context, else the Go run's."""
        return (self.c or self.go).context

    @property
    def name(self):
        ctx = self.context
        return str(ctx.get('host_id') or ctx.get('host') or self.arg)


def newest_in(folder):
    """newest_in - (C run, Go run) paths of the newest run in folder (by file name,
    <utc>-<sha>.json sorts by time); the Go file alone when the folder has no C run."""
    try:
        names = sorted(n for n in os.listdir(folder) if n.endswith('.json'))
    except OSError as e:
        raise InputError('%s: %s' % (folder, e.strerror))
    c = [n for n in names if not n.endswith('.go.json')]
    if c:
        return os.path.join(folder, c[-1]), go_sibling(os.path.join(folder, c[-1]))
    g = [n for n in names if n.endswith('.go.json')]
    if g:
        return None, os.path.join(folder, g[-1])
    raise InputError('%s: no results JSON (run make bench on that host)' % folder)


def go_sibling(path):
    g = path[:-len('.json')] + '.go.json'
    return g if os.path.isfile(g) else None


def resolve(arg, results_root):
    """resolve - a Side for a file, folder or host id; InputError when it names nothing."""
    if os.path.isfile(arg):
        if arg.endswith('.go.json'):
            return Side(arg, None, arg)
        return Side(arg, arg, go_sibling(arg))
    if os.path.isdir(arg):
        return Side(arg, *newest_in(arg))
    d = os.path.join(results_root, arg)
    if '/' not in arg and os.path.isdir(d):
        return Side(arg, *newest_in(d))
    raise InputError('%s: no such results file, folder or host id (looked in %s)'
                     % (arg, results_root))


def load_side(stats, side):
    try:
        if side.c_path:
            side.c = stats.load(side.c_path)
        if side.go_path:
            side.go = stats.load(side.go_path)
    except stats.StatsError as e:
        raise InputError(e.detail)
    return side


# ==== Comparing rows =========================================================================

def direction(counter):
    """direction - 'lower' when less is better (times, sizes), 'higher' (rates), None."""
    c = counter.lower()
    if c in ('real_time', 'cpu_time') or c.startswith('ns_') or c.endswith('_ns') \
            or '_ns_' in c:
        return 'lower'
    if c.endswith('_per_s') or c.endswith('_per_second'):
        return 'higher'
    if c.startswith('bytes_') or c.endswith('_bytes'):
        return 'lower'
    return None


def words_for(counter):
    """words_for - (word when the value went up, word when it went down)."""
    c = counter.lower()
    if c.startswith('bytes_') or c.endswith('_bytes'):
        return 'larger', 'smaller'
    d = direction(counter)
    if d == 'lower':
        return 'slower', 'faster'
    if d == 'higher':
        return 'faster', 'slower'
    return 'higher', 'lower'


def unit_counter(row_a, row_b):
    """unit_counter - the counter both rows are compared on: the first of UNIT_COUNTERS
    with values in either row, else real_time."""
    keys = set()
    for r in (row_a, row_b):
        if r is not None:
            for rep in r.reps:
                keys.update(rep)
    for pat in UNIT_COUNTERS:
        hits = sorted(k for k in keys if fnmatch.fnmatchcase(k, pat))
        if hits:
            return hits[0]
    return 'real_time'


class Line:
    """Line - one compared row: the numbers and the word, ready for Markdown and CSV."""

    def __init__(self, side, name, counter):
        self.side, self.name, self.counter = side, name, counter
        self.sa = self.sb = self.cmp = None
        self.word, self.reason, self.regression_pct = '', '', None


def compare_row(stats, side, name, ra, rb, counter, alpha, min_n):
    """compare_row - the Line for row name (ra / rb may be None when only one run has it)."""
    ln = Line(side, name, counter)
    ln.na_a, ln.na_b = ra.na if ra else None, rb.na if rb else None
    if ra is not None:
        ln.sa = stats.summarize(ra.values(counter))
    if rb is not None:
        ln.sb = stats.summarize(rb.values(counter))
    why = None
    if ra is None or rb is None:
        why = 'only in %s' % ('B' if ra is None else 'A')
    elif ra.na and ra.na == rb.na:
        why = 'both ' + ra.na
    elif ra.na or rb.na:
        why = '; '.join('%s %s' % (s, r.na) for s, r in (('A', ra), ('B', rb)) if r.na)
    elif ln.sa.n == 0 or ln.sb.n == 0:
        why = 'no %s in %s' % (counter, ' and '.join(s for s, x in (('A', ln.sa), ('B', ln.sb))
                                                     if x.n == 0))
    elif ln.sa.n < min_n or ln.sb.n < min_n:
        why = 'n = %d and %d (need >= %d a side)' % (ln.sa.n, ln.sb.n, min_n)
    if why:
        ln.word, ln.reason = 'not comparable', why
        return ln
    ln.cmp = stats.compare(ra.values(counter), rb.values(counter))
    c = ln.cmp
    if c.ratio is None:
        ln.word, ln.reason = 'not comparable', 'A median is 0'
        return ln
    if c.p is None or c.p >= alpha:
        ln.word = 'no significant change'
        return ln
    up, down = words_for(counter)
    ln.word = up if c.ratio > 1 else down if c.ratio < 1 else 'no significant change'
    d = direction(counter)
    if d == 'lower' and c.ratio > 1:
        ln.regression_pct = (c.ratio - 1) * 100
    elif d == 'higher' and 0 < c.ratio < 1:
        ln.regression_pct = (1 / c.ratio - 1) * 100  # the time per operation grew this much
    return ln


def natural_key(name):
    """natural_key - sort key putting procs:2 before procs:16."""
    return [(0, int(t), '') if t.isdigit() else (1, 0, t) for t in re.split(r'(\d+)', name)]


def compare_runs(stats, a, b, side, alpha, min_n, row_rx, counter_pats):
    """compare_runs - Lines for every row of either run, by name (numbers in order)."""
    if a is None and b is None:
        return []
    rows_a = a.rows if a else {}
    rows_b = b.rows if b else {}
    names = sorted(set(rows_a) | set(rows_b), key=natural_key)  # file order is shuffled
    out = []
    for name in names:
        if row_rx and not row_rx.search(name):
            continue
        ra, rb = rows_a.get(name), rows_b.get(name)
        if counter_pats:
            keys = set()
            for r in (ra, rb):
                for rep in (r.reps if r else []):
                    keys.update(rep)
            counters = sorted(k for k in keys if any(fnmatch.fnmatchcase(k, p)
                                                     for p in counter_pats))
            if not counters:
                continue
        else:
            counters = [unit_counter(ra, rb)]
        for ctr in counters:
            out.append(compare_row(stats, side, name, ra, rb, ctr, alpha, min_n))
    return out


# ==== Host state ==============================================================================

def ctx_text(v):
    if isinstance(v, list):
        return ', '.join(fmt_num(x) if isinstance(x, float) else str(x) for x in v)
    if isinstance(v, float):
        return fmt_num(v)
    return str(v)


def host_state(sides):
    """host_state - [(label, [value per side], differs)] for HOST_KEYS, then any other short
    context key whose value differs (long JSON blobs left out)."""
    out, used = [], set()
    for label, keys in HOST_KEYS:
        vals = []
        for s in sides:
            ctx = s.context
            k = next((k for k in keys if k in ctx), None)
            vals.append(ctx_text(ctx[k]) if k else '')
            if k:
                used.add(k)
        if any(vals):
            out.append((label, vals, len(set(vals)) > 1))
    extra = sorted(set().union(*(s.context.keys() for s in sides)) - used)
    for k in extra:
        vals = [ctx_text(s.context.get(k, '')) for s in sides]
        if len(set(vals)) > 1 and all(len(v) <= 120 and not v.startswith(('{', '['))
                                      for v in vals):
            out.append((k, vals, True))
    return out


# ==== Rendering ===============================================================================

def fmt_num(v):
    """fmt_num - 4 significant digits, thousands grouped; '' for None."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return ''
    if v != 0 and (abs(v) >= 1e7 or abs(v) < 1e-3):
        return '%.3e' % v
    if abs(v) >= 1000:
        return '{:,.0f}'.format(v)
    return '%.4g' % v


def cell_summary(s, na=None):
    """'63.5 (n=9, 61.0-70.2)': median, n, min-max; 'n/a' for a row the run skipped."""
    if s is None:
        return '-'
    if na and s.n == 0:
        return 'n/a'
    if s.n == 0:
        return 'n=0'
    if s.n == 1:
        return '%s (n=1)' % fmt_num(s.median)
    return '%s (n=%d, %s-%s)' % (fmt_num(s.median), s.n, fmt_num(s.lo), fmt_num(s.hi))


def cell_ratio(c):
    if c is None or c.ratio is None:
        return '-'
    if c.ci_lo is None:
        return '%.3f' % c.ratio
    return '%.3f [%.3f-%.3f]' % (c.ratio, c.ci_lo, c.ci_hi)


def cell_p(c):
    if c is None or c.p is None:
        return '-'
    return '%.2g' % c.p


def md(s):
    return str(s).replace('|', '\\|').replace('\n', ' ')


def render_pair(sides, lines, alpha, verdicts=None):
    a, b = sides
    out = ['# compare: A = %s, B = %s' % (a.name, b.name), '']
    for tag, s in (('A', a), ('B', b)):
        files = ', '.join(p for p in (s.c_path, s.go_path) if p)
        out.append('- %s: %s' % (tag, files))
    for tag, s in (('A', a), ('B', b)):
        busy = str(s.context.get('busy', '')).strip()
        if busy.startswith('yes'):
            out.append('- note: %s ran on a busy host (%s): its changes may be the other '
                       'tenant\'s' % (tag, busy[4:].strip()))
    out += ['- per row: median (n, min-max) in the row\'s own unit; B/A with its bootstrap '
            '95%% interval; p = two-sided Mann-Whitney U; a change is significant at '
            'p < %g' % alpha, '', '## Host state', '', '| | A | B | |', '|---|---|---|---|']
    for label, vals, differs in host_state(sides):
        out.append('| %s | %s | %s | %s |' % (md(label), md(vals[0]), md(vals[1]),
                                              'differs' if differs else ''))
    for side, title in (('C', 'Rows (our runtime and the C peers)'), ('Go', 'Go rows')):
        ls = [x for x in lines if x.side == side]
        if not ls:
            continue
        out += ['', '## ' + title, '',
                '| row | unit | A | B | B/A [95% CI] | p | change |',
                '|---|---|---|---|---|---|---|']
        for x in ls:
            word = x.word + (': ' + x.reason if x.reason else '')
            out.append('| %s | %s | %s | %s | %s | %s | %s |' % (
                md(x.name), md(x.counter), cell_summary(x.sa, x.na_a), cell_summary(x.sb, x.na_b),
                cell_ratio(x.cmp), cell_p(x.cmp), md(word)))
    counts = {}
    for x in lines:
        counts[x.word] = counts.get(x.word, 0) + 1
    out += ['', '%d rows: %s' % (len(lines), ', '.join('%d %s' % (n, w) for w, n in
                                                       sorted(counts.items(),
                                                              key=lambda t: (-t[1], t[0]))))]
    if verdicts:
        out += [''] + verdicts
    return '\n'.join(out) + '\n'


def render_csv_pair(lines):
    f = io.StringIO()
    w = csv.writer(f, lineterminator='\n')
    w.writerow(['side', 'row', 'counter', 'better', 'a_n', 'a_median', 'a_min', 'a_max',
                'a_q1', 'a_q3', 'b_n', 'b_median', 'b_min', 'b_max', 'b_q1', 'b_q3', 'ratio',
                'ratio_ci_lo', 'ratio_ci_hi', 'p', 'change', 'reason'])
    for x in lines:
        def s(v):
            return '' if v is None else repr(v) if isinstance(v, float) else str(v)
        sa = x.sa or (None,) * 9
        sb = x.sb or (None,) * 9
        c = x.cmp
        w.writerow([x.side, x.name, x.counter, direction(x.counter) or ''] +
                   [s(v) for v in (sa[0], sa[1], sa[2], sa[3], sa[4], sa[5])] +
                   [s(v) for v in (sb[0], sb[1], sb[2], sb[3], sb[4], sb[5])] +
                   [s(c.ratio if c else None), s(c.ci_lo if c else None),
                    s(c.ci_hi if c else None), s(c.p if c else None), x.word, x.reason])
    return f.getvalue()


# ==== Fleet view ==============================================================================

def claim_verdicts(sides, claims_path):
    """claim_verdicts - ([claim id in claims order], [{claim id: verdict} per side]) from
    scripts/tables.py's verdict engine (tables.claim_verdicts(run, go run, claims)): the
    verdicts each host's own tables show.  InputError when the engine is missing or a run
    is malformed; a side without a C run has no verdicts."""
    sys.path.insert(0, HERE)
    try:
        import tables
    finally:
        sys.path.pop(0)
    if not hasattr(tables, 'claim_verdicts'):
        raise InputError('scripts/tables.py has no claim_verdicts() (the verdict engine apart '
                         'from rendering), which the verdict table needs')
    order, per_host = [], []
    for s in sides:
        d = {}
        if s.c_path:
            try:
                vs = tables.claim_verdicts(s.c_path, s.go_path, claims_path)
            except tables.Malformed as e:
                raise InputError('%s: %s' % (s.c_path, e))
            for cid, verdict in vs:
                d.setdefault(cid, verdict)
                if cid not in order:
                    order.append(cid)
        per_host.append(d)
    return order, per_host


def host_names(sides):
    names = [s.name for s in sides]
    if len(set(names)) < len(names):
        names = ['%s (%s)' % (n, os.path.basename(s.c_path or s.go_path))
                 for n, s in zip(names, sides)]
    return names


def verdict_section(sides, claims_path, names, title):
    """verdict_section - (Markdown lines, CSV text): a column per host, a line per claim,
    'differs' where the verdict words differ, then the counts per host."""
    order, per_host = claim_verdicts(sides, claims_path)
    word = import_stats().verdict_word  # 'confirmed (n=1: no interval)' -> 'confirmed'
    out = ['## ' + title, '',
           '| claim | ' + ' | '.join(md(n) for n in names) + ' | |',
           '|---|' + '---|' * (len(names) + 1)]
    f = io.StringIO()
    w = csv.writer(f, lineterminator='\n')
    w.writerow(['claim'] + names + ['differs'])
    for cid in order:
        vals = [d.get(cid, 'n/a: no run' if not d else 'n/a: claim not in this run')
                for d in per_host]
        differs = len({word(v) or v for v in vals}) > 1
        out.append('| %s | %s | %s |' % (md(cid), ' | '.join(md(v) for v in vals),
                                         'differs' if differs else ''))
        w.writerow([cid] + vals + ['yes' if differs else ''])
    out.append('')
    for n, d in zip(names, per_host):
        words = [word(v) for v in d.values()]
        out.append('- %s: %s' % (n, ', '.join('%d %s' % (words.count(x), x)
                                                for x in import_stats().VERDICT_WORDS)))
    return out, f.getvalue()


def fleet(sides, claims_path):
    """fleet - (Markdown, CSV): each claim's verdict per host, then the hosts' state."""
    names = host_names(sides)
    out = ['# fleet: each claim\'s verdict per host', '']
    for n, s in zip(names, sides):
        out.append('- %s: %s' % (n, ', '.join(p for p in (s.c_path, s.go_path) if p)))
    out.append('')
    lines, table = verdict_section(sides, claims_path, names, 'Verdicts')
    out += lines + ['', '## Host state', '',
                    '| | ' + ' | '.join(md(n) for n in names) + ' | |',
                    '|---|' + '---|' * (len(names) + 1)]
    for label, vals, differs in host_state(sides):
        out.append('| %s | %s | %s |' % (md(label), ' | '.join(md(v) for v in vals),
                                         'differs' if differs else ''))
    return '\n'.join(out) + '\n', table


# ==== Main ====================================================================================

class ArgParser(argparse.ArgumentParser):
    def error(self, message):
        raise InputError('%s (see --help)' % message)


def parse_args(argv):
    ap = ArgParser(prog=PROG, description=__doc__.split('\n\n')[0].split(' - ', 1)[1],
                   epilog='See the top of scripts/compare.py for how each column is computed.')
    ap.add_argument('runs', nargs='*', metavar='RUN',
                    help='results JSON, results folder or host id; two: A vs B row by row, '
                         'more: per-host verdict table')
    ap.add_argument('--csv', help='CSV output (default build/compare/compare.csv, fleet: '
                    'build/compare/fleet.csv; "" = none)')
    ap.add_argument('--fail-on-regression', type=float, metavar='PCT',
                    help='exit 1 when a significant change in the bad direction (slower, '
                         'larger) exceeds PCT percent')
    ap.add_argument('--alpha', type=float, default=0.05,
                    help='significance level of the U test (default 0.05)')
    ap.add_argument('--min-n', type=int, default=3,
                    help='fewer timed repetitions on a side: not comparable (default 3)')
    ap.add_argument('--rows', metavar='REGEX', help='only rows whose name matches REGEX')
    ap.add_argument('--counters', metavar='GLOB,...',
                    help='compare these counters (comma-separated globs) instead of each '
                         'row\'s unit counter')
    ap.add_argument('--results-root', default=os.path.join(TOP, 'results'),
                    help='where host ids are looked up (default: results/)')
    ap.add_argument('--claims', default=os.path.join(HERE, 'claims.toml'),
                    help='claims data for the fleet view (default scripts/claims.toml)')
    ap.add_argument('--fleet', action='store_true',
                    help='the per-host verdict table also for two runs')
    ap.add_argument('--no-verdicts', action='store_true',
                    help='two runs: leave out the claims\' verdicts on A and B')
    ap.add_argument('--version', action='store_true', help='print the version and exit')
    args = ap.parse_args(argv)
    if args.version:
        return args
    if len(args.runs) < 2:
        raise InputError('need at least two runs (A B), got %d (see --help)' % len(args.runs))
    if args.fail_on_regression is not None and not (args.fail_on_regression >= 0
                                                    and math.isfinite(args.fail_on_regression)):
        raise InputError('--fail-on-regression: want a percentage >= 0, got %r'
                         % args.fail_on_regression)
    if not (0 < args.alpha < 1):
        raise InputError('--alpha: want a number between 0 and 1, got %r' % args.alpha)
    if args.min_n < 2:
        raise InputError('--min-n: want >= 2 (the U test needs 2 a side), got %d' % args.min_n)
    if args.rows:
        try:
            args.rows_rx = re.compile(args.rows)
        except re.error as e:
            raise InputError('--rows: not a regular expression: %r: %s' % (args.rows, e))
    else:
        args.rows_rx = None
    args.counter_pats = [c.strip() for c in (args.counters or '').split(',') if c.strip()]
    return args


def main(argv=None):
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
        if args.version:
            sys.path.insert(0, HERE)
            import toolversion  # scripts/toolversion.py: '<tool> <git describe>'
            print(toolversion.version(PROG))
            return 0
        stats = import_stats()
        sides = [load_side(stats, resolve(r, args.results_root)) for r in args.runs]
        if len(sides) == 2 and not args.fleet:
            a, b = sides
            lines = compare_runs(stats, a.c, b.c, 'C', args.alpha, args.min_n, args.rows_rx,
                                 args.counter_pats)
            lines += compare_runs(stats, a.go, b.go, 'Go', args.alpha, args.min_n,
                                  args.rows_rx, args.counter_pats)
            if not lines:
                raise InputError('no row to compare (%s)' % ('--rows %s matches none'
                                                              % args.rows if args.rows else
                                                              'both runs are empty'))
            verdicts = None
            if not args.no_verdicts and a.c_path and b.c_path:
                try:
                    verdicts, _ = verdict_section(sides, args.claims, ['A', 'B'],
                                                  'Claims\' verdicts on A and B')
                except InputError as e:
                    verdicts = ['## Claims\' verdicts on A and B', '', 'not shown: %s' % e]
            text = render_pair(sides, lines, args.alpha, verdicts)
            table, default_csv = render_csv_pair(lines), 'compare.csv'
        else:
            text, table = fleet(sides, args.claims)
            lines, default_csv = [], 'fleet.csv'
        csv_path = args.csv if args.csv is not None else os.path.join(TOP, 'build', 'compare',
                                                                      default_csv)
        if csv_path:
            try:
                atomicfile.write(csv_path, table)
            except OSError as e:
                raise InputError('%s: cannot write: %s' % (csv_path, e.strerror))
    except InputError as e:
        print('%s: %s' % (PROG, e), file=sys.stderr)
        return 2
    sys.stdout.write(text)
    if csv_path:
        print('\nCSV: %s' % csv_path)
    if args.fail_on_regression is not None:
        bad = [x for x in lines if x.regression_pct is not None
               and x.regression_pct > args.fail_on_regression]
        if bad:
            worst = max(bad, key=lambda x: x.regression_pct)
            print('%s: %d significant regression%s beyond %g%% (worst: %s %s %+.1f%%)' % (
                PROG, len(bad), '' if len(bad) == 1 else 's', args.fail_on_regression,
                worst.name, worst.counter, worst.regression_pct), file=sys.stderr)
            return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
