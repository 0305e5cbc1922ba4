#!/usr/bin/python3
"""tables.py - regenerate the document's tables from raw Google Benchmark JSON.

Usage: tables.py [--results DIR] [--host HOST-ID] [--out DIR] [--claims FILE] [FILE.json ...]

Reads the newest run under results/ (by the UTC stamp of its file name, across every
results/<host-id>/ folder, or only HOST-ID's; or the FILEs given, merged in order), the claims
data (scripts/claims.toml) and, when present, the Go peer file <stem>.go.json next to each run.
The tables are a pure function of those files: nothing of the machine that renders them is
read (no `go`, no $GOROOT, no host name); Go's version, compiled P layout, runtime2.go facts
and NUMA scan come from the .go.json context (scripts/goparse.py records them at bench time).
All results are read through scripts/stats.py.
Writes one Markdown table per document table (results/T1.md, L2.md, T3.md, T4.md, T5.md,
T6.md, N3.md, T10.md, P4.md), a CSV next to each (long format: one line per measured value,
for plots and other tools) and results/index.md.

Each table row: claim ID, what (and whose behaviour it judges: Go, our runtime, the host),
the document's value, measured here (median [min-max], n and the bootstrap 95% CI of the
median, with units), ratio where the claim is a comparison (with its 95% CI and Mann-Whitney
p), Go on this host (where the claim has a Go peer), verdict and the bench rows used.

Verdicts (computed by Evaluator, rendered apart by render_*; claim_verdicts() gives them
without rendering): `confirmed` / `refuted` when the 95% interval of the value or ratio lies
inside / wholly outside the claim's band; `inconclusive: <reason>` when the interval straddles
a band edge, when a comparison that should differ shows no significant difference (p >= 0.05;
an interval wholly outside the band still refutes), when a `[[claim.realised]]` check fails
(the treatment did not happen), or when the test cannot fail; `n/a: <reason>` when it cannot be
measured here; `not a measurement` for behavioural and design claims.  A verdict reached on
fewer than 3 repetitions (no interval) says so: `confirmed (n=1: no interval)`.  Understands Debian's libbenchmark 1.7.1 JSON: aggregate rows (run_name +
aggregate_name, repetitions in `iterations`, `cv` as a ratio), skipped rows
(error_occurred / error_message), /real_time and similar name suffixes.

Everything is parsed and rendered before the first file is written; each file is written to a
temporary name and renamed.  A malformed results or claims file prints one error line and exits
with status 2, leaving existing tables untouched.  Exit 1: no results found.  Output depends only
on the inputs (no timestamps of its own), so regenerating gives identical files.
"""

import csv
import io
import json
import math
import os
import re
import statistics
import sys
import tomllib
from dataclasses import dataclass, field
from typing import Any, Optional

import stats  # scripts/stats.py: the one reader of Google Benchmark JSON

import atomicfile  # scripts/atomicfile.py: results written whole or not at all
import toolversion  # scripts/toolversion.py: --version

PROG = "tables.py"
HERE = os.path.dirname(os.path.abspath(__file__))
GO_ABSENT = "n/a: go not installed"
GO_NO_RUN = "n/a: no Go run next to this results file (scripts/run-go-bench writes it)"


class Malformed(Exception):
    """A results or claims file that cannot be understood (exit 2)."""


class NA(Exception):
    """A value that cannot be measured here; str(e) is the reason (without 'n/a: ')."""


def na_text(reason):
    reason = str(reason).strip()
    return reason if reason.startswith("n/a") else "n/a: " + reason


# ==== Reading results (through scripts/stats.py) ==========================================

_TIME_SCALE = stats.UNIT_NS


@dataclass(eq=False)
class Stat:
    """Median and spread of one quantity over repetitions. kind: time, bytes, byterate,
    share, rate, count, ratio, or a literal unit string.  values: the per-repetition values
    (for intervals and tests); ci_lo/ci_hi: bootstrap 95% CI of the median (n >= 3)."""

    median: Optional[float]
    kind: str
    cv: Optional[float] = None
    lo: Optional[float] = None
    hi: Optional[float] = None
    n: int = 1
    ci_lo: Optional[float] = None
    ci_hi: Optional[float] = None
    values: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.values = list(self.values or [])

    @classmethod
    def of(cls, values: list[float], kind: str) -> "Stat":
        """Stat of per-repetition values (stats.summarize)."""
        sm = stats.summarize(values)
        return cls(sm.median, kind, sm.cv, sm.lo, sm.hi, sm.n, sm.ci_lo, sm.ci_hi, values)

    def scaled(self, d: float, kind: str) -> "Stat":
        f = lambda v: None if v is None else v / d
        return Stat(f(self.median), kind, self.cv, f(self.lo), f(self.hi), self.n,
                    f(self.ci_lo), f(self.ci_hi), [v / d for v in self.values])


