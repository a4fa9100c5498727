"""
listingkit — what the listing tests (test_listings.py,
test_listings_changes.py) share: ListingsCase, a daemon with its cast and
helpers, and run_concurrently.
"""
import threading

import fixtures
import harness


def run_concurrently(n, fn):
    """fn(0..n-1) on n threads released at once; returns the results in order."""
    barrier = threading.Barrier(n)
    results = [None] * n

    def work(i):
        barrier.wait(harness.HTTP_TIMEOUT)
        try:
            results[i] = fn(i)
        except Exception as e:  # reported by the caller's assertions
            results[i] = (None, {}, repr(e))
    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(harness.HTTP_TIMEOUT * 3)
    return results


class ListingsCase(fixtures.ApiTestCase):
    """One daemon (expiry swept every 100 ms), its cast — two villages, two
    suppliers, a moderator of Hà Nội and one out of scope — and helpers."""
    daemon_args = ("--expiry-interval-ms", "100")

    @classmethod
    def set_up_shared(cls):
        super().set_up_shared()
        api, admin = cls.api, cls.admin
        cls.village = api.make_actor(admin, "village", "village-HN",
                                     name="HTX Gốm sứ Bát Tràng", commune="Bát Tràng")
        cls.other_village = api.make_actor(admin, "village", "village-BN",
                                           name="Làng nghề gỗ Đồng Kỵ", province="Bắc Ninh",
                                           commune="Đồng Kỵ")
        cls.supplier = api.make_actor(admin, "supplier", "supplier-HP",
                                      name="Cơ sở đất sét Chí Linh")
        cls.other_supplier = api.make_actor(admin, "supplier", "supplier-NB",
                                            name="Mỏ cao lanh Ninh Bình", province="NB")
        cls.mod_hn = api.make_actor(admin, "moderator", "moderator-HN",
                                    scope={"provinces": ["HN"]})
        cls.mod_out = api.make_actor(admin, "moderator", "moderator-LS",
                                     scope={"provinces": ["Lạng Sơn"]})

    # -- helpers --

    def n_listings(self):
        return self.rc.execute("ZCARD", "cm:listings")

    def n_events(self):
        return self.rc.execute("XLEN", "cm:events")

    def snapshot(self):
        return self.n_listings(), self.n_events()

    def assertNothingWritten(self, snap):
        self.assertEqual(self.snapshot(), snap, "(listings, events) changed")

    def rhash(self, lid):
        flat = self.rc.execute("HGETALL", "cm:listing:" + lid)
        return dict(zip(flat[0::2], flat[1::2]))

    def ids(self, items):
        return [i["id"] for i in items]

    def patch(self, actor, lid, body, if_match=None):
        headers = {"If-Match": if_match} if if_match is not None else None
        return self.api.call(actor, "PATCH", "/v1/listings/" + lid, body, headers)

    def close(self, actor, lid):
        return self.api.call(actor, "DELETE", "/v1/listings/" + lid)

    def assertEventTypes(self, lid, types, after="0-0"):
        got = fixtures.listing_events(self.rc, lid, after)
        self.assertEqual([t for t, _ in got], types, got)
        return [f for _, f in got]
