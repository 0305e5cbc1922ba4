#!/usr/bin/python3
"""hoststate.py - which machine a run came from, and how busy it was while the run ran.

host_id() -> "<hostname>-<8 hex>": the results folder (results/<host-id>/).  Stable and
    unique per machine: the host name plus the first 8 hex digits of the SHA-256 of
    /etc/machine-id (systemd's per-installation id, machine-id(5)); two VMs both called
    `vm` get different folders, one machine keeps its folder across runs.  Without a
    machine-id the suffix is `nomachineid`.
snapshot() -> dict: /proc/stat's aggregate `cpu` line (jiffies: busy, idle, steal, total),
    /proc/loadavg, and this process's children's CPU seconds (os.times()).
context(before, after, ncpus) -> dict of results-context keys (strings, FORMAT.md):
    host_id, loadavg_before, loadavg_after, steal ("0.4% of CPU time during the run"),
    other_cpu ("12% of the CPUs' time went to other processes"), busy ("no" or
    "yes: <why>").  The busy rule: steal above 2% of CPU time, or other processes using more
    than 10% of the CPUs' time during the run, or a 1-minute load average above half the
    CPUs before the run started.

Sources: proc(5) (/proc/stat fields user nice system idle iowait irq softirq steal;
/proc/loadavg), machine-id(5).  Command line: `hoststate.py id` prints host_id().
"""
import hashlib
import os
import socket
import sys

MACHINE_ID_FILES = ("/etc/machine-id", "/var/lib/dbus/machine-id")
STEAL_BUSY = 0.02   # share of CPU time
OTHER_BUSY = 0.10   # share of the CPUs' time used by processes not ours
LOAD_BUSY = 0.5     # 1-minute load average per CPU before the run


def host_id():
    """'<hostname>-<first 8 hex of sha256(machine-id)>', see the module doc."""
    name = socket.gethostname() or "unknown-host"
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    for p in MACHINE_ID_FILES:
        try:
            with open(p) as f:
                mid = f.read().strip()
        except OSError:
            continue
        if mid:
            return f"{name}-{hashlib.sha256(mid.encode()).hexdigest()[:8]}"
    return f"{name}-nomachineid"


def snapshot():
    """CPU jiffies, load average and children's CPU seconds now (see the module doc)."""
    s = {"loadavg": None, "total": None, "idle": None, "steal": None}
    try:
        with open("/proc/stat") as f:
            for line in f:
                if line.startswith("cpu "):
                    v = [int(x) for x in line.split()[1:]]
                    v += [0] * (8 - len(v))
                    s["total"] = sum(v[:8])  # guest time is already in user/nice
                    s["idle"] = v[3] + v[4]
                    s["steal"] = v[7]
                    break
    except (OSError, ValueError):
        pass
    try:
        with open("/proc/loadavg") as f:
            s["loadavg"] = " ".join(f.read().split()[:3])
    except OSError:
        pass
    t = os.times()
    s["own_cpu_s"] = t.children_user + t.children_system + t.user + t.system
    return s


def context(before, after, ncpus=None):
    """Context keys describing the machine's state over the run (see the module doc)."""
    ncpus = ncpus or os.cpu_count() or 1
    out = {"host_id": host_id()}
    for k, s in (("loadavg_before", before), ("loadavg_after", after)):
        out[k] = f"{s['loadavg']} (/proc/loadavg: 1, 5, 15 min)" if s["loadavg"] else \
            "unknown: /proc/loadavg unreadable"
    why = []
    if before["total"] is None or after["total"] is None or after["total"] <= before["total"]:
        out["steal"] = "unknown: /proc/stat unreadable"
        out["other_cpu"] = "unknown: /proc/stat unreadable"
    else:
        dt = after["total"] - before["total"]
        steal = (after["steal"] - before["steal"]) / dt
        out["steal"] = f"{steal * 100:.1f}% of CPU time during the run (/proc/stat steal)"
        if steal > STEAL_BUSY:
            why.append(f"steal {steal * 100:.1f}% > {STEAL_BUSY * 100:.0f}%")
        busy_j = dt - (after["idle"] - before["idle"]) - (after["steal"] - before["steal"])
        hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        own_j = (after["own_cpu_s"] - before["own_cpu_s"]) * hz
        other = max(0.0, (busy_j - own_j) / dt)
        out["other_cpu"] = (f"{other * 100:.0f}% of the CPUs' time went to other processes "
                            "during the run (/proc/stat busy minus this run's CPU time)")
        if other > OTHER_BUSY:
            why.append(f"other processes used {other * 100:.0f}% of the CPUs")
    try:
        load1 = float(before["loadavg"].split()[0])
        if load1 > LOAD_BUSY * ncpus:
            why.append(f"load average {load1:g} on {ncpus} CPUs before the run")
    except (AttributeError, ValueError, IndexError):
        pass
    out["busy"] = ("yes: " + "; ".join(why) + " (another tenant competed: compare within "
                   "this run only)") if why else "no"
    return out


if __name__ == "__main__":
    if sys.argv[1:] == ["id"]:
        print(host_id())
        sys.exit(0)
    if sys.argv[1:] in (["--help"], ["-h"]):
        print("usage: hoststate.py id | --version\n\n  id  print this host's id, the "
              "results folder name: <hostname>-<first 8 hex of\n      sha256(/etc/machine-id)>"
              " (scripts/hoststate.py host_id)")
        sys.exit(0)
    if sys.argv[1:] == ["--version"]:
        import toolversion  # scripts/toolversion.py
        print(toolversion.version("hoststate.py"))
        sys.exit(0)
    print("hoststate.py: usage: hoststate.py id | --version (see --help)", file=sys.stderr)
    sys.exit(2)
