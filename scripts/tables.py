#!/usr/bin/python3
"""tables.py - regenerate the document's tables from raw Google Benchmark JSON.

Usage: tables.py [--results DIR] [--host HOST] [--out DIR] [--claims FILE]
                 [--go-root DIR | --no-go-source] [FILE.json ...]

Reads the newest run in results/<host>/ (or the FILEs given, merged in order), the claims data
(scripts/claims.toml) and, when present, the Go peer file <stem>.go.json next to each run.
Writes one Markdown table per document table (results/T1.md, L2.md, T3.md, T4.md, T5.md,
T6.md, N3.md, T10.md, P4.md), a CSV next to each (long format: one line per measured value,
for plots and other tools) and results/index.md.

Each table row: claim ID, what, the document's value, measured here (median and spread over
repetitions, with units), ratio where the claim is a comparison, Go on this host (where the
claim has a Go peer), verdict (confirmed / refuted / n/a: <reason> / not a measurement) and the
bench rows used.  Understands Debian's libbenchmark 1.7.1 JSON: aggregate rows (run_name +
aggregate_name, repetitions in `iterations`, `cv` as a ratio), skipped rows
(error_occurred / error_message), /real_time and similar name suffixes.

Everything is parsed and rendered before the first file is written; each file is written to a
temporary name and renamed.  A malformed results or claims file prints one error line and exits
with status 2, leaving existing tables untouched.  Exit 1: no results found.  Output depends only
on the inputs (no timestamps of its own), so regenerating gives identical files.
"""

import argparse
import csv
import io
import json
import math
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tomllib

import toolversion  # scripts/toolversion.py: --version

PROG = "tables.py"
HERE = os.path.dirname(os.path.abspath(__file__))
GO_ABSENT = "n/a: go not installed"


class Malformed(Exception):
    """A results or claims file that cannot be understood (exit 2)."""


class NA(Exception):
    """A value that cannot be measured here; str(e) is the reason (without 'n/a: ')."""


def na_text(reason):
    reason = str(reason).strip()
    return reason if reason.startswith("n/a") else "n/a: " + reason


# ==== Reading Google Benchmark JSON =======================================================

_SUFFIX = re.compile(
    r"/(real_time|manual_time|process_time|iterations:\d+|repeats:\d+|"
    r"min_time:[0-9.e+-]+s?|min_warmup_time:[0-9.e+-]+s?)(?=/|$)"
)
_TIME_SCALE = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
_AGGREGATES = ("mean", "median", "stddev", "cv")


def base_name(row):
    """Instance name without Google Benchmark's suffixes and aggregate names."""
    name = row.get("run_name")
    if not isinstance(name, str) or not name:
        name = row["name"]
        agg = row.get("aggregate_name")
        if row.get("run_type") == "aggregate" and isinstance(agg, str) and name.endswith("_" + agg):
            name = name[: -len(agg) - 1]
    prev = None
    while prev != name:
        prev = name
        name = _SUFFIX.sub("", name)
    return name


# Google Benchmark's own row keys that are not measurements; every other key is a time
# (real_time, cpu_time) or a counter, and must be a non-negative finite number.
_META_KEYS = frozenset((
    "name", "family_index", "per_family_instance_index", "run_name", "run_type",
    "repetitions", "repetition_index", "threads", "iterations", "time_unit",
    "aggregate_name", "aggregate_unit", "error_occurred", "error_message", "label",
))


def check_row_values(row, i, where):
    """Raise Malformed unless every time and counter in the row is a non-negative finite
    number.  A `cv` aggregate may hold NaN: Google Benchmark writes stddev/mean as NaN where
    a counter's mean is 0."""
    what = f"{where}: benchmarks[{i}] {row['name']!r}"
    unit = row.get("time_unit", "ns")
    if unit not in _TIME_SCALE:
        raise Malformed(f"{what}: time_unit {unit!r} is not one of {', '.join(_TIME_SCALE)}")
    is_cv = row.get("run_type") == "aggregate" and row.get("aggregate_name") == "cv"
    for key, v in row.items():
        if key in _META_KEYS:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise Malformed(f"{what}: {key} = {json.dumps(v)[:40]} is not a number")
        if math.isnan(v) and is_cv:
            continue
        if not math.isfinite(v):
            raise Malformed(f"{what}: {key} = {v} is not finite")
        if v < 0:
            raise Malformed(f"{what}: {key} = {v!r} is negative")


class Stat:
    """Median and spread of one quantity over repetitions. kind: time, bytes, byterate,
    share, rate, count, ratio, or a literal unit string."""

    def __init__(self, median, kind, cv=None, lo=None, hi=None, n=1):
        self.median, self.kind, self.cv, self.lo, self.hi, self.n = median, kind, cv, lo, hi, n


def counter_kind(counter):
    c = counter.lower()
    if c == "real_time" or c.startswith("ns_") or c.endswith("_ns") or "_ns_" in c:
        return "time"
    if c == "bytes_per_s":
        return "byterate"
    if c.startswith("bytes_") or c.endswith("_bytes"):
        return "bytes"
    if c.endswith("_share") or c == "hitrate":
        return "share"
    if c.endswith("_per_s"):
        return "rate"
    return "count"


