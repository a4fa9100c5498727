/*
 * provinces — the 34 province-level units of Vietnam in force since
 * 1 July 2025 (Resolution 202/2025/QH15), and the map from the 63 units that
 * existed before (and from Hà Tây, merged into Hà Nội in 2008) to them.
 *
 * Reference data as one static const table; no I/O. Lookups fold case and
 * diacritics (textfold.h), so "Hà Tây", "ha tay", "HA TAY" and "Yen Bai" all
 * find their unit today.
 *
 * Codes: 2–3 upper-case ASCII letters, stable forever (they are stored in
 * listings and accounts). Rule: the initials of the unit's name without
 * diacritics; where two units share initials, the one listed first below
 * keeps them and the other adds the last letter of its name (QN Quảng Ninh,
 * QNI Quảng Ngãi); the one-syllable Huế is spelt out (HUE).
 *
 *   north (15)               north_central (5)   central (3)
 *   HN  Hà Nội               TH  Thanh Hóa       DN  Đà Nẵng
 *   HP  Hải Phòng            NA  Nghệ An         QNI Quảng Ngãi
 *   QN  Quảng Ninh           HT  Hà Tĩnh         KH  Khánh Hòa
 *   LS  Lạng Sơn             QT  Quảng Trị
 *   CB  Cao Bằng             HUE Huế             central_highlands (3)
 *   DB  Điện Biên                                GL  Gia Lai
 *   LC  Lai Châu             south (8)           DL  Đắk Lắk
 *   SL  Sơn La               HCM Hồ Chí Minh     LD  Lâm Đồng
 *   TQ  Tuyên Quang          DNI Đồng Nai
 *   LCI Lào Cai              TNH Tây Ninh
 *   TN  Thái Nguyên          CT  Cần Thơ
 *   PT  Phú Thọ              VL  Vĩnh Long
 *   BN  Bắc Ninh             DT  Đồng Tháp
 *   HY  Hưng Yên             CM  Cà Mau
 *   NB  Ninh Bình            AG  An Giang
 *
 * Regions: "north" is the Red River Delta plus the Northern Midlands and
 * Mountains; "north_central" is Thanh Hóa to Huế; "central" the central
 * coast from Đà Nẵng to Khánh Hòa; "central_highlands" the three highland
 * units (Gia Lai and Đắk Lắk now reach the coast, their old core is
 * highland); "south" the Southeast and the Mekong Delta.
 *
 * Centres are the administrative seats, approximate (±0.01°), as integer
 * micro-degrees (21.028° N = 21028000); good enough for freight estimates.
 */
#ifndef CM_PROVINCES_H
#define CM_PROVINCES_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Bumped whenever the table changes; served with the data. */
#define PROVINCES_VERSION "2025-07-01.1"

/* How many pre-2025 units a unit today absorbed, at most, plus the NULL. */
#define PROVINCES_FORMERLY_MAX 4
#define PROVINCES_ALIASES_MAX 6

enum province_region {
	PROVINCE_NORTH,
	PROVINCE_NORTH_CENTRAL,
	PROVINCE_CENTRAL,
	PROVINCE_CENTRAL_HIGHLANDS,
	PROVINCE_SOUTH,
	PROVINCE_REGION_COUNT
};

enum province_kind {
	PROVINCE_KIND_PROVINCE, /* tỉnh */
	PROVINCE_KIND_CITY	/* thành phố trực thuộc trung ương */
};

struct province {
	const char *code; /* "HN"; see the table above */
	const char *name; /* "Hà Nội", NFC UTF-8, without "Thành phố"/"Tỉnh" */
	enum province_kind kind;
	enum province_region region;
	const char *seat; /* where the administration sits: "Việt Trì" */
	int32_t lat_udeg; /* seat latitude, micro-degrees north */
	int32_t lon_udeg; /* seat longitude, micro-degrees east */
	/* The pre-2025 province-level units (of the 63) that make up this
	 * unit, its own old self included; NULL-terminated. Across the table
	 * every one of the 63 appears exactly once. */
	const char *formerly[PROVINCES_FORMERLY_MAX];
	/* Other names lookups accept: older units (Hà Tây), spelling variants,
	 * English names. NULL-terminated. */
	const char *aliases[PROVINCES_ALIASES_MAX];
};

/* Number of units today (34). */
size_t provinces_count(void);

/* The i-th unit, north to south; NULL when i >= provinces_count(). Points
 * into the static table: never freed, valid for the life of the process. */
const struct province *provinces_at(size_t i);

/*
 * Finds the unit today for a code ("HN", "hn"), a current name ("Hà Nội",
 * "ha noi"), a pre-2025 name ("Hà Tây", "Yen Bai", "Nam Định") or an alias,
 * ignoring case, diacritics and punctuation, with an optional leading
 * "Thành phố"/"TP."/"Tỉnh" or trailing "City"/"Province". NULL when nothing
 * matches or the text is not valid UTF-8. Static storage; never freed.
 * Thread-safe (the folded keys are built once, on first use).
 */
const struct province *provinces_find(const char *code_or_name);

/* Region as the string served in JSON: "north", "north_central", "central",
 * "central_highlands", "south". Static storage. */
const char *provinces_region_str(enum province_region region);

/* "province" or "city". Static storage. */
const char *provinces_kind_str(enum province_kind kind);

/*
 * The whole table as JSON: {"version", "provinces": [{"code", "name", "kind",
 * "region", "seat", "centre": {"lat", "lon"} (degrees, JSON reals),
 * "formerly": [..], "aliases": [..]}]}. Returns a new reference; caller
 * json_decref()s it. Dump with JSON_REAL_PRECISION(15) or less so that
 * 21.028 prints as 21.028 rather than 21.027999999999999.
 */
json_t *provinces_to_json(void);

#endif
