// cmbench-clearing — the forum clearing's solver against LEMON on the same
// graphs, in the same run.
//
//   cmbench-clearing [--listings N[,N...]] [--reps R] [--seed S] [--json FILE]
//
// For each size N (default 1000,10000,50000): a forum of N listings (half
// needs, half offers) drawn with the bench's material shares and reference
// prices (refprices.h), provinces (the north four times as likely),
// quantities of 0.5-100 t (or the material's own units), needs' price
// ceilings, distance limits, substitutes, dates and offers' minimum orders;
// the arcs built by common/clearing (the engine's filters and landed
// costs). Then, R times each, the median reported:
//   solve     transport_solve without minimum orders (min-cost max flow)
//   lemon     LEMON 1.3 NetworkSimplex (block search) on the same arcs, as
//             source -> offers -> needs -> sink with stSupply(F), F from
//             LEMON's Preflow (timed apart: "preflow")
//   min-ord   transport_solve with the offers' minimum orders (the repair)
// Times are CPU milliseconds of the solving thread (the medians of R).
// memory: the peak resident set grown during the first solve (the
// kernel's high-water mark, reset before it). Quantities and costs of solve and
// LEMON are compared; a difference fails the run (exit 1).
#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include <lemon/network_simplex.h>
#include <lemon/preflow.h>
#include <lemon/smart_graph.h>

extern "C" {
#include "common/clearing.h"
#include "common/listing.h"
#include "common/materials.h"
#include "common/provinces.h"
#include "common/transport.h"
}
#include "refprices.h"

static uint64_t rng_state;
static uint64_t rng()
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}
static double rnd01()
{
	return (double)(rng() >> 11) / 9007199254740992.0;
}
static int64_t between(int64_t lo, int64_t hi)
{
	return lo + (int64_t)(rng() % (uint64_t)(hi - lo + 1));
}

static const mat_ref *ref_of(const material *m)
{
	for (const mat_ref &r : mat_refs)
		if (std::strcmp(r.code, m->code) == 0)
			return &r;
	return nullptr;
}

static const material *pick_material()
{
	long total = 0;
	for (size_t i = 0; i < materials_count(); i++)
		total += ref_of(materials_at(i)) ? ref_of(materials_at(i))->weight : 1;
	long r = (long)between(0, total - 1);
	for (size_t i = 0; i < materials_count(); i++) {
		r -= ref_of(materials_at(i)) ? ref_of(materials_at(i))->weight : 1;
		if (r < 0)
			return materials_at(i);
	}
	return materials_at(0);
}

static const province *pick_province()
{
	long total = 0;
	for (size_t i = 0; i < provinces_count(); i++)
		total += provinces_at(i)->region == PROVINCE_NORTH ? 4 : 1;
	long r = (long)between(0, total - 1);
	for (size_t i = 0; i < provinces_count(); i++) {
		r -= provinces_at(i)->region == PROVINCE_NORTH ? 4 : 1;
		if (r < 0)
			return provinces_at(i);
	}
	return provinces_at(0);
}

static const int64_t NOW = INT64_C(1795737600000), DAY = INT64_C(86400000);

// One forum of n listings: needs at even indices, offers at odd ones.
static std::vector<matching_listing> make_forum(size_t n)
{
	std::vector<matching_listing> v(n);
	for (size_t k = 0; k < n; k++) {
		matching_listing &l = v[k];
		std::memset(&l, 0, sizeof(l));
		bool need = k % 2 == 0;
		std::snprintf(l.id, sizeof(l.id), "lst_%zu", k);
		std::snprintf(l.owner, sizeof(l.owner), "acc_%" PRId64, between(0, (int64_t)n / 4));
		l.kind = need ? LISTING_NEED : LISTING_OFFER;
		l.material = pick_material();
		l.province = pick_province();
		l.seq = (int64_t)k;
		const material *m = l.material;
		int64_t unit = m->units[m->n_units - 1].factor; // the largest unit
		l.remaining = unit >= 1000 ? between(1, 200) * unit / 2 : between(5, 300) * unit;
		double p = ref_of(m) ? ref_of(m)->price : 20000;
		l.price_factor = 1;
		l.grade_rank =
		    (int8_t)(need ? (rnd01() < 0.5 ? -1 : between(1, (int64_t)m->n_grades))
				  : between(1, (int64_t)m->n_grades));
		if (need) {
			l.price_vnd = rnd01() < 0.6 ? (int64_t)(p * (1.2 + 0.8 * rnd01())) : 0;
			l.needed_by_ms = NOW + between(30, 180) * DAY;
			l.accept_substitutes = rnd01() < 0.3;
			l.max_distance_km = rnd01() < 0.3 ? (int32_t)between(100, 400) : 0;
		} else {
			l.price_vnd = (int64_t)std::ceil(p * (0.8 + 0.5 * rnd01()));
			l.available_from_ms = NOW - DAY;
			l.available_until_ms = rnd01() < 0.4 ? NOW + between(20, 700) * DAY : 0;
			if (rnd01() < 0.3)
				l.min_order_base = std::max<int64_t>(1, l.remaining / 20);
		}
		if (rnd01() < 0.3) {
			l.has_location = 1;
			l.lat_udeg = l.province->lat_udeg + (int32_t)between(-150000, 150000);
			l.lon_udeg = l.province->lon_udeg + (int32_t)between(-150000, 150000);
		}
	}
	return v;
}

