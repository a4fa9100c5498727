/*
 * materials — the materials taxonomy (see materials.h). One static table; no
 * I/O.
 */
#include "common/materials.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/textfold.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Unit sets. units[0] is the base; the codes are the folded names. */
static const struct material_unit units_kg[] = {
    {"kg", "kg", 1},
    {"yen", "yến", 10},
    {"ta", "tạ", 100},
    {"tan", "tấn", 1000},
};
static const struct material_unit units_g[] = {
    {"g", "g", 1},
    {"kg", "kg", 1000},
};
static const struct material_unit units_dm3[] = {
    {"dm3", "dm³", 1},
    {"m3", "m³", 1000},
};
static const struct material_unit units_pole[] = {
    {"cay", "cây", 1},
};
static const struct material_unit units_paper_sheet[] = {
    {"to", "tờ", 1},
};
static const struct material_unit units_leaf_sheet[] = {
    {"la", "lá", 1},
};

/* Grade scales, best first. */
static const char *const grades_abc[] = {"A", "B", "C"};
static const char *const grades_silk[] = {"6A", "5A", "4A", "3A", "2A", "A"};
static const char *const grades_silver[] = {"999", "925"};

#define KG units_kg, COUNT(units_kg)
#define G units_g, COUNT(units_g)
#define DM3 units_dm3, COUNT(units_dm3)
#define POLE units_pole, COUNT(units_pole)
#define PAPER_SHEET units_paper_sheet, COUNT(units_paper_sheet)
#define LEAF_SHEET units_leaf_sheet, COUNT(units_leaf_sheet)
#define ABC grades_abc, COUNT(grades_abc)
#define SILK grades_silk, COUNT(grades_silk)
#define SILVER grades_silver, COUNT(grades_silver)

