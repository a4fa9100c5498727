"""
kit — the e2e tests' tools, one module per job; harness.py ties them to
unittest and re-exports them, scripts/bench.d/bench.py uses them too.

    kit.resp     RedisClient: a blocking RESP2/RESP3 client
    kit.http     HttpClient, http_request, Headers, and the check of every
                 answer against docs/openapi.yaml (openapi_spec.py)
    kit.rawsock  RawConn: raw bytes in and out, hostile clients, pipelining
    kit.prom     parse_metrics: Prometheus text format 0.0.4, parsed by
                 python3-prometheus-client and then checked strictly
    kit.procs    children: a small environment, death with the test process,
                 free ports, bounded waits, sanitizer reports
    kit.servers  RedisServer (through scripts/redis-start) and Craftmatchd

Below: what every module shares. Deadlines (seconds) are functional and
generous, for a sanitizer build on two loaded cores; nothing measures speed.
"""

import os

HOST = "127.0.0.1"

# The repository (tests/e2e/kit/ is three folders down).
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

READY_TIMEOUT = 20.0
EXIT_TIMEOUT = 15.0
REDIS_START_TIMEOUT = 15.0
HTTP_TIMEOUT = 10.0
