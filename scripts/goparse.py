#!/usr/bin/python3
"""goparse - the Go side of the suite: output converter and Go source facts.

Two jobs, both importable (scripts/tables.py may call them) and both behind a CLI:

1. Convert the JSON lines printed by benches/go (see benches/go/main.go) into Google
   Benchmark 1.7.1-shaped JSON (benches/FORMAT.md): one "iteration" row per repetition,
   then "aggregate" rows mean/median/stddev/cv (iterations = repetitions, cv a ratio with
   aggregate_unit "percentage") exactly as libbenchmark 1.7.1 writes them, so the tables
   treat go/... rows like ours.  Skipped benches become rows with error_occurred and an
   "n/a: ..." error_message.

2. Read facts about Go itself from the installed Go's source, so verdicts cite the Go they
   read instead of the document:
     - parse_runtime2(): field order of `type p struct` in src/runtime/runtime2.go, whether
       runqhead and runqtail are adjacent (claim L2.1.headtail) and whether p has any
       NUMA/node field (N3.1.detect);
     - numa_scan(): whether any non-test file of src/runtime mentions NUMA,
       /sys/devices/system/node or the NUMA memory-policy syscalls, and which /sys paths
       os_linux.go and proc.go do read (N3.1.detect);
     - go_version(): `go env GOVERSION`, else GOROOT/VERSION.

CLI (python3 scripts/goparse.py --help):
  convert IN.jsonl OUT.go.json [--goroot DIR] [--context KEY=VALUE ...]
  na OUT.go.json --reason "n/a: go not installed" [--context KEY=VALUE ...]
  facts [--goroot DIR]      print the Go source facts as JSON
Outputs are written to a temp file and renamed.  Bad input: one line on stderr, exit 2.
"""

import argparse
import datetime
import json
import math
import statistics
import os
import re
import socket
import subprocess
import sys

import atomicfile  # scripts/atomicfile.py: results written whole or not at all
import toolversion  # scripts/toolversion.py: --version

CONTEXT_PREFIX_KEYS = ("go_version", "gomaxprocs", "num_cpu", "goos", "goarch", "preset",
                       "reps", "benchtime_ns", "warmup_ns", "cpu_time")
NUMA_PATTERNS = (r"numa", r"/sys/devices/system/node", r"\bget_mempolicy\b",
                 r"\bset_mempolicy\b", r"\bmbind\b", r"\bmove_pages\b")


class GoParseError(ValueError):
    """Input that is not what benches/go prints or what runtime2.go looks like."""


# ==== Bench output ========================================================================

def parse_output(text):
    """Parse benches/go's JSON lines.  Returns {"context": {...}, "runs": [...],
    "skips": [...]} in input order; raises GoParseError naming the bad line."""
    context, runs, skips = None, [], []
    for no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise GoParseError(f"line {no}: not JSON: {e.msg}") from None
        if not isinstance(obj, dict):
            raise GoParseError(f"line {no}: not a JSON object")
        kind = obj.get("type")
        if kind == "context":
            if context is not None:
                raise GoParseError(f"line {no}: second context line")
            context = obj
        elif context is None:
            raise GoParseError(f"line {no}: {kind!r} line before the context line")
        elif kind == "run":
            _check_run(obj, no)
            runs.append(obj)
        elif kind == "skip":
            for k in ("name", "reason"):
                if not isinstance(obj.get(k), str) or not obj[k]:
                    raise GoParseError(f"line {no}: skip line without {k!r}")
            _check_name(obj["name"], no)
            skips.append(obj)
        else:
            raise GoParseError(f"line {no}: unknown line type {kind!r}")
    if context is None:
        raise GoParseError("no context line: is this benches/go output?")
    return {"context": context, "runs": runs, "skips": skips}


def _check_name(name, no):
    if not re.fullmatch(r"go/[a-z_]+(/[A-Za-z0-9_.:]+)*", name):
        raise GoParseError(f"line {no}: row name {name!r} is not go/<area>/... (FORMAT.md)")


def _check_run(obj, no):
    if not isinstance(obj.get("name"), str):
        raise GoParseError(f"line {no}: run line without a name")
    _check_name(obj["name"], no)
    for k in ("rep", "reps", "iterations", "real_ns", "cpu_ns"):
        v = obj.get(k)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
            raise GoParseError(f"line {no}: {obj['name']}: {k!r} missing or negative")
    if obj["iterations"] <= 0:
        raise GoParseError(f"line {no}: {obj['name']}: iterations must be > 0")
    if obj["rep"] >= obj["reps"]:
        raise GoParseError(f"line {no}: {obj['name']}: rep {obj['rep']} >= reps {obj['reps']}")
    counters = obj.get("counters", {})
    if not isinstance(counters, dict):
        raise GoParseError(f"line {no}: {obj['name']}: counters is not an object")
    for k, v in counters.items():
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
            raise GoParseError(f"line {no}: {obj['name']}: counter {k!r} is not a finite number")