/* clang-format off */
static const struct material materials_table[] = {
	/* ceramics: Bát Tràng and the other Red River kiln villages */
	{"clay", "Clay (ball clay)", "Đất sét", MATERIAL_CERAMICS, KG, ABC, 1000, {NULL}},
	{"white_clay", "White clay (Trúc Thôn)", "Đất sét trắng", MATERIAL_CERAMICS, KG, ABC, 1000,
	 {"kaolin"}},
	{"kaolin", "Kaolin", "Cao lanh", MATERIAL_CERAMICS, KG, ABC, 1000, {"white_clay"}},
	{"feldspar", "Feldspar", "Tràng thạch (fenspat)", MATERIAL_CERAMICS, KG, ABC, 1000, {NULL}},
	{"quartz_sand", "Quartz sand", "Cát thạch anh", MATERIAL_CERAMICS, KG, ABC, 1000, {NULL}},
	{"glaze_ash", "Glaze ash (wood and rice-husk ash)", "Tro men", MATERIAL_CERAMICS, KG, ABC,
	 1000, {NULL}},
	{"glaze", "Prepared glaze", "Men gốm", MATERIAL_CERAMICS, KG, ABC, 1000, {NULL}},

	/* silk: Vạn Phúc weavers buy yarn; reelers buy cocoons; rearers leaves */
	{"silk_yarn", "Raw silk yarn", "Tơ tằm", MATERIAL_SILK, KG, SILK, 1000, {NULL}},
	{"cocoons", "Silkworm cocoons", "Kén tằm", MATERIAL_SILK, KG, ABC, 1000, {NULL}},
	{"mulberry_leaf", "Mulberry leaves", "Lá dâu tằm", MATERIAL_SILK, KG, ABC, 1000, {NULL}},

	/* fibre: Phú Vinh rattan and bamboo, Kim Sơn sedge, Chuông hats */
	{"rattan", "Rattan cane", "Mây", MATERIAL_FIBRE, KG, ABC, 1000, {NULL}},
	{"bamboo_tre", "Bamboo poles (tre)", "Tre", MATERIAL_FIBRE, POLE, ABC, 12000,
	 {"bamboo_luong"}},
	{"bamboo_luong", "Luồng bamboo poles", "Luồng", MATERIAL_FIBRE, POLE, ABC, 20000,
	 {"bamboo_tre"}},
	{"bamboo_giang", "Giang bamboo poles (fine weaving)", "Giang", MATERIAL_FIBRE, POLE, ABC,
	 3000, {NULL}},
	{"sedge", "Sedge (cói)", "Cói", MATERIAL_FIBRE, KG, ABC, 1000, {"seagrass"}},
	{"seagrass", "Seagrass", "Cỏ biển", MATERIAL_FIBRE, KG, ABC, 1000, {"sedge"}},
	{"water_hyacinth", "Water hyacinth stems, dried", "Lục bình (bèo tây)", MATERIAL_FIBRE, KG,
	 ABC, 1000, {NULL}},
	{"co_te", "Cỏ tế fern stems", "Cỏ tế", MATERIAL_FIBRE, KG, ABC, 1000, {NULL}},
	{"palm_leaf", "Palm leaves for conical hats", "Lá nón (lá cọ)", MATERIAL_FIBRE, KG, ABC,
	 1000, {NULL}},

	/* lacquer: Hạ Thái; resin from Phú Thọ */
	{"lacquer_resin", "Lacquer resin (sơn ta)", "Sơn ta (nhựa sơn)", MATERIAL_LACQUER, KG, ABC,
	 1000, {NULL}},
	{"tung_oil", "Tung oil", "Dầu trẩu", MATERIAL_LACQUER, KG, ABC, 1000, {NULL}},
	{"eggshell", "Duck eggshell", "Vỏ trứng vịt", MATERIAL_LACQUER, KG, ABC, 1000, {NULL}},
	{"gold_leaf", "Gold leaf", "Vàng quỳ", MATERIAL_LACQUER, LEAF_SHEET, ABC, 1, {NULL}},
	{"silver_leaf", "Silver leaf", "Bạc quỳ", MATERIAL_LACQUER, LEAF_SHEET, ABC, 1, {NULL}},

	/* timber by species, grams per dm³ = air-dry density: Đồng Kỵ, temples */
	{"timber_go_gu", "Gụ (Sindora)", "Gỗ gụ", MATERIAL_TIMBER, DM3, ABC, 850, {NULL}},
	{"timber_go_trac", "Trắc rosewood (Dalbergia cochinchinensis)", "Gỗ trắc", MATERIAL_TIMBER,
	 DM3, ABC, 1090, {NULL}},
	{"timber_go_cam_lai", "Cẩm lai rosewood (Dalbergia oliveri)", "Gỗ cẩm lai",
	 MATERIAL_TIMBER, DM3, ABC, 1000, {NULL}},
	{"timber_go_huong", "Hương padauk (Pterocarpus macrocarpus)", "Gỗ hương", MATERIAL_TIMBER,
	 DM3, ABC, 900, {NULL}},
	{"timber_go_lim", "Lim ironwood (Erythrophleum fordii)", "Gỗ lim", MATERIAL_TIMBER, DM3,
	 ABC, 1000, {NULL}},
	{"timber_go_mit", "Jackfruit wood", "Gỗ mít", MATERIAL_TIMBER, DM3, ABC, 600, {NULL}},
	{"timber_go_xoan", "Xoan wood (Melia azedarach)", "Gỗ xoan", MATERIAL_TIMBER, DM3, ABC,
	 550, {NULL}},

	/* metal: Đại Bái bronze, Đồng Xâm silver */
	{"copper", "Copper", "Đồng đỏ", MATERIAL_METAL, KG, ABC, 1000, {NULL}},
	{"brass", "Brass", "Đồng thau", MATERIAL_METAL, KG, ABC, 1000, {NULL}},
	{"tin", "Tin", "Thiếc", MATERIAL_METAL, KG, ABC, 1000, {NULL}},
	{"bronze_scrap", "Scrap bronze", "Đồng phế liệu", MATERIAL_METAL, KG, ABC, 1000, {NULL}},
	{"silver", "Silver", "Bạc", MATERIAL_METAL, G, SILVER, 1, {NULL}},

	/* shell and horn: Chuyên Mỹ inlay, Thụy Ứng horn, Đông Hồ điệp coating */
	{"shell_turbo", "Turban snail shell (mother-of-pearl)", "Vỏ ốc xà cừ", MATERIAL_SHELL_HORN,
	 KG, ABC, 1000, {"shell_mussel"}},
	{"shell_mussel", "Freshwater mussel shell (mother-of-pearl)", "Vỏ trai",
	 MATERIAL_SHELL_HORN, KG, ABC, 1000, {"shell_turbo"}},
	{"shell_abalone", "Abalone shell", "Vỏ bào ngư", MATERIAL_SHELL_HORN, KG, ABC, 1000,
	 {NULL}},
	{"shell_scallop", "Scallop shell (điệp)", "Vỏ điệp", MATERIAL_SHELL_HORN, KG, ABC, 1000,
	 {NULL}},
	{"buffalo_horn", "Buffalo horn", "Sừng trâu", MATERIAL_SHELL_HORN, KG, ABC, 1000, {NULL}},
	{"cattle_horn", "Cattle horn", "Sừng bò", MATERIAL_SHELL_HORN, KG, ABC, 1000,
	 {"buffalo_horn"}},

	/* paper: dó bark for the paper makers, dó paper for Đông Hồ prints */
	{"do_bark", "Dó bark", "Vỏ cây dó", MATERIAL_PAPER, KG, ABC, 1000, {NULL}},
	{"do_paper", "Dó paper", "Giấy dó", MATERIAL_PAPER, PAPER_SHEET, ABC, 10, {NULL}},

	/* incense: Quảng Phú Cầu */
	{"incense_sticks", "Bamboo incense sticks (blanks)", "Tăm hương", MATERIAL_INCENSE, KG, ABC,
	 1000, {NULL}},
	{"incense_powder", "Incense powder", "Bột hương", MATERIAL_INCENSE, KG, ABC, 1000, {NULL}},
	{"agarwood", "Agarwood chips and powder", "Trầm hương", MATERIAL_INCENSE, G, ABC, 1,
	 {NULL}},
};
/* clang-format on */

