/*
 * cmbench-data's data model: deterministic randomness, reference prices and
 * weights, the picks of materials and provinces, the accounts file and the
 * listing bodies of each profile (data.c says what the tool does).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "data_int.h"

/* ---- helpers every file of the tool uses ----------------------------- */

void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("cmbench-data: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

int64_t now_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- deterministic randomness ---------------------------------------- */

static uint64_t rng_state = 88172645463325252ull;

void rng_seed(uint64_t s)
{
	rng_state = s * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
	if (rng_state == 0)
		rng_state = 1;
}

uint64_t rng(void)
{
	uint64_t x = rng_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1Dull;
}

static double rnd01(void)
{
	return (double)(rng() >> 11) / 9007199254740992.0;
}

static long rnd_between(long lo, long hi) /* inclusive */
{
	return lo + (long)(rng() % (uint64_t)(hi - lo + 1));
}

int chance(double p)
{
	return rnd01() < p;
}

/* ---- reference prices and weights --------------------------------------- */

#include "refprices.h"

static const struct mat_ref *mat_ref(const struct material *m)
{
	for (size_t i = 0; i < sizeof(mat_refs) / sizeof(mat_refs[0]); i++)
		if (strcmp(mat_refs[i].code, m->code) == 0)
			return &mat_refs[i];
	return NULL;
}

static double mat_price(const struct material *m)
{
	const struct mat_ref *r = mat_ref(m);
	return r ? r->price : 20000;
}

double mat_ref_price(const struct material *m)
{
	return mat_price(m);
}

static int mat_weight(const struct material *m)
{
	const struct mat_ref *r = mat_ref(m);
	return r ? r->weight : 1;
}

/* The least reference price over m and its substitutes, either way. */
static double mat_price_eff(const struct material *m)
{
	double p = mat_price(m);
	for (size_t i = 0; i < materials_count(); i++) {
		const struct material *o = materials_at(i);
		if (o != m && (materials_is_substitute(m, o) || materials_is_substitute(o, m)) &&
		    mat_price(o) < p)
			p = mat_price(o);
	}
	return p;
}

/* --exclude: a material drawn by weight never is (the engine phase's own). */
const struct material *excluded;

static int mat_weight_drawn(const struct material *m)
{
	return m == excluded ? 0 : mat_weight(m);
}

const struct material *pick_material(void)
{
	long total = 0;
	for (size_t i = 0; i < materials_count(); i++)
		total += mat_weight_drawn(materials_at(i));
	long r = rnd_between(0, total - 1);
	for (size_t i = 0; i < materials_count(); i++) {
		r -= mat_weight_drawn(materials_at(i));
		if (r < 0)
			return materials_at(i);
	}
	return materials_at(0);
}

/* Northern provinces (the forums' region) four times as likely. */
const struct province *pick_province(void)
{
	long total = 0;
	size_t n = provinces_count();
	for (size_t i = 0; i < n; i++)
		total += provinces_at(i)->region == PROVINCE_NORTH ? 4 : 1;
	long r = rnd_between(0, total - 1);
	for (size_t i = 0; i < n; i++) {
		r -= provinces_at(i)->region == PROVINCE_NORTH ? 4 : 1;
		if (r < 0)
			return provinces_at(i);
	}
	return provinces_at(0);
}

const char *const villages[] = {
    "Bát Tràng", "Vạn Phúc", "Phú Vinh", "Hạ Thái",    "Chuyên Mỹ",   "Đồng Kỵ",
    "Kim Sơn",	 "Phù Lãng", "Thổ Hà",	 "Đông Hồ",    "Làng Chuông", "Ninh Sở",
    "Quảng Bố",	 "Xuân Lai", "Nhị Khê",	 "Sơn Đồng",   "Chàng Sơn",   "Phú Lãng",
    "Thanh Hà",	 "Dương Ổ",  "Tân Lập",	 "Hương Canh", "La Phù",      "Triều Khúc",
    "Đình Bảng", "Cự Đà",    "Bình Đà",	 "Vân Hà",     "Hòa Bình",    "Yên Thái",
};

static const char *const need_notes[] = {
    "Cần %s cho làng nghề %s, giao tận xưởng",
    "Xưởng %2$s cần %1$s đều hàng, thanh toán khi nhận",
    "Hợp tác xã %2$s cần mua %1$s cho đơn hàng xuất khẩu",
    "Cần %s chất lượng ổn định, có hóa đơn, giao về %s",
    "Thu mua %s số lượng lớn cho làng nghề %s",
};
static const char *const offer_notes[] = {
    "%s hàng có sẵn tại kho, giao được đi %s",
    "Cung cấp %s loại tốt, nhận đơn từ làng nghề %s",
    "%s khai thác tại địa phương, đã sơ chế, gần %s",
    "Bán %s giá sỉ, có xe chở tới %s",
    "%s nguồn gốc rõ ràng, đóng bao sẵn, giao %s",
};
#define N_NOTES 5

/* ---- accounts ---------------------------------------------------------- */

struct acct *accts;
size_t n_accts;
size_t *by_role[2]; /* 0: villages, 1: suppliers */
size_t n_by_role[2];

void accounts_read(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		die("%s: %s", path, strerror(errno));
	char line[1024];
	size_t cap = 0;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (n_accts == cap) {
			cap = cap ? cap * 2 : 1024;
			accts = realloc(accts, cap * sizeof(*accts));
		}
		struct acct *a = &accts[n_accts];
		char *save = NULL, *tok[5];
		int k = 0;
		for (char *p = strtok_r(line, "\t", &save); p && k < 5;
		     p = strtok_r(NULL, "\t", &save))
			tok[k++] = p;
		if (k != 5)
			continue;
		snprintf(a->id, sizeof(a->id), "%s", tok[0]);
		snprintf(a->role, sizeof(a->role), "%s", tok[1]);
		snprintf(a->province, sizeof(a->province), "%s", tok[2]);
		snprintf(a->token, sizeof(a->token), "%s", tok[3]);
		snprintf(a->name, sizeof(a->name), "%s", tok[4]);
		n_accts++;
	}
	fclose(f);
	for (int r = 0; r < 2; r++) {
		by_role[r] = calloc(n_accts + 1, sizeof(size_t));
		for (size_t i = 0; i < n_accts; i++)
			if (strcmp(accts[i].role, r == 0 ? "village" : "supplier") == 0)
				by_role[r][n_by_role[r]++] = i;
		if (n_by_role[r] == 0)
			die("%s: no %s accounts", path, r == 0 ? "village" : "supplier");
	}
}