def counter_kind(counter: str) -> str:
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
    """One bench instance as stats.py reads it (timed repetitions, counted pass,
    aggregates, skip reason, label)."""

    def __init__(self, row: stats.Row):
        self.row = row
        self.name = row.name
        self.error = na_text(row.na) if row.na else None
        self.label = row.label
        self.iters = row.reps
        self.aggs = row.aggregates

    def label_fields(self) -> dict[str, str]:
        """key=value items after the claims in the label (FORMAT.md: `T1.max.g;limit=cap 1000000`)."""
        out = {}
        for part in self.label.split(";")[1:]:
            if "=" in part:
                k, v = part.split("=", 1)
                out[k.strip()] = v.strip()
        return out

    def cap(self) -> Optional[int]:
        """N when the row stopped at the harness cap (label `limit=cap N`), else None."""
        m = re.fullmatch(r"cap\s+([0-9]+)", self.label_fields().get("limit", ""))
        return int(m.group(1)) if m else None

    def values(self, counter: str) -> list[float]:
        return self.row.values(counter)

    def _agg(self, counter: str) -> Optional[tuple[float, int]]:
        for agg in ("median", "mean"):
            row = self.aggs.get(agg)
            if row is None:
                continue
            v = row.get(counter)
            if counter in ("real_time", "cpu_time") and stats._finite(v):
                v = float(v) * _TIME_SCALE.get(row.get("time_unit", "ns"), 1.0)
            if stats._finite(v):
                n = row.get("repetitions", row.get("iterations", 1))
                return float(v), int(n) if isinstance(n, (int, float)) else 1
        return None

    def has(self, counter: str) -> bool:
        return bool(self.values(counter)) or self._agg(counter) is not None

    def stat(self, counter: str) -> Stat:
        """Stat of a counter; raises NA if skipped, KeyError if the counter is absent."""
        if self.error:
            raise NA(self.error)
        kind = counter_kind(counter)
        vals = self.values(counter)
        if vals:
            return Stat.of(vals, kind)
        agg = self._agg(counter)
        if agg is not None:  # a file with aggregates only: no repetitions, no interval
            return Stat(agg[0], kind, None, None, None, agg[1])
        raise KeyError(counter)


class Run:
    """One or more results files merged: context and series by base name."""

    def __init__(self) -> None:
        self.context: dict[str, Any] = {}
        self.series: dict[str, Series] = {}
        self.files: list[str] = []

    def load(self, path: str, display: Optional[str] = None) -> None:
        """Merge one results file (stats.load, strict: every time and counter a
        non-negative finite number).  Errors name the file as given; `display` (a shorter,
        host-independent name) is what the tables' `source:` line shows."""
        try:
            sr = stats.load(path, strict=True)
        except stats.StatsError as e:
            raise Malformed(e.detail)
        for k, v in sr.context.items():
            self.context.setdefault(k, v)
        for name, row in sr.rows.items():
            self.series.setdefault(name, Series(row))
        self.files.append(display or path)

    def counters_na(self) -> dict:
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

    def names(self) -> list[str]:
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


def fmt_num(v: Optional[float]) -> str:
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


def fmt_value(v: Optional[float], kind: str) -> str:
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


def fmt_stat(st: Stat) -> str:
    """`median [min-max], n=N, CI lo-hi` (the spread and interval a verdict stands on);
    `value (n=1)` for a single repetition."""
    s = fmt_value(st.median, st.kind)
    if st.n < 2 or st.lo is None:
        return s + f" (n={st.n})"
    spread = (f"[{fmt_value(st.lo, st.kind)}-{fmt_value(st.hi, st.kind)}]" if st.lo != st.hi
              else "[all equal]")
    s += f" {spread}, n={st.n}"
    if st.ci_lo is not None and st.ci_lo != st.ci_hi:
        s += f", CI {fmt_value(st.ci_lo, st.kind)}-{fmt_value(st.ci_hi, st.kind)}"
    return s


