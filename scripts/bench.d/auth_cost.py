#!/usr/bin/env python3
"""auth_cost — Redis CPU of an authenticated listing create, two round trips
(FCALL_RO cm_auth, then FCALL cm_listing_create) beside one (FCALL cm_as,
which checks the token and runs cm_listing_create in the same call):

  scripts/bench.d/auth_cost.py [reps] [creates]

This tree's function library (server/store/lua) on a fresh redis-server per
repetition (no persistence: what the AOF costs is the same for both, the
create alone being written), 300 accounts with a token each, then `creates`
listing creates each way, interleaved in blocks of 2,000 so that both see the
same machine. Each command is sent alone and its answer read before the
next, as craftmatchd's link does under light load. Reported per write:
INFO commandstats' usec of FCALL + FCALL_RO (the time inside the
functions), and the redis-server process's own CPU (utime + stime of
/proc/PID/stat: the functions plus reading, parsing and answering each
command), medians of the repetitions.
"""
import glob
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests",
                                "e2e"))
from kit.resp import RedisClient  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
TICK = os.sysconf("SC_CLK_TCK")
ACCOUNTS = 300


def proc_cpu_us(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1e6 / TICK


def fcall_usec(rc):
    total = 0
    for line in rc.execute("INFO", "commandstats").splitlines():
        if line.startswith(("cmdstat_fcall:", "cmdstat_fcall_ro:")):
            total += int(dict(kv.split("=") for kv in line.split(":", 1)[1].split(","))["usec"])
    return total


def create_args(i, now):
    lid = "lst_%020d" % i
    acc = "acc_%d" % (i % ACCOUNTS)
    return (["cm:listing:" + lid],
            [lid, '{"material":"clay","quantity":"5000"}', "need" if i % 2 == 0 else "offer",
             acc, "Làng gốm", "clay", ["HN", "BN", "HP", "NB"][i % 4], "", "5000", "0", "fold",
             str(now), "1000000", "", "x" * 120, ""])


def run(port, creates, block=2000):
    text = "".join(open(p).read() for p in sorted(glob.glob(ROOT + "/server/store/lua/*.lua")))
    p = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
                         stdout=subprocess.DEVNULL)
    time.sleep(0.4)
    rc = RedisClient(port)
    rc.execute("FUNCTION", "LOAD", "REPLACE", text)
    now = int(time.time() * 1000)
    for a in range(ACCOUNTS):
        acc = "acc_%d" % a
        rc.execute("FCALL", "cm_account_create", 2, "cm:account:" + acc, "cm:accounts", acc,
                   '{"id":"%s","name":"Làng gốm","role":"village"}' % acc, "village", "HN", "",
                   "", str(now), "acc_admin", "1000000", "", "", "lang gom")
        rc.execute("FCALL", "cm_token_create", 4, "cm:token:h%d" % a, "cm:tokenid:tok_%d" % a,
                   "cm:account:%s:tokens" % acc, "cm:account:" + acc, "tok_%d" % a, acc,
                   "h%d" % a, "", str(now), "acc_admin", "1000000", "")
    spent = {"two": [0.0, 0.0, 0], "one": [0.0, 0.0, 0]}
    i = 0
    while i < creates:
        for way in ("two", "one"):
            c0, u0 = proc_cpu_us(p.pid), fcall_usec(rc)
            for _ in range(block):
                keys, args = create_args(i, now)
                a = i % ACCOUNTS
                if way == "two":
                    auth = rc.execute("FCALL_RO", "cm_auth", 1, "cm:token:h%d" % a)
                    assert auth[1] == "acc_%d" % a, auth
                    rc.execute("FCALL", "cm_listing_create", len(keys), *keys, *args)
                else:
                    out = rc.execute("FCALL", "cm_as", len(keys) + 1, "cm:token:h%d" % a, *keys,
                                     "cm_listing_create", "acc_%d" % a, "1", *args)
                    assert out[0] == "created", out
                i += 1
            # the two INFO calls are Redis's too: counted alike for both ways
            spent[way][0] += proc_cpu_us(p.pid) - c0
            spent[way][1] += fcall_usec(rc) - u0
            spent[way][2] += block
    rc.close()
    p.terminate()
    p.wait()
    return {w: (v[0] / v[2], v[1] / v[2]) for w, v in spent.items()}


def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    creates = int(sys.argv[2]) if len(sys.argv) > 2 else 6000
    res = [run(16431 + rep, creates) for rep in range(reps)]
    def med(xs):
        xs = sorted(xs)
        return xs[len(xs) // 2]
    for way, what in (("two", "cm_auth + cm_listing_create"), ("one", "cm_as(cm_listing_create)")):
        proc = [r[way][0] for r in res]
        fn = [r[way][1] for r in res]
        print("%-28s redis-server CPU %s median %.1f us | in functions %s median %.1f us" % (
            what, " ".join("%.0f" % x for x in proc), med(proc),
            " ".join("%.1f" % x for x in fn), med(fn)))
    # the same repetition's two ways side by side: the machine's load cancels
    print("one / two, per repetition: redis-server CPU %s median %.2f | in functions %s median %.2f"
          % (" ".join("%.2f" % (r["one"][0] / r["two"][0]) for r in res),
             med(r["one"][0] / r["two"][0] for r in res),
             " ".join("%.2f" % (r["one"][1] / r["two"][1]) for r in res),
             med(r["one"][1] / r["two"][1] for r in res)))


if __name__ == "__main__":
    main()
