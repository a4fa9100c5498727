/*
 * provinces — the province-level units since 1 July 2025 and the map from the
 * 63 older ones (see provinces.h). One static table; no I/O.
 */
#include "common/provinces.h"

#include <stdlib.h>
#include <string.h>
#include <threads.h>

#include "common/textfold.h"

#define CITY PROVINCE_KIND_CITY
#define PROV PROVINCE_KIND_PROVINCE

/* Sources: Resolution 202/2025/QH15 and the project's reference notes
 * (shared/reference/provinces.md); seats of the merged southern and central
 * units from the resolution, coordinates approximate. */
/* clang-format off */
static const struct province provinces_table[] = {
	/* north: Red River Delta and Northern Midlands and Mountains */
	{"HN", "Hà Nội", CITY, PROVINCE_NORTH, "Hà Nội", 21028000, 105854000,
	 {"Hà Nội"}, {"Hà Tây", "Hanoi"}},
	{"HP", "Hải Phòng", CITY, PROVINCE_NORTH, "Thủy Nguyên", 20860000, 106680000,
	 {"Hải Phòng", "Hải Dương"}, {"Haiphong"}},
	{"QN", "Quảng Ninh", PROV, PROVINCE_NORTH, "Hạ Long", 20951000, 107080000,
	 {"Quảng Ninh"}, {NULL}},
	{"LS", "Lạng Sơn", PROV, PROVINCE_NORTH, "Lạng Sơn", 21853000, 106761000,
	 {"Lạng Sơn"}, {NULL}},
	{"CB", "Cao Bằng", PROV, PROVINCE_NORTH, "Cao Bằng", 22666000, 106258000,
	 {"Cao Bằng"}, {NULL}},
	{"DB", "Điện Biên", PROV, PROVINCE_NORTH, "Điện Biên Phủ", 21386000, 103023000,
	 {"Điện Biên"}, {NULL}},
	{"LC", "Lai Châu", PROV, PROVINCE_NORTH, "Lai Châu", 22396000, 103458000,
	 {"Lai Châu"}, {NULL}},
	{"SL", "Sơn La", PROV, PROVINCE_NORTH, "Sơn La", 21327000, 103914000,
	 {"Sơn La"}, {NULL}},
	{"TQ", "Tuyên Quang", PROV, PROVINCE_NORTH, "Tuyên Quang", 21823000, 105214000,
	 {"Tuyên Quang", "Hà Giang"}, {NULL}},
	{"LCI", "Lào Cai", PROV, PROVINCE_NORTH, "Yên Bái", 21705000, 104875000,
	 {"Lào Cai", "Yên Bái"}, {NULL}},
	{"TN", "Thái Nguyên", PROV, PROVINCE_NORTH, "Thái Nguyên", 21594000, 105848000,
	 {"Thái Nguyên", "Bắc Kạn"}, {"Bắc Cạn"}},
	{"PT", "Phú Thọ", PROV, PROVINCE_NORTH, "Việt Trì", 21322000, 105402000,
	 {"Phú Thọ", "Vĩnh Phúc", "Hòa Bình"}, {NULL}},
	{"BN", "Bắc Ninh", PROV, PROVINCE_NORTH, "Bắc Giang", 21273000, 106194000,
	 {"Bắc Ninh", "Bắc Giang"}, {NULL}},
	{"HY", "Hưng Yên", PROV, PROVINCE_NORTH, "Hưng Yên", 20646000, 106051000,
	 {"Hưng Yên", "Thái Bình"}, {NULL}},
	{"NB", "Ninh Bình", PROV, PROVINCE_NORTH, "Hoa Lư", 20251000, 105975000,
	 {"Ninh Bình", "Hà Nam", "Nam Định"}, {NULL}},

	/* north_central */
	{"TH", "Thanh Hóa", PROV, PROVINCE_NORTH_CENTRAL, "Thanh Hóa", 19807000, 105776000,
	 {"Thanh Hóa"}, {NULL}},
	{"NA", "Nghệ An", PROV, PROVINCE_NORTH_CENTRAL, "Vinh", 18679000, 105681000,
	 {"Nghệ An"}, {NULL}},
	{"HT", "Hà Tĩnh", PROV, PROVINCE_NORTH_CENTRAL, "Hà Tĩnh", 18343000, 105906000,
	 {"Hà Tĩnh"}, {NULL}},
	{"QT", "Quảng Trị", PROV, PROVINCE_NORTH_CENTRAL, "Đồng Hới", 17468000, 106622000,
	 {"Quảng Trị", "Quảng Bình"}, {NULL}},
	{"HUE", "Huế", CITY, PROVINCE_NORTH_CENTRAL, "Huế", 16464000, 107586000,
	 {"Thừa Thiên Huế"}, {NULL}},

	/* central (coast) */
	{"DN", "Đà Nẵng", CITY, PROVINCE_CENTRAL, "Đà Nẵng", 16054000, 108202000,
	 {"Đà Nẵng", "Quảng Nam"}, {"Danang"}},
	{"QNI", "Quảng Ngãi", PROV, PROVINCE_CENTRAL, "Quảng Ngãi", 15120000, 108792000,
	 {"Quảng Ngãi", "Kon Tum"}, {"Kontum"}},
	{"KH", "Khánh Hòa", PROV, PROVINCE_CENTRAL, "Nha Trang", 12238000, 109197000,
	 {"Khánh Hòa", "Ninh Thuận"}, {NULL}},

	/* central_highlands */
	{"GL", "Gia Lai", PROV, PROVINCE_CENTRAL_HIGHLANDS, "Quy Nhơn", 13776000, 109224000,
	 {"Gia Lai", "Bình Định"}, {NULL}},
	{"DL", "Đắk Lắk", PROV, PROVINCE_CENTRAL_HIGHLANDS, "Buôn Ma Thuột", 12667000, 108038000,
	 {"Đắk Lắk", "Phú Yên"}, {"Daklak", "Đắc Lắc"}},
	{"LD", "Lâm Đồng", PROV, PROVINCE_CENTRAL_HIGHLANDS, "Đà Lạt", 11940000, 108458000,
	 {"Lâm Đồng", "Đắk Nông", "Bình Thuận"}, {NULL}},

	/* south: Southeast and Mekong Delta */
	{"HCM", "Hồ Chí Minh", CITY, PROVINCE_SOUTH, "Sài Gòn", 10776000, 106701000,
	 {"Hồ Chí Minh", "Bình Dương", "Bà Rịa–Vũng Tàu"},
	 {"Sài Gòn", "Saigon", "HCMC", "TPHCM"}},
	{"DNI", "Đồng Nai", PROV, PROVINCE_SOUTH, "Biên Hòa", 10957000, 106843000,
	 {"Đồng Nai", "Bình Phước"}, {NULL}},
	{"TNH", "Tây Ninh", PROV, PROVINCE_SOUTH, "Tân An", 10535000, 106413000,
	 {"Tây Ninh", "Long An"}, {NULL}},
	{"CT", "Cần Thơ", CITY, PROVINCE_SOUTH, "Cần Thơ", 10034000, 105788000,
	 {"Cần Thơ", "Sóc Trăng", "Hậu Giang"}, {NULL}},
	{"VL", "Vĩnh Long", PROV, PROVINCE_SOUTH, "Vĩnh Long", 10254000, 105972000,
	 {"Vĩnh Long", "Bến Tre", "Trà Vinh"}, {NULL}},
	{"DT", "Đồng Tháp", PROV, PROVINCE_SOUTH, "Mỹ Tho", 10360000, 106360000,
	 {"Đồng Tháp", "Tiền Giang"}, {NULL}},
	{"CM", "Cà Mau", PROV, PROVINCE_SOUTH, "Cà Mau", 9177000, 105150000,
	 {"Cà Mau", "Bạc Liêu"}, {NULL}},
	{"AG", "An Giang", PROV, PROVINCE_SOUTH, "Rạch Giá", 10012000, 105081000,
	 {"An Giang", "Kiên Giang"}, {NULL}},
};
/* clang-format on */