def _stddev(xs):
    """Sample standard deviation (n - 1), 0 for fewer than two values (libbenchmark's)."""
    return statistics.stdev(xs) if len(xs) > 1 else 0.0


# The four statistics libbenchmark 1.7.1 reports (statistics.cc), with their unit.
STATS = (
    ("mean", "time", statistics.fmean),
    ("median", "time", statistics.median),
    ("stddev", "time", _stddev),
    ("cv", "percentage",
     lambda xs: _stddev(xs) / statistics.fmean(xs) if len(xs) > 1 and sum(xs) else 0.0),
)


def _family(name):
    """go/chan/throughput/cap:1/procs:2 -> go/chan/throughput (the part before any arg)."""
    parts = name.split("/")
    fam = [p for p in parts if ":" not in p]
    return "/".join(fam)


def to_gbench(parsed, extra_context=None):
    """Build the GB-1.7.1-shaped document from parse_output()'s result."""
    ctx = parsed["context"]
    context = base_context()
    for k in CONTEXT_PREFIX_KEYS:
        if k in ctx:
            context[k] = str(ctx[k])
    context["go_status"] = "ok"
    context.update({k: str(v) for k, v in (extra_context or {}).items()})

    order, by_name = [], {}
    for r in parsed["runs"]:
        if r["name"] not in by_name:
            order.append(r["name"])
            by_name[r["name"]] = []
        by_name[r["name"]].append(r)
    skipped = {s["name"]: s for s in parsed["skips"]}
    for s in parsed["skips"]:
        if s["name"] not in by_name:
            order.append(s["name"])
    families, rows = {}, []
    for name in order:
        fam = _family(name)
        fi = families.setdefault(fam, [len(families), 0])
        index = (fi[0], fi[1])
        fi[1] += 1
        if name in by_name:
            rows.extend(_rows_for(name, by_name[name], index))
        else:
            rows.append(_skip_row(skipped[name], index, int(ctx.get("reps", 1))))
    return {"context": context, "benchmarks": rows}


def _head(name, index, run_type, reps):
    return {"name": name, "family_index": index[0], "per_family_instance_index": index[1],
            "run_name": name, "run_type": run_type, "repetitions": reps}


def _rows_for(name, runs, index):
    runs = sorted(runs, key=lambda r: r["rep"])
    reps = len(runs)
    label = runs[0].get("label", "")
    out = []
    for r in runs:
        row = _head(name, index, "iteration", reps)
        row.update({"repetition_index": r["rep"], "threads": 1, "iterations": r["iterations"],
                    "real_time": r["real_ns"] / r["iterations"],
                    "cpu_time": r["cpu_ns"] / r["iterations"], "time_unit": "ns"})
        row.update(_counters(r))
        if label:
            row["label"] = label
        out.append(row)
    if reps < 2:  # libbenchmark 1.7.1 reports aggregates only for repetitions > 1
        return out
    keys = []
    for r in runs:
        keys.extend(k for k in _counters(r) if k not in keys)
    for agg, unit, fn in STATS:
        row = _head(name + "_" + agg, index, "aggregate", reps)
        row["run_name"] = name
        row.update({"threads": 1, "aggregate_name": agg, "aggregate_unit": unit,
                    "iterations": reps,
                    "real_time": fn([r["real_ns"] / r["iterations"] for r in runs]),
                    "cpu_time": fn([r["cpu_ns"] / r["iterations"] for r in runs]),
                    "time_unit": "ns"})
        for k in keys:  # over the repetitions that report k (a sampled counter may be absent)
            row[k] = fn([_counters(r)[k] for r in runs if k in _counters(r)])
        if label:
            row["label"] = label
        out.append(row)
    return out


def _counters(run):
    c = dict(run.get("counters", {}))
    if "gomaxprocs" in run:
        c.setdefault("gomaxprocs", run["gomaxprocs"])
    return c


def _skip_row(skip, index, reps):
    row = _head(skip["name"], index, "iteration", reps)
    row.update({"repetition_index": 0, "threads": 1, "error_occurred": True,
                "error_message": skip["reason"], "iterations": 0, "real_time": 0,
                "cpu_time": 0, "time_unit": "ns"})
    if skip.get("label"):
        row["label"] = skip["label"]
    return row


def base_context():
    """The host part of the context, as libbenchmark 1.7.1 writes it plus our host key."""
    host = socket.gethostname()
    ctx = {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
           "host_name": host, "host": host, "executable": "benches/go (gobench)",
           "num_cpus": os.cpu_count() or 0, "mhz_per_cpu": _mhz(),
           "cpu_scaling_enabled": False, "caches": [],
           "load_avg": list(os.getloadavg()) if hasattr(os, "getloadavg") else [],
           "library_build_type": "release",
           "engine": "benches/go JSON lines converted by scripts/goparse.py"}
    try:
        ctx["kernel"] = os.uname().release
    except OSError:
        pass
    return ctx


