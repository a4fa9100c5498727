"""loader -- how scripts/demo-data talks to craftmatchd: a keep-alive JSON
client (Api), the checks before loading (wait_ready, check_admin,
load_materials), the tokens file (load_state, save_state) and the Loader,
which registers the accounts, issues their tokens, opens the forum and posts
the listings without ever duplicating one. Python 3 standard library only.
"""
import datetime
import hashlib
import http.client
import json
import os
import sys
import time
import unicodedata
import urllib.parse

from world import FORUM


# ---------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------

class DemoError(Exception):
    """A failure to report in one sentence (exit 1)."""


class Answer:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def problem(self):
        """A one-line account of an error answer."""
        b = self.body
        if isinstance(b, dict) and "title" in b:
            text = "%d %s: %s" % (self.status, b.get("title"), b.get("detail", ""))
            errs = b.get("errors") or []
            if errs:
                text += " (" + "; ".join("%s: %s" % (e.get("field"), e.get("message"))
                                         for e in errs) + ")"
            return text
        return "%d %s" % (self.status, str(b)[:200])


class Api:
    """Keep-alive HTTP/1.1 JSON client for craftmatchd."""

    def __init__(self, url, timeout=15.0, verbose=False):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("--url must be like http://127.0.0.1:8080, not %r" % url)
        self.url = url.rstrip("/")
        self.scheme, self.host = parts.scheme, parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self.verbose = verbose
        self.conn = None

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method, path, body=None, token=None, headers=None):
        """One request; returns an Answer. A dropped keep-alive connection is
        retried once on a fresh one: safe here, since every GET is read-only
        and every POST carries an Idempotency-Key."""
        data = None
        hdrs = {"Accept": "application/json", "User-Agent": "craftmatch-demo-data"}
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            hdrs["Content-Type"] = "application/json"
        if token:
            hdrs["Authorization"] = "Bearer " + token
        hdrs.update(headers or {})
        for attempt in (1, 2):
            try:
                if self.conn is None:
                    cls = (http.client.HTTPSConnection if self.scheme == "https"
                           else http.client.HTTPConnection)
                    self.conn = cls(self.host, self.port, timeout=self.timeout)
                self.conn.request(method, self.prefix + path, body=data, headers=hdrs)
                resp = self.conn.getresponse()
                raw = resp.read()
                if resp.will_close:
                    self.close()
                break
            except (OSError, http.client.HTTPException) as e:
                self.close()
                if attempt == 2:
                    raise DemoError("cannot reach craftmatchd at %s (%s %s: %s). Is it "
                                    "running? scripts/run starts it; --url names another."
                                    % (self.url, method, path, e or type(e).__name__))
        ctype = (resp.getheader("Content-Type") or "").split(";")[0].strip()
        parsed = raw.decode("utf-8", "replace")
        if raw and (ctype == "application/json" or ctype.endswith("+json")):
            try:
                parsed = json.loads(parsed)
            except ValueError:
                pass
        if self.verbose:
            print("demo-data: %s %s -> %d" % (method, path, resp.status), file=sys.stderr)
        return Answer(resp.status, resp.headers, parsed)


# ---------------------------------------------------------------------------
# Steps
# ---------------------------------------------------------------------------

def nfc(s):
    return unicodedata.normalize("NFC", s)


def quote(s):
    return urllib.parse.quote(s, safe="")


def fake_phone(slug):
    """A plausible, stable Vietnamese mobile number for a demo account."""
    d = "".join(str(b % 10) for b in hashlib.sha256(slug.encode()).digest()[:7])
    return "09%s %s %s" % (d[0:2], d[2:5], d[5:7] + "8")


def wait_ready(api, seconds):
    """The server answers /healthz at once and /readyz 200 within `seconds`."""
    api.request("GET", "/healthz")
    deadline = time.monotonic() + seconds
    while True:
        a = api.request("GET", "/readyz")
        if a.status == 200:
            return
        if time.monotonic() >= deadline:
            raise DemoError("craftmatchd at %s is not ready after %ds: %s"
                            % (api.url, seconds, a.problem()))
        time.sleep(0.5)


def check_admin(api, token):
    a = api.request("GET", "/v1/me", token=token)
    if a.status == 401:
        why = a.body.get("detail", "401") if isinstance(a.body, dict) else "401"
        raise DemoError("craftmatchd at %s refused the admin token (%s). Create an admin with "
                        "`craftmatchd --create-admin NAME --redis-url ...` and pass its token "
                        "(--admin-token, CRAFTMATCH_ADMIN_TOKEN or --admin-token-file)."
                        % (api.url, why))
    if a.status != 200:
        raise DemoError("GET /v1/me with the admin token: %s" % a.problem())
    if a.body.get("role") != "admin":
        raise DemoError("the token given belongs to %r, a %s account; an admin token is needed"
                        % (a.body.get("name"), a.body.get("role")))
    return a.body


