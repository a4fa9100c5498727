#!/usr/bin/env python3
"""library_instructions — Redis instructions per listing create and per
proposal of a function library, counted by callgrind (docs/performance.md,
"Fourth pass (issue 15): POST Redis and proposals"):

  scripts/bench.d/library_instructions.py LUA_DIR [creates]

redis-server runs under `valgrind --tool=callgrind --instr-atstart=no`,
AOF on (appendfsync no: the propagation of every write is counted, the
disk's wait is not), with LUA_DIR's library. After a warm-up, instrumentation
is on for `creates` cm_listing_create calls (default 1,000) with documents,
folded texts and engine records of the sizes the bench's POSTs have, then
for creates/2 cm_match_propose calls pairing them (one proposal each).
Prints the instructions per create and per proposal: the same whatever the
machine's load, so two libraries compare on a busy machine (run one, then
the other; about a minute each).
"""
import glob
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests",
                                "e2e"))
from kit.resp import RedisClient  # noqa: E402

FOLD = ("to tam raw silk yarn silk yarn a hai phong huong canh ban to tam gia si co xe cho toi "
        "hai phong cong ty co phan luong hai phong so 565")
NAME = "Công ty cổ phần Luồng Hải Phòng số 565"
RECORD = ("m1 1 clay HP 1 0 1590370 1 0 1796297156939 0 0 0 0 0 0 lst_ppm2dqjprra5hkypyx6c "
          "acc_881dsf5cg40jsvpqsvz6")
EXPLAIN = json.dumps({"explain": {
    "need": "lst_g9q8m3vzzsmt3x4bnejr", "offer": "lst_jksk9z21w72ym7ae156v", "material": "clay",
    "base_unit": "kg", "quantity_base": 36,
    "unit_price": {"vnd": 18811, "unit": "kg", "per_base_micro_vnd": 18811000000},
    "distance_km": 28, "distance_from": "coordinates",
    "location_basis": {"need": "coordinates", "offer": "coordinates"},
    "freight": {"rate_vnd_per_tonne_km": 3000, "mass_g_per_base_unit": 20000,
                "per_base_micro_vnd": 1680000000, "total_vnd": 60480},
    "goods_total_vnd": 677196, "landed": {"per_base_micro_vnd": 20491000000, "total_vnd": 737676},
    "rank": 1, "candidates": 308, "substitute": False,
    "why": "nearest (lowest freight) among 308 compatible needs"},
    "need": {"material": "clay", "province_code": "HP", "listing_kind": "need"},
    "offer": {"material": "clay", "province_code": "HP", "listing_kind": "offer"},
    "trigger": "lst_jksk9z21w72ym7ae156v"})


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def total(path):
    for line in open(path):
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    return 0


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    libdir = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    text = "".join(open(p).read() for p in sorted(glob.glob(libdir + "/*.lua")))
    tmp = tempfile.mkdtemp(prefix="cm-libinstr-")
    out = os.path.join(tmp, "cg")
    port = free_port()
    p = subprocess.Popen(["valgrind", "--tool=callgrind", "--instr-atstart=no",
                          "--callgrind-out-file=" + out, "redis-server", "--port", str(port),
                          "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
                          "--appendfsync", "no", "--dir", tmp],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rc = None
    for _ in range(300):
        try:
            rc = RedisClient(port)
            rc.execute("PING")
            break
        except OSError:
            time.sleep(0.2)
    rc.execute("FUNCTION", "LOAD", "REPLACE", text)
    now = int(time.time() * 1000)

    def create(i):
        kind = "need" if i % 2 == 0 else "offer"
        lid = "lst_%020d" % i
        doc = json.dumps({
            "kind": kind, "material": "clay", "grade": "A",
            "quantity": {"amount": "5000", "unit": "kg", "base": 5000, "base_unit": "kg"},
            "price": {"vnd": 1590370 + i, "unit": "kg", "factor": 1}, "province": "HP",
            "commune": "Hương Canh", "available_from": now,
            "note": "Bán Tơ tằm giá sỉ, có xe chở tới Hải Phòng", "id": lid,
            "owner": "acc_%020d" % (i % 300)}, ensure_ascii=False)
        rc.execute("FCALL", "cm_listing_create", 1, "cm:listing:" + lid, lid, doc, kind,
                   "acc_%020d" % (i % 300), NAME, "clay", "HP", "", "5000", "0", FOLD, str(now),
                   "1000000", "", RECORD, "")

    def propose(i):
        rc.execute("FCALL", "cm_match_propose", 0, str(now + 1500), "1000000", str(now + 99999),
                   "mat_%020d" % i, "lst_%020d" % i, "lst_%020d" % (i + 1), "3000", "1", "1",
                   EXPLAIN)

    def ctl(*a):
        subprocess.run(["callgrind_control", *a, str(p.pid)], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=True)

    for i in range(2 * n, 2 * n + 400):
        create(i)
    for i in range(2 * n, 2 * n + 400, 2):
        propose(i)
    ctl("-i", "on")
    for i in range(n):
        create(i)
    ctl("-d", "create")
    ctl("-z")
    for i in range(0, n, 2):
        propose(i)
    ctl("-d", "propose")
    ctl("-i", "off")
    p.terminate()
    p.wait()
    print("%s: %.1f k instructions per create, %.1f k per proposal" % (
        libdir, total(out + ".1") / n / 1e3, total(out + ".2") / (n // 2) / 1e3))
    subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
