#!/usr/bin/env python3
"""library_cost — Redis CPU per listing create and per proposal, of two
function libraries side by side (docs/performance.md, "What the statistics
cost"):

  scripts/bench.d/library_cost.py OLD_LUA_DIR NEW_LUA_DIR [reps]

e.g. a checkout of main's server/store/lua beside this tree's. For each
library and repetition: a fresh redis-server (no persistence), 4,000
cm_listing_create calls, then 2,000 cm_match_propose calls pairing them;
Redis's own CPU time in those calls is INFO commandstats' usec of FCALL,
so neither the client nor the machine's other load is counted. Prints the
per-call microseconds of every repetition and their medians, then (from the
last repetition) the Redis commands one proposal makes inside its FCALL:
calls and microseconds per proposal, by command — the count does not
depend on the machine's load.
"""
import glob
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests",
                                "e2e"))
from kit.resp import RedisClient  # noqa: E402

def run(libdir, port, n=4000, calls=None):
    text = ''.join(open(p).read() for p in sorted(glob.glob(libdir + '/*.lua')))
    p = subprocess.Popen(['redis-server', '--port', str(port), '--save', '', '--appendonly', 'no'],
                         stdout=subprocess.DEVNULL)
    time.sleep(0.4)
    rc = RedisClient(port)
    rc.execute('FUNCTION', 'LOAD', 'REPLACE', text)
    now = int(time.time() * 1000)
    rec = 'x' * 120
    for i in range(n):
        kind = 'need' if i % 2 == 0 else 'offer'
        lid = 'lst_%020d' % i
        rc.execute('FCALL', 'cm_listing_create', 1, 'cm:listing:' + lid, lid,
                   '{"material":"clay","quantity":"5000"}', kind, 'acc_%d' % (i % 300), 'Name',
                   'clay', ['HN', 'BN', 'HP', 'NB'][i % 4], '', '5000', '0', 'fold', str(now),
                   '1000000', '', rec, '')
    s1 = stats(rc)
    c1 = commandstats(rc)
    for i in range(0, n, 2):
        rc.execute('FCALL', 'cm_match_propose', 0, str(now + 1500), '1000000', str(now + 99999),
                   'mat_%020d' % i, 'lst_%020d' % i, 'lst_%020d' % (i + 1), '3000', '1', '1',
                   '{"explain":{"goods_total_vnd":4500000,"freight":{"total_vnd":12000}}}')
    s2 = stats(rc)
    if calls is not None:
        c2 = commandstats(rc)
        calls.clear()
        for k, (nc, us) in c2.items():
            b = c1.get(k, (0, 0))
            if nc > b[0] and k not in ('fcall', 'info'):
                calls[k] = ((nc - b[0]) / (n / 2), (us - b[1]) / (n / 2))
    p.terminate(); p.wait()
    return s1 / n, (s2 - s1) / (n / 2)

def commandstats(rc):
    """{command: (calls, usec)} of INFO commandstats."""
    info = rc.execute('INFO', 'commandstats')
    info = info.decode() if isinstance(info, bytes) else info
    out = {}
    for line in info.splitlines():
        if line.startswith('cmdstat_'):
            name, rest = line.split(':', 1)
            d = dict(kv.split('=') for kv in rest.split(','))
            out[name[len('cmdstat_'):]] = (int(d['calls']), int(d['usec']))
    return out

def stats(rc):
    info = rc.execute('INFO', 'commandstats')
    info = info.decode() if isinstance(info, bytes) else info
    for line in info.splitlines():
        if line.startswith('cmdstat_fcall:'):
            return int(dict(kv.split('=') for kv in line.split(':', 1)[1].split(','))['usec'])
    return 0

def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    dirs = sys.argv[1:3]
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    res = {d: [] for d in dirs}
    calls = {d: {} for d in dirs}
    for rep in range(reps):
        for d in dirs:  # interleaved: both see the same machine
            res[d].append(run(d, 16411 + rep, calls=calls[d]))
    for d, v in res.items():
        c = sorted(x[0] for x in v)
        pr = sorted(x[1] for x in v)
        print("%s: create %s median %.1f us | propose %s median %.1f us" % (
            d, " ".join("%.1f" % x for x in c), c[len(c) // 2],
            " ".join("%.1f" % x for x in pr), pr[len(pr) // 2]))
    for d in dirs:
        c = calls[d]
        print("%s: per proposal %.1f commands: %s" % (
            d, sum(v[0] for v in c.values()),
            ", ".join("%s %.1f (%.1f us)" % (k, v[0], v[1]) for k, v in sorted(c.items()))))


if __name__ == "__main__":
    main()