// CPU time of this thread, not wall time: the machine the bench runs on
// is shared, and a solve is single-threaded and does no I/O.
struct Clock {
	using time_point = double;
	static double now()
	{
		timespec ts;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
		return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
	}
};
static double ms_since(double t0)
{
	return Clock::now() - t0;
}

// The kernel's peak RSS, reset: "5" to clear_refs (Linux >= 4.0).
static void hwm_reset()
{
	FILE *f = std::fopen("/proc/self/clear_refs", "w");
	if (f) {
		std::fputs("5", f);
		std::fclose(f);
	}
}
static long status_kb(const char *key)
{
	FILE *f = std::fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	while (f && std::fgets(line, sizeof(line), f))
		if (std::strncmp(line, key, std::strlen(key)) == 0)
			kb = std::atol(line + std::strlen(key) + 1);
	if (f)
		std::fclose(f);
	return kb;
}

struct Lemon {
	double preflow_ms, simplex_ms;
	int64_t quantity, cost;
	long mem_kb;
};

using Graph = lemon::SmartDigraph;
static Lemon lemon_solve(const transport_problem &p)
{
	Graph g;
	Graph::ArcMap<int64_t> cap(g), cost(g);
	Graph::Node s = g.addNode(), t = g.addNode();
	std::vector<Graph::Node> off, need;
	g.reserveNode((int)(p.n_offers + p.n_needs + 2));
	g.reserveArc((int)(p.n_arcs + p.n_offers + p.n_needs));
	for (size_t i = 0; i < p.n_offers; i++) {
		off.push_back(g.addNode());
		Graph::Arc a = g.addArc(s, off.back());
		cap[a] = p.supply[i];
		cost[a] = 0;
	}
	for (size_t j = 0; j < p.n_needs; j++) {
		need.push_back(g.addNode());
		Graph::Arc a = g.addArc(need.back(), t);
		cap[a] = p.demand[j];
		cost[a] = 0;
	}
	for (size_t k = 0; k < p.n_arcs; k++) {
		Graph::Arc a = g.addArc(off[p.arcs[k].offer], need[p.arcs[k].need]);
		cap[a] = p.arcs[k].cap ? p.arcs[k].cap : INT64_C(1) << 60;
		cost[a] = p.arcs[k].cost;
	}
	Lemon out{};
	long rss0 = status_kb("VmRSS:");
	hwm_reset();
	Clock::time_point t0 = Clock::now();
	lemon::Preflow<Graph, Graph::ArcMap<int64_t>> pf(g, cap, s, t);
	pf.runMinCut();
	out.quantity = pf.flowValue();
	out.preflow_ms = ms_since(t0);
	t0 = Clock::now();
	lemon::NetworkSimplex<Graph, int64_t, int64_t> ns(g);
	ns.upperMap(cap).costMap(cost).stSupply(s, t, out.quantity);
	if (ns.run() != lemon::NetworkSimplex<Graph, int64_t, int64_t>::OPTIMAL)
		out.quantity = -1;
	out.simplex_ms = ms_since(t0);
	out.cost = (int64_t)((ns.totalCost<__int128>() * 2 + 1000000) / 2000000);
	out.mem_kb = status_kb("VmHWM:") - rss0;
	return out;
}

static double median(std::vector<double> v)
{
	std::sort(v.begin(), v.end());
	return v[v.size() / 2];
}

