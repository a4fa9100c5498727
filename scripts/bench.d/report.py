"""The bench's report: the Markdown table of a scripts/bench run's results
(bench.py's res), each measure beside its target."""
import clearing_phase

FOCUS = "clay"  # the engine phase's material: exactly --focus open offers of it

# Targets of issue 6, beside which the results are printed.
TARGETS = {
    "post_cpu_ratio": 1.5,       # craftmatchd CPU us/request <= 1.5 x floor
    "match_p99_ms": 5.0,         # at 1,000 listings/s
    "sse_rss_kib": 10.0,         # per idle subscriber, 10k subscribers
    "restart_1m_s": 10.0,        # restart-to-ready with 1M listings
    "engine_median_us": 100.0,   # per new listing against 10k candidates
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
        return "meets (%.2fx of target)" % g if value <= target else "%.2fx over" % g
    return "meets" if value >= target else "%.2fx under" % (target / value)


def markdown(res):
    """The table scripts/bench prints and writes to bench-results/<stamp>.md."""
    L = []
    m = res["machine"]
    L.append("# craftmatch bench %s" % res["started"])
    L.append("")
    L.append("`%s` — %s, %s cores (%s), load average %s at start, %s at end; Redis %s; "
             "commit %s%s." % (res["command"], m["cpu_model"], m["nproc"], m["kernel"],
                                m["loadavg_start"], m.get("loadavg_end", "?"),
                                m["redis_version"], m["git_commit"],
                                " (dirty tree)" if m["git_dirty"] else ""))
    L.append("")
    ld = res.get("load", {})
    L.append("Data: %s accounts, %s open listings loaded (%s offers of `%s` for the engine "
             "phase), %s listings/s bulk load. Phases %ss each, medians of %d repetitions." % (
                 res.get("accounts"), ld.get("listings"), res["params"]["focus"], FOCUS,
                 ld.get("per_second"), res["params"]["seconds"], res["params"]["reps"]))
    L.append("")
    L.append("| measure | craftmatchd | floor | ratio | target | gap |")
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
        L.append("| POST server CPU per request (µs) | %s | %s | **%s** | ≤ 1.5× floor | %s |" % (
            fmt(cm["cpu_us_per_req"], 0), fmt(fl["cpu_us_per_req"], 0), fmt(r["cpu"], 2),
            gap(r["cpu"], TARGETS["post_cpu_ratio"])))
        L.append("| of which the engine's plan of each new listing (µs) | %s | | | | |" %
                 fmt(cm.get("engine_plan_cpu_us_per_req"), 0))
        L.append("| POST Redis CPU per request (µs) | %s | %s | %s | | |" % (
            fmt(cm["redis_cpu_us_per_req"], 0), fmt(fl["redis_cpu_us_per_req"], 0),
            fmt(cm["redis_cpu_us_per_req"] / fl["redis_cpu_us_per_req"]
                if fl["redis_cpu_us_per_req"] else None, 2)))
    s = res.get("search", {}).get("median")
    if s:
        L.append("| GET /v1/listings search (req/s) | %s | | | | |" % fmt(s["throughput"], 0))
        L.append("| search latency p50 / p99 (ms) | %s / %s | | | | |" % (
            fmt(s["p50_ms"], 2), fmt(s["p99_ms"], 2)))
        L.append("| search CPU per request, server + Redis (µs) | %s + %s | | | | |" % (
            fmt(s["cpu_us_per_req"], 0), fmt(s["redis_cpu_us_per_req"], 0)))
    mt = res.get("match")
    if mt:
        if mt.get("rate"):
            md = mt["median"]
            L.append("| match latency posted → match.proposed, p50 / p99 / max (ms) at %d "
                     "listings/s | %s / **%s** / %s | | | p99 ≤ 5 ms at 1,000/s | %s%s |" % (
                         mt["rate"], fmt(md["match_p50_ms"], 2), fmt(md["match_p99_ms"], 2),
                         fmt(md["match_max_ms"], 1), gap(md["match_p99_ms"], 5.0),
                         "" if mt["rate"] == 1000 else "; 1,000/s not sustained here"))
        else:
            L.append("| match latency | no rate sustained | | | p99 ≤ 5 ms at 1,000/s | not met |")
        if mt.get("rate") and mt["median"].get("sse_match_p50_ms") is not None:
            md = mt["median"]
            L.append("| the same, pushed over SSE (GET /v1/events, admin) p50 / p99 / max (ms) "
                     "| %s / %s / %s | | | | |" % (fmt(md["sse_match_p50_ms"], 2),
                                                  fmt(md["sse_match_p99_ms"], 2),
                                                  fmt(md["sse_match_max_ms"], 1)))
        first = mt["tried"][0] if mt["tried"] else None
        if first and not first["sustained"]:
            r0 = first["reps"][0]
            L.append("| the same at %d listings/s offered (not sustained: the engine falls "
                     "behind), p50 / p99 / max (ms) | %s / %s / %s | | | | |" % (
                         first["rate"], fmt(r0["match_p50_ms"], 0), fmt(r0["match_p99_ms"], 0),
                         fmt(r0["match_max_ms"], 0)))
    e = res.get("engine")
    if e:
        off = e["offline_plan"]
        L.append("| engine plan CPU per new listing vs %d candidates: median / mean (µs) | "
                 "%s / %s (matching_plan alone); server histogram mean %s, median ≤ %s "
                 "| | | median ≤ 100 µs | %s |" % (
                     e["open_counterparts"], fmt(off["median_us"], 0), fmt(off["mean_us"], 0),
                     fmt(e["plan_cpu_mean_us"], 0), fmt(e["plan_cpu_median_bucket_le_us"], 0),
                     gap(off["median_us"], 100.0)))
        L.append("| server CPU per posted need incl. API + engine (µs) | %s | | | | |" % fmt(
            e["server_cpu_us_per_posted_need"], 0))
    sse = res.get("sse")
    if isinstance(sse, str):
        L.append("| SSE fan-out | %s | | | 10k idle ≤ 10 KiB each | n/a |" % sse)
    elif sse:
        for n, r in sse.items():
            if "error" in r:
                L.append("| SSE %s subscribers | error | | | | |" % n)
                continue
            d = r["delivery_us"]
            L.append("| SSE %s subscribers: RSS per subscriber (KiB); delivery p50 / p99 / max "
                     "(ms) | %s; %s / %s / %s | | | %s | %s |" % (
                         n, fmt(r["rss_kib_per_subscriber"], 2), fmt(d["p50"] / 1e3, 1),
                         fmt(d["p99"] / 1e3, 1), fmt(d["max"] / 1e3, 1),
                         "≤ 10 KiB each" if n == "10000" else "",
                         gap(r["rss_kib_per_subscriber"], 10.0) if n == "10000" else ""))
    for key, label, tgt in (("restart_loaded", "restart-to-ready, %s listings", None),
                            ("restart_big", "restart-to-ready, %s listings", 10.0)):
        r = res.get(key)
        if r:
            L.append("| %s (s) | %s | | | %s | %s |" % (
                label % fmt(r["engine_listings"], 0), fmt(r["median_s"], 2),
                "≤ 10 s with 1M" if tgt else "", gap(r["median_s"], tgt) if tgt else ""))
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