class Series:
    """All JSON rows of one benchmark instance (repetitions and aggregates)."""

    def __init__(self, name):
        self.name = name
        self.iters = []
        self.aggs = {}
        self.error = None
        self.label = ""

    def add(self, row, where):
        if row.get("error_occurred"):
            msg = row.get("error_message")
            self.error = na_text(msg if isinstance(msg, str) and msg.strip() else "skipped")
        if isinstance(row.get("label"), str) and row["label"]:
            self.label = row["label"]
        if row.get("run_type") == "aggregate":
            agg = row.get("aggregate_name")
            if not isinstance(agg, str):
                raise Malformed(f"{where}: aggregate row {row['name']!r} has no aggregate_name")
            self.aggs[agg] = row
        else:
            self.iters.append(row)

    @staticmethod
    def _get(row, counter):
        if counter in ("real_time", "cpu_time"):
            v = row.get(counter)
            unit = row.get("time_unit", "ns")
            if not isinstance(v, (int, float)) or unit not in _TIME_SCALE:
                return None
            return float(v) * _TIME_SCALE[unit]
        v = row.get(counter)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return None
        return float(v)

    def label_fields(self):
        """key=value items after the claims in the label (FORMAT.md: `T1.max.g;limit=cap 1000000`)."""
        out = {}
        for part in self.label.split(";")[1:]:
            if "=" in part:
                k, v = part.split("=", 1)
                out[k.strip()] = v.strip()
        return out

    def cap(self):
        """N when the row stopped at the harness cap (label `limit=cap N`), else None."""
        m = re.fullmatch(r"cap\s+([0-9]+)", self.label_fields().get("limit", ""))
        return int(m.group(1)) if m else None

    def has(self, counter):
        return any(self._get(r, counter) is not None for r in self.iters + list(self.aggs.values()))

    def stat(self, counter):
        """Stat of a counter; raises NA if skipped, KeyError if the counter is absent."""
        if self.error:
            raise NA(self.error)
        kind = counter_kind(counter)
        vals = [v for v in (self._get(r, counter) for r in self.iters) if v is not None]
        cvrow = self.aggs.get("cv")
        cv = None
        if cvrow is not None and counter not in ("real_time", "cpu_time"):
            cv = self._get(cvrow, counter)
        elif cvrow is not None:
            v = cvrow.get(counter)
            cv = float(v) if isinstance(v, (int, float)) else None
        if cv is not None and not math.isfinite(cv):
            cv = None
        if vals:
            med = statistics.median(vals)
            if cv is None and len(vals) >= 2:
                mean = statistics.fmean(vals)
                cv = statistics.stdev(vals) / mean if mean else None
            return Stat(med, kind, cv, min(vals), max(vals), len(vals))
        for agg in ("median", "mean"):
            row = self.aggs.get(agg)
            if row is not None and self._get(row, counter) is not None:
                n = row.get("repetitions", row.get("iterations", 1))
                n = int(n) if isinstance(n, (int, float)) else 1
                return Stat(self._get(row, counter), kind, cv, None, None, n)
        raise KeyError(counter)


class Run:
    """One or more results files merged: context and series by base name."""

    def __init__(self):
        self.context = {}
        self.series = {}
        self.files = []

    def load(self, path, display=None):
        """Merge one results file.  Errors name the file as given; `display` (a shorter,
        host-independent name) is what the tables' `source:` line shows."""
        where = path
        try:
            with open(path, "rb") as f:
                doc = json.loads(f.read().decode("utf-8"))
        except OSError as e:
            raise Malformed(f"{where}: cannot read: {e.strerror}")
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise Malformed(f"{where}: not JSON: {e}")
        if not isinstance(doc, dict):
            raise Malformed(f"{where}: top level is not an object")
        ctx = doc.get("context", {})
        rows = doc.get("benchmarks")
        if not isinstance(ctx, dict):
            raise Malformed(f"{where}: 'context' is not an object")
        if not isinstance(rows, list):
            raise Malformed(f"{where}: no 'benchmarks' list")
        for k, v in ctx.items():
            self.context.setdefault(k, v)
        for i, row in enumerate(rows):
            if not isinstance(row, dict) or not isinstance(row.get("name"), str):
                raise Malformed(f"{where}: benchmarks[{i}] has no name")
            check_row_values(row, i, where)
            name = base_name(row)
            self.series.setdefault(name, Series(name)).add(row, where)
        self.files.append(display or path)

    def counters_na(self):
        raw = self.context.get("counters_na")
        if isinstance(raw, dict):
            return raw
        if isinstance(raw, str) and raw.strip():
            try:
                d = json.loads(raw)
                return d if isinstance(d, dict) else {}
            except json.JSONDecodeError:
                return {}
        return {}

    def names(self):
        return sorted(self.series, key=natural_key)


def natural_key(s):
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", s)]


def pattern_regex(pat):
    return re.compile("^" + re.escape(pat).replace(r"\*", "([^/]+)") + "$")


def expand(run, pat):
    """Rows matching a pattern with `*`: list of (name, captures)."""
    if "*" not in pat:
        return [(pat, ())] if pat in run.series else []
    rx = pattern_regex(pat)
    out = []
    for name in run.names():
        m = rx.match(name)
        if m:
            out.append((name, m.groups()))
    return out


def fill(pat, caps):
    parts = pat.split("*")
    if len(parts) - 1 != len(caps):
        return pat
    out = parts[0]
    for cap, rest in zip(caps, parts[1:]):
        out += cap + rest
    return out


def row_args(name):
    return dict(p.split(":", 1) for p in name.split("/") if ":" in p)


# ==== Units ===============================================================================


def fmt_num(v):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "?"
    a = abs(v)
    if a >= 1000 or (a >= 1 and float(v).is_integer()):
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a == 0:
        return "0"
    return f"{v:.3g}"


def fmt_value(v, kind):
    if kind == "time":
        for unit, scale in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
            if abs(v) >= scale:
                return f"{fmt_num(v / scale)} {unit}"
        return f"{fmt_num(v)} ns"
    if kind in ("bytes", "byterate"):
        suffix = "/s" if kind == "byterate" else ""
        for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
            if abs(v) >= scale:
                return f"{fmt_num(v / scale)} {unit}{suffix}"
        return f"{fmt_num(v)} B{suffix}"
    if kind == "share":
        return f"{fmt_num(v * 100)}%"
    if kind == "rate":
        return f"{fmt_num(v)} /s"
    if kind in ("count", "ratio", ""):
        return fmt_num(v)
    return f"{fmt_num(v)} {kind}"


