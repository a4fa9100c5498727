"""The bench's mixed day: the shape of a forum morning on one craftmatchd.

70 % searches (marketplace queries: material, kind, province, Vietnamese
text, a price range when the API has a range filter, the caller's own
listings, next pages), 20 % posts and edits (new needs and offers, PATCH of
quantity, price or note of the run's own listings), 10 % match actions
(approve by a moderator in scope, accept or decline by the parties, fulfil
by the village; a moderator's review queue when no action is pending), while
--mixed-subscribers (2,000) GET /v1/events streams stay open as moderators,
villages and suppliers. cmbench-load --mixed plays it (loadgen_mixed.c says
how); crossing listings posted first make the proposals it acts on, and a
tenth of its own posts cross too, so proposals keep coming.

Each repetition first measures the floor's POST (cmbench-floor, same bodies
and connections as the POST phase) and then the mix: requests/s over the
measured window, per type and per class, p50/p99, craftmatchd and Redis
CPU per request over the same window, and the subscribers' deliveries of
listing.created for the listings the run posted (from each POST's due
time). bench.py calls run(); report.py adds rows()."""
import json
import os
import re
import statistics
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))

TYPES = ("search", "search_page", "post", "patch", "approve", "accept", "decline", "fulfil",
         "review_queue")
CLASSES = ("search", "write", "match")


def _median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


class MixedFailed(Exception):
    pass


def price_params(openapi=os.path.join(ROOT, "docs", "openapi.yaml")):
    """The names of GET /v1/listings' price range filter (low, high) when
    docs/openapi.yaml documents one, else None: main's API has none, and a
    search with an unknown parameter is refused."""
    try:
        import yaml
        with open(openapi) as f:
            spec = yaml.safe_load(f)
    except (ImportError, OSError, ValueError):
        return None
    names = []
    for p in spec.get("paths", {}).get("/v1/listings", {}).get("get", {}).get("parameters", []):
        if "$ref" in p:
            p = spec["components"]["parameters"].get(p["$ref"].rsplit("/", 1)[1], {})
        n = p.get("name", "")
        if "price" in n and p.get("in") == "query":
            names.append(n)
    lo = [n for n in names if re.search(r"min|from|lo|gte", n)]
    hi = [n for n in names if re.search(r"max|to\b|_to|hi|lte", n)]
    return (lo[0], hi[0]) if lo and hi else None


def _last_event_id(st):
    with st.rc() as c:
        last = c.execute("XREVRANGE", "cm:events", "+", "-", "COUNT", "1")
    return last[0][0] if last else None


def _floor_post(st, args, b, post_reqs):
    """The floor's POST in this repetition: warm-up, then measured with its CPU."""
    b.load_run(st, args, post_reqs, st.floor_port, args.warmup, args.connections)
    out, cpu, rcpu = b.measured(st, args, st.floor.pid, lambda: b.load_run(
        st, args, post_reqs, st.floor_port, args.seconds, args.connections))
    n = out["completed"]
    return {"throughput": out["throughput"], "p50_ms": out["latency_us"]["p50"] / 1e3,
            "p99_ms": out["latency_us"]["p99"] / 1e3,
            "cpu_us_per_req": cpu * 1e6 / n if n else None,
            "redis_cpu_us_per_req": rcpu * 1e6 / n if n else None}


def _mix(st, args, b, files, admin_token, since, log):
    """One cmbench-load --mixed run; CPU of craftmatchd and Redis read at its
    'measuring' and 'measured' marks."""
    argv = [st.tool("cmbench-load"), "--mixed", "--port", str(st.cm_port),
            "--accounts", files["accounts"], "--admin-token", admin_token,
            "--searches", files["search"], "--posts", files["post"], "--patches", files["patch"],
            "--subscribers", str(args.mixed_subscribers),
            "--connections", str(args.mixed_connections),
            "--warmup", str(args.warmup), "--duration", str(args.mixed_seconds),
            "--shares", args.mixed_shares, "--seed", str(files["seed"]),
            "--count", str(args.mixed_count)]
    if args.mixed_rate:
        argv += ["--rate", str(args.mixed_rate)]
    if since:
        argv += ["--since", since]
    pid, rpid = st.cm.proc.pid, st.redis.proc.pid
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    marks = {}
    err = []
    deadline = time.monotonic() + args.mixed_seconds + args.warmup + 200
    while len(marks) < 2 and time.monotonic() < deadline:
        line = p.stderr.readline().decode()
        if not line:
            break
        line = line.strip()
        if line in ("measuring", "measured"):
            marks[line] = (time.monotonic(), b.cpu_ticks(pid), b.cpu_ticks(rpid))
        else:
            err.append(line)
    so, se = p.communicate(timeout=max(10, deadline - time.monotonic() + 60))
    if p.returncode != 0 or len(marks) < 2:
        raise MixedFailed("cmbench-load --mixed failed (%s): %s" % (
            p.returncode, ("\n".join(err) + se.decode(errors="replace"))[-3000:]))
    out = json.loads(so.decode().strip().splitlines()[-1])
    (w0, c0, r0), (w1, c1, r1) = marks["measuring"], marks["measured"]
    out["window_s"] = round(w1 - w0, 3)
    out["server_cpu_s"] = round(c1 - c0, 3)
    out["redis_cpu_s"] = round(r1 - r0, 3)
    return out