int main(int argc, char **argv)
{
	std::vector<size_t> sizes{1000, 10000, 50000};
	int reps = 3;
	uint64_t seed = 1;
	const char *json = nullptr;
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		if (a == "--help" || a == "-h") {
			std::puts(
			    "usage: cmbench-clearing [--listings N[,N...]] [--reps R] [--seed S] "
			    "[--json FILE]");
			return 0;
		}
		if (i + 1 >= argc) {
			std::fprintf(stderr, "cmbench-clearing: %s needs a value (see --help)\n",
				     a.c_str());
			return 2;
		}
		std::string v = argv[++i];
		if (a == "--listings") {
			sizes.clear();
			for (size_t pos = 0; pos < v.size();) {
				size_t end = v.find(',', pos);
				sizes.push_back(
				    std::strtoul(v.substr(pos, end - pos).c_str(), nullptr, 10));
				pos = end == std::string::npos ? v.size() : end + 1;
			}
		} else if (a == "--reps") {
			reps = std::max(1, std::atoi(v.c_str()));
		} else if (a == "--seed") {
			seed = std::strtoull(v.c_str(), nullptr, 10);
		} else if (a == "--json") {
			json = argv[i];
		} else {
			std::fprintf(stderr, "cmbench-clearing: unknown option %s\n", a.c_str());
			return 2;
		}
	}
	FILE *out = json ? std::fopen(json, "w") : nullptr;
	if (out)
		std::fputs("[\n", out);
	int bad = 0;
	std::printf("%8s %9s %6s %9s | %9s %8s | %9s %9s %8s %7s | %9s %6s %s\n", "listings",
		    "arcs", "comps", "build ms", "solve ms", "mem MB", "lemon ms", "preflow",
		    "mem MB", "ratio", "min-ord ms", "status", "gap");
	for (size_t si = 0; si < sizes.size(); si++) {
		size_t n = sizes[si];
		rng_state = seed * 1000003 + n;
		std::vector<matching_listing> forum = make_forum(n);
		std::vector<const matching_listing *> ptr;
		for (const matching_listing &l : forum)
			ptr.push_back(&l);
		clearing c;
		Clock::time_point t0 = Clock::now();
		clearing_build(&c, ptr.data(), ptr.size(), NOW, MATCHING_FREIGHT_VND_PER_TONNE_KM,
			       nullptr);
		double build_ms = ms_since(t0);
		transport_problem relaxed = c.problem;
		relaxed.min_order = nullptr;
		std::vector<int64_t> flow(c.problem.n_arcs + 1);
		std::vector<double> ours, lem, pre, mino;
		transport_result r{}, rm{};
		long mem = 0;
		Lemon L{};
		for (int k = 0; k < reps; k++) {
			long rss0 = status_kb("VmRSS:");
			hwm_reset();
			t0 = Clock::now();
			transport_solve(&relaxed, flow.data(), &r, nullptr);
			ours.push_back(ms_since(t0));
			/* the first repetition's: later ones reuse the heap it grew */
			if (k == 0)
				mem = status_kb("VmHWM:") - rss0;
			Lemon l = lemon_solve(relaxed);
			if (k == 0)
				L = l;
			L.quantity = l.quantity;
			L.cost = l.cost;
			lem.push_back(l.simplex_ms);
			pre.push_back(l.preflow_ms);
			t0 = Clock::now();
			transport_solve(&c.problem, flow.data(), &rm, nullptr);
			mino.push_back(ms_since(t0));
		}
		if (L.quantity != r.quantity || L.cost != r.cost_vnd) {
			std::printf("MISMATCH at %zu: ours %" PRId64 "/%" PRId64 ", LEMON %" PRId64
				    "/%" PRId64 "\n",
				    n, r.quantity, r.cost_vnd, L.quantity, L.cost);
			bad = 1;
		}
		double gap = rm.bound_quantity ? 100.0 * (double)(rm.bound_quantity - rm.quantity) /
						     (double)rm.bound_quantity
					       : 0;
		std::printf("%8zu %9zu %6zu %9.1f | %9.1f %8.1f | %9.1f %9.1f %8.1f %6.2fx | %9.1f "
			    "%6s %.3f%% qty\n",
			    n, c.problem.n_arcs, r.components, build_ms, median(ours), mem / 1024.0,
			    median(lem), median(pre), L.mem_kb / 1024.0, median(ours) / median(lem),
			    median(mino), transport_status_str(rm.status), gap);
		if (out)
			std::fprintf(
			    out,
			    "  {\"listings\": %zu, \"arcs\": %zu, \"components\": %zu, "
			    "\"pivots\": %zu, \"build_ms\": %.2f, \"solve_ms\": %.2f, "
			    "\"solve_mem_mb\": %.1f, \"lemon_simplex_ms\": %.2f, "
			    "\"lemon_preflow_ms\": %.2f, \"lemon_mem_mb\": %.1f, \"ratio\": %.3f, "
			    "\"min_order_ms\": %.2f, \"min_order_status\": \"%s\", "
			    "\"min_order_rounds\": %zu, \"quantity\": %" PRId64
			    ", \"cost_vnd\": %" PRId64 "}%s\n",
			    n, c.problem.n_arcs, r.components, r.pivots, build_ms, median(ours),
			    mem / 1024.0, median(lem), median(pre), L.mem_kb / 1024.0,
			    median(ours) / median(lem), median(mino),
			    transport_status_str(rm.status), rm.rounds, r.quantity, r.cost_vnd,
			    si + 1 < sizes.size() ? "," : "");
		clearing_free(&c);
	}
	if (out) {
		std::fputs("]\n", out);
		std::fclose(out);
	}
	return bad;
}
