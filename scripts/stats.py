#!/usr/bin/python3
"""stats.py - the one reader of Google Benchmark JSON (our bench's files and the Go peer's
.go.json alike) and the statistics every verdict is computed from.

Reading (benches/FORMAT.md):
  load(path) -> Run        .path, .context (dict), .rows (dict name -> Row, file order),
                           .events (harness event names, context `counters`),
                           .counters_na (dict event -> reason, context `counters_na`),
                           .host, .context_json(key), .context_value(key)
  Row                      .name (Google Benchmark suffixes and the harness's /counted
                           stripped), .reps (timed repetitions: dicts with real_time and
                           cpu_time in ns and every user counter), .counted_reps (the
                           harness's separate counted repetitions, rows `<name>/counted`),
                           .na (None or "n/a: <reason>"), .counted (True when the event
                           values come from counted repetitions apart from the timing),
                           .timed_with_counters (True when the times were measured with
                           counters on: older files, or --count_while_timing),
                           .claims, .label_fields, .counters_na, .values(key), .n
Statistics:
  summarize(xs) -> Summary(n, median, lo, hi, q1, q3, ci_lo, ci_hi, cv)
      lo/hi = min/max, q1/q3 = quartiles (linear interpolation), CI = bootstrap 95%
      percentile interval of the median (2000 resamples, fixed seed: the same input gives
      the same interval, so tables are reproducible byte for byte); n < 3 -> ci None;
      cv = sample standard deviation / mean, None when n < 2 or the mean is 0.
  compare(a, b) -> Comparison(ratio, ci_lo, ci_hi, p, n_a, n_b)
      ratio = median(b) / median(a) with a bootstrap 95% interval (each sample resampled
      on its own); p = two-sided Mann-Whitney U (scipy.stats.mannwhitneyu; exact for small
      samples without ties).  ratio None when median(a) is 0; CI None when either n < 3
      or a resample's median(a) is 0; p None when either n < 2, 1.0 when both samples are
      the same constant.
Verdict words (tables.py renders them): CONFIRMED, REFUTED, "inconclusive: <reason>",
"n/a: <reason>", NOT_MEASUREMENT; a verdict may carry a note after its word ("confirmed
(n=1: no interval)").  verdict_word(v) gives the word (VERDICT_WORDS): every count of
verdicts (tables.py's index, compare.py's fleet table, report.py, check_tuning.py) uses it.
band_verdict() and difference_verdict() are the two statistical rules; tables.py's verdict
engine combines them with the claims' data.

Who reads results through this module: tables.py (every verdict), compare.py (A/B and fleet
views), check_tuning.py, speed_table.py, console.py (make bench's headline medians and the Go
run's status) and report.py (the run's context block).  plot.py and report.py draw from the
tables' CSVs, which tables.py computes here (CSV columns median, min, max, n, ci_lo, ci_hi).
goparse.py writes Google Benchmark JSON from Go's output and reads none; run-bench merges the
parts of a run it writes (a writer, not a reader of results).

Sources: Google Benchmark 1.7.1 JSON reporter (benchmark/src/json_reporter.cc); Efron and
Tibshirani, An Introduction to the Bootstrap (1993), ch. 13 (percentile intervals); Mann
and Whitney (1947).  scipy: Debian's python3-scipy.

Bad input raises StatsError with one line naming the tool and the file; the command line
(`stats.py summary FILE [REGEX]`, `stats.py compare FILE ROW_A ROW_B [KEY]`) prints it and
exits 2.
"""
import json
import math
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Optional

import numpy as np

CONFIRMED = "confirmed"
REFUTED = "refuted"
INCONCLUSIVE = "inconclusive"
NA = "n/a"
NOT_MEASUREMENT = "not a measurement"
VERDICT_WORDS = (CONFIRMED, REFUTED, INCONCLUSIVE, NA, NOT_MEASUREMENT)  # the order tables use
ALPHA = 0.05          # significance level of every A/B test
CONFIDENCE = 0.95     # every interval
N_RESAMPLES = 2000
SEED = 13             # fixed: reproducible intervals

