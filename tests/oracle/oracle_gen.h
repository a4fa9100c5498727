// oracle_gen — random transportation instances for the solver's oracle
// tests (transport_lemon.cpp, transport_glpk.cpp): seeded, so a failing
// instance is reproduced by its seed. Shapes vary on purpose: sizes from
// empty to a few hundred listings, quantities with zeros, cost ranges tiny
// (many ties) to wide, sparse to dense arcs, capacities or none, one huge
// supplier, materials with substitutes (a need reaching a second material's
// offers), and instances with no feasible pair at all.
#ifndef CM_ORACLE_GEN_H
#define CM_ORACLE_GEN_H

#include <cstdint>
#include <vector>

extern "C" {
#include "common/transport.h"
}

// splitmix64: small, fast and the same on every machine.
struct OracleRng {
	uint64_t s;
	explicit OracleRng(uint64_t seed) : s(seed)
	{
	}
	uint64_t next()
	{
		uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		return z ^ (z >> 31);
	}
	// uniform in [lo, hi]
	int64_t in(int64_t lo, int64_t hi)
	{
		return lo + (int64_t)(next() % (uint64_t)(hi - lo + 1));
	}
	bool chance(int percent)
	{
		return in(1, 100) <= percent;
	}
};

struct OracleInstance {
	std::vector<int64_t> supply, demand, min_order;
	std::vector<transport_arc> arcs;
	transport_problem problem(bool with_min_orders) const
	{
		transport_problem p{};
		p.n_offers = supply.size();
		p.n_needs = demand.size();
		p.n_arcs = arcs.size();
		p.supply = supply.data();
		p.demand = demand.data();
		p.min_order = with_min_orders ? min_order.data() : nullptr;
		p.arcs = arcs.data();
		return p;
	}
};

// One instance of at most max_side listings per side. Costs stay below
// 2^31 and quantities below 2^31 so every total fits LEMON's and GLPK's
// exact ranges (doubles hold integers up to 2^53).
inline OracleInstance oracle_generate(uint64_t seed, int max_side, bool min_orders)
{
	OracleRng r(seed);
	OracleInstance in;
	int n_off = (int)r.in(0, max_side), n_need = (int)r.in(0, max_side);
	int materials = (int)r.in(1, 4);
	int density = (int)r.in(0, 100); // percent of compatible pairs that are arcs
	int64_t qmax = r.chance(30) ? 10 : r.chance(50) ? 1000 : 1000000;
	int64_t cmax = r.chance(30) ? 3 : r.chance(50) ? 1000 : 2000000000;
	bool caps = r.chance(30), huge = r.chance(15), none = r.chance(5);
	std::vector<int> mat_off(n_off), mat_need(n_need), subst(n_need);

	for (int i = 0; i < n_off; i++) {
		in.supply.push_back(r.chance(10) ? 0 : r.in(1, qmax));
		mat_off[i] = (int)r.in(0, materials - 1);
		int64_t mo = 0;
		if (min_orders && r.chance(50))
			mo = r.in(1, in.supply.back() > 1 ? in.supply.back() : 1);
		in.min_order.push_back(mo);
	}
	if (huge && n_off > 0)
		in.supply[(size_t)r.in(0, n_off - 1)] = qmax * 1000;
	for (int j = 0; j < n_need; j++) {
		in.demand.push_back(r.chance(10) ? 0 : r.in(1, qmax));
		mat_need[j] = (int)r.in(0, materials - 1);
		subst[j] = r.chance(30);
	}
	if (none)
		return in;
	for (int i = 0; i < n_off; i++)
		for (int j = 0; j < n_need; j++) {
			// material m's substitute is m + 1 (mod materials)
			bool same = mat_off[i] == mat_need[j];
			bool sub = subst[j] && mat_off[i] == (mat_need[j] + 1) % materials;
			if (!(same || sub) || !r.chance(density))
				continue;
			transport_arc a{};
			a.offer = (uint32_t)i;
			a.need = (uint32_t)j;
			a.cost = r.in(0, cmax);
			a.cap = caps && r.chance(50) ? r.in(1, qmax) : 0;
			in.arcs.push_back(a);
		}
	return in;
}

#endif