/* ---- listing bodies --------------------------------------------------- */

/* --forum ID: listings register for this (open) forum; NULL none. */
const char *forum_id;

enum profile profile_parse(const char *s)
{
	if (s == NULL || strcmp(s, "background") == 0)
		return PROFILE_BACKGROUND;
	if (strcmp(s, "cross") == 0)
		return PROFILE_CROSS;
	if (strcmp(s, "wide") == 0)
		return PROFILE_WIDE;
	if (strcmp(s, "forum") == 0)
		return PROFILE_FORUM;
	die("unknown profile '%s' (background, cross or wide)", s);
	return PROFILE_BACKGROUND;
}

static void date_in_days(long days, char buf[16])
{
	time_t t = time(NULL) + 7 * 3600 + days * 86400; /* a Vietnamese calendar day */
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, 16, "%Y-%m-%d", &tm);
}

/* A decimal amount string for base units in a unit of factor f (exact). */
static void amount_text(int64_t base, int64_t f, char *buf, size_t len)
{
	if (base % f == 0) {
		snprintf(buf, len, "%" PRId64, base / f);
	} else {
		/* one or more decimals; f is a power of ten for every unit here */
		int64_t whole = base / f, frac = base % f, den = f;
		char fr[48];
		int d = 0;
		while (den > 1) {
			den /= 10;
			d++;
		}
		snprintf(fr, sizeof(fr), "%0*" PRId64, d > 18 ? 18 : d, frac);
		size_t l = strlen(fr);
		while (l > 0 && fr[l - 1] == '0')
			fr[--l] = '\0';
		snprintf(buf, len, "%" PRId64 ".%s", whole, fr);
	}
}

