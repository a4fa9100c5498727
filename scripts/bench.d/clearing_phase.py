"""The bench's clearing phase: cmbench-clearing (scripts/bench.d/clearing.cpp)
times the forum clearing's solver (common/transport) and LEMON's network
simplex on the same generated forums, in one run, without Redis or the
server. bench.py calls run() and adds rows() to its report."""
import json
import os
import subprocess

TARGET_RATIO = 1.0  # solve <= 1.0x LEMON's network simplex at 10,000 listings


def run(tool, tmp, small, reps, res, log):
    sizes = "1000,10000" if small else "1000,10000,50000"
    out = os.path.join(tmp, "clearing.json")
    r = subprocess.run([tool, "--listings", sizes, "--reps", str(reps), "--json", out],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=3600)
    for line in r.stdout.decode(errors="replace").splitlines():
        log("  " + line)
    if r.returncode != 0:
        res["clearing"] = {"error": "cmbench-clearing exited %d" % r.returncode}
        return
    with open(out) as f:
        res["clearing"] = json.load(f)


def rows(res, fmt, gap):
    c = res.get("clearing")
    if not c:
        return []
    if "error" in c:
        return ["| forum clearing | %s | | | | |" % c["error"]]
    L = []
    for r in c:
        n = r["listings"]
        L.append("| clearing %s listings (%s arcs, %s components): solve / LEMON network "
                 "simplex, CPU ms; memory MB | %s; %s MB | %s (+ %s Preflow); %s MB | **%s** "
                 "| %s | %s |" % (
                     fmt(n, 0), fmt(r["arcs"], 0), r["components"], fmt(r["solve_ms"], 1),
                     fmt(r["solve_mem_mb"], 1), fmt(r["lemon_simplex_ms"], 1),
                     fmt(r["lemon_preflow_ms"], 1), fmt(r["lemon_mem_mb"], 1),
                     fmt(r["ratio"], 2), "≤ 1.0× at 10,000" if n == 10000 else "",
                     gap(r["ratio"], TARGET_RATIO) if n == 10000 else ""))
        L.append("| the same with minimum orders (repair), CPU ms; result | %s; %s, %s "
                 "rounds | | | | |" % (fmt(r["min_order_ms"], 1), r["min_order_status"],
                                       r["min_order_rounds"]))
    return L