#undef CITY
#undef PROV

#define PROVINCES_N (sizeof(provinces_table) / sizeof(provinces_table[0]))

/* clang-format off */
static const char *const provinces_region_names[PROVINCE_REGION_COUNT] = {
	[PROVINCE_NORTH] = "north",
	[PROVINCE_NORTH_CENTRAL] = "north_central",
	[PROVINCE_CENTRAL] = "central",
	[PROVINCE_CENTRAL_HIGHLANDS] = "central_highlands",
	[PROVINCE_SOUTH] = "south",
};
/* clang-format on */

/* Words users put around a name that are not part of it (already folded). */
static const char *const provinces_prefixes[] = {"thanh pho ", "tp ", "tinh "};
static const char *const provinces_suffixes[] = {" city", " province"};

/*
 * Folded lookup keys (code, name, former names, aliases), built once from
 * the table on first use so that a lookup folds only its query. Static
 * arrays, no heap: nothing to free at exit.
 */
#define PROVINCES_KEYS_MAX (PROVINCES_N * (2 + PROVINCES_FORMERLY_MAX + PROVINCES_ALIASES_MAX))
#define PROVINCES_KEY_LEN 48

static once_flag provinces_keys_once = ONCE_FLAG_INIT;
static char provinces_keys[PROVINCES_KEYS_MAX][PROVINCES_KEY_LEN];
static unsigned char provinces_key_unit[PROVINCES_KEYS_MAX];
static size_t provinces_nkeys;

