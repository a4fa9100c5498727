"""The bench's clearing phase, in two parts.

- run_whole(): the WHOLE clearing of a forum through the real server. A
  forum of N listings (1,000, 10,000 and, without --small, 50,000) is
  created and opened over HTTP; its listings are loaded straight into Redis
  by cmbench-data (the server's own validation code and cm_listing_create,
  registered for the forum: held for its clearing); registration is closed
  over HTTP, and the time until the forum is in `review` is measured (read,
  solve and greedy comparison on craftmatchd's worker thread, the batch
  proposed in pages). Meanwhile a client probes GET /healthz back to back:
  its slowest answer is how long the event loop was blocked. craftmatchd's
  peak RSS is its kernel high-water mark, reset (clear_refs 5) before the
  close.
- run(): cmbench-clearing (scripts/bench.d/clearing.cpp) times the
  clearing's solver (common/transport) and LEMON's network simplex on the
  same generated forums, in one run, without Redis or the server.

bench.py calls both and adds rows() to its report."""
import http.client
import json
import os
import re
import subprocess
import threading
import time

TARGET_RATIO = 1.0  # solve <= 1.0x LEMON's network simplex at 10,000 listings
TARGET_WHOLE_S = 2.0  # whole clearing of a 10,000-listing forum
HOST = "127.0.0.1"


def _call(port, method, path, token, body=None):
    c = http.client.HTTPConnection(HOST, port, timeout=60)
    try:
        h = {"Authorization": "Bearer " + token}
        if body is not None:
            h["Content-Type"] = "application/json"
        c.request(method, path, body=json.dumps(body).encode() if body is not None else None,
                  headers=h)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


