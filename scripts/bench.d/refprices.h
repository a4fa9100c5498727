/*
 * refprices — reference prices (VND per base unit) and listing shares of
 * the materials, for the bench's generated data (data.c: listings in Redis;
 * clearing.cpp: forums for the solver). Rough market levels in the north,
 * 2025-2026; only their proportions matter to a benchmark.
 */
#ifndef CM_BENCH_REFPRICES_H
#define CM_BENCH_REFPRICES_H

struct mat_ref {
	const char *code;
	double price; /* VND per base unit */
	int weight;   /* share of listings */
};

static const struct mat_ref mat_refs[] = {
    {"clay", 1500, 10},
    {"white_clay", 2500, 4},
    {"kaolin", 2400, 8},
    {"feldspar", 3000, 3},
    {"quartz_sand", 1200, 2},
    {"glaze_ash", 5000, 2},
    {"glaze", 40000, 3},
    {"silk_yarn", 1200000, 6},
    {"cocoons", 150000, 3},
    {"mulberry_leaf", 5000, 2},
    {"rattan", 60000, 8},
    {"bamboo_tre", 50000, 6},
    {"bamboo_luong", 60000, 5},
    {"bamboo_giang", 30000, 3},
    {"sedge", 12000, 6},
    {"seagrass", 10000, 3},
    {"water_hyacinth", 15000, 4},
    {"co_te", 20000, 1},
    {"palm_leaf", 25000, 2},
    {"lacquer_resin", 450000, 4},
    {"tung_oil", 80000, 1},
    {"eggshell", 30000, 2},
    {"gold_leaf", 20000, 1},
    {"silver_leaf", 3000, 1},
    {"timber_go_gu", 60000, 2},
    {"timber_go_trac", 200000, 1},
    {"timber_go_cam_lai", 150000, 1},
    {"timber_go_huong", 80000, 2},
    {"timber_go_lim", 40000, 2},
    {"timber_go_mit", 15000, 2},
    {"timber_go_xoan", 8000, 2},
    {"copper", 220000, 3},
    {"brass", 150000, 2},
    {"tin", 700000, 1},
    {"bronze_scrap", 120000, 2},
    {"silver", 25000, 2},
    {"shell_turbo", 120000, 2},
    {"shell_mussel", 40000, 2},
    {"shell_abalone", 200000, 1},
    {"shell_scallop", 30000, 1},
    {"buffalo_horn", 100000, 2},
    {"cattle_horn", 70000, 1},
    {"do_bark", 15000, 2},
    {"do_paper", 5000, 2},
    {"incense_sticks", 30000, 2},
    {"incense_powder", 40000, 2},
    {"agarwood", 50000, 1},
};

#endif