static void provinces_add_key(const char *text, size_t unit)
{
	char *key = text_fold_key(text, strlen(text));

	/* The table is ours and the tests find every name in it, so a key
	 * that does not fold or fit cannot ship; skipping it is enough. */
	if (key != NULL && key[0] != '\0' && strlen(key) < PROVINCES_KEY_LEN &&
	    provinces_nkeys < PROVINCES_KEYS_MAX) {
		strcpy(provinces_keys[provinces_nkeys], key);
		provinces_key_unit[provinces_nkeys] = (unsigned char)unit;
		provinces_nkeys++;
	}
	free(key);
}

static void provinces_build_keys(void)
{
	for (size_t i = 0; i < PROVINCES_N; i++) {
		const struct province *p = &provinces_table[i];

		provinces_add_key(p->code, i);
		provinces_add_key(p->name, i);
		for (size_t j = 0; j < PROVINCES_FORMERLY_MAX && p->formerly[j] != NULL; j++)
			provinces_add_key(p->formerly[j], i);
		for (size_t j = 0; j < PROVINCES_ALIASES_MAX && p->aliases[j] != NULL; j++)
			provinces_add_key(p->aliases[j], i);
	}
}

static const struct province *provinces_match_key(const char *key)
{
	for (size_t i = 0; i < provinces_nkeys; i++)
		if (strcmp(provinces_keys[i], key) == 0)
			return &provinces_table[provinces_key_unit[i]];
	return NULL;
}

size_t provinces_count(void)
{
	return PROVINCES_N;
}

const struct province *provinces_at(size_t i)
{
	return i < PROVINCES_N ? &provinces_table[i] : NULL;
}

const struct province *provinces_find(const char *code_or_name)
{
	const struct province *found = NULL;
	char *key;
	size_t len;

	if (code_or_name == NULL)
		return NULL;
	/* Fast path: the code, which is what stored data carries (first letters first). */
	for (size_t i = 0; i < PROVINCES_N; i++)
		if (provinces_table[i].code[0] == code_or_name[0] &&
		    strcmp(provinces_table[i].code, code_or_name) == 0)
			return &provinces_table[i];

	len = strlen(code_or_name);
	if (len == 0 || len > 256)
		return NULL;
	key = text_fold_key(code_or_name, len);
	if (key == NULL)
		return NULL;
	call_once(&provinces_keys_once, provinces_build_keys);

	found = provinces_match_key(key);
	for (size_t i = 0; found == NULL && i < sizeof(provinces_prefixes) / sizeof(char *); i++) {
		size_t n = strlen(provinces_prefixes[i]);
		if (strncmp(key, provinces_prefixes[i], n) == 0)
			found = provinces_match_key(key + n);
	}
	for (size_t i = 0; found == NULL && i < sizeof(provinces_suffixes) / sizeof(char *); i++) {
		size_t n = strlen(provinces_suffixes[i]), klen = strlen(key);
		if (klen > n && strcmp(key + klen - n, provinces_suffixes[i]) == 0) {
			key[klen - n] = '\0';
			found = provinces_match_key(key);
			key[klen - n] = provinces_suffixes[i][0];
		}
	}
	free(key);
	return found;
}

const char *provinces_region_str(enum province_region region)
{
	if ((unsigned)region >= PROVINCE_REGION_COUNT)
		return "unknown";
	return provinces_region_names[region];
}

const char *provinces_kind_str(enum province_kind kind)
{
	return kind == PROVINCE_KIND_CITY ? "city" : "province";
}

static json_t *provinces_names_json(const char *const *names, size_t max)
{
	json_t *a = json_array();

	for (size_t i = 0; i < max && names[i] != NULL; i++)
		json_array_append_new(a, json_string(names[i]));
	return a;
}

json_t *provinces_to_json(void)
{
	json_t *list = json_array();

	for (size_t i = 0; i < PROVINCES_N; i++) {
		const struct province *p = &provinces_table[i];
		json_t *o = json_object();

		json_object_set_new(o, "code", json_string(p->code));
		json_object_set_new(o, "name", json_string(p->name));
		json_object_set_new(o, "kind", json_string(provinces_kind_str(p->kind)));
		json_object_set_new(o, "region", json_string(provinces_region_str(p->region)));
		json_object_set_new(o, "seat", json_string(p->seat));
		json_object_set_new(
		    o, "centre",
		    json_pack("{s:f,s:f}", "lat", p->lat_udeg / 1e6, "lon", p->lon_udeg / 1e6));
		json_object_set_new(o, "formerly",
				    provinces_names_json(p->formerly, PROVINCES_FORMERLY_MAX));
		json_object_set_new(o, "aliases",
				    provinces_names_json(p->aliases, PROVINCES_ALIASES_MAX));
		json_array_append_new(list, o);
	}
	return json_pack("{s:s,s:o}", "version", PROVINCES_VERSION, "provinces", list);
}