def fmt_stat(st):
    s = fmt_value(st.median, st.kind)
    spread = []
    if st.cv is not None and st.n >= 2:
        spread.append(f"cv {st.cv * 100:.1f}%")
    elif st.lo is not None and st.n >= 2 and st.lo != st.hi:
        spread.append(f"{fmt_value(st.lo, st.kind)}-{fmt_value(st.hi, st.kind)}")
    if st.n >= 2:
        spread.append(f"n={st.n}")
    return s + (f" ({', '.join(spread)})" if spread else "")


# ==== Go's own source ======================================================================


class GoSource:
    """The installed Go's runtime source, for claims about Go itself."""

    def __init__(self, root):
        self.root = root
        self.version = None
        if root:
            try:
                with open(os.path.join(root, "VERSION"), encoding="utf-8") as f:
                    self.version = f.readline().strip() or None
            except OSError:
                self.version = None

    @classmethod
    def find(cls, go_root=None, disabled=False):
        if disabled:
            return cls(None)
        root = go_root or os.environ.get("GOROOT")
        if not root and shutil.which("go"):
            try:
                root = subprocess.run(["go", "env", "GOROOT"], capture_output=True, text=True,
                                      timeout=20).stdout.strip()
            except (OSError, subprocess.SubprocessError):
                root = None
        if root and os.path.isfile(os.path.join(root, "src", "runtime", "runtime2.go")):
            return cls(root)
        return cls(None)

    def p_fields(self):
        """Field names and types of type p struct in runtime2.go, in order."""
        path = os.path.join(self.root, "src", "runtime", "runtime2.go")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        m = re.search(r"^type p struct \{\n(.*?)^\}", text, re.M | re.S)
        if not m:
            return []
        fields = []
        for line in m.group(1).splitlines():
            fm = re.match(r"^\t(\w+(?:,\s*\w+)*)\s+([^\s/]+)", line)
            if fm:
                for nm in fm.group(1).split(","):
                    fields.append((nm.strip(), fm.group(2)))
        return fields

    def grep_runtime(self, needle):
        d = os.path.join(self.root, "src", "runtime")
        hits = []
        for fn in sorted(os.listdir(d)):
            if fn.endswith(".go") and not fn.endswith("_test.go"):
                try:
                    with open(os.path.join(d, fn), encoding="utf-8", errors="replace") as f:
                        if needle in f.read():
                            hits.append(fn)
                except OSError:
                    pass
        return hits