def run(st, args, b, acc_file, post_reqs, admin_token, res, log):
    """The mixed phase, args.reps times. b: the bench module (its load_run,
    measured, cpu_ticks, die, wait_engine_idle)."""
    data = st.tool("cmbench-data")
    prefix = os.path.join(st.tmp, "mixed")
    pp = price_params()
    argv = [data, "mixed", "--accounts", acc_file, "--count", "20000", "--seed", "21",
            "--exclude", b.FOCUS, "--cross-share", str(args.mixed_cross_share), "--out", prefix]
    if pp:
        argv += ["--price-params", "%s,%s" % pp]
    gen = json.loads(subprocess.run(argv, stdout=subprocess.PIPE, check=True)
                     .stdout.decode().strip().splitlines()[-1])
    prelude = os.path.join(st.tmp, "mixed-prelude.req")
    subprocess.run([data, "requests", "--accounts", acc_file, "--count",
                    str(max(args.mixed_prelude * args.reps, 1)), "--profile", "cross",
                    "--kind", "mix", "--exclude", b.FOCUS, "--seed", "23", "--out", prelude],
                   check=True)
    files = {"accounts": acc_file, "search": prefix + ".search.req",
             "post": prefix + ".post.req", "patch": prefix + ".patch.req"}
    rows = []
    for rep in range(args.reps):
        floor = _floor_post(st, args, b, post_reqs)
        since = _last_event_id(st)
        if args.mixed_prelude:
            # crossing listings, so that proposals wait for the mix to act on
            b.load_run(st, args, prelude, st.cm_port, args.mixed_prelude / 100.0, 8, rate=100)
        b.wait_engine_idle(st)
        files["seed"] = 31 + rep
        try:
            out = _mix(st, args, b, files, admin_token, since, log)
        except MixedFailed as e:
            # the other phases still run; the table says what failed
            log("  " + str(e))
            if rows:
                break  # the repetitions that ran are reported
            res["mixed"] = {"error": str(e)[-1000:]}
            return
        n = out["completed"]
        whole = out["per_second"][:int(out["seconds"])]  # whole seconds of the window
        row = {"floor_post": floor, "out": out,
               "throughput": n / out["window_s"] if out["window_s"] else None,
               "per_second_min": min(whole) if whole else None,
               "per_second_max": max(whole) if whole else None,
               "server_cpu_us_per_req": out["server_cpu_s"] * 1e6 / n if n else None,
               "redis_cpu_us_per_req": out["redis_cpu_s"] * 1e6 / n if n else None}
        for k in TYPES:
            t = out["types"][k]
            row[k] = {"throughput": t["throughput"], "p50_ms": t["latency_us"]["p50"] / 1e3,
                      "p99_ms": t["latency_us"]["p99"] / 1e3, "count": t["completed"],
                      "status": t["status"]}
        for k in CLASSES:
            t = out["classes"][k]
            row["class_" + k] = {"throughput": t["throughput"],
                                 "p50_ms": t["latency_us"]["p50"] / 1e3,
                                 "p99_ms": t["latency_us"]["p99"] / 1e3,
                                 "count": t["completed"], "status": t["status"]}
        sub = out["subscribers"]
        row["subscribers"] = {"wanted": sub["wanted"], "connected": sub["connected"],
                              "alive_at_end": sub["alive_at_end"],
                              "deliveries": sub["listing_created_deliveries"],
                              "delivery_p50_ms": sub["delivery_us"]["p50"] / 1e3,
                              "delivery_p99_ms": sub["delivery_us"]["p99"] / 1e3}
        rows.append(row)
        log("  mixed rep %d: %.0f req/s (search %.0f/s p99 %.1fms, write %.0f/s p99 %.1fms, "
            "match %.0f/s p99 %.1fms); %.0fus server + %.0fus Redis CPU/req; %d/%d "
            "subscribers alive, listing.created pushed p99 %.1fms; proposals %d, approved %d, "
            "confirmed %d, fulfilled %d | floor POST %.0f/s p99 %.2fms" % (
                rep + 1, row["throughput"] or 0, row["class_search"]["throughput"],
                row["class_search"]["p99_ms"], row["class_write"]["throughput"],
                row["class_write"]["p99_ms"], row["class_match"]["throughput"],
                row["class_match"]["p99_ms"], row["server_cpu_us_per_req"] or -1,
                row["redis_cpu_us_per_req"] or -1, sub["alive_at_end"], sub["wanted"],
                row["subscribers"]["delivery_p99_ms"], out["matches"]["proposals_seen"],
                out["matches"]["approved"], out["matches"]["confirmed"],
                out["matches"]["fulfilled"], floor["throughput"], floor["p99_ms"]))
        bad = {k: v for k, v in out["classes"].items()
               if any(not s.startswith("2") for s in v["status"])}
        if bad or out["errors"]:
            log("  mixed: answers other than 2xx: %s; %d connection errors" % (
                {k: v["status"] for k, v in bad.items()}, out["errors"]))
    med = {"throughput": _median([r["throughput"] for r in rows]),
           "per_second_min": _median([r["per_second_min"] for r in rows]),
           "per_second_max": _median([r["per_second_max"] for r in rows]),
           "server_cpu_us_per_req": _median([r["server_cpu_us_per_req"] for r in rows]),
           "redis_cpu_us_per_req": _median([r["redis_cpu_us_per_req"] for r in rows])}
    for k in TYPES + tuple("class_" + c for c in CLASSES) + ("floor_post", "subscribers"):
        med[k] = {f: _median([r[k].get(f) for r in rows]) for f in rows[0][k]
                  if f != "status"}
    res["mixed"] = {"reps": rows, "median": med, "generated": gen,
                    "price_range_params": list(pp) if pp else None,
                    "connections": args.mixed_connections, "rate": args.mixed_rate or None,
                    "subscribers": args.mixed_subscribers, "seconds": args.mixed_seconds,
                    "shares": args.mixed_shares, "prelude": args.mixed_prelude}