class _Probe(threading.Thread):
    """GET /healthz back to back on one keep-alive connection; the latencies."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port, self.lat, self.stop_flag = port, [], threading.Event()

    def run(self):
        c = http.client.HTTPConnection(HOST, self.port, timeout=60)
        try:
            while not self.stop_flag.is_set():
                t0 = time.monotonic()
                c.request("GET", "/healthz")
                c.getresponse().read()
                self.lat.append(time.monotonic() - t0)
                time.sleep(0.002)
        finally:
            c.close()


def _hwm_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def _quantile(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else None


def _cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def _redis_cpu_s(c):
    info = c.execute("INFO", "cpu")
    vals = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    return float(vals["used_cpu_user"]) + float(vals["used_cpu_sys"])


def run_whole(st, acc_file, admin_token, small, res, log, sizes=None):
    if not sizes:
        sizes = [1000, 10000] if small else [1000, 10000, 50000]
    out = []
    stamp = time.strftime("%H%M%S")
    for k, n in enumerate(sizes):
        fid = "bench-clearing-%d-%s-%d" % (n, stamp, k)
        today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 7 * 3600))
        later = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 7 * 3600 + 10 * 86400))
        body = {"id": fid, "name": "Diễn đàn cung cầu (bench, %d)" % n,
                "provinces": ["HN", "BN"], "venue": "Trung tâm Khuyến công",
                "registration_opens": today, "registration_closes": later,
                "forum_day": later, "materials": ["kaolin"]}
        status, text = _call(st.cm_port, "POST", "/v1/forums", admin_token, body)
        if status != 201:
            res["clearing_whole"] = {"error": "POST /v1/forums: %d %s" % (status, text[:300])}
            return
        status, text = _call(st.cm_port, "POST", "/v1/forums/%s/open" % fid, admin_token)
        if status != 200:
            res["clearing_whole"] = {"error": "open: %d %s" % (status, text[:300])}
            return
        r = subprocess.run([st.tool("cmbench-data"), "listings", "--redis",
                            "%s:%d" % (HOST, st.redis_port), "--accounts", acc_file,
                            "--count", str(n), "--profile", "forum", "--forum", fid,
                            "--seed", str(700 + n)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=900)
        if r.returncode != 0:
            res["clearing_whole"] = {"error": "cmbench-data: " + r.stderr.decode()[-300:]}
            return
        pid = st.cm.proc.pid
        with open("/proc/%d/clear_refs" % pid, "w") as f:
            f.write("5")  # resets the peak RSS to the present RSS
        rss0 = _hwm_kib(pid)
        probe = _Probe(st.cm_port)
        probe.start()
        time.sleep(1.0)  # a baseline: the same probe before the clearing
        before = len(probe.lat)
        idle = probe.lat[:before]
        with st.rc() as c:
            c.execute("CONFIG", "RESETSTAT")
            rcpu0 = _redis_cpu_s(c)
        cpu0 = _cpu_s(pid)
        perf = None
        if os.environ.get("CM_BENCH_PERF"):
            # CM_BENCH_PERF=1: perf stat of Redis and craftmatchd during the clearing
            # (user instructions: steadier than times on a shared machine)
            with st.rc() as c:
                rpid = re.search(r"process_id:(\d+)", c.execute("INFO", "server")).group(1)
            if os.environ["CM_BENCH_PERF"].startswith("/"):  # a file: perf record of Redis
                perf = subprocess.Popen(["perf", "record", "-g", "-o", os.environ["CM_BENCH_PERF"],
                                         "-p", rpid], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
            else:
                perf = subprocess.Popen(["perf", "stat", "-x", ",", "--per-thread", "-e",
                                         "task-clock", "-p", "%s,%d" % (rpid, pid)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            time.sleep(0.3)
        t0 = time.monotonic()
        status, text = _call(st.cm_port, "POST", "/v1/forums/%s/close-registration" % fid,
                             admin_token)
        t_closed = time.monotonic() - t0
        state = None
        with st.rc() as c:
            while time.monotonic() - t0 < 600:
                state = c.execute("HGET", "cm:forum:" + fid, "state")
                if state != "clearing":
                    break
                time.sleep(0.002)
            whole = time.monotonic() - t0
            if perf:
                perf.send_signal(2)
                log("  perf stat: " + " | ".join(
                    line for line in perf.communicate()[1].decode().splitlines()
                    if "task-clock" in line and ",0.0" not in line))
            cm_cpu = _cpu_s(pid) - cpu0
            redis_cpu = _redis_cpu_s(c) - rcpu0
            totals = c.execute("HGET", "cm:forum:" + fid, "clearing")
            cstats = c.execute("INFO", "commandstats")
        time.sleep(0.2)
        probe.stop_flag.set()
        probe.join()
        during = probe.lat[before:]
        totals = json.loads(totals) if totals else {}
        row = {"listings": n, "state": state, "whole_s": round(whole, 3),
               "close_call_ms": round(t_closed * 1e3, 1),
               "craftmatchd_cpu_s": round(cm_cpu, 3), "redis_cpu_s": round(redis_cpu, 3),
               "proposed": totals.get("proposed"), "pages": totals.get("pages"),
               "status": totals.get("status"), "matched_quantity": totals.get("matched_quantity"),
               "greedy_matched_quantity": (totals.get("greedy") or {}).get("matched_quantity"),
               "landed_vnd_saved": ((totals.get("greedy") or {}).get("landed_vnd", 0) -
                                    totals.get("landed_vnd", 0)) if totals else None,
               "redis_commandstats": [l for l in cstats.splitlines() if l.startswith("cmdstat_")],
               "healthz_probes": len(during),
               "healthz_idle_max_ms": round(max(idle) * 1e3, 1) if idle else None,
               "healthz_max_ms": round(max(during) * 1e3, 1) if during else None,
               "healthz_p99_ms": round(_quantile(during, 0.99) * 1e3, 1) if during else None,
               "rss_before_mb": round(rss0 / 1024, 1),
               "peak_rss_mb": round(_hwm_kib(pid) / 1024, 1)}
        log("  forum of %d listings: %s in %.3fs (%s proposals in %s pages, status %s; "
            "CPU craftmatchd %.2fs, Redis %.2fs); "
            "/healthz max %s ms over %d probes (%s ms before it); peak RSS %s MB (from %s)" % (
                n, state, whole, row["proposed"], row["pages"], row["status"], cm_cpu, redis_cpu,
                row["healthz_max_ms"], len(during), row["healthz_idle_max_ms"],
                row["peak_rss_mb"], row["rss_before_mb"]))
        out.append(row)
    res["clearing_whole"] = out


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
    L = []
    w = res.get("clearing_whole")
    if isinstance(w, dict):
        L.append("| whole forum clearing | %s | | | | |" % w["error"])
    for r in w or []:
        if not isinstance(r, dict):
            continue
        n = r["listings"]
        L.append("| whole clearing of a %s-listing forum through craftmatchd (close-registration "
                 "→ review: read, solve + greedy on the worker, %s proposals in %s pages); "
                 "/healthz max while clearing (and in the second before); peak RSS | %s s; %s ms "
                 "max (%s probes, p99 %s ms; before: %s ms max); %s MB | | **%s s** | %s | %s |" % (
                     fmt(n, 0), fmt(r["proposed"], 0), r["pages"], fmt(r["whole_s"], 3),
                     fmt(r["healthz_max_ms"], 1), r["healthz_probes"], fmt(r["healthz_p99_ms"], 1),
                     fmt(r.get("healthz_idle_max_ms"), 1),
                     fmt(r["peak_rss_mb"], 1), fmt(r["whole_s"], 3),
                     "≤ 2 s at 10,000" if n == 10000 else "",
                     gap(r["whole_s"], TARGET_WHOLE_S) if n == 10000 else ""))
    c = res.get("clearing")
    if not c:
        return L
    if "error" in c:
        return L + ["| forum clearing | %s | | | | |" % c["error"]]
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