def fmt_cmp(c: stats.Comparison) -> str:
    """`0.75 (CI 0.71-0.79, p 0.0004)` for a stats.Comparison."""
    t = fmt_num(c.ratio)
    extra = []
    if c.ci_lo is not None:
        extra.append(f"CI {fmt_num(c.ci_lo)}-{fmt_num(c.ci_hi)}")
    if c.p is not None:
        extra.append(f"p {c.p:.2g}")
    extra.append(f"n={c.n_b}/{c.n_a}" if c.n_a != c.n_b else f"n={c.n_a}")
    return t + f" ({', '.join(extra)})"


# ==== Go's own source, as recorded in the .go.json ==========================================


class GoFacts:
    """What scripts/goparse.py read from the Go that ran (context keys go_runtime2,
    go_numa_detect, go_version of the .go.json): tables never read Go's source
    themselves, so they depend on the results files only."""

    def __init__(self, go_run=None):
        ctx = go_run.context if go_run is not None else {}
        self.version = ctx.get("go_version") or None
        self.runtime2 = self._json(ctx.get("go_runtime2"))
        self.numa = self._json(ctx.get("go_numa_detect"))

    @staticmethod
    def _json(v):
        if isinstance(v, dict):
            return v
        try:
            d = json.loads(v) if isinstance(v, str) else None
        except ValueError:
            d = None
        return d if isinstance(d, dict) else None

    @property
    def root(self):  # truthy when any source fact was recorded
        return bool(self.runtime2 or self.numa)


