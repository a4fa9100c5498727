"""
stored — readers of what Redis (and the disk under it) holds, for the e2e
tests that check a state change against the store itself: the cm:events
stream, listing and match hashes, a scan of every key and value for a secret,
a whole-keyspace dump to compare before and after a restart.

rc: a harness.RedisClient (replies decoded unless a function says otherwise).
"""

import hashlib
import os


def events(rc, start="-"):
    """Every entry of cm:events from start: [(id, {field: value})]."""
    out = []
    for eid, flat in rc.execute("XRANGE", "cm:events", start, "+"):
        out.append((eid, dict(zip(flat[0::2], flat[1::2]))))
    return out


def last_event_id(rc):
    entries = rc.execute("XREVRANGE", "cm:events", "+", "-", "COUNT", "1")
    return entries[0][0] if entries else "0-0"


def events_after(rc, after_id):
    """Entries strictly after after_id."""
    return events(rc, "(" + after_id) if after_id != "0-0" else events(rc)


def listing_events(rc, lid, after="0-0"):
    """The events about listing lid: [(type, fields)] in stream order."""
    return [(f["type"], f) for _, f in events_after(rc, after) if f.get("listing") == lid]


def scan_all(rc_bytes, needle):
    """Every place needle (bytes) occurs in Redis: key names and values of every type.

    rc_bytes must be a RedisClient with decode=False. Returns a list of
    (key, where) pairs; empty when the needle is nowhere.
    """
    hits = []
    cursor = b"0"
    n_keys = 0
    while True:
        cursor, keys = rc_bytes.execute("SCAN", cursor, "COUNT", "1000")
        for k in keys:
            n_keys += 1
            if needle in k:
                hits.append((k, "key name"))
            t = rc_bytes.execute("TYPE", k)
            t = t.decode() if isinstance(t, bytes) else t
            if t == "string":
                vals = [rc_bytes.execute("GET", k)]
            elif t == "hash":
                vals = rc_bytes.execute("HGETALL", k)
            elif t == "list":
                vals = rc_bytes.execute("LRANGE", k, 0, -1)
            elif t == "set":
                vals = rc_bytes.execute("SMEMBERS", k)
            elif t == "zset":
                vals = rc_bytes.execute("ZRANGE", k, 0, -1)
            elif t == "stream":
                vals = []
                for _, flat in rc_bytes.execute("XRANGE", k, "-", "+"):
                    vals += flat
            else:
                vals = []
            for v in vals:
                if isinstance(v, bytes) and needle in v:
                    hits.append((k, "value (%s)" % t))
                    break
        if cursor in (b"0", "0"):
            break
    if n_keys == 0:
        raise AssertionError("scan_all: Redis holds no keys at all")
    return hits


def files_containing(directory, needle):
    """Files under directory whose bytes contain needle (e.g. the AOF)."""
    hits = []
    for root, _, files in os.walk(directory):
        for f in files:
            p = os.path.join(root, f)
            try:
                with open(p, "rb") as fh:
                    if needle in fh.read():
                        hits.append(p)
            except OSError:
                pass
    return hits


def sha256_hex(s):
    return hashlib.sha256(s.encode() if isinstance(s, str) else s).hexdigest()


# Progress markers of the matching engine (e.g. cm:engine:cursor, the last
# event it has read): they advance on their own, asynchronously, so a keyspace
# comparison leaves them out.
ENGINE_KEYS = ("cm:engine:",)


def dump_all(rc, ignore=ENGINE_KEYS):
    """Every key of Redis with its type and whole value: {key: (type, value)}.

    For comparing the keyspace before and after a restart. rc: a decoding
    RedisClient. Keys starting with a prefix in ignore are left out.
    """
    out = {}
    cursor = "0"
    while True:
        cursor, keys = rc.execute("SCAN", cursor, "COUNT", "1000")
        for k in keys:
            if k.startswith(tuple(ignore)):
                continue
            t = rc.execute("TYPE", k)
            if t == "string":
                v = rc.execute("GET", k)
            elif t == "hash":
                flat = rc.execute("HGETALL", k)
                v = dict(zip(flat[0::2], flat[1::2]))
            elif t == "list":
                v = rc.execute("LRANGE", k, 0, -1)
            elif t == "set":
                v = sorted(rc.execute("SMEMBERS", k))
            elif t == "zset":
                v = rc.execute("ZRANGE", k, 0, -1, "WITHSCORES")
            elif t == "stream":
                v = rc.execute("XRANGE", k, "-", "+")
            else:
                v = None
            out[k] = (t, v)
        if cursor == "0":
            return out


def dump_diff(before, after, width=300):
    """A readable account of how two dump_all() results differ ('' when equal)."""
    lines = []
    for k in sorted(set(before) | set(after)):
        if k not in after:
            lines.append("removed %s: %.*s" % (k, width, before[k]))
        elif k not in before:
            lines.append("added   %s: %.*s" % (k, width, after[k]))
        elif before[k] != after[k]:
            b, a = before[k], after[k]
            if b[0] == a[0] == "stream":
                ids_b = {e[0] for e in b[1]}
                new = [e for e in a[1] if e[0] not in ids_b]
                gone = [e for e in b[1] if e[0] not in {x[0] for x in a[1]}]
                lines.append("changed %s: %d entries appended %.*s, %d gone %.*s" % (
                    k, len(new), width, new, len(gone), width, gone))
            else:
                lines.append("changed %s:\n   before %.*s\n   after  %.*s" % (k, width, b, width,
                                                                           a))
    return "\n".join(lines)


def redis_hash(rc, key):
    """HGETALL as a dict ({} when the key is absent)."""
    flat = rc.execute("HGETALL", key)
    return dict(zip(flat[0::2], flat[1::2]))


def listing_remaining(rc, lid):
    """The remaining quantity (base units) Redis holds for a listing."""
    return int(rc.execute("HGET", "cm:listing:" + lid, "remaining"))


def stored_matches(rc):
    """Every match hash in Redis: {match id: {field: value}} (via the cm:matches index)."""
    out = {}
    for mid in rc.execute("ZRANGE", "cm:matches", 0, -1):
        out[mid] = redis_hash(rc, "cm:match:" + mid)
    return out


def failed_pairs(rc):
    """cm:pairs:failed: {(need id, offer id): (need version, offer version)} of
    the pairs whose last match failed, with both listings' versions then."""
    flat = rc.execute("HGETALL", "cm:pairs:failed")
    return {tuple(k.split("|")): tuple(int(x) for x in v.split())
            for k, v in zip(flat[0::2], flat[1::2])}


def match_events(rc, match_id, after="0-0"):
    """The events about one match: [(stream id, fields)] in stream order."""
    return [(eid, f) for eid, f in events_after(rc, after) if f.get("match") == match_id]