# Suffixes Google Benchmark appends to an instance name (FORMAT.md "Rows").
GB_SUFFIX = re.compile(r"(/(real_time|manual_time|process_time|iterations:\d+|repeats:\d+|"
                       r"min_time:[0-9.]+s?|threads:\d+))+$")
COUNTED_SUFFIX = "/counted"                   # the harness's counted pass of an instance
TIMED_COUNTED_SUFFIX = "/timed_with_counters"  # --count_while_timing: times with counters on
UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}



class Summary(NamedTuple):
    """summarize()'s result (module doc); every field but n is None for an empty input."""
    n: int
    median: Optional[float]
    lo: Optional[float]
    hi: Optional[float]
    q1: Optional[float]
    q3: Optional[float]
    ci_lo: Optional[float]
    ci_hi: Optional[float]
    cv: Optional[float]


class Comparison(NamedTuple):
    """compare()'s result (module doc)."""
    ratio: Optional[float]
    ci_lo: Optional[float]
    ci_hi: Optional[float]
    p: Optional[float]
    n_a: int
    n_b: int


class StatsError(Exception):
    """Malformed or empty input; str() is one line naming the tool and the file,
    .detail the same without the tool ("<path>: <why>") for callers naming themselves."""

    def __init__(self, detail):
        super().__init__(f"stats.py: {detail}")
        self.detail = detail


# Google Benchmark's own row keys that are not measurements (strict loading checks every
# other key is a non-negative finite number).
_META_KEYS = frozenset((
    "name", "family_index", "per_family_instance_index", "run_name", "run_type",
    "repetitions", "repetition_index", "threads", "iterations", "time_unit",
    "aggregate_name", "aggregate_unit", "error_occurred", "error_message", "label",
))


# Counters that are differences (FORMAT.md): noise may push a repetition below 0, and the
# sample must keep it (clipping would bias the median and its interval).
SIGNED_SUFFIXES = ("_net", "_delta")


def check_row(b: dict, i: int, path: str) -> None:
    """Raise StatsError unless every time and counter of row b (benchmarks[i] of path) is
    a non-negative finite number (a counter named *_net or *_delta, a difference, may be
    negative); a `cv` aggregate may hold NaN (Google Benchmark writes stddev/mean = NaN
    where a counter's mean is 0)."""
    what = f"{path}: benchmarks[{i}] {b['name']!r}"
    unit = b.get("time_unit", "ns")
    if unit not in UNIT_NS:
        raise StatsError(f"{what}: time_unit {unit!r} is not one of {', '.join(UNIT_NS)}")
    is_cv = b.get("run_type") == "aggregate" and b.get("aggregate_name") == "cv"
    for key, v in b.items():
        if key in _META_KEYS:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise StatsError(f"{what}: {key} = {json.dumps(v)[:40]} is not a number")
        if math.isnan(v) and is_cv:
            continue
        if not math.isfinite(v):
            raise StatsError(f"{what}: {key} = {v} is not finite")
        if v < 0 and not key.endswith(SIGNED_SUFFIXES):
            raise StatsError(f"{what}: {key} = {v!r} is negative")


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


@dataclass(eq=False, repr=False)
class Row:
    """All repetitions of one bench instance.  See the module doc for the fields."""

    name: str
    reps: list[dict[str, float]] = field(default_factory=list)
    counted_reps: list[dict[str, float]] = field(default_factory=list)
    na: Optional[str] = None
    label: str = ""
    claims: list[str] = field(default_factory=list)
    label_fields: dict[str, str] = field(default_factory=dict)
    counters_na: dict[str, str] = field(default_factory=dict)
    timed_with_counters: bool = False
    events: tuple[str, ...] = ()  # the run's harness events, set by load()
    # Google Benchmark's own aggregates (mean/median/stddev/cv): not used here
    aggregates: dict[str, dict] = field(default_factory=dict)

    @property
    def counted(self) -> bool:
        """True when the harness events' values come from counted repetitions that were
        not timed (time with counters off, count in separate repetitions)."""
        return bool(self.counted_reps) and not self.timed_with_counters

    @property
    def n(self) -> int:
        """Number of timed repetitions."""
        return len(self.reps)

    def values(self, key: str) -> list[float]:
        """Finite values of key over the timed repetitions, in repetition order.  key
        "real_time"/"cpu_time" = time per iteration in ns.  A harness event (context
        `counters`) is read from the counted repetitions when the run has them.  NaN,
        inf, missing and non-numeric values are left out."""
        reps = self.counted_reps if key in self.events and self.counted_reps else self.reps
        return [float(r[key]) for r in reps if _finite(r.get(key))]

    def summary(self, key: str) -> Summary:
        """summarize(self.values(key))."""
        return summarize(self.values(key))

    def __repr__(self) -> str:
        return f"Row({self.name!r}, n={self.n}, na={self.na!r})"


