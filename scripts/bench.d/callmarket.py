#!/usr/bin/env python3
"""scripts/bench.d/callmarket.py -- continuous matching beside the call market
(--call-interval N) on the bench's data.

    scripts/bench --skip post,search,engine,match,sse,restart,clearing   # builds build-bench/
    python3 scripts/bench.d/callmarket.py [--listings 10000] [--rate 100] [--seconds 30]
                                          [--intervals 2,10] [--build-dir build-bench]

For each mode (continuous, then a call market at each interval) on a fresh
Redis with the same data: the bench's accounts and --listings background
listings (cmbench-data, profile "background": no two of them cross), then
craftmatchd in that mode, then --rate crossing needs and offers per second
for --seconds (--profile cross, the bench's match phase: each crosses most
background counterparts of its material, and needs and offers of it cross
each other; or --profile wide: as cross with five times a background
quantity, so that they compete for the background's stock) posted through HTTP by cmbench-load, which times each listing's
POST -> first match.proposed naming it (cm:events). After the engine has
settled, every proposal in Redis is summed from its stored explanation:
quantity (base units) and landed cost (goods + freight, VND).

The same seeds make the same listings in every mode (owners are the same
accounts by position), so the totals compare allocations of one book.
Results: a table on stdout, JSON with --json FILE. A benchmark, not a test.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402  (the bench's stack and tools)


class ModeStack(bench.Stack):
    def __init__(self, args, tmp, extra):
        super().__init__(args, tmp)
        self.extra = extra

    def cm_argv(self):
        return super().cm_argv() + ["--log-level", self.args.server_log_level] + self.extra


def totals(st):
    """(proposals, quantity, landed VND, listings in them) over every match in Redis."""
    n = q = landed = 0
    listings = set()
    with st.rc() as c:
        ids = c.execute("ZRANGE", "cm:matches", 0, -1)
        for mid in ids:
            doc = json.loads(c.execute("HGET", "cm:match:" + mid, "doc"))
            ex = doc["explain"]
            n += 1
            q += ex["quantity_base"]
            landed += ex["landed"]["total_vnd"]
            listings.update((ex["need"], ex["offer"]))
    return n, q, landed, len(listings)


def settle(st, quiet):
    """Until cm:matches has not grown for `quiet` seconds."""
    last, since = None, time.monotonic()
    while True:
        with st.rc() as c:
            now = c.execute("ZCARD", "cm:matches")
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.2)


def run_mode(args, label, extra, interval):
    tmp = tempfile.mkdtemp(prefix="cm-callmarket-")
    st = ModeStack(args, tmp, extra)
    try:
        st.start_redis()
        st.start_cm()
        st.stop_cm()  # loads the function library
        admin_id, _ = st.create_admin()
        acc = os.path.join(tmp, "accounts.tsv")
        data = st.tool("cmbench-data")
        redis = "%s:%d" % (bench.HOST, st.redis_port)
        bench.run_tool([data, "accounts", "--redis", redis, "--admin", admin_id, "--villages",
                        str(args.accounts), "--suppliers", str(args.accounts), "--moderators",
                        "20", "--seed", "1", "--out", acc])
        bench.run_tool([data, "listings", "--redis", redis, "--accounts", acc, "--count",
                        str(args.listings), "--profile", "background", "--seed", "1001"],
                       timeout=3600)
        bench.run_tool([data, "cursor", "--redis", redis])
        st.start_cm()
        reqs = os.path.join(tmp, "cross.req")
        subprocess.run([data, "requests", "--accounts", acc, "--count",
                        str(int(args.rate * args.seconds * 1.2) + 100), "--profile", args.profile,
                        "--kind", "mix", "--seed", "55", "--out", reqs], check=True)
        m0 = bench.metrics(st.cm_port)
        out = bench.load_run(st, args, reqs, st.cm_port, args.seconds, 16, rate=args.rate,
                             watch=True, drain=interval + 5)
        settle(st, max(3.0, 2.5 * interval))
        m1 = bench.metrics(st.cm_port)
        n, q, landed, listed = totals(st)
        ml = out["match_latency_us"]
        row = {"mode": label, "posted": out["posted"], "matched_posted": out["matched"],
               "proposals": n, "quantity_base": q, "landed_vnd": landed,
               "landed_vnd_per_base": landed / q if q else None, "listings_matched": listed,
               "match_p50_ms": ml["p50"] / 1e3, "match_p99_ms": ml["p99"] / 1e3,
               "match_max_ms": ml["max"] / 1e3}
        if interval:
            d = lambda k: m1.get((k, ""), 0) - m0.get((k, ""), 0)
            rounds = d("craftmatch_callmarket_round_seconds_count")
            row.update({
                "rounds": rounds,
                "round_mean_ms": d("craftmatch_callmarket_round_seconds_sum") / rounds * 1e3
                if rounds else None,
                "solve_cpu_mean_ms": d("craftmatch_callmarket_solve_cpu_seconds_sum") / rounds
                * 1e3 if rounds else None,
                "copy_mean_ms": d("craftmatch_callmarket_copy_seconds_sum") / rounds * 1e3
                if rounds else None,
                "refused": d("craftmatch_callmarket_refused_total"),
                "last_round_listings": m1.get(("craftmatch_callmarket_last_round_listings", "")),
                "last_round_screened": m1.get(("craftmatch_callmarket_last_round_screened", "")),
                "last_round_arcs": m1.get(("craftmatch_callmarket_last_round_arcs", "")),
            })
        bench.log("  %s: %d posted, %d of them matched; %d proposals, %d base units, %d VND "
                  "landed (%.1f VND per base unit); posted -> proposed p50 %.0f ms, p99 %.0f ms, "
                  "max %.0f ms" % (label, row["posted"], row["matched_posted"], n, q, landed,
                                   row["landed_vnd_per_base"] or 0, row["match_p50_ms"],
                                   row["match_p99_ms"], row["match_max_ms"]))
        if interval:
            bench.log("    %d rounds, mean %.1f ms (solve CPU %.1f ms, copy %.2f ms); last round "
                      "%s listings, %s after the screen, %s pairs; %d refused" % (
                          row["rounds"], row["round_mean_ms"] or 0, row["solve_cpu_mean_ms"] or 0,
                          row["copy_mean_ms"] or 0, row["last_round_listings"],
                          row["last_round_screened"], row["last_round_arcs"], row["refused"]))
        return row
    finally:
        bench.stop_all()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build-dir", default=os.path.join(bench.ROOT, "build-bench"))
    ap.add_argument("--listings", type=int, default=10000, help="background listings")
    ap.add_argument("--accounts", type=int, default=300, help="villages = suppliers = N")
    ap.add_argument("--rate", type=float, default=100.0, help="crossing listings posted per s")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--profile", default="cross", choices=("cross", "wide"),
                    help="the posted listings' profile (cmbench-data; wide: five times a "
                    "background quantity, so they compete for the background's stock)")
    ap.add_argument("--intervals", default="2,10", help="call market intervals to run (s)")
    ap.add_argument("--max-connections", type=int, default=4096)
    ap.add_argument("--warmup", type=float, default=0.0)
    ap.add_argument("--json", default=None)
    ap.add_argument("--keep", action="store_true", help="keep the temp dirs (logs, Redis data)")
    ap.add_argument("--server-log-level", default="warn",
                    help="craftmatchd's --log-level (info: a line per call market round)")
    ap.add_argument("--skip-continuous", action="store_true",
                    help="run only the call market modes")
    args = ap.parse_args()
    for t in ("craftmatchd", "cmbench-data", "cmbench-load"):
        if not os.access(os.path.join(args.build_dir, t), os.X_OK):
            bench.die("%s/%s is missing: run scripts/bench first (it builds them)" % (
                args.build_dir, t))
    bench.log("continuous vs call market: %d background listings, %g %s listings/s for "
              "%gs" % (args.listings, args.rate, args.profile, args.seconds))
    rows = [] if args.skip_continuous else [run_mode(args, "continuous", [], 0)]
    for iv in [int(x) for x in args.intervals.split(",") if x]:
        rows.append(run_mode(args, "call %ds" % iv, ["--call-interval", str(iv)], iv))
    base = rows[0] if rows and not args.skip_continuous else None
    print("| mode | posted | matched (posted) | proposals | quantity (base units) | landed (VND) "
          "| VND per base unit | vs continuous | posted → proposed p50 / p99 / max (ms) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        vs = ""
        if base and r is not base and base["landed_vnd_per_base"] and r["landed_vnd_per_base"]:
            vs = "%+.2f%% per unit, %+d units" % (
                (r["landed_vnd_per_base"] / base["landed_vnd_per_base"] - 1) * 100,
                r["quantity_base"] - base["quantity_base"])
        print("| %s | %d | %d | %d | %d | %d | %.1f | %s | %.0f / %.0f / %.0f |" % (
            r["mode"], r["posted"], r["matched_posted"], r["proposals"], r["quantity_base"],
            r["landed_vnd"], r["landed_vnd_per_base"] or 0, vs, r["match_p50_ms"],
            r["match_p99_ms"], r["match_max_ms"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