def version_tuple(v):
    m = re.match(r"go(\d+)\.(\d+)", v or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


# ==== Evaluating claims ===================================================================


class CheckResult:
    def __init__(self, label, verdict, measured="", ratio="", rows=(), records=()):
        self.label, self.verdict, self.measured, self.ratio = label, verdict, measured, ratio
        self.rows, self.records = list(rows), list(records)


def judge(check, m, doc_value, at_least=False):
    """Verdict for measured m.  at_least: m is a lower bound (the row stopped at the harness
    cap), so the true value is >= m: reaching a threshold meets an `above` claim (>=, not >)
    and the claim is refuted only where every value >= m refutes it; otherwise n/a."""
    test = check.get("test", "equal")
    if m is None or not math.isfinite(m):
        return "n/a: value not finite"
    if at_least:
        return judge_at_least(check, m, doc_value)
    if test == "equal":
        tol = float(check.get("tolerance", 0))
        ok = abs(m - doc_value) <= tol * abs(doc_value) + 1e-9 * max(1.0, abs(doc_value))
    elif test == "above":
        ok = m > float(check["threshold"])
    elif test == "below":
        ok = m < float(check["threshold"])
    elif test == "between":
        ok = float(check["lo"]) <= m < float(check["hi"])
    else:
        raise Malformed(f"claims: unknown test {test!r}")
    return "confirmed" if ok else "refuted"


def judge_at_least(check, m, doc_value):
    test = check.get("test", "equal")
    short = "n/a: stopped at the harness cap, below the claim"
    if test == "above":
        return "confirmed" if m >= float(check["threshold"]) else short
    if test == "below":
        return "refuted" if m >= float(check["threshold"]) else short
    if test == "between":
        if m >= float(check["hi"]):
            return "refuted"
        return "confirmed" if m >= float(check["lo"]) else short
    if test == "equal":
        tol = float(check.get("tolerance", 0))
        hi = doc_value + tol * abs(doc_value) + 1e-9 * max(1.0, abs(doc_value))
        return "refuted" if m > hi else "n/a: stopped at the harness cap"
    raise Malformed(f"claims: unknown test {test!r}")


def doc_target(check):
    """The number an `equal` test compares with (None for thresholds)."""
    if check.get("test", "equal") != "equal":
        return None
    if "doc_num" in check:
        return float(check["doc_num"]) / float(check["doc_den"])
    return float(check["value"])


def test_text(check, kind="ratio", at_least=False):
    """How the claim's test reads, in the unit of the measured value (at_least: the value is
    a lower bound, see judge)."""
    test = check.get("test", "equal")
    f = lambda k: fmt_value(float(check[k]), kind)
    if test == "equal":
        tol = float(check.get("tolerance", 0))
        return f"= {fmt_value(doc_target(check), kind)}" + (f" ±{tol * 100:.0f}%" if tol else "")
    if test == "above":
        return f"{'>=' if at_least else '>'} {f('threshold')}"
    if test == "below":
        return f"< {f('threshold')}"
    return f"in [{f('lo')}, {f('hi')})"


class Evaluator:
    def __init__(self, run, go_run, go_reason, go_src):
        self.run, self.go_run, self.go_reason, self.go_src = run, go_run, go_reason, go_src
        self.cna = run.counters_na()

    # -- host preconditions
    def host_reason(self, claim):
        ctx = self.run.context
        if claim.get("needs_pmu") and str(ctx.get("pmu", "")).lower() == "absent":
            return "n/a: no PMU"
        need = claim.get("needs_nodes")
        if need:
            try:
                nodes = int(str(ctx.get("numa_nodes", "")).strip())
            except ValueError:
                nodes = None
            if nodes is not None and nodes < int(need):
                return f"n/a: {nodes} NUMA node" + ("s" if nodes != 1 else "")
        return None

    def missing(self, claim, name, counter, judged=True):
        names = counter if isinstance(counter, list) else [counter]
        for c in names:
            if c in self.cna:
                return na_text(self.cna[c])
        pmu = str(self.run.context.get("pmu", "")).lower()
        if pmu != "present" and any(c.startswith("PAPI_") for c in names):
            return "n/a: no PMU"
        if judged and claim.get("na_reason"):
            return na_text(claim["na_reason"])
        return f"n/a: counter {'+'.join(names)} not in row {name}"

    # -- one metric on one row
    def value(self, claim, run, name, spec, judged=True):
        """Stat for spec {counter | hit | miss, divide} on row `name`; raises NA."""
        if name not in run.series:
            raise NA("n/a: bench not in this run")
        s = run.series[name]
        if s.error:
            raise NA(s.error)
        if "hit" in spec or "miss" in spec:
            ctrs = spec.get("hit") or spec.get("miss")
            miss, accs = ctrs[0], ctrs[1:]
            acc = next((a for a in accs if s.has(a)), None)
            if not s.has(miss) or acc is None:
                raise NA(self.missing(claim, name, [miss] + ([acc] if acc else list(accs[:1])),
                                      judged))
            sm, sa = s.stat(miss), s.stat(acc)
            if not sa.median:
                raise NA(f"n/a: {acc} is zero in {name}")
            r = sm.median / sa.median
            if "hit" in spec:
                return Stat(1.0 - r, "share", None, None, None, min(sm.n, sa.n))
            return Stat(r, "share", None, None, None, min(sm.n, sa.n))
        counter = spec["counter"]
        if isinstance(counter, list):
            if not all(s.has(c) for c in counter):
                raise NA(self.missing(claim, name, [c for c in counter if not s.has(c)], judged))
            parts = [s.stat(c) for c in counter]
            return Stat(sum(p.median for p in parts), counter_kind(counter[0]), None, None, None,
                        min(p.n for p in parts))
        if not s.has(counter):
            raise NA(self.missing(claim, name, counter, judged))
        st = s.stat(counter)
        if spec.get("divide"):
            d = float(spec["divide"])
            unit = claim.get("unit", "")
            st = Stat(st.median / d, unit, st.cv,
                      None if st.lo is None else st.lo / d,
                      None if st.hi is None else st.hi / d, st.n)
        return st

    def record(self, claim, role, label, name, counter, st=None, verdict="", extra=None):
        ctr = "+".join(counter) if isinstance(counter, list) else (counter or "")
        rec = {"table": claim["table"], "claim": claim["id"], "role": role, "label": label,
               "bench_row": name, "counter": ctr, "unit": "", "median": "", "cv": "", "min": "",
               "max": "", "n": "", "doc_value": "", "ratio": "", "verdict": verdict}
        if st is not None:
            rec.update(unit=st.kind, median=repr_num(st.median), cv=repr_num(st.cv),
                       min=repr_num(st.lo), max=repr_num(st.hi), n=str(st.n))
        if extra:
            rec.update(extra)
        return rec

    # -- one check, possibly expanded over `*`
    def check(self, claim, check):
        metric = check.get("metric", "value")
        host = self.host_reason(claim)
        if metric == "ratio":
            pat = check["num"]["row"]
        else:
            pat = check["row"]
        label0 = check.get("label", "")
        # A check on a Go peer row (go/...) judges Go itself (subject = "go"): its values
        # come from the sibling .go.json; without one the check is n/a with Go's reason.
        run = self.run
        if pat.startswith("go/"):
            if self.go_run is None:
                reason = self.go_reason or "n/a: Go peer not run"
                return [CheckResult(label0, reason, f"{label0}: {reason}", rows=[pat],
                                    records=[self.record(claim, "check", label0, pat, "", None,
                                                         reason)])]
            run, host = self.go_run, None
        found = expand(run, pat)
        if found and all(run.series[n].error for n, _ in found):
            host = None  # the bench's own skip reason is more specific
        if host:
            return [CheckResult(label0, host, f"{label0}: {host}", rows=[pat],
                                records=[self.record(claim, "check", label0, pat, "", None, host)])]
        if metric == "slope":
            return self.check_slope(claim, check, host)
        matches = expand(run, pat)
        if not matches:
            reason = "n/a: bench not in this run"
            return [CheckResult(label0, reason, f"{label0}: {reason}", rows=[pat],
                                records=[self.record(claim, "check", label0, pat, "", None, reason)])]
        target = doc_target(check)
        out = []
        for name, caps in matches:
            label = label_for(label0, caps, name, pat)
            try:
                if metric == "ratio":
                    den_name = fill(check["den"]["row"], caps)
                    sn = self.value(claim, run, name, check["num"])
                    sd = self.value(claim, run, den_name, check["den"])
                    if not sd.median:
                        raise NA("n/a: denominator is zero")
                    m = sn.median / sd.median
                    verdict = judge(check, m, target)
                    measured = f"{label}: {fmt_stat(sn)} / {fmt_stat(sd)}"
                    ratio = f"{fmt_num(m)} (claim {test_text(check)})"
                    recs = [self.record(claim, "num", label, name, spec_ctr(check["num"]), sn),
                            self.record(claim, "den", label, den_name, spec_ctr(check["den"]), sd),
                            self.record(claim, "check", label, name, "ratio", None, verdict,
                                        {"ratio": repr_num(m), "doc_value": repr_num(target)})]
                    out.append(CheckResult(label, verdict, measured, ratio, [name, den_name], recs))
                else:
                    st = self.value(claim, run, name, check)
                    series = run.series[name]
                    cap = series.cap()
                    at_least = cap is not None and st.median >= cap
                    verdict = judge(check, st.median, target, at_least)
                    limit = series.label_fields().get("limit")
                    shown = ("at least " if at_least else "") + fmt_stat(st)
                    measured = (f"{label}: {shown}" + (f" (limit: {limit})" if limit else "")
                                + f" (claim {test_text(check, st.kind, at_least)})")
                    recs = [self.record(claim, "check", label, name, check.get("counter"), st,
                                        verdict, {"doc_value": repr_num(target)})]
                    out.append(CheckResult(label, verdict, measured, "", [name], recs))
            except NA as e:
                reason = na_text(e)
                rows = [name] + ([fill(check["den"]["row"], caps)] if metric == "ratio" else [])
                out.append(CheckResult(label, reason, f"{label}: {reason}", "", rows,
                                       [self.record(claim, "check", label, name, "", None, reason)]))
        return out

    def check_slope(self, claim, check, host):
        pat, xarg = check["row"], check["x"]
        label0 = check.get("label", "")
        matches = expand(self.run, pat)
        if not matches:
            reason = "n/a: bench not in this run"
            return [CheckResult(label0, reason, f"{label0}: {reason}", rows=[pat],
                                records=[self.record(claim, "check", label0, pat, "", None, reason)])]
        groups = {}
        for name, caps in matches:
            args = row_args(name)
            key = tuple(f"{k}:{v}" for k, v in args.items() if k != xarg and f"{k}:*" in pat)
            groups.setdefault(key, []).append(name)
        out = []
        target = doc_target(check)
        for key in sorted(groups, key=lambda k: natural_key("/".join(k))):
            names = groups[key]
            label = (label0.split(" ")[0] + " " + "/".join(key)).strip()
            pts, recs = [], []
            try:
                for name in names:
                    x = float(row_args(name)[xarg])
                    st = self.value(claim, self.run, name, {"miss": check["miss"]}
                                    if "miss" in check else check)
                    y = st.median * (100.0 if st.kind == "share" else 1.0)
                    pts.append((x, y))
                    recs.append(self.record(claim, "point", label, name, "miss_rate", st))
                if len(pts) < 2:
                    raise NA("n/a: fewer than two sweep points")
                mx = statistics.fmean(p[0] for p in pts)
                my = statistics.fmean(p[1] for p in pts)
                sxx = sum((p[0] - mx) ** 2 for p in pts)
                if not sxx:
                    raise NA("n/a: sweep has one x value")
                slope = sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx
                verdict = judge(check, slope, target)
                recs.append(self.record(claim, "check", label, pat, "slope", None, verdict,
                                        {"ratio": repr_num(slope), "doc_value": repr_num(target)}))
                out.append(CheckResult(label, verdict, f"{label}: slope {fmt_num(slope)} "
                                       f"{claim.get('unit', '')} (claim {test_text(check)})", "",
                                       names, recs))
            except NA as e:
                reason = na_text(e)
                out.append(CheckResult(label, reason, f"{label}: {reason}", "", names,
                                       [self.record(claim, "check", label, pat, "", None, reason)]))
        return out

    def go_source_check(self, claim):
        src = self.go_src
        if not src.root:
            return []
        ver = src.version or "Go (unknown version)"
        if claim.get("go_fields"):
            fields = src.p_fields()
            names = [f[0] for f in fields]
            want = claim["go_fields"]
            if not all(w in names for w in want):
                return [CheckResult("Go source", "n/a: fields not found in runtime2.go")]
            idx = [names.index(w) for w in want]
            types = [fields[i][1] for i in idx]
            adjacent = all(b - a == 1 for a, b in zip(idx, idx[1:]))
            small = all(t in ("uint32", "int32", "uint64", "int64", "uintptr") for t in types)
            same = adjacent and small
            verdict = "refuted" if same else "confirmed"
            desc = " ".join(f"{w} {t}" for w, t in zip(want, types))
            text = (f"{ver} src/runtime/runtime2.go type p: `{desc}` "
                    + ("adjacent, no padding between" if same else "not adjacent"))
            rec = self.record(claim, "check", "Go source", "src/runtime/runtime2.go",
                              "+".join(want), None, verdict, {"ratio": ver})
            return [CheckResult("Go source", verdict, text, "", [], [rec])]
        if claim.get("go_grep"):
            hits = src.grep_runtime(claim["go_grep"])
            vt, mt = version_tuple(ver), version_tuple("go" + claim.get("go_min", "0.0"))
            found = (f"files in src/runtime reading {claim['go_grep']}: "
                     + (", ".join(hits) if hits else "none"))
            if vt and mt and vt < mt:
                verdict = f"n/a: installed Go is {ver}, the claim is about go{claim['go_min']}+"
            else:
                verdict = "confirmed" if hits else "refuted"
            rec = self.record(claim, "check", "Go source", "src/runtime/*.go", "", None, verdict,
                              {"ratio": ver})
            return [CheckResult("Go source", verdict, f"{ver}: {found}", "", [], [rec])]
        return []

    def show(self, claim, spec):
        lines, recs, rows = [], [], []
        matches = expand(self.run, spec["row"])
        label0 = spec.get("label", "")
        for name, caps in matches:
            label = label_for(label0, caps, name, spec["row"])
            rows.append(name)
            try:
                st = self.value(claim, self.run, name, spec, judged=False)
                lines.append(f"{label}: {fmt_stat(st)}")
                recs.append(self.record(claim, "show", label, name, spec.get("counter"), st))
            except NA as e:
                lines.append(f"{label}: {na_text(e)}")
                recs.append(self.record(claim, "show", label, name, spec.get("counter"), None,
                                        na_text(e)))
        return lines, recs, rows

    def go(self, claim, entry):
        lines, recs = [], []
        label0 = entry.get("label", "")
        ours_pat, go_pat = entry["ours"]["row"], entry["go"]["row"]
        matches = expand(self.run, ours_pat) or [(ours_pat, ())]
        if "*" in go_pat and not expand(self.run, ours_pat) and self.go_run:
            matches = [(fill(ours_pat, c), c) for _, c in expand(self.go_run, go_pat)]
        for name, caps in matches:
            label = label_for(label0, caps, name, ours_pat)
            gname = fill(go_pat, caps)
            if self.go_run is None:
                lines.append(f"{label}: {self.go_reason}")
                recs.append(self.record(claim, "go", label, gname, entry["go"].get("counter"),
                                        None, self.go_reason))
                continue
            try:
                gst = self.value(claim, self.go_run, gname, entry["go"])
            except NA as e:
                reason = na_text(e)
                if reason == "n/a: bench not in this run":
                    reason = self.go_reason or "n/a: not in the Go run"
                lines.append(f"{label}: Go {reason}")
                recs.append(self.record(claim, "go", label, gname, entry["go"].get("counter"),
                                        None, reason))
                continue
            text = f"{label}: Go {fmt_stat(gst)}"
            extra = {}
            try:
                ost = self.value(claim, self.run, name, entry["ours"])
                if gst.median:
                    r = ost.median / gst.median
                    text += f", ours/Go {fmt_num(r)}"
                    extra = {"ratio": repr_num(r)}
            except NA as e:
                text += f", ours/Go {na_text(e)}"
            lines.append(text)
            recs.append(self.record(claim, "go", label, gname, entry["go"].get("counter"), gst,
                                    "", extra))
        return lines, recs

    def go_show(self, claim, spec):
        """A Go peer row shown beside the claim, not judged (e.g. Go's compiled P layout next
        to the runtime2.go source check); cites the Go version of the .go.json."""
        label, gname = spec.get("label", spec["row"]), spec["row"]
        if self.go_run is None:
            reason = self.go_reason or GO_ABSENT
            return f"{label}: {reason}", self.record(claim, "go", label, gname,
                                                     spec.get("counter"), None, reason)
        ver = self.go_run.context.get("go_version") or "Go of unknown version"
        try:
            st = self.value(claim, self.go_run, gname, spec, judged=False)
        except NA as e:
            reason = na_text(e)
            if reason == "n/a: bench not in this run":
                reason = "n/a: not in the Go run"
            return f"{label}: {reason}", self.record(claim, "go", label, gname,
                                                     spec.get("counter"), None, reason)
        return (f"{label} ({ver}, `{gname}`): {fmt_stat(st)}",
                self.record(claim, "go", label, gname, spec.get("counter"), st))

    def claim(self, claim):
        results = []
        for chk in claim.get("check", []):
            results.extend(self.check(claim, chk))
        if claim.get("kind") == "go-source":
            results.extend(self.go_source_check(claim))
        shows, srecs, srows = [], [], []
        for spec in claim.get("show", []):
            lines, recs, rows = self.show(claim, spec)
            shows += lines
            srecs += recs
            srows += rows
        gos, grecs = [], []
        for entry in claim.get("go", []):
            lines, recs = self.go(claim, entry)
            gos += lines
            grecs += recs
        for spec in claim.get("go_show", []):
            line, rec = self.go_show(claim, spec)
            gos.append(line)
            grecs.append(rec)
        kind = claim.get("kind")
        if kind == "behavioural":
            verdict = "not a measurement"
        elif not results:
            verdict = "not a measurement"
        else:
            vs = [r.verdict for r in results]
            if "refuted" in vs:
                verdict = "refuted"
            elif all(v == "confirmed" for v in vs):
                verdict = "confirmed"
            else:
                verdict = next(v for v in vs if v.startswith("n/a"))
        measured = [r.measured for r in results if r.measured] + shows
        if kind == "behavioural" and claim.get("test"):
            measured.insert(0, f"checked by {claim['test']}")
        if kind == "go-source" and not any(r.label == "Go source" for r in results):
            measured.append("Go source not installed; claims data cites: " + claim["source"])
        rows = []
        for r in results:
            rows += r.rows
        rows += srows
        seen = []
        for r in rows:
            if r and r not in seen:
                seen.append(r)
        head = self.record(claim, "claim", claim["what"], "", "", None, verdict,
                           {"doc_value": claim["doc"]})
        return {
            "id": claim["id"], "what": claim["what"], "doc": claim["doc"],
            "measured": measured or ["-"], "ratio": [r.ratio for r in results if r.ratio],
            "go": gos, "verdict": verdict, "rows": seen,
            "records": [head] + [x for r in results for x in r.records] + srecs + grecs,
        }


def spec_ctr(spec):
    if "hit" in spec:
        return "hitrate"
    return spec.get("counter", "")


def label_for(label, caps, name, pat):
    """Check label with the wildcard values of this instance filled in."""
    if not caps:
        return label or name
    args = [p for p in pat.split("/") if "*" in p]
    filled = "/".join(fill(a, (c,)) for a, c in zip(args, caps))
    if "*" in label:
        return re.sub(r"\S*\*\S*", filled, label, count=1)
    return f"{label} {filled}".strip()


def repr_num(v):
    if v is None:
        return ""
    if isinstance(v, float) and not math.isfinite(v):
        return ""
    return f"{v:.10g}"


# ==== Rendering ===========================================================================

CSV_FIELDS = ["table", "claim", "role", "label", "bench_row", "counter", "unit", "median", "cv",
              "min", "max", "n", "doc_value", "ratio", "verdict"]


def md_cell(s):
    return str(s).replace("|", "\\|").replace("\n", " ")


def md_lines(items):
    return "<br>".join(md_cell(x) for x in items) if items else "-"


def header(run, go_run, go_reason, title):
    ctx = run.context
    def c(k, default="unknown"):
        v = ctx.get(k)
        return str(v) if v not in (None, "") else default
    pmu = c("pmu")
    pmu_text = {"present": "present", "absent": "absent"}.get(pmu.lower(), pmu)
    go = (f"{go_run.context.get('go_version', 'unknown version')} (GOMAXPROCS "
          f"{go_run.context.get('gomaxprocs', '?')})") if go_run else go_reason
    lines = [
        f"# {title}",
        "",
        "Generated by `scripts/tables.py` from raw results; do not edit by hand.",
        "",
        f"- host: {c('host')} ({c('cpu_model')}, {c('cores', c('num_cpus'))} CPUs)",
        f"- when: {c('date')}",
        f"- commit: {c('git_sha')}",
        f"- PMU: {pmu_text}",
        f"- NUMA nodes: {c('numa_nodes')}",
        f"- Go (this host): {go}",
        f"- source: {', '.join(run.files + (go_run.files if go_run else []))}",
        "",
    ]
    return lines


def render_table(tdef, results, claims_by_id, run, go_run, go_reason, layout=None):
    def wants_go(c):
        return bool(c.get("go") or c.get("go_show"))
    has_go = any(wants_go(claims_by_id[r["id"]]) for r in results)
    cols = ["Claim", "What", "Document", "Measured here", "Ratio"]
    if has_go:
        cols.append("Go (this host)")
    cols += ["Verdict", "Bench rows"]
    out = header(run, go_run, go_reason, tdef["title"])
    out.append("| " + " | ".join(cols) + " |")
    out.append("|" + "---|" * len(cols))
    for r in results:
        cells = [r["id"], md_cell(r["what"]), md_cell(r["doc"]), md_lines(r["measured"]),
                 md_lines(r["ratio"])]
        if has_go:
            cells.append(md_lines(r["go"]) if wants_go(claims_by_id[r["id"]]) else "-")
        cells += [md_cell(r["verdict"]), md_lines(f"`{x}`" for x in r["rows"])]
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    notes = []
    for r in results:
        c = claims_by_id[r["id"]]
        if c.get("reading"):
            notes.append(f"- {r['id']}: test used: {c['reading']}.")
        if c.get("note"):
            notes.append(f"- {r['id']}: {c['note']}")
        if c.get("source"):
            notes.append(f"- {r['id']}: Go source as read for the claims data: {c['source']}.")
    if notes:
        out += ["Notes (the suite's reading of each claim; values are the document's):", ""]
        out += notes + [""]
    if layout:
        out += layout
    return "\n".join(out)


LAYOUT_COUNTERS = ["off_runqhead", "off_runqtail", "off_runq", "off_runnext", "runq_bytes",
                   "runq_lines", "headtail_same_line"]


GO_LAYOUT_ROW = "go/runq/layout"


def render_layout(run, go_src, go_run=None):
    out = ["## P layout (offsets in bytes, cache line = offset / 64)", ""]
    out.append("| Layout | " + " | ".join(LAYOUT_COUNTERS) + " |")
    out.append("|" + "---|" * (len(LAYOUT_COUNTERS) + 1))
    recs = []
    matches = expand(run, "runq/layout/pad:*")
    if not matches:
        out.append("| n/a: bench not in this run |" + " |" * len(LAYOUT_COUNTERS))
    rows = [(name, run.series[name], f"`{name}`") for name, _ in matches]
    if go_run is not None and GO_LAYOUT_ROW in go_run.series:
        ver = go_run.context.get("go_version") or "Go of unknown version"
        rows.append((GO_LAYOUT_ROW, go_run.series[GO_LAYOUT_ROW],
                     f"`{GO_LAYOUT_ROW}` (Go's compiled P, {ver})"))
    for name, s, title in rows:
        cells = []
        for ctr in LAYOUT_COUNTERS:
            if s.error:
                cells.append(s.error)
                continue
            if not s.has(ctr):
                cells.append("n/a")
                continue
            v = s.stat(ctr).median
            cells.append(f"{v:.0f} (line {int(v) // 64})" if ctr.startswith("off_") else f"{v:.0f}")
            recs.append({"table": "L2", "claim": "", "role": "layout", "label": name,
                         "bench_row": name, "counter": ctr, "unit": "count",
                         "median": repr_num(v), "cv": "", "min": "", "max": "", "n": "",
                         "doc_value": "", "ratio": "", "verdict": ""})
        out.append(f"| {md_cell(title)} | " + " | ".join(md_cell(c) for c in cells) + " |")
    out.append("")
    if go_src.root:
        fields = go_src.p_fields()
        names = [f[0] for f in fields]
        if "runqhead" in names:
            i = names.index("runqhead")
            seq = ", ".join(f"`{n} {t}`" for n, t in fields[max(0, i - 1): i + 4])
            out += [f"Go's own P ({go_src.version}, src/runtime/runtime2.go), fields in order "
                    f"around the run queue: {seq}.", ""]
    return out, recs


def render_csv(records):
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    w.writeheader()
    for r in records:
        w.writerow(r)
    return buf.getvalue()


def render_index(tables, per_table, run, go_run, go_reason, data):
    out = header(run, go_run, go_reason, "The document's claims, measured on this host")
    out += ["| Table | Claims | confirmed | refuted | n/a | not a measurement |",
            "|---|---|---|---|---|---|"]
    for t in tables:
        rs = per_table[t["id"]]
        cnt = {"confirmed": 0, "refuted": 0, "n/a": 0, "not a measurement": 0}
        for r in rs:
            v = r["verdict"]
            cnt["n/a" if v.startswith("n/a") else v] += 1
        out.append(f"| [{t['id']}]({t['id']}.md): {md_cell(t['title'])} | "
                   + ", ".join(r["id"] for r in rs)
                   + f" | {cnt['confirmed']} | {cnt['refuted']} | {cnt['n/a']} | "
                     f"{cnt['not a measurement']} |")
    out += ["", "## Out of scope", ""]
    for o in data.get("out_of_scope", []):
        out.append(f"- Chapter {o['chapter']}: {o['what']} - {o['why']}.")
    out.append("")
    return "\n".join(out)


# ==== Driver ==============================================================================


def load_claims(path):
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise Malformed(f"{path}: cannot read: {e.strerror}")
    except tomllib.TOMLDecodeError as e:
        raise Malformed(f"{path}: {e}")
    tables = data.get("table", [])
    tids = [t.get("id") for t in tables]
    seen = set()
    for c in data.get("claim", []):
        for k in ("id", "table", "what", "doc", "kind"):
            if k not in c:
                raise Malformed(f"{path}: claim {c.get('id', '?')} lacks {k!r}")
        if c["id"] in seen:
            raise Malformed(f"{path}: claim {c['id']} appears twice")
        if c["table"] not in tids:
            raise Malformed(f"{path}: claim {c['id']} names unknown table {c['table']!r}")
        seen.add(c["id"])
    return data


def newest_run(results_dir, host):
    d = os.path.join(results_dir, host)
    try:
        names = [n for n in os.listdir(d) if n.endswith(".json") and not n.endswith(".go.json")]
    except OSError:
        names = []
    if not names:
        return None
    return os.path.join(d, max(names))


def load_go(paths):
    """Go peer run from <stem>.go.json next to the first run; (run or None, reason)."""
    for p in paths:
        gp = p[: -len(".json")] + ".go.json" if p.endswith(".json") else p + ".go.json"
        if os.path.exists(gp):
            gr = Run()
            gr.load(gp, display=display_path(gp))
            # go_na (goparse's n/a documents), else go_status unless "ok", else error.
            status = str(gr.context.get("go_status", "") or "").strip()
            reason = (gr.context.get("go_na")
                      or (status if status and status.lower() != "ok" else None)
                      or gr.context.get("error"))
            if not gr.series and reason:
                return None, na_text(reason)
            return gr, na_text(reason) if reason else None
    if shutil.which("go"):
        return None, "n/a: no Go run next to this results file (scripts/run-go-bench writes it)"
    return None, GO_ABSENT


def display_path(p):
    parts = os.path.normpath(p).split(os.sep)
    return "/".join(parts[-2:])


def write_atomic(path, text):
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    os.replace(tmp, path)


def build(args):
    """Parse everything and return {path: text}; raises Malformed."""
    data = load_claims(args.claims)
    files = args.files
    if not files:
        host = args.host or socket.gethostname()
        newest = newest_run(args.results, host)
        if not newest:
            print(f"{PROG}: no results JSON in {os.path.join(args.results, host)}/ "
                  "(run `make bench`, or name a file)", file=sys.stderr)
            sys.exit(1)
        files = [newest]
    run = Run()
    for p in files:
        run.load(p, display=display_path(p))
    go_run, go_reason = load_go(files)
    go_src = GoSource.find(args.go_root, args.no_go_source)
    ev = Evaluator(run, go_run, go_reason or "", go_src)
    claims_by_id = {c["id"]: c for c in data["claim"]}
    per_table = {t["id"]: [] for t in data["table"]}
    for c in data["claim"]:
        per_table[c["table"]].append(ev.claim(c))
    outputs = {}
    for t in data["table"]:
        rs = per_table[t["id"]]
        layout, lrecs = (render_layout(run, go_src, go_run) if t["id"] == "L2"
                         else (None, []))
        outputs[f"{t['id']}.md"] = render_table(t, rs, claims_by_id, run, go_run, go_reason,
                                               layout)
        outputs[f"{t['id']}.csv"] = render_csv([x for r in rs for x in r["records"]] + lrecs)
    outputs["index.md"] = render_index(data["table"], per_table, run, go_run, go_reason, data)
    return outputs


def main(argv=None):
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0],
                                 epilog="Exit status: 0 ok, 1 no results, 2 malformed input.")
    ap.add_argument("--version", action="version", version=toolversion.version(PROG))
    ap.add_argument("files", nargs="*", metavar="FILE.json",
                    help="results files to read (default: newest in RESULTS/HOST/)")
    ap.add_argument("--results", default="results", help="results directory (default: results)")
    ap.add_argument("--host", help="host subdirectory (default: this host's name)")
    ap.add_argument("--out", help="where tables go (default: the results directory)")
    ap.add_argument("--claims", default=os.path.join(HERE, "claims.toml"),
                    help="claims data (default: scripts/claims.toml)")
    ap.add_argument("--go-root", help="Go installation whose src/runtime is read "
                    "(default: $GOROOT or `go env GOROOT`)")
    ap.add_argument("--no-go-source", action="store_true",
                    help="do not read Go's source even if Go is installed")
    args = ap.parse_args(argv)
    try:
        outputs = build(args)
    except Malformed as e:
        print(f"{PROG}: malformed input: {e}", file=sys.stderr)
        return 2
    out = args.out or args.results
    try:
        os.makedirs(out, exist_ok=True)
        for name in sorted(outputs):
            write_atomic(os.path.join(out, name), outputs[name])
    except OSError as e:
        print(f"{PROG}: cannot write tables in {out}: {e}", file=sys.stderr)
        return 1
    print(f"{PROG}: wrote {len(outputs)} files to {out}/ from {', '.join(args.files) or 'newest run'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