def load_materials(api):
    a = api.request("GET", "/v1/materials")
    if a.status != 200:
        raise DemoError("GET /v1/materials: %s" % a.problem())
    out = {}
    for m in a.body.get("materials", []):
        units = set()
        for u in m.get("units", []):
            units.add(u["code"].lower())
            units.add(nfc(u["name"]).lower())
        out[m["code"]] = {"units": units, "grades": {g.upper() for g in m.get("grades", [])}}
    return out


def load_state(path):
    try:
        with open(path, encoding="utf-8") as f:
            state = json.load(f)
        if isinstance(state, dict) and isinstance(state.get("accounts"), dict):
            return state
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as e:
        print("demo-data: ignoring unreadable %s (%s)" % (path, e), file=sys.stderr)
    return {"accounts": {}}


def save_state(path, state):
    """Writes the tokens file atomically, readable by its owner only (0600)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = "%s.tmp.%d" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(state, f, ensure_ascii=False, indent=2)
            f.write("\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class Loader:
    def __init__(self, api, admin_token, admin, state, materials, today):
        self.api = api
        self.admin_token = admin_token
        self.admin = admin
        self.state = state
        self.materials = materials
        self.today = today
        self.created = self.reused = 0
        self.posted = {"need": 0, "offer": 0}
        self.present = 0
        self.skipped = []

    def token_of(self, who):
        if who == "admin":
            return self.admin_token
        rec = self.state["accounts"].get(who)
        if not rec or not rec.get("token"):
            raise DemoError("internal: %s has no token yet" % who)
        return rec["token"]

    def account_body(self, spec, role):
        body = {"role": role, "name": spec["name"], "province": spec["province"],
                "commune": spec["commune"],
                "contact": {"phone": fake_phone(spec["slug"]),
                            "email": "%s@example.vn" % spec["slug"],
                            "address": "%s, %s" % (spec["commune"], spec["province"])}}
        if role == "moderator":
            body["scope"] = spec["scope"]
        return body

    def find_by_listing_owner(self, name):
        """An account named `name` that owns listings (when the tokens file was lost)."""
        a = self.api.request("GET", "/v1/listings?status=any&limit=100&q=" + quote(name),
                             token=self.admin_token)
        if a.status != 200:
            return None
        for item in a.body.get("items", []):
            owner = item.get("owner") or {}
            if owner.get("name") == nfc(name):
                return owner.get("id")
        return None

    def issue_token(self, slug, account_id, by):
        body = {"account_id": account_id, "name": "demo"}
        key = "demo-token-" + slug
        for issuer in (by, "admin"):
            tok = self.token_of(issuer)
            a = self.api.request("POST", "/v1/tokens", body, tok, {"Idempotency-Key": key})
            if a.status == 409:
                # The key issued a token before, whose secret was shown then only.
                key = "demo-token-%s-%d" % (slug, time.time() * 1000)
                a = self.api.request("POST", "/v1/tokens", body, tok, {"Idempotency-Key": key})
            if a.status == 201:
                return a.body["token"], a.body["id"], issuer
            if a.status != 403 or issuer == "admin":
                raise DemoError("POST /v1/tokens for %s: %s" % (slug, a.problem()))
        raise DemoError("no one may issue a token for %s" % slug)

    def ensure_forum(self):
        """The Hà Nội centre's forum, open for registrations (created the first time)."""
        tok = self.token_of("kc-ha-noi")
        a = self.api.request("GET", "/v1/forums/" + FORUM, None, tok)
        if a.status == 404:
            day = lambda n: (self.today + datetime.timedelta(days=n)).isoformat()
            body = {"id": FORUM, "name": "Diễn đàn kết nối cung cầu nguyên vật liệu làng nghề "
                    "Hà Nội 2026", "provinces": ["Hà Nội", "Bắc Ninh"],
                    "venue": "Trung tâm Khuyến công và Tư vấn phát triển công nghiệp Hà Nội, "
                    "Cầu Giấy", "registration_opens": day(0), "registration_closes": day(21),
                    "forum_day": day(23),
                    "materials": ["kaolin", "clay", "silk_yarn", "lacquer_resin"]}
            a = self.api.request("POST", "/v1/forums", body, tok,
                                 {"Idempotency-Key": "demo-forum-" + FORUM})
            if a.status != 201:
                raise DemoError("POST /v1/forums: %s" % a.problem())
        elif a.status != 200:
            raise DemoError("GET /v1/forums/%s: %s" % (FORUM, a.problem()))
        if a.body.get("state") == "draft":
            a = self.api.request("POST", "/v1/forums/%s/open" % FORUM, None, tok)
            if a.status != 200:
                raise DemoError("POST /v1/forums/%s/open: %s" % (FORUM, a.problem()))

    def ensure_account(self, spec, role):
        slug, by = spec["slug"], spec.get("by", "admin")
        rec = self.state["accounts"].get(slug) or {}
        if rec.get("token"):
            a = self.api.request("GET", "/v1/me", token=rec["token"])
            if a.status == 200 and a.body.get("id") == rec.get("id"):
                self.reused += 1
                return rec
        account_id = rec.get("id")
        if account_id:
            a = self.api.request("GET", "/v1/accounts/" + account_id, token=self.admin_token)
            if a.status != 200:
                account_id = None  # not in this database (it was reset)
        if not account_id and role != "moderator":
            account_id = self.find_by_listing_owner(spec["name"])
        if account_id:
            self.reused += 1
        else:
            a = self.api.request("POST", "/v1/accounts", self.account_body(spec, role),
                                 self.token_of(by), {"Idempotency-Key": "demo-account-" + slug})
            if a.status != 201:
                raise DemoError("POST /v1/accounts for %s (%s): %s"
                                % (spec["name"], slug, a.problem()))
            account_id = a.body["id"]
            if a.headers.get("Idempotent-Replayed") == "true":
                self.reused += 1
            else:
                self.created += 1
        token, token_id, issuer = self.issue_token(slug, account_id, by)
        rec = {"id": account_id, "role": role, "name": spec["name"],
               "province": spec["province"], "registered_by": by, "token_issued_by": issuer,
               "token_id": token_id, "token": token}
        self.state["accounts"][slug] = rec
        return rec

    def listing_body(self, spec, item):
        body = {k: item[k] for k in ("material", "grade", "quantity", "unit", "price_vnd",
                                     "price_unit", "note", "min_order", "max_distance_km",
                                     "accept_substitutes", "forum") if k in item}
        body["province"] = spec["province"]
        body["commune"] = spec["commune"]
        if spec.get("location"):
            body["location"] = {"lat": spec["location"][0], "lon": spec["location"][1]}
        if item["kind"] == "need":
            body["needed_by"] = (self.today + datetime.timedelta(days=item["days"])).isoformat()
        else:
            start = item.get("from_days", 0)
            if start:
                body["available_from"] = (self.today + datetime.timedelta(days=start)).isoformat()
            body["available_until"] = (self.today + datetime.timedelta(
                days=item["until_days"])).isoformat()
        return body

    def usable(self, spec, item):
        m = self.materials.get(item["material"])
        why = None
        if m is None:
            why = "the server has no material %r" % item["material"]
        elif nfc(item["unit"]).lower() not in m["units"]:
            why = "%s is not measured in %s" % (item["material"], item["unit"])
        elif item.get("grade") and item["grade"].upper() not in m["grades"]:
            why = "%s has no grade %s" % (item["material"], item["grade"])
        if why:
            self.skipped.append("%s/%s: %s" % (spec["slug"], item["key"], why))
        return why is None

    def existing_listings(self, token):
        """(kind, material, note) of every listing the account owns, in any status."""
        seen, cursor = set(), None
        while True:
            path = "/v1/listings?owner=me&status=any&limit=100"
            if cursor:
                path += "&cursor=" + quote(cursor)
            a = self.api.request("GET", path, token=token)
            if a.status != 200:
                raise DemoError("GET %s: %s" % (path, a.problem()))
            for item in a.body.get("items", []):
                seen.add((item.get("kind"), (item.get("material") or {}).get("code"),
                          item.get("note", "")))
            cursor = a.body.get("next_cursor")
            if not cursor:
                return seen

    def post_listings(self, spec):
        rec = self.state["accounts"][spec["slug"]]
        have = self.existing_listings(rec["token"])
        for item in spec["listings"]:
            if not self.usable(spec, item):
                continue
            if (item["kind"], item["material"], nfc(item["note"])) in have:
                self.present += 1
                continue
            path = "/v1/needs" if item["kind"] == "need" else "/v1/offers"
            key = "demo-listing-%s-%s" % (spec["slug"], item["key"])
            a = self.api.request("POST", path, self.listing_body(spec, item), rec["token"],
                                 {"Idempotency-Key": key})
            if a.status == 201:
                if a.headers.get("Idempotent-Replayed") == "true":
                    self.present += 1
                else:
                    self.posted[item["kind"]] += 1
            elif a.status == 409:
                # The key was used earlier today with other dates; that listing
                # has since been changed by hand. Leave it be.
                self.skipped.append("%s/%s: %s" % (spec["slug"], item["key"], a.problem()))
            else:
                raise DemoError("POST %s for %s (%s): %s"
                                % (path, spec["name"], item["key"], a.problem()))
