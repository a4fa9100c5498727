"""The bench's report: the Markdown table of a scripts/bench run's results
(bench.py's res), each measure beside its target."""
import clearing_phase
import mixed_phase

FOCUS = "clay"  # the engine phase's material: exactly --focus open offers of it

# Targets of issue 15 (the second performance pass), beside which the results
# are printed; the gap column is computed from them.
TARGETS = {
    "post_cpu_ratio": 2.0,          # craftmatchd CPU per POST <= 2.0 x the floor's
    "post_redis_ratio": 2.5,        # Redis CPU per POST <= 2.5 x the floor's
    "search_cpu_us": 150.0,         # craftmatchd + Redis CPU per search, 100k listings
    "search_listings": 100000,
    "search_p99_ms": 5.0,           # at 16 connections
    "search_connections": 16,
    "match_p99_ms": 10.0,           # crossing listing -> match.proposed pushed, p99 ...
    "match_rate": 1000,             # ... at 1,000 listings/s sustained
    "engine_median_us": 50.0,       # the plan, median, against 10k candidates
    "restart_1m_s": 5.0,            # restart-to-ready at 1M listings, with the search index
    "sse_delivery_p99_ms": 100.0,   # one event to 10,000 subscribers, delivery p99
    "sse_rss_kib": 3.0,             # per idle subscriber (10,000 of them)
}


def fmt(v, nd=1, unit=""):
    if v is None:
        return "n/a"
    if isinstance(v, str):
        return v
    return ("%." + str(nd) + "f%s") % (v, unit)


def gap(value, target, lower_is_better=True):
    if value is None:
        return "n/a"
    g = value / target
    if lower_is_better:
        return "meets (%.2f× the target)" % g if value <= target else "**%.2f× over**" % g
    return "meets" if value >= target else "**%.2f× under**" % (target / value)