#undef KG
#undef G
#undef DM3
#undef POLE
#undef PAPER_SHEET
#undef LEAF_SHEET
#undef ABC
#undef SILK
#undef SILVER

/* clang-format off */
static const char *const materials_category_names[MATERIAL_CATEGORY_COUNT] = {
	[MATERIAL_CERAMICS] = "ceramics",
	[MATERIAL_SILK] = "silk",
	[MATERIAL_FIBRE] = "fibre",
	[MATERIAL_LACQUER] = "lacquer",
	[MATERIAL_TIMBER] = "timber",
	[MATERIAL_METAL] = "metal",
	[MATERIAL_SHELL_HORN] = "shell_horn",
	[MATERIAL_PAPER] = "paper",
	[MATERIAL_INCENSE] = "incense",
};
/* clang-format on */

size_t materials_count(void)
{
	return COUNT(materials_table);
}

const struct material *materials_at(size_t i)
{
	return i < COUNT(materials_table) ? &materials_table[i] : NULL;
}

const struct material *materials_find(const char *code)
{
	if (code == NULL)
		return NULL;
	/* The first letters first: a restart decodes a material per open listing. */
	int c0 = tolower((unsigned char)code[0]);
	for (size_t i = 0; i < COUNT(materials_table); i++)
		if (tolower((unsigned char)materials_table[i].code[0]) == c0 &&
		    strcasecmp(materials_table[i].code, code) == 0)
			return &materials_table[i];
	return NULL;
}

const char *materials_base_unit(const struct material *m)
{
	return m->units[0].code;
}

const struct material_unit *materials_unit(const struct material *m, const char *unit)
{
	const struct material_unit *found = NULL;
	char *lower;

	if (m == NULL)
		return NULL;
	if (unit == NULL)
		return &m->units[0];
	for (size_t i = 0; i < m->n_units; i++)
		if (strcasecmp(m->units[i].code, unit) == 0)
			return &m->units[i];
	/* Not a code: compare the Vietnamese names, keeping the marks. */
	if (strlen(unit) > 32)
		return NULL;
	lower = text_casefold(unit, strlen(unit));
	for (size_t i = 0; lower != NULL && i < m->n_units; i++)
		if (strcmp(m->units[i].name, lower) == 0)
			found = &m->units[i];
	free(lower);
	return found;
}

int materials_unit_factor(const struct material *m, const char *unit, int64_t *factor)
{
	const struct material_unit *u = materials_unit(m, unit);

	if (u == NULL)
		return -1;
	*factor = u->factor;
	return 0;
}

int materials_grade_rank(const struct material *m, const char *grade)
{
	if (m == NULL || grade == NULL)
		return -1;
	for (size_t i = 0; i < m->n_grades; i++)
		if (strcasecmp(m->grades[i], grade) == 0)
			return (int)(m->n_grades - i);
	return -1;
}

int materials_is_substitute(const struct material *need, const struct material *offer)
{
	if (need == NULL || offer == NULL || need == offer)
		return 0;
	for (size_t i = 0; i < MATERIALS_SUBSTITUTES_MAX && need->substitutes[i] != NULL; i++)
		if (strcmp(need->substitutes[i], offer->code) == 0)
			return 1;
	return 0;
}

const char *materials_category_str(enum material_category category)
{
	if ((unsigned)category >= MATERIAL_CATEGORY_COUNT)
		return "unknown";
	return materials_category_names[category];
}

static json_t *materials_one_json(const struct material *m)
{
	json_t *units = json_array(), *grades = json_array(), *subs = json_array();

	for (size_t i = 0; i < m->n_units; i++)
		json_array_append_new(units, json_pack("{s:s,s:s,s:I}", "code", m->units[i].code,
						       "name", m->units[i].name, "factor",
						       (json_int_t)m->units[i].factor));
	for (size_t i = 0; i < m->n_grades; i++)
		json_array_append_new(grades, json_string(m->grades[i]));
	for (size_t i = 0; i < MATERIALS_SUBSTITUTES_MAX && m->substitutes[i] != NULL; i++)
		json_array_append_new(subs, json_string(m->substitutes[i]));
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:I,s:o}", "code", m->code, "name_en",
			 m->name_en, "name_vi", m->name_vi, "category",
			 materials_category_str(m->category), "base_unit", materials_base_unit(m),
			 "units", units, "grades", grades, "mass_g", (json_int_t)m->mass_g,
			 "substitutes", subs);
}

json_t *materials_to_json(void)
{
	json_t *cats = json_array(), *list = json_array();

	for (int c = 0; c < MATERIAL_CATEGORY_COUNT; c++)
		json_array_append_new(cats, json_string(materials_category_names[c]));
	for (size_t i = 0; i < COUNT(materials_table); i++)
		json_array_append_new(list, materials_one_json(&materials_table[i]));
	return json_pack("{s:s,s:o,s:o}", "version", MATERIALS_VERSION, "categories", cats,
			 "materials", list);
}
