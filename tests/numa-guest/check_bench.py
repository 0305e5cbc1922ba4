#!/usr/bin/python3
"""check_bench.py JSON NODES CPUS - check the NUMA bench rows a guest produced.

NODES is "0,1,2,3", CPUS "0;1;;" (CPU IDs per node; empty = a node without CPUs), as given
to the guest.  Every (CPU node, memory node) pair must have a measured row (no error, a
positive value, placed_share >= 0.95) for thp 0 and 1 and for bandwidth; rows whose CPU
node has no CPUs must skip with a reason naming it, and rows for node IDs the guest does
not have must skip with "n/a: no node".  numa/bind and chan/numa rows must be measured with
numastat counters, or skip with "n/a: runtime not built" (the stub runtime).  Values are never compared: guest latency is
emulated.  Prints one line per problem; exits 0 when there is none, 1 otherwise.
"""
import json
import re
import sys


def main():
    if len(sys.argv) != 4:
        print("usage: check_bench.py JSON NODES CPUS", file=sys.stderr)
        return 2
    path, nodes_arg, cpus_arg = sys.argv[1:]
    nodes = [int(x) for x in nodes_arg.split(",")]
    cpu_nodes = {n for n, c in zip(nodes, cpus_arg.split(";")) if c.strip()}
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        print(f"bench: cannot read the guest's bench JSON {path}: {e}")
        return 1
    rows = {}
    for b in doc.get("benchmarks", []):
        name = re.sub(r"/(min_time|repeats|iterations):[^/]*|/real_time|/process_time", "",
                      b.get("run_name", b["name"]))
        rows[name] = b
    problems = []
    measured = 0
    ids_seen = set()
    for name, b in rows.items():
        m = re.match(r"numa/(chase|bw)/cpu:(\d+)/mem:(\d+)(?:/thp:(\d))?$", name)
        if not m:
            continue
        kind, c, mm = m.group(1), int(m.group(2)), int(m.group(3))
        err = b.get("error_message", "") if b.get("error_occurred") else ""
        if c not in nodes or mm not in nodes:
            if not err.startswith("n/a: no node"):
                problems.append(f"{name}: expected a 'n/a: no node' skip, got '{err}'")
            continue
        if c not in cpu_nodes:
            if not (err.startswith("n/a: node") and "no CPU" in err):
                problems.append(f"{name}: CPU-less node {c}: expected a skip, got '{err}'")
            continue
        counter = "ns_per_access" if kind == "chase" else "bytes_per_s"
        if err:
            problems.append(f"{name}: skipped: {err}")
        elif not b.get(counter, 0) > 0:
            problems.append(f"{name}: no {counter}")
        elif b.get("placed_share", 0) < 0.95:
            problems.append(f"{name}: placed_share {b.get('placed_share')}")
        else:
            measured += 1
            ids_seen.add((kind, c, mm, m.group(4)))
    # numa/bind and chan/numa: measured with numastat counters, or the stub runtime's skip.
    runtime_rows = [n for n in rows if re.match(r"(numa/bind/local:[01]|chan/numa/cap:\d+)$", n)]
    if len(runtime_rows) < 2 + 5:
        problems.append(f"numa/bind + chan/numa: {len(runtime_rows)} rows, expected 7")
    for name in runtime_rows:
        b = rows[name]
        err = b.get("error_message", "") if b.get("error_occurred") else ""
        counter = "ns_per_access" if name.startswith("numa/bind") else "ns_per_msg"
        if err:
            if err != "n/a: runtime not built":
                problems.append(f"{name}: skipped: {err}")
        elif not (b.get(counter, 0) > 0 and "remote_share" in b and "numa_hit" in b):
            problems.append(f"{name}: missing {counter} or numastat counters")
        else:
            measured += 1
    for c in sorted(cpu_nodes):
        for mm in nodes:
            for kind, thp in (("chase", "0"), ("chase", "1"), ("bw", None)):
                if (kind, c, mm, thp) not in ids_seen:
                    problems.append(f"missing measured row numa/{kind}/cpu:{c}/mem:{mm}"
                                    + (f"/thp:{thp}" if thp else ""))
    for p in problems:
        print("bench: " + p)
    print(f"bench: {measured} measured numa/* and chan/numa rows for "
          f"{len(cpu_nodes)} CPU nodes x {len(nodes)} memory nodes, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