/*
 * A POST /v1/needs or /v1/offers body, and the account that posts it.
 * material may force one material (NULL: drawn by weight).
 */
json_t *listing_body(enum listing_kind kind, enum profile prof, const struct material *m,
		     const struct acct **owner)
{
	const struct acct *a = &accts[by_role[kind == LISTING_NEED ? 0 : 1]
					     [rng() % n_by_role[kind == LISTING_NEED ? 0 : 1]]];
	*owner = a;
	if (m == NULL)
		m = pick_material();
	const struct province *p = chance(0.8) ? provinces_find(a->province) : pick_province();
	if (p == NULL)
		p = pick_province();
	json_t *b = json_object();
	json_object_set_new(b, "material", json_string(m->code));

	/* quantity: a unit of the material (larger ones more often), an exact amount */
	size_t ui = m->n_units > 1 && chance(0.7) ? m->n_units - 1 - (size_t)(rng() % 2) : 0;
	if (ui >= m->n_units)
		ui = 0;
	const struct material_unit *u = &m->units[ui];
	int64_t base;
	if (u->factor >= 1000)
		base = rnd_between(2, 400) * u->factor / 2; /* 1 .. 200 units, halves */
	else if (u->factor >= 10)
		base = rnd_between(5, 300) * u->factor;
	else
		base = rnd_between(20, 5000) * u->factor;
	if (prof == PROFILE_CROSS) {
		/* a tenth of a background listing: crossing ones must not drain the pool */
		base = base / 10 / u->factor * u->factor;
		if (base < u->factor)
			base = u->factor;
	} else if (prof == PROFILE_WIDE) {
		/* above every background offer's minimum order: all candidates compatible */
		base *= 5;
	}
	char amt[48];
	amount_text(base, u->factor, amt, sizeof(amt));
	json_object_set_new(b, "quantity", json_string(amt));
	json_object_set_new(b, "unit", json_string(chance(0.5) ? u->name : u->code));

	/* price per unit (the quantity's unit, or the base unit) */
	double P = mat_price(m), Peff = mat_price_eff(m), mult;
	if (prof == PROFILE_FORUM)
		/* a forum's market: ceilings and asking prices overlap around P */
		mult = kind == LISTING_NEED ? 0.9 + 0.9 * rnd01() : 0.8 + 0.6 * rnd01();
	else if (kind == LISTING_NEED)
		mult = prof == PROFILE_BACKGROUND ? Peff / P * (0.50 + 0.45 * rnd01())
						  : 1.7 + 0.8 * rnd01();
	else
		mult = prof == PROFILE_BACKGROUND ? 1.0 + 0.6 * rnd01()
						  : Peff / P * (0.30 + 0.15 * rnd01());
	int per_base = chance(0.3);
	int64_t pf = per_base ? 1 : u->factor;
	int64_t vnd = (int64_t)floor(P * mult * (double)pf);
	if (kind == LISTING_NEED && prof == PROFILE_BACKGROUND)
		vnd = (int64_t)floor(P * mult * (double)pf); /* floor keeps it under */
	else if (kind == LISTING_OFFER && prof == PROFILE_BACKGROUND)
		vnd = (int64_t)ceil(P * mult * (double)pf);
	if (vnd < 1)
		vnd = 1;
	json_object_set_new(b, "price_vnd", json_integer(vnd));
	if (per_base)
		json_object_set_new(b, "price_unit", json_string(m->units[0].code));

	/* grade */
	if (kind == LISTING_OFFER)
		json_object_set_new(b, "grade", json_string(m->grades[rng() % m->n_grades]));
	else if ((prof == PROFILE_BACKGROUND || prof == PROFILE_FORUM) && chance(0.5))
		json_object_set_new(
		    b, "grade",
		    json_string(m->grades[m->n_grades > 1 ? 1 + rng() % (m->n_grades - 1) : 0]));

	/* place */
	json_object_set_new(b, "province", json_string(chance(0.9) ? p->code : p->name));
	const char *village = villages[rng() % N_VILLAGES];
	if (chance(0.7))
		json_object_set_new(b, "commune", json_string(village));
	if (chance(0.3)) {
		double lat = p->lat_udeg / 1e6 + (rnd01() - 0.5) * 0.3;
		double lon = p->lon_udeg / 1e6 + (rnd01() - 0.5) * 0.3;
		json_object_set_new(b, "location",
				    json_pack("{s:f, s:f}", "lat", round(lat * 1e4) / 1e4, "lon",
					      round(lon * 1e4) / 1e4));
	}
	char d[16];
	if (kind == LISTING_NEED) {
		date_in_days(prof == PROFILE_CROSS || prof == PROFILE_WIDE ? rnd_between(200, 400)
									   : rnd_between(30, 180),
			     d);
		json_object_set_new(b, "needed_by", json_string(d));
		if ((prof == PROFILE_BACKGROUND || prof == PROFILE_FORUM) && chance(0.3))
			json_object_set_new(b, "accept_substitutes", json_true());
	} else {
		if (chance(0.4)) {
			date_in_days(rnd_between(400, 700), d);
			json_object_set_new(b, "available_until", json_string(d));
		}
		if (chance(0.3)) {
			char mo[48];
			int64_t mb = base / 20 / u->factor * u->factor;
			if (mb >= u->factor) {
				amount_text(mb, u->factor, mo, sizeof(mo));
				json_object_set_new(b, "min_order", json_string(mo));
			}
		}
	}
	if ((prof == PROFILE_BACKGROUND || prof == PROFILE_FORUM) && chance(0.2))
		json_object_set_new(b, "max_distance_km", json_integer(rnd_between(150, 1500)));
	char note[512];
	const char *fmt =
	    kind == LISTING_NEED ? need_notes[rng() % N_NOTES] : offer_notes[rng() % N_NOTES];
	snprintf(note, sizeof(note), fmt, m->name_vi, kind == LISTING_NEED ? village : p->name);
	if (chance(0.8))
		json_object_set_new(b, "note", json_string(note));
	return b;
}