def _mhz():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("cpu MHz"):
                    return int(float(line.split(":")[1]))
    except (OSError, ValueError):
        pass
    return 0


def na_document(reason, extra_context=None):
    """The document written when Go cannot run: context says why, no rows."""
    if not reason.startswith("n/a"):
        raise GoParseError(f"reason must start with 'n/a': {reason!r}")
    ctx = base_context()
    ctx["go_status"] = reason
    ctx["go_na"] = reason  # the key scripts/tables.py's load_go() reads
    ctx.update({k: str(v) for k, v in (extra_context or {}).items()})
    return {"context": ctx, "benchmarks": []}


# ==== Go source facts =====================================================================

def _strip_comment(line):
    """Drop a // comment (runtime2.go's p struct has no string literals with //)."""
    i = line.find("//")
    return line if i < 0 else line[:i]


def p_struct_fields(source, struct="p"):
    """Top-level fields of `type <struct> struct` in Go source, in order, as
    [(name, type_text, line_no)].  Nested anonymous structs are one field with type
    "struct{...}"; embedded fields have the type as their name."""
    lines = source.splitlines()
    start = None
    for i, line in enumerate(lines):
        if re.match(r"^type\s+%s\s+struct\s*\{\s*(//.*)?$" % re.escape(struct), line):
            start = i
            break
    if start is None:
        raise GoParseError(f"no `type {struct} struct {{` in the source")
    fields, depth = [], 1
    for i in range(start + 1, len(lines)):
        code = _strip_comment(lines[i]).strip()
        if not code:
            continue
        if depth == 1:
            if code == "}":
                return fields
            m = re.match(r"^([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s+(.+)$", code)
            if m:
                names = [n.strip() for n in m.group(1).split(",")]
                typ = m.group(2).strip()
            else:  # embedded field
                names, typ = [code.lstrip("*")], code
            if typ.endswith("{"):
                typ = typ[:-1].strip() + "{...}"
            typ = re.sub(r"\s+", "", typ) if typ.startswith("struct") else typ
            fields.extend((n, typ, i + 1) for n in names)
        depth += code.count("{") - code.count("}")
        if depth < 1:
            return fields
    raise GoParseError(f"`type {struct} struct` is not closed")


def parse_runtime2(path):
    """Facts about Go's `type p struct` from runtime2.go at path (claims L2.1.headtail,
    N3.1.detect)."""
    try:
        with open(path, encoding="utf-8") as f:
            src = f.read()
    except OSError as e:
        raise GoParseError(f"cannot read {path}: {e.strerror}") from None
    fields = p_struct_fields(src, "p")
    names = [f[0] for f in fields]
    for need in ("runqhead", "runqtail", "runq"):
        if need not in names:
            raise GoParseError(f"{path}: type p has no field {need!r}")
    ih, it = names.index("runqhead"), names.index("runqtail")
    typ = {f[0]: f[1] for f in fields}
    numa = [f[0] for f in fields if re.search(r"numa|node", f[0] + " " + f[1], re.I)]
    m = re.match(r"\[(\d+)\]", typ["runq"])
    return {
        "file": path,
        "p_fields": names,
        "runqhead_index": ih, "runqtail_index": it,
        "runqhead_type": typ["runqhead"], "runqtail_type": typ["runqtail"],
        "runq_type": typ["runq"], "runq_entries": int(m.group(1)) if m else None,
        "headtail_adjacent": it == ih + 1,
        "between_headtail": names[min(ih, it) + 1:max(ih, it)],
        "numa_fields": numa,
        "p_has_numa_field": bool(numa),
    }


def numa_scan(goroot):
    """Look through the non-test .go files of GOROOT/src/runtime for NUMA topology
    detection (claim N3.1.detect).  Returns hits as "file:line: text" and the /sys paths
    that os_linux.go and proc.go reference."""
    rt = os.path.join(goroot, "src", "runtime")
    try:
        files = sorted(f for f in os.listdir(rt) if f.endswith(".go") and not f.endswith("_test.go"))
    except OSError as e:
        raise GoParseError(f"cannot list {rt}: {e.strerror}") from None
    pat = re.compile("|".join(NUMA_PATTERNS), re.I)
    hits, sys_paths = [], {}
    for name in files:
        with open(os.path.join(rt, name), encoding="utf-8", errors="replace") as f:
            for no, line in enumerate(f, 1):
                if pat.search(line):
                    hits.append(f"{name}:{no}: {line.strip()[:120]}")
                if name in ("os_linux.go", "proc.go"):
                    for p in re.findall(r'"(/sys/[^"\\]*)', line):
                        sys_paths.setdefault(p, f"{name}:{no}")
    return {"runtime_dir": rt, "files_scanned": len(files), "numa_hits": hits,
            "sys_paths_read": sys_paths,
            "reads_sys_devices_system_node": any("/sys/devices/system/node" in h for h in hits),
            "detects_numa": bool(hits)}


