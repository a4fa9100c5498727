#!/usr/bin/env python3
"""scripts/bench.d/bench.py -- the measuring run behind scripts/bench.

Run it through scripts/bench (which installs and builds first); see the
top of scripts/bench and docs/performance.md for what it measures and how.
The phases and the run are here; the stack under test (Redis, craftmatchd,
the floor, through the e2e suite's tests/e2e/kit/) is stack.py, the table
report.py. The heavy lifting is done by the C tools built into build-bench/ (cmbench-data, cmbench-load, cmbench-floor,
cmbench-clearing).
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import clearing_phase  # noqa: E402  (the forum clearing's solver beside LEMON)
import mixed_phase  # noqa: E402  (the mixed day)
import report  # noqa: E402  (the Markdown table)
from stack import (FOCUS, HOST, Stack, cpu_ticks, die, finite, hist_delta,  # noqa: E402
                   hist_quantile, log, metric, metrics, raise_nofile, rss_kib, run_tool)
import fixtures  # noqa: E402  (the e2e suite's, on the path stack.py set: admin, route table)
from kit import procs  # noqa: E402
from kit.http import http_request  # noqa: E402

# ---------------------------------------------------------------------------
# the run
# ---------------------------------------------------------------------------

def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def load_phase(st, args, acc_file, count, seed, res_key, res):
    """Bulk load `count` background listings (+ the focus offers at first)."""
    data = st.tool("cmbench-data")
    mem0 = st.used_memory()
    with st.rc() as c:
        ev0 = c.execute("MEMORY", "USAGE", "cm:events", "SAMPLES", "0") or 0
    t0 = time.monotonic()
    focus = 0
    if res_key == "load":
        focus = args.focus
        run_tool([data, "listings", "--redis", "%s:%d" % (HOST, st.redis_port),
                  "--accounts", acc_file, "--count", str(focus), "--profile", "background",
                  "--material", FOCUS, "--kind", "offer", "--seed", str(seed)])
    rest = count - focus
    chunk = 200000
    done = 0
    while done < rest:
        n = min(chunk, rest - done)
        run_tool([data, "listings", "--redis", "%s:%d" % (HOST, st.redis_port),
                  "--accounts", acc_file, "--count", str(n), "--profile", "background",
                  "--exclude", FOCUS, "--seed", str(seed + 1 + done)], timeout=3600)
        done += n
        if rest > chunk:
            log("  %d / %d listings" % (done + focus, count))
    secs = time.monotonic() - t0
    run_tool([data, "cursor", "--redis", "%s:%d" % (HOST, st.redis_port)])
    mem1 = st.used_memory()
    with st.rc() as c:
        ev1 = c.execute("MEMORY", "USAGE", "cm:events", "SAMPLES", "0") or 0
        total = c.execute("ZCARD", "cm:listings:status:open")
    res[res_key] = {
        "listings": count, "seconds": round(secs, 1), "per_second": round(count / secs),
        "open_listings_total": total,
        "redis_used_memory_delta_bytes": mem1 - mem0,
        "redis_bytes_per_listing": round((mem1 - mem0) / count, 1),
        "events_stream_bytes_per_listing": round((ev1 - ev0) / count, 1),
        "redis_used_memory_bytes": mem1,
    }
    log("  loaded %d listings in %.1fs (%.0f/s); Redis %.0f bytes per listing (%.0f of them "
        "the cm:events entry)" % (count, secs, count / secs, (mem1 - mem0) / count,
                                  (ev1 - ev0) / count))


def restart_phase(st, reps, label, res):
    times = []
    for i in range(reps):
        st.stop_cm()
        t = st.start_cm(wait=True)
        times.append(t)
        log("  restart-to-ready (%s): %.3fs" % (label, t))
    ms = metrics(st.cm_port)
    res["restart_" + label] = {
        "seconds": [round(t, 3) for t in times], "median_s": round(median(times), 3),
        "engine_listings": metric(ms, "craftmatch_engine_listings", None),
    }


def self_check(st, args, acc_file, res):
    """A listing posted through the API and one written by cmbench-data from the same
    body must be stored alike (all but ids, times and sequence numbers)."""
    data = st.tool("cmbench-data")
    mismatches = []
    for i, kind in enumerate(("need", "offer")):
        seed = str(9000 + i)
        out = subprocess.run([data, "one", "--accounts", acc_file, "--profile", "background",
                              "--kind", kind, "--seed", seed,
                              "--redis", "%s:%d" % (HOST, st.redis_port)],
                             stdout=subprocess.PIPE, check=True).stdout.decode()
        k, owner, token, body = out.rstrip("\n").split("\t", 3)
        status, headers, answer = http_request(st.cm_port, "POST", "/v1/%ss" % k, body,
                                               {"Content-Type": "application/json"}, token)
        if status != 201:
            die("self-check: POST /v1/%ss answered %d: %.500r" % (k, status, answer))
        api_id = headers["Location"].rsplit("/", 1)[1]
        with st.rc() as c:
            ids = c.execute("ZREVRANGE", "cm:listings:owner:" + owner, 0, 1)
            loader_id = [x for x in ids if x != api_id][0]
            a = c.execute("HGETALL", "cm:listing:" + api_id)
            b = c.execute("HGETALL", "cm:listing:" + loader_id)
            a, b = dict(zip(a[::2], a[1::2])), dict(zip(b[::2], b[1::2]))
            # The engine's entry of each (store/lua, cm:eng), compared
            # with the hash.
            for h, lid in ((a, api_id), (b, loader_id)):
                h["<cm:eng entry>"] = c.execute(
                    "HGET", "cm:eng:%s:%s" % (h.get("kind"), h.get("material")), lid) or ""
        da, db = json.loads(a.pop("doc")), json.loads(b.pop("doc"))
        for d, lid in ((da, api_id), (db, loader_id)):
            assert d.pop("id") == lid
            d.pop("available_from", None)  # "now" when not given
        for h, lid in ((a, api_id), (b, loader_id)):
            for f in ("seq", "created_at", "updated_at", "version"):
                h.pop(f, None)
            # The engine's entry is "REMAINING VERSION SEQ RECORD", then
            # a newline and the search part (times, the document: compared
            # above through the hash); the record (matching.h) holds the id
            # and available_from (its word 10, "now" when not given) too:
            # compare the rest.
            h["<cm:eng entry>"] = h["<cm:eng entry>"].split("\n", 1)[0]
            eng = h["<cm:eng entry>"].split(" ")
            if len(eng) != 21 or eng[19] != lid:
                mismatches.append("%s %s: no engine entry of 21 words naming it: %r" % (
                    kind, lid, h["<cm:eng entry>"]))
                continue
            eng[1], eng[2], eng[12], eng[19] = "<version>", "<seq>", "<available_from>", "<id>"
            h["<cm:eng entry>"] = " ".join(eng)
        if da != db:
            mismatches.append("%s doc: api %s != loader %s" % (kind, da, db))
        if a != b:
            mismatches.append("%s hash: api %s != loader %s" % (kind, a, b))
    res["loader_self_check"] = "ok" if not mismatches else mismatches
    if mismatches:
        die("the loader no longer writes what the server writes:\n" + "\n".join(mismatches))
    log("  loader self-check: a listing posted through the API and one bulk-loaded from the "
        "same body are stored alike")


def has_events(st):
    return any(path == "/v1/events" for _, path in fixtures.served_routes())


def load_run(st, args, reqs, port, duration, connections, rate=None, watch=False, drain=0,
             record=None, sse_token=None):
    argv = [st.tool("cmbench-load"), "--port", str(port), "--requests", reqs,
            "--connections", str(connections), "--duration", str(duration)]
    if rate:
        argv += ["--rate", str(rate)]
    if watch:
        argv += ["--watch-redis", "%s:%d" % (HOST, st.redis_port), "--drain", str(drain)]
    if record:
        argv += ["--record", record]
    if sse_token:
        argv += ["--sse-path", "/v1/events?types=match.proposed", "--token", sse_token]
    return run_tool(argv, timeout=int(duration) + 120)


def commandstats(st):
    """{command: (calls, usec)} from INFO commandstats."""
    with st.rc() as c:
        info = c.execute("INFO", "commandstats")
    out = {}
    for m in re.finditer(r"cmdstat_([\w|]+):calls=(\d+),usec=(\d+)", info):
        out[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    return out


def commandstats_delta(before, after, n):
    """Per request: Redis commands run and their usec, by command."""
    d = {}
    for k, (calls, usec) in after.items():
        c0, u0 = before.get(k, (0, 0))
        if calls > c0 and n:
            d[k] = {"calls_per_req": round((calls - c0) / n, 2),
                    "usec_per_req": round((usec - u0) / n, 1)}
    return d


def aof_settled(st, timeout=300):
    """Rewrites the AOF now, outside any measured window, when Redis would
    rewrite it soon on its own (auto-aof-rewrite-percentage 100: the file at
    twice its last rewrite). A rewrite's child takes one of the two cores
    for seconds, and the bulk loads grow the file past that mark at random
    points of the phases after them: one landed in a match phase and its
    1,000/s repetition fell behind. Then waits until Redis and the disk are
    quiet (disk_settled). Returns the rewrites it ran (0 or 1)."""
    def persistence():
        with st.rc() as c:
            info = c.execute("INFO", "persistence")
        return dict(line.split(":", 1) for line in info.split("\r\n") if ":" in line)
    p = persistence()
    ran = 0
    if (p.get("aof_rewrite_in_progress") == "0" and p.get("aof_rewrite_scheduled") == "0" and
            int(p.get("aof_current_size", 0)) > 1.5 * int(p.get("aof_base_size", 0) or 1)):
        with st.rc() as c:
            c.execute("BGREWRITEAOF")
        ran = 1
    deadline = time.monotonic() + timeout
    while True:
        p = persistence()
        if p.get("aof_rewrite_in_progress") == "0" and p.get("aof_rewrite_scheduled") == "0":
            break
        if time.monotonic() > deadline:
            die("Redis did not finish rewriting its AOF within %ds" % timeout)
        time.sleep(0.1)
    # After a rewrite (this one, or Redis's own automatic one found running)
    # Redis's background thread closes and unlinks the old files: CPU of the
    # Redis process, which must not land in the phase. Checked every time: an
    # automatic rewrite may also have ended just before.
    while True:
        t0 = cpu_ticks(st.redis.proc.pid)
        time.sleep(0.5)
        if cpu_ticks(st.redis.proc.pid) - t0 <= 0.02:
            break
        if time.monotonic() > deadline:
            die("Redis was still busy %ds after rewriting its AOF" % timeout)
    disk_settled(os.path.join(st.tmp, "redis"))
    return ran


def disk_counters(path):
    """(sectors discarded, ms busy) so far of the block device holding path
    (/proc/diskstats), or None where the kernel does not count discards or the
    device is not found."""
    dev = os.stat(path).st_dev
    try:
        with open("/proc/diskstats") as f:
            for line in f:
                w = line.split()
                if int(w[0]) == os.major(dev) and int(w[1]) == os.minor(dev):
                    return (int(w[16]), int(w[12])) if len(w) > 16 else None
    except OSError:
        pass
    return None


def disk_settled(path, quiet=1.0, timeout=30):
    """Waits until the I/O the setup left behind is done. The old AOF files a
    rewrite unlinks (hundreds of MB after a bulk load) are freed when the
    journal commits, and on a filesystem mounted with `discard` their blocks
    are then discarded: ~250 MB in one burst, device time no process is
    charged with, seen 0.8 s before a first repetition whose first two
    seconds took 300-400 ms a turn. sync() commits now; then `quiet` seconds
    without a discard, in which the device was busy less than half the time
    (the rest of the machine may use it too)."""
    t = time.monotonic()
    os.sync()
    d0 = disk_counters(path)
    if d0 is None:
        return
    deadline = t + timeout
    while time.monotonic() < deadline:
        time.sleep(quiet)
        d1 = disk_counters(path)
        if d1[0] == d0[0] and d1[1] - d0[1] < 500 * quiet:
            if time.monotonic() - t > 2 * quiet:
                log("  (waited %.1fs for the disk to finish discarding)" % (time.monotonic() - t))
            return
        d0 = d1
    log("  (the disk was still discarding %ds after the setup: measuring anyway)" % timeout)


def measured(st, args, server_pid, fn, settle=None):
    """Runs fn() and returns (its result, server CPU s, Redis CPU s). settle(), when
    given, runs before the second reading: work the requests left queued (the
    engine's) is theirs too. No AOF rewrite is running or due when fn starts."""
    if aof_settled(st):
        log("  (AOF rewritten before the phase, as Redis would have soon)")
    c0, r0 = cpu_ticks(server_pid), cpu_ticks(st.redis.proc.pid)
    out = fn()
    if settle:
        settle()
    c1, r1 = cpu_ticks(server_pid), cpu_ticks(st.redis.proc.pid)
    return out, c1 - c0, r1 - r0


def post_phase(st, args, reqs, res):
    """craftmatchd POST vs the floor, interleaved, args.reps times."""
    rows = []
    for rep in range(args.reps):
        row = {}
        for who, port, pid in (("craftmatchd", st.cm_port, st.cm.proc.pid),
                               ("floor", st.floor_port, st.floor.pid)):
            load_run(st, args, reqs, port, args.warmup, args.connections)  # warm-up
            m0 = metrics(st.cm_port) if who == "craftmatchd" else None
            cs0 = commandstats(st)
            out, cpu, rcpu = measured(
                st, args, pid, lambda: load_run(st, args, reqs, port, args.seconds,
                                                args.connections),
                settle=(lambda: wait_engine_idle(st)) if who == "craftmatchd" else None)
            m1 = metrics(st.cm_port) if who == "craftmatchd" else None
            cs1 = commandstats(st)
            n = out["completed"]
            _, plan_s, _ = hist_delta(m0, m1, "craftmatch_engine_plan_cpu_seconds")
            ok = sum(v for k, v in out["status"].items() if k.startswith("2"))
            row[who] = {
                "throughput": out["throughput"], "p50_ms": out["latency_us"]["p50"] / 1e3,
                "p99_ms": out["latency_us"]["p99"] / 1e3, "max_ms": out["latency_us"]["max"] / 1e3,
                "cpu_us_per_req": cpu * 1e6 / n if n else None,
                "redis_cpu_us_per_req": rcpu * 1e6 / n if n else None,
                "requests": n, "ok": ok, "errors": out["errors"], "status": out["status"],
                "redis_commands": commandstats_delta(cs0, cs1, n),
            }
            if who == "craftmatchd":
                # the engine plans every new listing in the same process: its share
                row[who]["engine_plan_cpu_us_per_req"] = plan_s * 1e6 / n if n else None
                row[who]["proposals"] = metric(m1, "craftmatch_engine_proposals_total") - \
                    metric(m0, "craftmatch_engine_proposals_total")
                if row[who]["proposals"]:
                    log("  WARNING: background listings were matched (%d proposals): the "
                        "data set is meant never to cross" % row[who]["proposals"])
            if ok != n or out["errors"]:
                log("  WARNING: %s answered %s, %d connection errors" % (who, out["status"],
                                                                        out["errors"]))
        cm, fl = row["craftmatchd"], row["floor"]
        row["ratio"] = {
            "cpu": cm["cpu_us_per_req"] / fl["cpu_us_per_req"] if fl["cpu_us_per_req"] else None,
            "throughput": cm["throughput"] / fl["throughput"] if fl["throughput"] else None,
            "p99": cm["p99_ms"] / fl["p99_ms"] if fl["p99_ms"] else None,
        }
        log("  POST rep %d: craftmatchd %.0f/s p50 %.2fms p99 %.2fms %.0fus CPU/req (engine "
            "plan %.0fus of it) | floor "
            "%.0f/s p50 %.2fms p99 %.2fms %.0fus CPU/req | CPU ratio %.2f" % (
                rep + 1, cm["throughput"], cm["p50_ms"], cm["p99_ms"], cm["cpu_us_per_req"],
                cm["engine_plan_cpu_us_per_req"], fl["throughput"], fl["p50_ms"], fl["p99_ms"], fl["cpu_us_per_req"],
                row["ratio"]["cpu"]))
        rows.append(row)
    summary = {}
    for who in ("craftmatchd", "floor"):
        summary[who] = {k: median([r[who].get(k) for r in rows]) for k in
                        ("throughput", "p50_ms", "p99_ms", "max_ms", "cpu_us_per_req",
                         "redis_cpu_us_per_req", "engine_plan_cpu_us_per_req")}
    summary["ratio"] = {k: median([r["ratio"][k] for r in rows]) for k in
                        ("cpu", "throughput", "p99")}
    res["post"] = {"reps": rows, "median": summary, "connections": args.connections,
                   "seconds": args.seconds}


def search_phase(st, args, reqs, res):
    rows = []
    for rep in range(args.reps):
        load_run(st, args, reqs, st.cm_port, args.warmup, args.connections)
        cs0 = commandstats(st)
        out, cpu, rcpu = measured(st, args, st.cm.proc.pid, lambda: load_run(
            st, args, reqs, st.cm_port, args.seconds, args.connections))
        cs1 = commandstats(st)
        n = out["completed"]
        row = {"throughput": out["throughput"], "p50_ms": out["latency_us"]["p50"] / 1e3,
               "p99_ms": out["latency_us"]["p99"] / 1e3, "max_ms": out["latency_us"]["max"] / 1e3,
               "cpu_us_per_req": cpu * 1e6 / n if n else None,
               "redis_cpu_us_per_req": rcpu * 1e6 / n if n else None,
               "status": out["status"], "errors": out["errors"],
               "redis_commands": commandstats_delta(cs0, cs1, n)}
        log("  GET /v1/listings rep %d: %.0f/s p50 %.2fms p99 %.2fms, %.0fus server + %.0fus "
            "Redis CPU/req %s" % (rep + 1, row["throughput"], row["p50_ms"], row["p99_ms"],
                                  row["cpu_us_per_req"], row["redis_cpu_us_per_req"],
                                  out["status"]))
        rows.append(row)
    res["search"] = {"connections": args.connections, "reps": rows, "median": {k: median([r[k] for r in rows]) for k in
                                              ("throughput", "p50_ms", "p99_ms", "max_ms",
                                               "cpu_us_per_req", "redis_cpu_us_per_req")}}


def engine_phase(st, args, acc_file, res):
    """New needs of the focus material (crossing every one of its --focus offers)
    posted slowly, so each plan runs alone; plus the plan alone, off-line."""
    data = st.tool("cmbench-data")
    reqs = os.path.join(st.tmp, "engine.req")
    n = args.engine_subjects
    subprocess.run([data, "requests", "--accounts", acc_file, "--count", str(n), "--profile",
                    "wide", "--kind", "need", "--material", FOCUS, "--seed", "77",
                    "--out", reqs], check=True)
    with st.rc() as c:
        cands = c.execute("HLEN", "cm:eng:offer:" + FOCUS)
    m0 = metrics(st.cm_port)
    rate = args.engine_rate
    out, cpu, rcpu = measured(st, args, st.cm.proc.pid, lambda: load_run(
        st, args, reqs, st.cm_port, n / rate, 4, rate=rate))
    time.sleep(1.0)
    m1 = metrics(st.cm_port)
    b, s, cnt = hist_delta(m0, m1, "craftmatch_engine_plan_cpu_seconds")
    le50, est50 = hist_quantile(b, cnt, 0.5)
    runs = metric(m1, "craftmatch_engine_runs_total") - metric(
        m0, "craftmatch_engine_runs_total")
    off = run_tool([data, "plan", "--candidates", str(cands), "--subjects",
                    str(args.plan_subjects), "--material", FOCUS, "--accounts", acc_file])
    res["engine"] = {
        "material": FOCUS, "open_counterparts": cands, "posted": out["completed"],
        "rate": rate, "runs": runs,
        "plan_cpu_mean_us": s / cnt * 1e6 if cnt else None,
        "plan_cpu_median_bucket_le_us": le50 * 1e6 if le50 not in (None, float("inf")) else None,
        "plan_cpu_median_interpolated_us": est50 * 1e6 if est50 is not None else None,
        "server_cpu_us_per_posted_need": cpu * 1e6 / out["completed"] if out["completed"] else None,
        "offline_plan": off,
    }
    log("  engine: %d needs of %s against %d open offers: plan CPU mean %.0fus (histogram "
        "median <= %s us); matching_plan alone: median %.0fus, mean %.0fus, p99 %.0fus" % (
            out["completed"], FOCUS, cands, s / cnt * 1e6 if cnt else -1,
            "%.0f" % (le50 * 1e6) if le50 else "?", off["median_us"], off["mean_us"],
            off["p99_us"]))


def wait_engine_idle(st, timeout=120):
    """Until the engine's queue is empty (a phase that outran it must not load the next)."""
    try:
        procs.wait_for(lambda: metric(metrics(st.cm_port), "craftmatch_engine_queue", 1) == 0,
                       timeout, message="the engine's queue to empty")
    except AssertionError:
        log("  WARNING: the engine's queue did not empty in %ds" % timeout)


def latency_trend(record):
    """p50 posted->proposed (ms) of the listings sent in the first and the last third."""
    rows = []
    with open(record) as f:
        for line in f:
            lid, sent, seen = line.rstrip("\n").split("\t")[:3]
            rows.append((int(sent), int(seen)))
    rows.sort()
    if len(rows) < 30:
        return None, None
    k = len(rows) // 3
    out = []
    for part in (rows[:k], rows[-k:]):
        lat = [(seen - sent) / 1e6 for sent, seen in part if seen]
        # an unmatched listing counts as never: worse than any latency
        lat += [float("inf")] * sum(1 for _, seen in part if not seen)
        m = median(lat)
        out.append(None if m == float("inf") else round(m, 2))
    return out


def match_phase(st, args, acc_file, res, admin_token):
    """Crossing needs and offers at a steady rate; POST sent -> match.proposed readable
    in cm:events (XREAD) and, when craftmatchd has /v1/events, pushed to a subscriber."""
    sse_token = admin_token if has_events(st) else None
    data = st.tool("cmbench-data")
    reqs = os.path.join(st.tmp, "cross.req")
    subprocess.run([data, "requests", "--accounts", acc_file, "--count", "20000",
                    "--profile", "cross", "--kind", "mix", "--exclude", FOCUS, "--seed", "55",
                    "--out", reqs], check=True)
    rates = [r for r in (1000, 700, 500, 300, 200, 100, 50) if r <= args.match_rate]
    chosen = None
    tried = []
    for rate in rates:
        rows = []
        for rep in range(args.reps):
            m0 = metrics(st.cm_port)
            record = os.path.join(st.tmp, "match-%d-%d.tsv" % (rate, rep))
            out, cpu, rcpu = measured(st, args, st.cm.proc.pid, lambda: load_run(
                st, args, reqs, st.cm_port, args.seconds, 64, rate=rate, watch=True, drain=3,
                record=record, sse_token=sse_token))
            m1 = metrics(st.cm_port)
            trend = latency_trend(record)
            b, s, cnt = hist_delta(m0, m1, "craftmatch_engine_event_to_proposal_seconds")
            le99, _ = hist_quantile(b, cnt, 0.99)
            le50, _ = hist_quantile(b, cnt, 0.5)
            ml = out["match_latency_us"]
            achieved = out["completed"] / args.seconds
            row = {
                "rate": rate, "achieved_rate": round(achieved, 1), "posted": out["posted"],
                "matched": out["matched"],
                "post_p50_ms": out["latency_us"]["p50"] / 1e3,
                "post_p99_ms": out["latency_us"]["p99"] / 1e3,
                "match_p50_ms": ml["p50"] / 1e3, "match_p99_ms": ml["p99"] / 1e3,
                "match_max_ms": ml["max"] / 1e3,
                "stream_created_to_proposed_ms": out["stream_created_to_proposed_ms"],
                "engine_event_to_proposal_hist": {"count": cnt, "mean_ms": s / cnt * 1e3 if cnt
                                                  else None,
                                                  "p50_bucket_le_ms": finite(le50, 1e3),
                                                  "p99_bucket_le_ms": finite(le99, 1e3)},
                "server_cpu_us_per_listing": cpu * 1e6 / out["completed"] if out["completed"]
                else None,
                "redis_cpu_us_per_listing": rcpu * 1e6 / out["completed"] if out["completed"]
                else None,
                "status": out["status"], "errors": out["errors"],
                "queue_after": metric(m1, "craftmatch_engine_queue", None),
                "match_p50_ms_first_third": trend[0], "match_p50_ms_last_third": trend[1],
            }
            if sse_token:
                sl = out["sse_match_latency_us"]
                row.update({"sse_seen": out["sse_seen"], "sse_match_p50_ms": sl["p50"] / 1e3,
                            "sse_match_p99_ms": sl["p99"] / 1e3,
                            "sse_match_max_ms": sl["max"] / 1e3})
            log("  match @%d/s rep %d: achieved %.0f/s, %d/%d matched, POST p99 %.1fms, "
                "posted->proposed p50 %.2fms p99 %.2fms max %.1fms (p50 %.1fms in the first "
                "third, %.1fms in the last)" % (
                    rate, rep + 1, achieved, out["matched"], out["posted"], row["post_p99_ms"],
                    row["match_p50_ms"], row["match_p99_ms"], row["match_max_ms"],
                    trend[0] or -1, trend[1] or -1))
            if sse_token:
                log("    pushed over SSE: %d seen, p50 %.2fms p99 %.2fms max %.1fms" % (
                    row["sse_seen"], row["sse_match_p50_ms"], row["sse_match_p99_ms"],
                    row["sse_match_max_ms"]))
            rows.append(row)
            # sustained: the offered rate was served, (almost) every listing was
            # matched, and the engine kept up: its latency did not keep growing
            row["kept_up"] = not (achieved < 0.95 * rate or out["matched"] < 0.9 * out["posted"]
                                  or trend[0] is None or trend[1] is None
                                  or trend[1] > 2 * trend[0] + 20)
            if not row["kept_up"] and rep == 0:
                break  # the first repetition decides whether to go on at this rate
        # a rate is sustained when most of its repetitions kept up
        sustained = sum(r["kept_up"] for r in rows) * 2 > args.reps
        wait_engine_idle(st)
        tried.append({"rate": rate, "sustained": sustained, "reps": rows})
        if sustained:
            chosen = rate
            break
        log("  %d listings/s not sustained on this machine; trying lower" % rate)
    res["match"] = {"tried": tried, "rate": chosen}
    if chosen is not None:
        rows = tried[-1]["reps"]
        res["match"]["median"] = {k: median([r.get(k) for r in rows]) for k in
                                  ("achieved_rate", "post_p99_ms", "match_p50_ms",
                                   "match_p99_ms", "match_max_ms", "server_cpu_us_per_listing",
                                   "redis_cpu_us_per_listing", "sse_match_p50_ms",
                                   "sse_match_p99_ms", "sse_match_max_ms")}


def sse_phase(st, args, res, admin_token):
    if not has_events(st):
        res["sse"] = "skipped: no /v1/events"
        log("  SSE fan-out skipped: no /v1/events")
        return
    data = st.tool("cmbench-data")
    reqs = os.path.join(st.tmp, "pub.req")
    subprocess.run([data, "requests", "--accounts", os.path.join(st.tmp, "accounts.tsv"),
                    "--count", "100", "--profile", "background", "--kind", "mix", "--exclude",
                    FOCUS, "--seed", "99", "--out", reqs], check=True)
    out = {}
    for n in args.sse:
        rss0 = rss_kib(st.cm.proc.pid)
        argv = [st.tool("cmbench-load"), "--sse", "--port", str(st.cm_port), "--sse-path",
                "/v1/events", "--token", admin_token, "--subscribers", str(n), "--idle", "4",
                "--requests", reqs, "--publish", "20", "--publish-interval", "100"]
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        rss_idle = None
        line = p.stderr.readline().decode()
        if line.startswith("ready"):
            time.sleep(2.0)  # idle subscribers, all connected
            rss_idle = rss_kib(st.cm.proc.pid)
        so, se = p.communicate(timeout=300)
        if p.returncode != 0:
            log("  SSE %d: cmbench-load failed: %s %s" % (n, line, se.decode()[-1000:]))
            out[str(n)] = {"error": (line + se.decode())[-1000:]}
            continue
        r = json.loads(so.decode().strip().splitlines()[-1])
        r["rss_before_kib"] = rss0
        r["rss_idle_kib"] = rss_idle
        r["rss_kib_per_subscriber"] = (rss_idle - rss0) / n if rss_idle else None
        out[str(n)] = r
        d = r["delivery_us"]
        log("  SSE %d subscribers: %.2f KiB RSS each; delivery p50 %.1fms p99 %.1fms max "
            "%.1fms (%d of %d deliveries)" % (n, r["rss_kib_per_subscriber"] or -1,
                                               d["p50"] / 1e3, d["p99"] / 1e3, d["max"] / 1e3,
                                               r["deliveries"], r["expected_deliveries"]))
        time.sleep(1.0)
    res["sse"] = out


# ---------------------------------------------------------------------------

def machine_info():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    rv = subprocess.run(["redis-server", "--version"], stdout=subprocess.PIPE).stdout.decode()
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode().strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode().strip()
    return {"nproc": os.cpu_count(), "cpu_model": model,
            "kernel": platform.release(), "loadavg_start": os.getloadavg()[0],
            "redis_version": (re.search(r"v=(\S+)", rv) or [None, "?"])[1],
            "git_commit": commit or "?", "git_dirty": bool(dirty)}


def main():
    ap = argparse.ArgumentParser(prog="scripts/bench")
    ap.add_argument("--small", action="store_true", help="10k listings: a quick run")
    ap.add_argument("--big", action="store_true", help="also load to 1M listings and restart")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5.0, help="measured seconds per phase")
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--listings", type=int, default=None)
    ap.add_argument("--accounts", type=int, default=None, help="villages = suppliers = N")
    ap.add_argument("--focus", type=int, default=None,
                    help="open offers of %s the engine phase plans against" % FOCUS)
    ap.add_argument("--match-rate", type=int, default=1000)
    ap.add_argument("--engine-subjects", type=int, default=300)
    ap.add_argument("--engine-rate", type=float, default=50.0)
    ap.add_argument("--plan-subjects", type=int, default=1000)
    ap.add_argument("--sse", default="1000,10000")
    ap.add_argument("--mixed-seconds", type=float, default=10.0,
                    help="measured seconds of the mixed day per repetition")
    ap.add_argument("--mixed-connections", type=int, default=16,
                    help="the mixed day's connections (closed loop unless --mixed-rate)")
    ap.add_argument("--mixed-rate", type=float, default=0,
                    help="open loop: requests/s offered in the mixed day (0: closed loop)")
    ap.add_argument("--mixed-count", type=int, default=200000,
                    help="at most this many requests in one mixed-day run (with its warm-up)")
    ap.add_argument("--mixed-subscribers", type=int, default=2000,
                    help="live GET /v1/events streams during the mixed day")
    ap.add_argument("--mixed-shares", default="70,20,10",
                    help="percent of searches, posts and edits, match actions")
    ap.add_argument("--mixed-prelude", type=int, default=300,
                    help="crossing listings posted before each repetition (proposals to act on)")
    ap.add_argument("--mixed-cross-share", type=float, default=0.3,
                    help="share of the mixed day's posts that cross the background")
    ap.add_argument("--skip", default="",
                    help="comma list: post,search,engine,match,sse,mixed,restart,clearing,"
                    "solver (solver: the clearing phase's solver-beside-LEMON part only)")
    ap.add_argument("--clearing-sizes", default="",
                    help="comma list of forum sizes for the whole clearings (default "
                    "1000,10000 with --small, else 1000,10000,50000); the solver "
                    "comparison keeps its own sizes")
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build-bench"))
    ap.add_argument("--out-dir", default=os.path.join(ROOT, "bench-results"))
    ap.add_argument("--max-connections", type=int, default=12000)
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs, data)")
    ap.add_argument("--command", default="scripts/bench")
    args = ap.parse_args()
    if args.listings is None:
        args.listings = 10000 if args.small else 100000
    if args.accounts is None:
        args.accounts = 300 if args.small else 2000
    if args.focus is None:
        args.focus = min(10000, args.listings // 2) if not args.small else 3000
    args.sse = [int(x) for x in args.sse.split(",") if x]
    skip = set(x for x in args.skip.split(",") if x)
    for t in ("craftmatchd", "cmbench-data", "cmbench-load", "cmbench-floor", "cmbench-clearing"):
        if not os.access(os.path.join(args.build_dir, t), os.X_OK):
            die("%s/%s is missing: run scripts/bench (it builds them)" % (args.build_dir, t))

    started = datetime.datetime.now(datetime.timezone.utc)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    res = {"started": started.isoformat(timespec="seconds"), "command": args.command,
           "machine": machine_info(), "params": {k: v for k, v in vars(args).items()
                                                 if k not in ("build_dir", "out_dir")}}
    tmp = tempfile.mkdtemp(prefix="cm-bench-")
    st = Stack(args, tmp)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    raise_nofile()
    t_all = time.monotonic()
    try:
        log("machine: %s, %d cores, load average %.2f; temp dir %s" % (
            res["machine"]["cpu_model"], res["machine"]["nproc"],
            res["machine"]["loadavg_start"], tmp))
        st.start_redis()
        log("Redis %s on port %d (AOF, appendfsync always)" % (res["machine"]["redis_version"],
                                                               st.redis_port))
        st.start_cm()  # loads the function library
        st.stop_cm()
        admin_id, admin_token = st.create_admin()
        acc_file = os.path.join(tmp, "accounts.tsv")
        log("loading: %d villages, %d suppliers, 20 moderators; %d listings" % (
            args.accounts, args.accounts, args.listings))
        out = run_tool([st.tool("cmbench-data"), "accounts", "--redis",
                        "%s:%d" % (HOST, st.redis_port), "--admin", admin_id, "--villages",
                        str(args.accounts), "--suppliers", str(args.accounts), "--moderators",
                        "20", "--seed", "1", "--out", acc_file])
        res["accounts"] = out["accounts"]
        load_phase(st, args, acc_file, args.listings, 1000, "load", res)
        if "restart" not in skip:
            st.start_cm()
            st.stop_cm()  # first start: index built once, Redis warm
            restart_phase(st, args.reps, "loaded", res)
        else:
            st.start_cm()
        self_check(st, args, acc_file, res)
        st.start_floor()

        data = st.tool("cmbench-data")
        post_reqs = os.path.join(tmp, "post.req")
        subprocess.run([data, "requests", "--accounts", acc_file, "--count", "20000",
                        "--profile", "background", "--kind", "mix", "--exclude", FOCUS,
                        "--seed", "11", "--out", post_reqs], check=True)
        if "post" not in skip:
            log("POST /v1/needs + /v1/offers vs the floor, %d connections, %gs x %d" % (
                args.connections, args.seconds, args.reps))
            post_phase(st, args, post_reqs, res)
        if "search" not in skip:
            search_reqs = os.path.join(tmp, "search.req")
            subprocess.run([data, "searches", "--accounts", acc_file, "--count", "5000",
                            "--seed", "12", "--out", search_reqs], check=True)
            log("GET /v1/listings searches, %d connections" % args.connections)
            search_phase(st, args, search_reqs, res)
        if "engine" not in skip:
            wait_engine_idle(st)
            log("engine cost per new listing")
            engine_phase(st, args, acc_file, res)
        if "match" not in skip:
            log("posted -> match.proposed at a steady rate")
            match_phase(st, args, acc_file, res, admin_token)
        if "sse" not in skip:
            log("SSE fan-out")
            sse_phase(st, args, res, admin_token)
        if "mixed" not in skip and not has_events(st):
            res["mixed"] = None
            log("mixed day skipped: no /v1/events")
        elif "mixed" not in skip:
            log("mixed day: %s%% search/write/match, %d SSE subscribers, %s" % (
                args.mixed_shares.replace(",", "/"), args.mixed_subscribers,
                "%g req/s open loop" % args.mixed_rate if args.mixed_rate
                else "%d connections" % args.mixed_connections))
            wait_engine_idle(st)
            mixed_phase.run(st, args, sys.modules[__name__], acc_file, post_reqs, admin_token,
                            res, log)
        if "clearing" not in skip:
            log("forum clearing: whole clearings through craftmatchd")
            clearing_phase.run_whole(st, acc_file, admin_token, args.small, res, log,
                                   [int(x) for x in args.clearing_sizes.split(",") if x])
        if "clearing" not in skip and "solver" not in skip:
            log("forum clearing: the solver and LEMON on the same graphs")
            clearing_phase.run(st.tool("cmbench-clearing"), tmp, args.small, args.reps, res, log)
        if args.big:
            with st.rc() as c:
                have = c.execute("ZCARD", "cm:listings")
            more = max(0, 1000000 - have)
            log("--big: loading %d more listings to 1M" % more)
            st.stop_cm()
            load_phase(st, args, acc_file, more, 5000000, "load_big", res)
            st.start_cm()
            st.stop_cm()
            restart_phase(st, args.reps, "big", res)
    finally:
        res["machine"]["loadavg_end"] = os.getloadavg()[0]
        res["seconds_total"] = round(time.monotonic() - t_all, 1)
        st.stop_floor()
        st.stop_cm()
        if st.redis is not None:
            st.redis.close()
        if args.keep:
            log("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(args.out_dir, exist_ok=True)
    base = os.path.join(args.out_dir, stamp)
    with open(base + ".json", "w") as f:
        json.dump(res, f, indent=1, ensure_ascii=False)
    md = report.markdown(res)
    with open(base + ".md", "w") as f:
        f.write(md)
    print(md)
    log("results: %s.json and %s.md (%.0fs in all)" % (base, base, res["seconds_total"]))


if __name__ == "__main__":
    main()