def rows(res, fmt, gap):
    """The report's rows of the mixed day (report.markdown)."""
    mx = res.get("mixed")
    if not mx:
        return []
    if "error" in mx:
        return ["| mixed day | failed: %s | | | | |" % mx["error"].splitlines()[0][:200]]
    md = mx["median"]
    fl = md["floor_post"]
    loop = ("open loop at %s req/s" % fmt(mx["rate"], 0)) if mx.get("rate") else \
        ("%d connections, closed loop" % mx["connections"])
    shares = "/".join(x.split(".")[0] for x in mx["shares"].split(","))
    L = ["| **mixed day** (%s %% search/write/match, %s, %s live SSE subscribers): requests/s "
         "over %ss; beside it the floor's POST in the same repetition | %s | %s | %s | | |" % (
             shares, loop, fmt(mx["subscribers"], 0),
             fmt(_median([r["out"]["seconds"] for r in mx["reps"]]), 1),
             fmt(md["throughput"], 0), fmt(fl["throughput"], 0),
             fmt(md["throughput"] / fl["throughput"] if md["throughput"] and fl["throughput"]
                 else None, 2))]
    L.append("| — answers per second of the window, least / most (sustained?) | %s / %s "
             "| | | | |" % (fmt(md.get("per_second_min"), 0), fmt(md.get("per_second_max"), 0)))
    for c in CLASSES:
        x = md["class_" + c]
        L.append("| — %s: req/s; p50 / p99 (ms) | %s; %s / %s | %s | %s | | |" % (
            c, fmt(x["throughput"], 0), fmt(x["p50_ms"], 1), fmt(x["p99_ms"], 1),
            "POST p50 / p99 %s / %s" % (fmt(fl["p50_ms"], 2), fmt(fl["p99_ms"], 2))
            if c == "write" else "",
            "p99 %s×" % fmt(x["p99_ms"] / fl["p99_ms"], 1)
            if c == "write" and x["p99_ms"] and fl["p99_ms"] else ""))
    per = "; ".join("%s %s/s %s / %s" % (t, fmt(md[t]["throughput"], 1), fmt(md[t]["p50_ms"], 1),
                                          fmt(md[t]["p99_ms"], 1))
                    for t in TYPES if md[t]["count"])
    L.append("| — per type: req/s p50 / p99 (ms) | %s | | | | |" % per)
    L.append("| mixed day CPU per request, server + Redis (µs) | %s + %s | %s + %s (POST) "
             "| | | |" % (fmt(md["server_cpu_us_per_req"], 0), fmt(md["redis_cpu_us_per_req"], 0),
                          fmt(fl["cpu_us_per_req"], 0), fmt(fl["redis_cpu_us_per_req"], 0)))
    s = md["subscribers"]
    L.append("| mixed day SSE: subscribers connected / alive at the end; listing.created "
             "pushed, p50 / p99 (ms) | %s / %s; %s / %s | | | | |" % (
                 fmt(s["connected"], 0), fmt(s["alive_at_end"], 0),
                 fmt(s["delivery_p50_ms"], 1), fmt(s["delivery_p99_ms"], 1)))
    r0 = mx["reps"][-1]["out"]["matches"]
    L.append("| mixed day matches (last repetition): proposals seen, approved, confirmed, "
             "declined, fulfilled, still pending | %d, %d, %d, %d, %d, %d | | | | |" % (
                 r0["proposals_seen"], r0["approved"], r0["confirmed"], r0["declined"],
                 r0["fulfilled"], r0["pending_at_end"]))
    return L