def go_version(goroot=None, go="go"):
    """Go's version string: `go env GOVERSION`, else the first line of GOROOT/VERSION."""
    try:
        v = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True,
                           timeout=60).stdout.strip()
        if v:
            return v
    except (OSError, subprocess.SubprocessError):
        pass
    if goroot:
        try:
            with open(os.path.join(goroot, "VERSION")) as f:
                return f.readline().strip()
        except OSError:
            pass
    return ""


def version_at_least(version, minimum):
    """go1.19.8 vs "1.21" -> False.  Unknown versions compare False."""
    def nums(v):
        m = re.match(r"(?:go)?(\d+)\.(\d+)(?:\.(\d+))?", v or "")
        return tuple(int(x or 0) for x in m.groups()) if m else None
    a, b = nums(version), nums(minimum)
    return a is not None and b is not None and a >= b


def goroot_of(go="go"):
    try:
        r = subprocess.run([go, "env", "GOROOT"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return ""
    return r.stdout.strip() if r.returncode == 0 else ""


def source_facts(goroot, go="go"):
    """All Go source facts as one dict (what `facts` prints and `convert` stores in the
    context keys go_runtime2 and go_numa_detect)."""
    version = go_version(goroot, go)
    rt2 = parse_runtime2(os.path.join(goroot, "src", "runtime", "runtime2.go"))
    numa = numa_scan(goroot)
    numa["p_has_numa_field"] = rt2["p_has_numa_field"]
    numa["version_at_least_1_21"] = version_at_least(version, "1.21")
    return {"go_version": version, "goroot": goroot, "runtime2": rt2, "numa": numa}


# ==== CLI =================================================================================

def _kv(items):
    out = {}
    for it in items or []:
        if "=" not in it or it.startswith("="):
            raise GoParseError(f"--context wants KEY=VALUE, got {it!r}")
        k, v = it.split("=", 1)
        out[k] = v
    return out


def main(argv=None):
    ap = toolversion.ArgumentParser(prog="goparse.py", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="See the module docstring for the formats.")
    ap.add_argument("--version", action="version", version=toolversion.version("goparse.py"))
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("convert", help="benches/go JSON lines -> GB-1.7.1-shaped JSON")
    c.add_argument("input", help="JSON lines from benches/go ('-' = stdin)")
    c.add_argument("output", help="the .go.json file to write (atomically)")
    c.add_argument("--goroot", help="also store Go source facts read from this GOROOT")
    c.add_argument("--context", action="append", metavar="KEY=VALUE")
    n = sub.add_parser("na", help="write a document with no rows and go_status = reason")
    n.add_argument("output")
    n.add_argument("--reason", required=True)
    n.add_argument("--context", action="append", metavar="KEY=VALUE")
    f = sub.add_parser("facts", help="print Go source facts (runtime2.go p layout, NUMA scan)")
    f.add_argument("--goroot", help="default: `go env GOROOT`")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "convert":
            if args.input == "-":
                text = sys.stdin.read()
            else:
                try:
                    with open(args.input, encoding="utf-8") as fh:
                        text = fh.read()
                except OSError as e:
                    raise GoParseError(f"cannot read {args.input}: {e.strerror}") from None
                except UnicodeDecodeError as e:
                    raise GoParseError(f"{args.input}: not UTF-8 text: {e}") from None
            extra = _kv(args.context)
            if args.goroot:
                facts = source_facts(args.goroot)
                extra["goroot"] = args.goroot
                extra["go_version_source"] = facts["go_version"]
                extra["go_runtime2"] = json.dumps(facts["runtime2"])
                extra["go_numa_detect"] = json.dumps(facts["numa"])
            try:
                doc = to_gbench(parse_output(text), extra)
            except GoParseError as e:
                raise GoParseError(f"{args.input}: {e}") from None
            atomicfile.write_json(args.output, doc)
        elif args.cmd == "na":
            atomicfile.write_json(args.output, na_document(args.reason, _kv(args.context)))
        else:
            goroot = args.goroot or goroot_of()
            if not goroot:
                raise GoParseError("no --goroot and `go env GOROOT` failed: is go installed?")
            json.dump(source_facts(goroot), sys.stdout, indent=2)
            print()
    except GoParseError as e:
        print(f"goparse.py: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # the output cannot be written (atomicfile leaves no temporary)
        print(f"goparse.py: cannot write {getattr(args, 'output', 'stdout')}: {e.strerror or e}",
              file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