enum listing_kind pick_kind(const char *kind, long i)
{
	if (kind == NULL || strcmp(kind, "mix") == 0)
		return (i & 1) ? LISTING_OFFER : LISTING_NEED;
	if (strcmp(kind, "need") == 0)
		return LISTING_NEED;
	if (strcmp(kind, "offer") == 0)
		return LISTING_OFFER;
	die("unknown kind '%s' (need, offer or mix)", kind);
	return LISTING_NEED;
}

/* ---- request files ------------------------------------------------------ */

void req_write(FILE *f, const char *method, const char *host, const char *path, const char *token,
	       const char *body)
{
	char head[1024];
	size_t bl = body ? strlen(body) : 0;
	int n;
	if (body)
		n = snprintf(
		    head, sizeof(head),
		    "%s %s HTTP/1.1\r\nHost: %s\r\n%s%s%sContent-Type: application/json\r\n"
		    "Content-Length: %zu\r\n\r\n",
		    method, path, host, token ? "Authorization: Bearer " : "", token ? token : "",
		    token ? "\r\n" : "", bl);
	else
		n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: %s\r\n%s%s%s\r\n", method,
			     path, host, token ? "Authorization: Bearer " : "", token ? token : "",
			     token ? "\r\n" : "");
	fprintf(f, "%zu\n", (size_t)n + bl);
	fwrite(head, 1, (size_t)n, f);
	if (body)
		fwrite(body, 1, bl, f);
}

void url_escape(const char *s, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p && o + 4 < len; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.')
			out[o++] = (char)*p;
		else if (*p == ' ')
			out[o++] = '+';
		else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	out[o] = '\0';
}