@dataclass(eq=False)
class Run:
    """One results file: context, rows in file order."""

    path: str
    context: dict[str, Any]
    rows: dict[str, Row]
    events: list[str] = field(init=False)  # from context `counters`
    counters_na: dict[str, str] = field(init=False)  # from context `counters_na`

    def __post_init__(self) -> None:
        self.events = [e for e in str(self.context.get("counters", "")).split(",") if e]
        self.counters_na = self.context_json("counters_na", {})

    def context_json(self, key: str, default: Any = None) -> Any:
        """A context value that holds JSON text (counters_na, p_layout, go_runtime2...),
        decoded; default when absent or not valid JSON."""
        v = self.context.get(key)
        if not isinstance(v, str):
            return v if v is not None else default
        try:
            return json.loads(v)
        except ValueError:
            return default

    def context_value(self, key: str, default: Any = None) -> Any:
        """A context value as recorded, except that JSON text of an object or array (the
        harness's counters_na, p_layout, numa_topology...) is decoded; default when absent.
        For showing every key (report.py's host-state block)."""
        v = self.context.get(key, default)
        if isinstance(v, str) and v[:1] in "[{":
            try:
                return json.loads(v)
            except ValueError:
                pass
        return v

    @property
    def host(self) -> Optional[str]:
        """The host name the run recorded (context host, else host_name), or None.  The
        stable per-machine id is context host_id (scripts/hoststate.py)."""
        return self.context.get("host") or self.context.get("host_name") or None

    def get(self, name: str) -> Optional[Row]:
        """The row of that name or None."""
        return self.rows.get(name)

    def match(self, regex: str) -> list[Row]:
        """Rows whose name matches regex (re.search), in file order."""
        rx = re.compile(regex)
        return [r for n, r in self.rows.items() if rx.search(n)]


def _label_parts(label: Any) -> tuple[list[str], dict[str, str]]:
    parts = str(label or "").split(";")
    claims = [c.strip() for c in parts[0].split(",") if c.strip()]
    fields = {}
    for seg in parts[1:]:
        k, sep, v = seg.partition("=")
        fields[k.strip()] = v if sep else ""
    return claims, fields


def _base_name(b: dict) -> tuple[str, str]:
    name = b.get("run_name") or b.get("name", "")
    if b.get("run_type") == "aggregate" and not b.get("run_name"):
        name = re.sub(r"_(mean|median|stddev|cv)$", "", name)
    name = GB_SUFFIX.sub("", name)
    kind = "timed"
    if name.endswith(COUNTED_SUFFIX):
        name, kind = name[: -len(COUNTED_SUFFIX)], "counted"
    elif name.endswith(TIMED_COUNTED_SUFFIX):
        name, kind = name[: -len(TIMED_COUNTED_SUFFIX)], "timed_counted"
    return GB_SUFFIX.sub("", name), kind