def version_tuple(v):
    m = re.match(r"go(\d+)\.(\d+)", v or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


# ==== Evaluating claims ===================================================================


@dataclass(eq=False)
class CheckResult:
    """One check of a claim: its label, verdict, the measured and ratio cells, the rows it
    read and the CSV records it produced."""

    label: str
    verdict: str
    measured: str = ""
    ratio: str = ""
    rows: list[str] = field(default_factory=list)
    records: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rows, self.records = list(self.rows), list(self.records)


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


def band(check, target):
    """The values the claim's test accepts: (lo, lo_inclusive, hi, hi_inclusive), None for
    an open side (the same reading as judge)."""
    test = check.get("test", "equal")
    if test == "equal":
        tol = float(check.get("tolerance", 0))
        d = tol * abs(target) + 1e-9 * max(1.0, abs(target))
        return (target - d, True, target + d, True)
    if test == "above":
        return (float(check["threshold"]), False, None, False)
    if test == "below":
        return (None, False, float(check["threshold"]), False)
    if test == "between":
        return (float(check["lo"]), True, float(check["hi"]), False)
    raise Malformed(f"claims: unknown test {test!r}")


def in_band(v, b):
    lo, lo_in, hi, hi_in = b
    if lo is not None and (v < lo or (v == lo and not lo_in)):
        return False
    if hi is not None and (v > hi or (v == hi and not hi_in)):
        return False
    return True


def interval_verdict(check, target, point, ci_lo, ci_hi, n, what="value", cmp=None,
                     kind="ratio"):
    """Verdict of a value or ratio from its 95% interval (see the module doc).  Without an
    interval (n < 3) the point decides and the verdict says so.  cmp: the A/B comparison of
    a ratio, whose Mann-Whitney p must show a difference where the band excludes 1."""
    b = band(check, target)
    if ci_lo is None or ci_hi is None:
        v = judge(check, point, target)
        return v if v.startswith("n/a") else f"{v} (n={n}: no interval)"
    inside = in_band(ci_lo, b) and in_band(ci_hi, b)
    lo, _, hi, _ = b
    outside = ((lo is not None and not in_band(ci_hi, b) and ci_hi <= lo)
               or (hi is not None and not in_band(ci_lo, b) and ci_lo >= hi))
    if cmp is not None and not in_band(1.0, b) and not outside:
        if cmp.p is None:
            return (f"inconclusive: no significance test (n = {cmp.n_a} and {cmp.n_b}, "
                    "need >= 2 each)")
        if cmp.p >= stats.ALPHA:
            return (f"inconclusive: no significant difference (Mann-Whitney p = {cmp.p:.2g}, "
                    f"n = {cmp.n_b} and {cmp.n_a})")
    if inside:
        return "confirmed"
    if outside:
        return "refuted"
    edge = lo if lo is not None and ci_lo <= lo else hi
    return (f"inconclusive: 95% CI of the {what} {fmt_value(ci_lo, kind)}-"
            f"{fmt_value(ci_hi, kind)} straddles the band edge {fmt_value(edge, kind)} "
            f"(claim {test_text(check, kind)})")


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
        """Stat for spec {counter | hit | miss, divide} on row `name`, with its
        per-repetition values; raises NA."""
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
            mv, av = s.values(miss), s.values(acc)
            if mv and len(mv) == len(av) and all(av):
                per = [m / a for m, a in zip(mv, av)]  # per repetition
                return Stat.of([1.0 - r for r in per] if "hit" in spec else per, "share")
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
            vals = [s.values(c) for c in counter]
            if vals[0] and all(len(v) == len(vals[0]) for v in vals):
                return Stat.of([sum(t) for t in zip(*vals)], counter_kind(counter[0]))
            parts = [s.stat(c) for c in counter]
            return Stat(sum(p.median for p in parts), counter_kind(counter[0]), None, None, None,
                        min(p.n for p in parts))
        if not s.has(counter):
            raise NA(self.missing(claim, name, counter, judged))
        st = s.stat(counter)
        if spec.get("divide"):
            st = st.scaled(float(spec["divide"]), claim.get("unit", ""))
        return st

    def record(self, claim, role, label, name, counter, st=None, verdict="", extra=None):
        ctr = "+".join(counter) if isinstance(counter, list) else (counter or "")
        rec = {"table": claim["table"], "claim": claim["id"], "role": role, "label": label,
               "bench_row": name, "counter": ctr, "unit": "", "median": "", "cv": "", "min": "",
               "max": "", "n": "", "doc_value": "", "ratio": "", "verdict": verdict,
               "ci_lo": "", "ci_hi": ""}
        if st is not None:
            rec.update(unit=st.kind, median=repr_num(st.median), cv=repr_num(st.cv),
                       min=repr_num(st.lo), max=repr_num(st.hi), n=str(st.n),
                       ci_lo=repr_num(getattr(st, "ci_lo", None)),
                       ci_hi=repr_num(getattr(st, "ci_hi", None)))
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
                    cmp = (stats.compare(sd.values, sn.values) if sd.values and sn.values
                           else None)
                    if cmp is not None and cmp.ratio is not None:
                        m = cmp.ratio
                        verdict = interval_verdict(check, target, m, cmp.ci_lo, cmp.ci_hi,
                                                   min(cmp.n_a, cmp.n_b), "ratio", cmp)
                        ratio = f"{fmt_cmp(cmp)} (claim {test_text(check)})"
                    else:  # aggregates only: no repetitions to test
                        m = sn.median / sd.median
                        verdict = interval_verdict(check, target, m, None, None,
                                                   min(sn.n, sd.n))
                        ratio = f"{fmt_num(m)} (claim {test_text(check)})"
                    measured = f"{label}: {fmt_stat(sn)} / {fmt_stat(sd)}"
                    extra = {"ratio": repr_num(m), "doc_value": repr_num(target)}
                    if cmp is not None:
                        extra.update(min=repr_num(cmp.ci_lo), max=repr_num(cmp.ci_hi),
                                     n=str(min(cmp.n_a, cmp.n_b)))
                    recs = [self.record(claim, "num", label, name, spec_ctr(check["num"]), sn),
                            self.record(claim, "den", label, den_name, spec_ctr(check["den"]), sd),
                            self.record(claim, "check", label, name, "ratio", None, verdict,
                                        extra)]
                    out.append(CheckResult(label, verdict, measured, ratio, [name, den_name], recs))
                else:
                    st = self.value(claim, run, name, check)
                    series = run.series[name]
                    cap = series.cap()
                    at_least = cap is not None and st.median >= cap
                    if at_least:  # a lower bound: the point decides, said with its n
                        verdict = judge(check, st.median, target, at_least)
                        if st.n < 3 and not verdict.startswith("n/a"):
                            verdict += f" (n={st.n}: no interval)"
                    else:
                        verdict = interval_verdict(check, target, st.median, st.ci_lo,
                                                   st.ci_hi, st.n, "value", kind=st.kind)
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
            pts, recs, vals = [], [], []
            try:
                for name in names:
                    x = float(row_args(name)[xarg])
                    st = self.value(claim, self.run, name, {"miss": check["miss"]}
                                    if "miss" in check else check)
                    scale = 100.0 if st.kind == "share" else 1.0
                    y = st.median * scale
                    pts.append((x, y))
                    vals.append([v * scale for v in st.values])
                    recs.append(self.record(claim, "point", label, name, "miss_rate", st))
                if len(pts) < 2:
                    raise NA("n/a: fewer than two sweep points")
                if len({p[0] for p in pts}) < 2:
                    raise NA("n/a: sweep has one x value")
                slope = statistics.linear_regression([p[0] for p in pts],
                                                     [p[1] for p in pts]).slope
                n = min(len(v) for v in vals)
                lo, hi = slope_ci([p[0] for p in pts], vals) if n >= 3 else (None, None)
                verdict = interval_verdict(check, target, slope, lo, hi, n, "slope")
                recs.append(self.record(claim, "check", label, pat, "slope", None, verdict,
                                        {"ratio": repr_num(slope), "doc_value": repr_num(target)}))
                ci = f", CI {fmt_num(lo)}-{fmt_num(hi)}" if lo is not None else ""
                out.append(CheckResult(label, verdict, f"{label}: slope {fmt_num(slope)} "
                                       f"{claim.get('unit', '')} ({len(pts)} points, n={n} "
                                       f"each{ci}) (claim {test_text(check)})", "",
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
        if claim.get("go_fields") and src.runtime2:
            names = list(src.runtime2.get("p_fields") or [])
            want = claim["go_fields"]
            if not all(w in names for w in want):
                return [CheckResult("Go source", "n/a: fields not found in runtime2.go")]
            idx = [names.index(w) for w in want]
            types = [str(src.runtime2.get(f"{w}_type", "?")) for w in want]
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
        if claim.get("go_grep") and src.numa:
            needle = claim["go_grep"]
            hits = sorted({h.split(":", 1)[0] for h in src.numa.get("numa_hits", [])
                           if needle in h})
            vt, mt = version_tuple(ver), version_tuple("go" + claim.get("go_min", "0.0"))
            found = (f"files in src/runtime reading {needle}: "
                     + (", ".join(hits) if hits else "none")
                     + f" ({src.numa.get('files_scanned', '?')} files scanned at bench time)")
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
                    c = (stats.compare(gst.values, ost.values) if gst.values and ost.values
                         else None)
                    r = c.ratio if c is not None and c.ratio is not None else \
                        ost.median / gst.median
                    text += f", ours/Go {fmt_cmp(c) if c is not None else fmt_num(r)}"
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

    def realised(self, claim):
        """The claim's manipulation checks ([[claim.realised]]: label, row, counter, test,
        threshold | lo, hi), each on every row its pattern matches: [(label, ok, text,
        value text)], ok True/False, or None when the value could not be read."""
        out = []
        for m in claim.get("realised", []):
            run = self.go_run if m["row"].startswith("go/") else self.run
            matches = expand(run, m["row"]) if run is not None else []
            if not matches:
                out.append((m["label"], None, f"realised? {m['label']}: n/a: bench not in "
                            "this run", "n/a: bench not in this run"))
                continue
            for name, caps in matches:
                lab = label_for(m["label"], caps, name, m["row"]) if caps else m["label"]
                try:
                    st = self.value(claim, run, name, {"counter": m["counter"]}, judged=False)
                except NA as e:
                    out.append((lab, None, f"realised? {lab}: {na_text(e)}", na_text(e)))
                    continue
                ok = judge(m, st.median, None) == "confirmed"
                out.append((lab, ok, f"realised: {lab} = {fmt_stat(st)} (want "
                            f"{test_text(m, st.kind)}): {'yes' if ok else 'NO'}",
                            fmt_value(st.median, st.kind)))
        return out

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
        realised = self.realised(claim)
        if kind == "behavioural" or claim.get("design"):
            verdict = "not a measurement"
        elif not results:
            verdict = "not a measurement"
        else:
            vs = [r.verdict for r in results]
            words = [stats.verdict_word(v) for v in vs]
            if "refuted" in words:
                verdict = vs[words.index("refuted")]
            elif all(w == "confirmed" for w in words):
                verdict = next((v for v in vs if v != "confirmed"), "confirmed")
            elif "inconclusive" in words:
                verdict = vs[words.index("inconclusive")]
            else:
                verdict = next(v for v in vs if v.startswith("n/a"))
            # The experiment must show its treatment happened, and its test must be able
            # to fail; otherwise nothing it measured can confirm or refute the claim.
            if stats.verdict_word(verdict) in ("confirmed", "refuted", "inconclusive"):
                failed = next((r for r in realised if r[1] is False), None)
                unread = next((r for r in realised if r[1] is None), None)
                if claim.get("cannot_fail"):
                    verdict = f"inconclusive: test cannot fail ({claim['cannot_fail']})"
                elif failed:
                    verdict = f"inconclusive: condition not realised ({failed[0]} = {failed[3]})"
                elif unread and stats.verdict_word(verdict) != "inconclusive":
                    verdict = f"inconclusive: condition not checked ({unread[0]}: {unread[3]})"
        measured = [r.measured for r in results if r.measured] + shows + [r[2] for r in realised]
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
        rrecs = [self.record(claim, "realised", r[0], "", "", None,
                             {True: "realised", False: "not realised"}.get(r[1], "n/a"))
                 for r in realised]
        return {
            "id": claim["id"], "what": claim["what"], "doc": claim["doc"],
            "measured": measured or ["-"], "ratio": [r.ratio for r in results if r.ratio],
            "go": gos, "verdict": verdict, "rows": seen,
            "records": [head] + [x for r in results for x in r.records] + srecs + grecs + rrecs,
        }


def slope_ci(xs, samples):
    """Bootstrap 95% interval of the least-squares slope through the points' medians:
    each point's repetitions resampled on its own (stats.N_RESAMPLES, fixed seed)."""
    import numpy as np
    rng = np.random.default_rng(stats.SEED)
    med = np.array([np.median(np.asarray(s)[rng.integers(0, len(s), (stats.N_RESAMPLES, len(s)))],
                              axis=1) for s in samples])  # points x resamples
    x = np.asarray(xs, dtype=float)
    xc = x - x.mean()
    slopes = (xc[:, None] * (med - med.mean(axis=0))).sum(axis=0) / (xc ** 2).sum()
    tail = (1 - stats.CONFIDENCE) / 2 * 100
    lo, hi = np.percentile(slopes, [tail, 100 - tail])
    return float(lo), float(hi)


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
              "min", "max", "n", "doc_value", "ratio", "verdict", "ci_lo", "ci_hi"]


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
    old = "unknown: not recorded (results file older than this key)"
    busy = c("busy", old)
    lines = [
        f"# {title}",
        "",
        "Generated by `scripts/tables.py` from raw results; do not edit by hand.",
        "",
    ]
    if busy.startswith("yes"):
        lines += [f"**Busy run**: {busy[len('yes: '):] if busy.startswith('yes: ') else busy}.",
                  ""]
    lines += [
        f"- host: {c('host_id', c('host'))} ({c('cpu_model')}, {c('cores', c('num_cpus'))} "
        f"CPUs); hypervisor: {c('hypervisor', old)}",
        f"- when: {c('date')}",
        f"- commit: {c('git_sha')}",
        f"- CPU clock: governor {c('governor')}; boost {c('boost', old)}",
        f"- CPU share: cgroup quota {c('cpu_quota', old)}; the runtime's default GOMAXPROCS "
        f"{c('gomaxprocs_default', old)}",
        (f"- other tenants: steal {c('steal')}; {c('other_cpu')}; load average before "
         f"{c('loadavg_before')}, after {c('loadavg_after')}; busy: {busy}" if "busy" in ctx
         else f"- other tenants: {old}"),
        f"- repetitions: preset {c('preset')}; counters: {c('counting', 'timed with the counters on (results file older than the counted pass)' if ctx.get('counters') else 'none')}",
        f"- PMU: {pmu_text}",
        f"- NUMA nodes: {c('numa_nodes')}",
        f"- Go (this host): {go}",
        f"- source: {', '.join(run.files + (go_run.files if go_run else []))}",
        "",
    ]
    return lines


SUBJECTS = {"go": "Go", "runtime": "our runtime", "host": "the host"}


def render_table(tdef, results, claims_by_id, run, go_run, go_reason, layout=None):
    def wants_go(c):
        return bool(c.get("go") or c.get("go_show"))
    has_go = any(wants_go(claims_by_id[r["id"]]) for r in results)
    cols = ["Claim", "What", "Judges", "Document", "Measured here", "Ratio"]
    if has_go:
        cols.append("Go (this host)")
    cols += ["Verdict", "Bench rows"]
    out = header(run, go_run, go_reason, tdef["title"])
    out.append("| " + " | ".join(cols) + " |")
    out.append("|" + "---|" * len(cols))
    for r in results:
        c = claims_by_id[r["id"]]
        doc = r["doc"] + (" (the document's cell is lost; the threshold is the suite's "
                          "reading)" if c.get("doc_lost") else "")
        cells = [r["id"], md_cell(r["what"]), SUBJECTS.get(c.get("subject"), "-"),
                 md_cell(doc), md_lines(r["measured"]), md_lines(r["ratio"])]
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
    ipo = render_ipo(run, [x for r in results for x in r["rows"]])
    if ipo:
        out += ipo
    if layout:
        out += layout
    return "\n".join(out)


def render_ipo(run, patterns):
    """Instructions per operation beside the time, for the rows whose counted events
    include PAPI_TOT_INS: instructions per iteration x (time per operation /
    time per iteration).  Exact under QEMU's -icount; on hardware it is the figure a
    noisy host does not move.  Empty when no row counted instructions (no PMU)."""
    lines = []
    for name in dict.fromkeys(n for p in patterns for n, _ in expand(run, p)):
        s = run.series[name]
        if s.error or not s.has("PAPI_TOT_INS") or not s.has("real_time"):
            continue
        keys = sorted({k for rep in s.iters for k in rep if k.startswith("ns_per_")})
        unit = next((k for k in ("ns_per_switch", "ns_per_spawn", "ns_per_op") if k in keys),
                    keys[0] if keys else None)
        if unit is None:
            continue
        ins, rt, per = (s.stat(c).median for c in ("PAPI_TOT_INS", "real_time", unit))
        if rt:
            lines.append(f"| `{name}` | {unit} | {fmt_num(per)} | {fmt_num(ins * per / rt)} |")
    if not lines:
        return []
    return ["Instructions per operation (PAPI_TOT_INS per iteration, scaled like the time "
            "per operation; medians):", "",
            "| Bench row | Operation | ns per op | Instructions per op |", "|---|---|---|---|"] \
        + lines + [""]


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
    rt2 = go_src.runtime2 if go_src is not None else None
    if rt2 and "runqhead" in (rt2.get("p_fields") or []):
        names = rt2["p_fields"]
        i = names.index("runqhead")
        types = {"runqhead": rt2.get("runqhead_type"), "runqtail": rt2.get("runqtail_type"),
                 "runq": rt2.get("runq_type")}
        seq = ", ".join(f"`{n} {types[n]}`" if types.get(n) else f"`{n}`"
                        for n in names[max(0, i - 1): i + 4])
        out += [f"Go's own P ({go_src.version or 'Go of unknown version'}, "
                "src/runtime/runtime2.go as read at bench time), fields in order around the "
                f"run queue: {seq}.", ""]
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
    words = stats.VERDICT_WORDS
    out += ["| Table | Claims | " + " | ".join(words) + " |", "|---|---|" + "---|" * len(words)]
    total = {w: 0 for w in words}
    for t in tables:
        rs = per_table[t["id"]]
        cnt = {w: 0 for w in words}
        for r in rs:
            cnt[stats.verdict_word(r["verdict"])] += 1
            total[stats.verdict_word(r["verdict"])] += 1
        out.append(f"| [{t['id']}]({t['id']}.md): {md_cell(t['title'])} | "
                   + ", ".join(r["id"] for r in rs) + " | "
                   + " | ".join(str(cnt[w]) for w in words) + " |")
    out.append("| all | | " + " | ".join(str(total[w]) for w in words) + " |")
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
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise Malformed(f"{path}: {e}")
    for k in ("table", "claim"):
        if not isinstance(data.get(k), list) or not data[k]:
            raise Malformed(f"{path}: no [[{k}]] entries (not a claims file)")
    tables = data["table"]
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


def newest_run(results_dir, host=None):
    """The newest run (by its `<UTC stamp>-<sha>.json` name) in results_dir/host/, or in
    any results_dir/*/ when host is None; partial runs (results/<host>/partial/) are never
    picked.  None when there is none."""
    hosts = [host] if host else sorted(os.listdir(results_dir)) if os.path.isdir(results_dir) \
        else []
    best = None
    for h in hosts:
        d = os.path.join(results_dir, h)
        try:
            names = [n for n in os.listdir(d)
                     if n.endswith(".json") and not n.endswith(".go.json")]
        except OSError:
            continue
        for n in names:
            if best is None or (n, h) > (os.path.basename(best), os.path.basename(
                    os.path.dirname(best))):
                best = os.path.join(d, n)
    return best


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
    return None, GO_NO_RUN


def display_path(p):
    parts = os.path.normpath(p).split(os.sep)
    return "/".join(parts[-2:])


def evaluate_files(files, data):
    """Read the runs (and the .go.json beside the first) and compute every claim's result:
    (run, go_run, go_reason, go facts, {table id: [claim result]}).  The verdict engine,
    apart from rendering; raises Malformed."""
    run = Run()
    for p in files:
        run.load(p, display=display_path(p))
    go_run, go_reason = load_go(files)
    go_src = GoFacts(go_run)
    ev = Evaluator(run, go_run, go_reason or "", go_src)
    per_table = {t["id"]: [] for t in data["table"]}
    for c in data["claim"]:
        per_table[c["table"]].append(ev.claim(c))
    return run, go_run, go_reason, go_src, per_table


def claim_verdicts(run_path, go_path=None, claims_path=None):
    """[(claim id, verdict)] of one results file, in claims order (for scripts/compare.py's
    fleet view).  go_path: the Go peer file when it is not <stem>.go.json beside run_path.
    Raises Malformed."""
    data = load_claims(claims_path or os.path.join(HERE, "claims.toml"))
    files = [run_path] if run_path else []
    if not files:
        raise Malformed("no results file")
    run, go_run, go_reason, go_src, per_table = evaluate_files(files, data)
    if go_path and go_run is None and os.path.exists(go_path):
        go_run = Run()
        go_run.load(go_path, display=display_path(go_path))
        ev = Evaluator(run, go_run, "", GoFacts(go_run))
        per_table = {t["id"]: [] for t in data["table"]}
        for c in data["claim"]:
            per_table[c["table"]].append(ev.claim(c))
    return [(r["id"], r["verdict"]) for t in data["table"] for r in per_table[t["id"]]]


def build(args):
    """Parse everything and return {path: text}; raises Malformed."""
    data = load_claims(args.claims)
    files = args.files
    if not files:
        newest = newest_run(args.results, args.host)
        if not newest:
            where = os.path.join(args.results, args.host or "*")
            print(f"{PROG}: no results JSON in {where}/ (run `make bench`, or name a file)",
                  file=sys.stderr)
            sys.exit(1)
        files = [newest]
    run, go_run, go_reason, go_src, per_table = evaluate_files(files, data)
    claims_by_id = {c["id"]: c for c in data["claim"]}
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
    ap = toolversion.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0],
                                 epilog="Exit status: 0 ok, 1 no results, 2 malformed input.")
    ap.add_argument("--version", action="version", version=toolversion.version(PROG))
    ap.add_argument("files", nargs="*", metavar="FILE.json",
                    help="results files to read (default: newest in RESULTS/HOST/)")
    ap.add_argument("--results", default="results", help="results directory (default: results)")
    ap.add_argument("--host", help="host-id subdirectory of RESULTS (default: the newest run "
                    "of any host)")
    ap.add_argument("--out", help="where tables go (default: the results directory)")
    ap.add_argument("--claims", default=os.path.join(HERE, "claims.toml"),
                    help="claims data (default: scripts/claims.toml)")
    ap.add_argument("--no-go-source", action="store_true",
                    help="accepted for old callers; tables never read Go's source (the "
                    ".go.json carries what goparse.py read at bench time)")
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
            atomicfile.write(os.path.join(out, name), outputs[name])
    except OSError as e:
        print(f"{PROG}: cannot write tables in {out}: {e}", file=sys.stderr)
        return 1
    print(f"{PROG}: wrote {len(outputs)} files to {out}/ from {', '.join(args.files) or 'newest run'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