def markdown(res):
    """The table scripts/bench prints and writes to bench-results/<stamp>.md."""
    L = []
    m = res["machine"]
    L.append("# craftmatch bench %s" % res["started"])
    L.append("")
    L.append("`%s` — %s, %s cores (%s), load average %s at start, %s at end; Redis %s; "
             "commit %s%s." % (res["command"], m["cpu_model"], m["nproc"], m["kernel"],
                                fmt(m["loadavg_start"], 2), fmt(m.get("loadavg_end"), 2),
                                m["redis_version"], m["git_commit"],
                                " (dirty tree)" if m["git_dirty"] else ""))
    L.append("")
    ld = res.get("load", {})
    L.append("Data: %s accounts, %s open listings loaded (%s offers of `%s` for the engine "
             "phase), %s listings/s bulk load. Phases %ss each, medians of %d repetitions." % (
                 res.get("accounts"), ld.get("listings"), res["params"]["focus"], FOCUS,
                 ld.get("per_second"), res["params"]["seconds"], res["params"]["reps"]))
    L.append("")
    T = TARGETS
    L.append("| measure | craftmatchd | floor | ratio | target (issue 15) | gap |")
    L.append("| --- | --- | --- | --- | --- | --- |")
    p = res.get("post", {}).get("median")
    if p:
        cm, fl, r = p["craftmatchd"], p["floor"], p["ratio"]
        L.append("| POST throughput (req/s, %d conns) | %s | %s | %s | | |" % (
            res["post"]["connections"], fmt(cm["throughput"], 0), fmt(fl["throughput"], 0),
            fmt(r["throughput"], 2)))
        L.append("| POST latency p50 / p99 (ms) | %s / %s | %s / %s | p99 %s | | |" % (
            fmt(cm["p50_ms"], 2), fmt(cm["p99_ms"], 2), fmt(fl["p50_ms"], 2),
            fmt(fl["p99_ms"], 2), fmt(r["p99"], 2)))
        L.append("| POST server CPU per request (µs) | %s | %s | **%s** | ≤ %g× floor | %s |" % (
            fmt(cm["cpu_us_per_req"], 0), fmt(fl["cpu_us_per_req"], 0), fmt(r["cpu"], 2, "×"),
            T["post_cpu_ratio"], gap(r["cpu"], T["post_cpu_ratio"])))
        L.append("| of which the engine's plan of each new listing (µs) | %s | | | | |" %
                 fmt(cm.get("engine_plan_cpu_us_per_req"), 0))
        rr = cm["redis_cpu_us_per_req"] / fl["redis_cpu_us_per_req"] \
            if cm["redis_cpu_us_per_req"] and fl["redis_cpu_us_per_req"] else None
        L.append("| POST Redis CPU per request (µs) | %s | %s | **%s** | ≤ %g× floor | %s |" % (
            fmt(cm["redis_cpu_us_per_req"], 0), fmt(fl["redis_cpu_us_per_req"], 0),
            fmt(rr, 2, "×"), T["post_redis_ratio"], gap(rr, T["post_redis_ratio"])))
    s = res.get("search", {}).get("median")
    if s:
        conns = res["search"].get("connections", res["params"].get("connections"))
        listings = res.get("load", {}).get("listings")
        L.append("| GET /v1/listings search (req/s, %s conns) | %s | | | | |" % (
            conns, fmt(s["throughput"], 0)))
        at16 = conns == T["search_connections"]
        L.append("| search latency p50 / p99 (ms), %s connections | %s / **%s** | | | "
                 "p99 ≤ %g ms at %d connections | %s |" % (
                     conns, fmt(s["p50_ms"], 2), fmt(s["p99_ms"], 2), T["search_p99_ms"],
                     T["search_connections"],
                     gap(s["p99_ms"], T["search_p99_ms"]) if at16
                     else "n/a: measured at %s connections" % conns))
        cpu = s["cpu_us_per_req"] + s["redis_cpu_us_per_req"] \
            if s["cpu_us_per_req"] is not None and s["redis_cpu_us_per_req"] is not None else None
        L.append("| search CPU per request, server + Redis (µs), %s listings | %s + %s = **%s** "
                 "| | | ≤ %g µs at 100k listings | %s%s |" % (
                     fmt(listings, 0), fmt(s["cpu_us_per_req"], 0),
                     fmt(s["redis_cpu_us_per_req"], 0), fmt(cpu, 0), T["search_cpu_us"],
                     gap(cpu, T["search_cpu_us"]),
                     "" if listings == T["search_listings"]
                     else " (at %s listings, not 100k)" % fmt(listings, 0)))
    mt = res.get("match")
    if mt:
        tgt = "pushed p99 ≤ %g ms at %s/s sustained" % (T["match_p99_ms"],
                                                      "{:,}".format(T["match_rate"]))
        first = mt["tried"][0] if mt["tried"] else None
        if mt.get("rate"):
            md = mt["median"]
            pushed = md.get("sse_match_p99_ms")
            val = pushed if pushed is not None else md["match_p99_ms"]
            g = gap(val, T["match_p99_ms"])
            if mt["rate"] != T["match_rate"]:
                g = "not met: %s/s not sustained here (%s at %d/s)" % (
                    "{:,}".format(T["match_rate"]), g, mt["rate"])
            L.append("| match latency posted → match.proposed in cm:events, p50 / p99 / max "
                     "(ms) at %d listings/s | %s / %s / %s | | | | |" % (
                         mt["rate"], fmt(md["match_p50_ms"], 2), fmt(md["match_p99_ms"], 2),
                         fmt(md["match_max_ms"], 1)))
            L.append("| the same, pushed over SSE (GET /v1/events, admin), p50 / p99 / max (ms) "
                     "| %s / **%s** / %s | | | %s | %s |" % (
                         fmt(md.get("sse_match_p50_ms"), 2), fmt(pushed, 2),
                         fmt(md.get("sse_match_max_ms"), 1), tgt, g))
        else:
            L.append("| match latency | no rate sustained | | | %s | not met |" % tgt)
        if first and not first["sustained"]:
            r0 = first["reps"][0]
            L.append("| the same at %d listings/s offered (not sustained), p50 / p99 / max "
                     "(ms); pushed p99 | %s / %s / %s; %s | | | | |" % (
                         first["rate"], fmt(r0["match_p50_ms"], 0), fmt(r0["match_p99_ms"], 0),
                         fmt(r0["match_max_ms"], 0), fmt(r0.get("sse_match_p99_ms"), 0)))
    e = res.get("engine")
    if e:
        off = e["offline_plan"]
        L.append("| engine plan CPU per new listing vs %d candidates: median / mean (µs) | "
                 "**%s** / %s (the plan alone); server histogram mean %s, median ≤ %s "
                 "| | | median ≤ %g µs at 10k | %s |" % (
                     e["open_counterparts"], fmt(off["median_us"], 0), fmt(off["mean_us"], 0),
                     fmt(e["plan_cpu_mean_us"], 0), fmt(e["plan_cpu_median_bucket_le_us"], 0),
                     T["engine_median_us"], gap(off["median_us"], T["engine_median_us"])))
        L.append("| server CPU per posted need incl. API + engine (µs) | %s | | | | |" % fmt(
            e["server_cpu_us_per_posted_need"], 0))
    sse = res.get("sse")
    if isinstance(sse, str):
        L.append("| SSE fan-out | %s | | | | n/a |" % sse)
    elif sse:
        for n, r in sse.items():
            if "error" in r:
                L.append("| SSE %s subscribers | error | | | | |" % n)
                continue
            d = r["delivery_us"]
            big = n == "10000"
            L.append("| SSE %s subscribers: delivery of one event p50 / p99 / max (ms) | %s / "
                     "%s / %s | | | %s | %s |" % (
                         n, fmt(d["p50"] / 1e3, 1), fmt(d["p99"] / 1e3, 1),
                         fmt(d["max"] / 1e3, 1),
                         "p99 ≤ %g ms" % T["sse_delivery_p99_ms"] if big else "",
                         gap(d["p99"] / 1e3, T["sse_delivery_p99_ms"]) if big else ""))
            L.append("| SSE %s idle subscribers: RSS per subscriber (KiB) | %s | | | %s | %s |" % (
                n, fmt(r["rss_kib_per_subscriber"], 2),
                "≤ %g KiB each" % T["sse_rss_kib"] if big else "",
                gap(r["rss_kib_per_subscriber"], T["sse_rss_kib"]) if big else ""))
    L.extend(mixed_phase.rows(res, fmt, gap))
    for key, big in (("restart_loaded", False), ("restart_big", True)):
        r = res.get(key)
        if r:
            L.append("| restart-to-ready, %s listings (s) | %s | | | %s | %s |" % (
                fmt(r["engine_listings"], 0), fmt(r["median_s"], 2),
                "≤ %g s with 1M" % T["restart_1m_s"] if big else "",
                gap(r["median_s"], T["restart_1m_s"]) if big else ""))
    for key in ("load", "load_big"):
        r = res.get(key)
        if r:
            L.append("| Redis memory per listing, %s loaded (bytes; of which cm:events) | "
                     "%s (%s) | | | | |" % (fmt(r["listings"], 0),
                                            fmt(r["redis_bytes_per_listing"], 0),
                                            fmt(r["events_stream_bytes_per_listing"], 0)))
            L.append("| bulk load of %s listings (s) | %s | | | | |" % (
                fmt(r["listings"], 0), fmt(r["seconds"], 1)))
    L.extend(clearing_phase.rows(res, fmt, gap))
    L.append("")
    L.append("Medians of the repetitions; each repetition's figures are in the JSON file.")
    return "\n".join(L) + "\n"


# ---------------------------------------------------------------------------