def load(path: str, strict: bool = False) -> Run:
    """Read one Google Benchmark JSON file (a bench run or a .go.json) into a Run.
    Raises StatsError when the file is missing, empty, not JSON or not Google Benchmark's
    shape; with strict, also when a time or counter is not a non-negative finite number
    (check_row)."""
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8")
    except OSError as e:
        raise StatsError(f"{path}: cannot read: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise StatsError(f"{path}: not JSON: {e}") from None
    if not text.strip():
        raise StatsError(f"{path}: empty file (no Google Benchmark JSON)")
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise StatsError(f"{path}: not JSON: {e}") from None
    if not isinstance(doc, dict):
        raise StatsError(f"{path}: top level is not an object (not Google Benchmark JSON)")
    if not isinstance(doc.get("context", {}), dict):
        raise StatsError(f"{path}: 'context' is not an object")
    if not isinstance(doc.get("benchmarks"), list):
        raise StatsError(f"{path}: no 'benchmarks' list (not Google Benchmark JSON)")
    context = doc.get("context", {})
    rows = {}
    legacy_counters = bool([e for e in str(context.get("counters", "")).split(",") if e])
    for i, b in enumerate(doc["benchmarks"]):
        if not isinstance(b, dict) or not isinstance(b.get("name"), str):
            raise StatsError(f"{path}: benchmarks[{i}] has no name")
        if strict:
            check_row(b, i, path)
        name, kind = _base_name(b)
        row = rows.get(name)
        if row is None:
            row = rows[name] = Row(name)
        if b.get("label") and (kind != "counted" or not row.label):
            row.label = str(b["label"])
            row.claims, row.label_fields = _label_parts(row.label)
        if b.get("run_type") == "aggregate":
            row.aggregates[b.get("aggregate_name", "")] = b
            continue
        if b.get("error_occurred"):
            msg = str(b.get("error_message", "")).strip()
            if kind != "counted" and row.na is None:
                row.na = msg if msg.startswith("n/a") else f"n/a: {msg or 'skipped'}"
            continue
        rep = {}
        scale = UNIT_NS.get(b.get("time_unit", "ns"), 1.0)
        for k, v in b.items():
            if k in ("real_time", "cpu_time") and _finite(v):
                rep[k] = float(v) * scale
            elif _finite(v) and k not in ("family_index", "per_family_instance_index",
                                          "repetitions", "repetition_index", "threads"):
                rep[k] = float(v)
        rep["repetition_index"] = b.get("repetition_index", 0)
        _, fields = _label_parts(b.get("label"))
        if "counters_na" in fields:
            try:
                row.counters_na.update(json.loads(fields["counters_na"]))
            except ValueError:
                row.counters_na["?"] = "counters_na label is not JSON"
        if kind == "counted":
            row.counted_reps.append(rep)
        else:
            row.reps.append(rep)
            if kind == "timed_counted":
                row.timed_with_counters = True
    run = Run(path, context, rows)
    counted_pass = any(r.counted_reps for r in rows.values())
    for r in rows.values():
        r.events = tuple(run.events)
        # Files written before the counted pass existed timed with counters on.
        if legacy_counters and not counted_pass and r.reps:
            r.timed_with_counters = True
        if r.reps and r.na is not None and not r.counted_reps:
            r.na = None  # some repetitions measured: the row stands on those
    return run


# ==== statistics ===========================================================================

def _clean(xs: Iterable[Any]) -> np.ndarray:
    return np.array([float(x) for x in xs if _finite(x)], dtype=float)


def summarize(xs: Iterable[Any]) -> Summary:
    """Summary of finite values xs (others dropped): see the module doc.  An empty input
    gives Summary(0, None, ...)."""
    a = _clean(xs)
    n = len(a)
    if n == 0:
        return Summary(0, None, None, None, None, None, None, None, None)
    med = float(np.median(a))
    q1, q3 = (float(q) for q in np.percentile(a, [25, 75]))
    ci_lo = ci_hi = None
    if n >= 3:
        ci_lo, ci_hi = _boot_ci((a,), lambda s, axis: np.median(s, axis=axis))
    mean = float(np.mean(a))
    cv = float(np.std(a, ddof=1) / mean) if n >= 2 and mean != 0 else None
    return Summary(n, med, float(a.min()), float(a.max()), q1, q3, ci_lo, ci_hi, cv)


def _boot_ci(samples: tuple[np.ndarray, ...],
             stat: Callable[..., np.ndarray]) -> tuple[Optional[float], Optional[float]]:
    """Percentile bootstrap interval of stat(*samples, axis=-1); each sample resampled
    with replacement on its own (numpy, N_RESAMPLES, seed SEED).  (None, None) when the
    interval is not finite."""
    rng = np.random.default_rng(SEED)
    boots = [s[rng.integers(0, len(s), size=(N_RESAMPLES, len(s)))] for s in samples]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = stat(*boots, axis=-1)
    if not np.all(np.isfinite(t)):
        return None, None
    tail = (1 - CONFIDENCE) / 2 * 100
    lo, hi = (float(v) for v in np.percentile(t, [tail, 100 - tail]))
    return lo, hi


def _ratio_stat(a: np.ndarray, b: np.ndarray, axis: int) -> np.ndarray:
    ma = np.median(a, axis=axis)
    mb = np.median(b, axis=axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        return mb / ma


def compare(a: Iterable[Any], b: Iterable[Any]) -> Comparison:
    """Comparison of samples a and b (finite values; others dropped): ratio =
    median(b)/median(a), its bootstrap 95% interval, two-sided Mann-Whitney U p.  See the
    module doc for when a field is None."""
    xa, xb = _clean(a), _clean(b)
    na, nb = len(xa), len(xb)
    ratio = ci_lo = ci_hi = p = None
    if na and nb:
        ma, mb = float(np.median(xa)), float(np.median(xb))
        if ma != 0:
            ratio = mb / ma
            if na >= 3 and nb >= 3:  # None when a resample's median of a is 0 (inf)
                ci_lo, ci_hi = _boot_ci((xa, xb), _ratio_stat)
    if na >= 2 and nb >= 2:
        if np.all(xa == xa[0]) and np.all(xb == xa[0]):
            p = 1.0  # one constant on both sides: no difference at all
        else:
            # imported here: scipy.stats takes ~0.5 s to import, which every tool reading
            # results (and its --help and error paths) would pay without a U test
            from scipy import stats as sps
            p = float(sps.mannwhitneyu(xa, xb, alternative="two-sided").pvalue)
            p = p if math.isfinite(p) else None
    return Comparison(ratio, ci_lo, ci_hi, p, na, nb)


# ==== verdict rules =========================================================================

def verdict_word(v: Any) -> Optional[str]:
    """The word a verdict starts with (one of VERDICT_WORDS): "confirmed (n=1: no
    interval)" -> "confirmed", "inconclusive: <reason>" -> "inconclusive"; None when v
    (surrounding spaces ignored) is not a verdict."""
    v = str(v or "").strip()
    for w in VERDICT_WORDS:
        if v.startswith(w):
            return w
    return None


def inconclusive(reason: str) -> str:
    return f"inconclusive: {reason}"


def na(reason: str) -> str:
    return f"n/a: {reason}"


def fmt(v: Optional[float], digits: int = 3) -> str:
    """A number for a reason text: 3 significant digits, or 'n/a'."""
    if v is None or not math.isfinite(v):
        return "n/a"
    return f"{v:.{digits}g}"


def band_verdict(lo: Optional[float], hi: Optional[float], band_lo: Optional[float] = None,
                 band_hi: Optional[float] = None, what: str = "value") -> str:
    """Verdict of an interval [lo, hi] (a value's or a ratio's 95% CI) against the claim's
    band [band_lo, band_hi] (None = open side): confirmed when the interval lies inside
    the band, refuted when it lies wholly outside, `inconclusive: 95% CI lo-hi straddles
    the band edge E` otherwise; `inconclusive: no interval (n < 3)` when lo/hi are None."""
    if lo is None or hi is None:
        return inconclusive(f"no 95% CI of the {what} (fewer than 3 repetitions)")
    inside_lo = band_lo is None or lo >= band_lo
    inside_hi = band_hi is None or hi <= band_hi
    if inside_lo and inside_hi:
        return CONFIRMED
    if (band_lo is not None and hi < band_lo) or (band_hi is not None and lo > band_hi):
        return REFUTED
    edge = band_lo if not inside_lo else band_hi
    return inconclusive(f"95% CI of the {what} {fmt(lo)}-{fmt(hi)} straddles the band edge "
                        f"{fmt(edge)}")


def difference_verdict(cmp: Comparison, alpha: float = ALPHA) -> Optional[str]:
    """None when the comparison shows a significant difference (p < alpha), else the
    `inconclusive: ...` verdict for a claim that predicts one (p stated)."""
    if cmp.p is None:
        return inconclusive(f"no significance test (n = {cmp.n_a} and {cmp.n_b}, need >= 2 "
                            "each)")
    if cmp.p >= alpha:
        return inconclusive(f"no significant difference (Mann-Whitney p = {cmp.p:.2g}, "
                            f"n = {cmp.n_a} and {cmp.n_b})")
    return None


def ratio_verdict(cmp: Comparison, band_lo: Optional[float] = None,
                  band_hi: Optional[float] = None, predicts_difference: bool = True) -> str:
    """A ratio claim: significance first (when the claim predicts a difference), then the
    ratio's 95% CI against the band."""
    if cmp.ratio is None:
        return inconclusive("ratio undefined (baseline median 0 or no values)")
    if predicts_difference:
        v = difference_verdict(cmp)
        if v:
            return v
    return band_verdict(cmp.ci_lo, cmp.ci_hi, band_lo, band_hi, what="ratio")


def spread_text(s: Summary) -> str:
    """'n=9, 40.1 [39.7-40.4] CI 39.8-40.3' for a table cell (median [min-max], 95% CI)."""
    if s.n == 0:
        return "n=0"
    t = f"n={s.n}, {fmt(s.median)} [{fmt(s.lo)}-{fmt(s.hi)}]"
    if s.ci_lo is not None:
        t += f" CI {fmt(s.ci_lo)}-{fmt(s.ci_hi)}"
    return t


# ==== command line ==========================================================================

def _main(argv):
    usage = ("usage: stats.py summary FILE [REGEX] | stats.py compare FILE ROW_A ROW_B [KEY] | "
             "stats.py --help | --version")
    if argv[:1] == ["--version"]:
        import toolversion
        print(toolversion.version("stats.py"))
        return 0
    if argv[:1] in (["--help"], ["-h"]):
        print(f"{usage}\n\n  summary  each row (REGEX: re.search over row names): n, median "
              "[min-max] and the\n           bootstrap 95% CI of the median of real_time "
              "(ns)\n  compare  ROW_B / ROW_A: ratio of medians of KEY (default real_time), "
              "its 95% CI,\n           Mann-Whitney p, n of each\n\n"
              "Exit 0 ok, 2 bad usage or input (one line).  The module doc of "
              "scripts/stats.py\ndescribes the statistics.")
        return 0
    if len(argv) < 2 or argv[0] not in ("summary", "compare") or \
            (argv[0] == "compare" and len(argv) not in (4, 5)):
        print(f"stats.py: {usage} (see --help)", file=sys.stderr)
        return 2
    try:
        run = load(argv[1])
    except StatsError as e:
        print(e, file=sys.stderr)
        return 2
    if argv[0] == "summary":
        try:
            rows = run.match(argv[2]) if len(argv) > 2 else list(run.rows.values())
        except re.error as e:
            print(f"stats.py: invalid REGEX {argv[2]!r}: {e}", file=sys.stderr)
            return 2
        for r in rows:
            print(f"{r.name:60s} {r.na or spread_text(r.summary('real_time'))}")
        return 0
    key = argv[4] if len(argv) == 5 else "real_time"
    ra, rb = run.get(argv[2]), run.get(argv[3])
    if ra is None or rb is None:
        print(f"stats.py: {argv[1]}: no row {argv[2] if ra is None else argv[3]}", file=sys.stderr)
        return 2
    c = compare(ra.values(key), rb.values(key))
    print(f"ratio {fmt(c.ratio)} CI {fmt(c.ci_lo)}-{fmt(c.ci_hi)} p {fmt(c.p, 2)} "
          f"n {c.n_a}/{c.n_b}")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
