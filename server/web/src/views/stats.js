// views/stats.js — the statistics page (GET /v1/stats): the totals of the
// chosen filters, a bar chart of one figure per group (Chart.js), the same
// figures as a table (what a screen reader and a printout get), and the
// province-to-province flows on the map of the north. Loaded when first
// shown, with the map: neither Chart.js nor Leaflet comes with the app.
import { useEffect, useRef, useState } from 'preact/hooks';
import L from 'leaflet';
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js';
import { api } from '../api.js';
import { t } from '../i18n.js';
import { formatBase, formatMoney, formatNumber } from '../format.js';
import { html, CsvLink, materialName, Notice, SelectField, TextField, useForums, forumName } from './common.js';
import { ForumFilter, MaterialFilter, ProvinceFilter } from './listings.js';
import { centreOf, useVietnamMap } from './map.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend);

export const GROUPS = ['need_province', 'offer_province', 'material', 'forum', 'month'];

// The figures a chart can show: each is one or more series read from a row.
// Quantities are in a material's base unit, so they are offered only when
// the rows are of one material (a material chosen, or grouped by material).
const METRICS = {
	value: { money: true, series: [['confirmed', 'value_vnd'], ['fulfilled', 'value_vnd']] },
	freight: { money: true, series: [['confirmed', 'freight_vnd']] },
	listings: { series: [['needs', 'count'], ['offers', 'count']] },
	matches: { series: [['proposed', 'count'], ['confirmed', 'count'], ['fulfilled', 'count']] },
	quantity: { quantity: true, series: [['needs', 'quantity'], ['offers', 'quantity'], ['confirmed', 'quantity'], ['fulfilled', 'quantity']] },
};
const COLOURS = ['#1f4e8c', '#4f9d69', '#c8743f', '#8a3b12'];

// A figure of a row: the figure group may be null (a participant is not shown
// proposals), the figure a string of digits.
const figure = (row, [part, field]) => (row && row[part] ? row[part][field] : null);
const asNumber = (s) => (s === null || s === undefined ? 0 : Number(s));

// Seconds as people say them: "45 giây", "12 phút", "3,5 giờ", "2 ngày".
export function formatSeconds(s) {
	if (s === null || s === undefined) return '—';
	const steps = [[86400, 'stats.days'], [3600, 'stats.hours'], [60, 'stats.minutes']];
	for (const [size, key] of steps) if (s >= size) return t(key, { n: formatNumber(Math.round((s / size) * 10) / 10) });
	return t('stats.seconds', { n: formatNumber(s) });
}

// The rate "0.833333" as "83,3 %".
const formatRate = (r) => (r === null || r === undefined ? '—' : formatNumber(Math.round(Number(r) * 1000) / 10) + ' %');

// The label of a row: its grouped dimensions, named.
function rowLabel(row, group, catalog, forums) {
	const name = (dim, v) => {
		if (v === null || v === undefined) return t('stats.none.' + dim);
		if (dim === 'need_province' || dim === 'offer_province') {
			const p = catalog.provinces.find((x) => x.code === v);
			return p ? p.name : v;
		}
		if (dim === 'material') return materialName(catalog.byCode[v]) || v;
		if (dim === 'forum') return forumName(forums, v);
		return v;
	};
	return group.length ? group.map((d) => name(d, row[d])).join(' · ') : t('stats.total');
}

export function StatsPage({ me, catalog, changes }) {
	const forums = useForums();
	const [filters, setFilters] = useState({ month: '', material: '', forum: '', need_province: '' });
	const [group, setGroup] = useState('material');
	const [metric, setMetric] = useState('value');
	const [data, setData] = useState(null);
	const [total, setTotal] = useState(null);
	const [error, setError] = useState(null);
	const set = (k) => (v) => setFilters((f) => ({ ...f, [k]: v }));

	useEffect(() => {
		let gone = false;
		Promise.all([api.stats({ ...filters, group }), api.stats(filters)]).then(([grouped, totals]) => {
			if (gone) return;
			setError(null);
			setData(grouped);
			setTotal(totals.rows[0] || null);
		}, (err) => !gone && setError(err));
		return () => {
			gone = true;
		};
	}, [filters.month, filters.material, filters.forum, filters.need_province, group, changes]);

	const oneMaterial = !!filters.material || group === 'material';
	const metrics = Object.keys(METRICS).filter((m) => oneMaterial || !METRICS[m].quantity);
	const shown = metrics.includes(metric) ? metric : 'value';
	const groupList = group ? [group] : [];

	return html`<section aria-labelledby="page-title">
		<h1 id="page-title">${t('stats.title')}</h1>
		<p class="muted" data-testid="stats-scope">${data ? t('stats.scope.' + data.scope) : ''}</p>
		<${Notice} error=${error} />
		<form class="filters filters--stats" onSubmit=${(e) => e.preventDefault()} aria-label=${t('common.filters')}>
			<${TextField} name="filter-month" type="month" label=${t('stats.month')} value=${filters.month} onInput=${set('month')} />
			<${MaterialFilter} catalog=${catalog} value=${filters.material} onChange=${set('material')} />
			${me.role !== 'village' && me.role !== 'supplier' && html`
				<${ProvinceFilter} me=${me} catalog=${catalog} value=${filters.need_province} onChange=${set('need_province')} />
				<${ForumFilter} me=${me} value=${filters.forum} onChange=${set('forum')} />`}
			<${SelectField} name="stats-group" label=${t('stats.group')} value=${group} onChange=${setGroup}
				options=${[{ value: '', label: t('stats.group.none') }].concat(GROUPS.map((g) => ({ value: g, label: t('stats.group.' + g) })))} />
			<${SelectField} name="stats-metric" label=${t('stats.metric')} value=${shown} onChange=${setMetric}
				options=${metrics.map((m) => ({ value: m, label: t('stats.metric.' + m) }))} />
		</form>
		${total && html`<${Totals} row=${total} catalog=${catalog} material=${filters.material} />`}
		${data && html`<${BarChart} data=${data} group=${groupList} metric=${shown} catalog=${catalog} forums=${forums} />`}
		${data && html`<${StatsTable} data=${data} group=${groupList} catalog=${catalog} forums=${forums} />`}
		<${CsvLink} path="/v1/stats" params=${{ ...filters, group }} label=${t('stats.csv_rows')} testid="stats-csv" />
		<h2>${t('stats.flows')}</h2>
		<p class="muted">${t('stats.flows_hint')}</p>
		<${FlowMap} flows=${data ? data.flows : []} catalog=${catalog} />
		${data && html`<${FlowTable} flows=${data.flows} catalog=${catalog} />`}
		<${CsvLink} path="/v1/stats" params=${{ ...filters, group, table: 'flows' }} label=${t('stats.csv_flows')} testid="stats-flows-csv" />
	</section>`;
}

// The headline figures of everything the filters let through.
function Totals({ row, catalog, material }) {
	const m = material ? catalog.byCode[material] : null;
	const qty = (s) => (m ? formatBase(s, m) : null);
	const card = (key, value, sub) => html`<div class="stat-card" data-testid=${'stat-' + key}>
		<dt>${t('stats.card.' + key)}</dt><dd>${value}${sub && html`<span class="stat-card__sub">${sub}</span>`}</dd>
	</div>`;
	return html`<dl class="stat-cards">
		${card('needs', formatNumber(row.needs.count), qty(row.needs.quantity))}
		${card('offers', formatNumber(row.offers.count), qty(row.offers.quantity))}
		${card('confirmed', formatNumber(row.confirmed.count), formatMoney(asNumber(row.confirmed.value_vnd)))}
		${card('fulfilled', formatNumber(row.fulfilled.count), formatMoney(asNumber(row.fulfilled.value_vnd)))}
		${card('rate', formatRate(row.fulfilment_rate))}
		${card('wait', formatSeconds(row.median_seconds_to_first_proposal))}
	</dl>`;
}

function BarChart({ data, group, metric, catalog, forums }) {
	const canvas = useRef(null);
	const chart = useRef(null);
	const spec = METRICS[metric];
	useEffect(() => {
		const labels = data.rows.map((r) => rowLabel(r, group, catalog, forums));
		const datasets = spec.series.map((s, i) => ({
			label: t('stats.series.' + s.join('.')),
			data: data.rows.map((r) => asNumber(figure(r, s))),
			backgroundColor: COLOURS[i % COLOURS.length],
		}));
		const ticks = spec.money ? (v) => formatMoney(v) : (v) => formatNumber(v);
		if (chart.current) chart.current.destroy();
		chart.current = new Chart(canvas.current, {
			type: 'bar',
			data: { labels, datasets },
			options: {
				responsive: true,
				maintainAspectRatio: false,
				animation: false,
				indexAxis: labels.length > 6 ? 'y' : 'x',
				scales: { [labels.length > 6 ? 'x' : 'y']: { beginAtZero: true, ticks: { callback: ticks } } },
				plugins: { tooltip: { callbacks: { label: (c) => c.dataset.label + ': ' + ticks(c.raw) } } },
			},
		});
		return undefined;
	}, [data, metric, group.join(), catalog, forums]);
	useEffect(() => () => chart.current && chart.current.destroy(), []);
	const tall = data.rows.length > 6 ? Math.min(60 + 28 * data.rows.length, 1200) : 320;
	return html`<div class="chart" style=${{ height: tall + 'px' }}>
		<canvas ref=${canvas} role="img" aria-label=${t('stats.chart_label', { metric: t('stats.metric.' + metric) })} data-testid="stats-chart"></canvas>
	</div>`;
}

function StatsTable({ data, group, catalog, forums }) {
	if (!data.rows.length) return html`<p class="muted" data-testid="stats-empty">${t('stats.empty')}</p>`;
	const n = (x) => (x === null || x === undefined ? '—' : formatNumber(x));
	const money = (x) => (x === null || x === undefined ? '—' : formatMoney(asNumber(x)));
	return html`<div class="table-scroll" tabindex="0" role="region" aria-label=${t('stats.table')}><table class="data-table" data-testid="stats-table">
		<caption class="visually-hidden">${t('stats.table')}</caption>
		<thead><tr>
			<th scope="col">${group.length ? t('stats.group.' + group[0]) : t('stats.total')}</th>
			<th scope="col">${t('stats.col.needs')}</th><th scope="col">${t('stats.col.offers')}</th>
			<th scope="col">${t('stats.col.proposed')}</th><th scope="col">${t('stats.col.confirmed')}</th>
			<th scope="col">${t('stats.col.value')}</th><th scope="col">${t('stats.col.freight')}</th>
			<th scope="col">${t('stats.col.fulfilled')}</th><th scope="col">${t('stats.col.rate')}</th>
			<th scope="col">${t('stats.col.wait')}</th>
		</tr></thead>
		<tbody>${data.rows.map((r) => html`<tr>
			<th scope="row">${rowLabel(r, group, catalog, forums)}</th>
			<td>${n(r.needs.count)}</td><td>${n(r.offers.count)}</td>
			<td>${r.proposed ? n(r.proposed.count) : '—'}</td><td>${n(r.confirmed.count)}</td>
			<td>${money(r.confirmed.value_vnd)}</td><td>${money(r.confirmed.freight_vnd)}</td>
			<td>${money(r.fulfilled.value_vnd)}</td><td>${formatRate(r.fulfilment_rate)}</td>
			<td>${formatSeconds(r.median_seconds_to_first_proposal)}</td>
		</tr>`)}</tbody>
	</table></div>`;
}

// The flows of the answer by pair of provinces, the materials of each pair
// together: a line from the supplier's province to the village's, as wide as
// the pair's biggest share of a material's whole confirmed flow.
export function flowPairs(flows) {
	const biggest = {};
	for (const f of flows) biggest[f.material] = Math.max(biggest[f.material] || 0, asNumber(f.confirmed_quantity));
	const pairs = new Map();
	for (const f of flows) {
		const key = f.offer_province + '>' + f.need_province;
		if (!pairs.has(key)) pairs.set(key, { from: f.offer_province, to: f.need_province, share: 0, items: [] });
		const p = pairs.get(key);
		p.items.push(f);
		if (biggest[f.material] > 0) p.share = Math.max(p.share, asNumber(f.confirmed_quantity) / biggest[f.material]);
	}
	return [...pairs.values()];
}

function FlowMap({ flows, catalog }) {
	const { maps, frame } = useVietnamMap(catalog);
	useEffect(() => {
		const layer = maps.current.data;
		layer.clearLayers();
		for (const p of flowPairs(flows)) {
			const from = centreOf(catalog.provinces, p.from);
			const to = centreOf(catalog.provinces, p.to);
			if (!from || !to) continue;
			const tip = p.items.map((f) => {
				const m = catalog.byCode[f.material];
				return `${escapeHtml(materialName(m) || f.material)}: ${formatBase(f.confirmed_quantity, m)} (${t('stats.delivered')} ${formatBase(f.fulfilled_quantity, m)})`;
			}).join('<br>');
			const title = escapeHtml(`${provinceName(catalog, p.from)} → ${provinceName(catalog, p.to)}`);
			if (from[0] === to[0] && from[1] === to[1]) {
				L.circleMarker(from, { radius: 6 + 10 * p.share, color: '#1f4e8c', weight: 3, fill: false, className: 'flow-line flow-line--local' })
					.addTo(layer).bindTooltip(`<strong>${title}</strong><br>${tip}`);
				continue;
			}
			L.polyline([from, to], { color: '#1f4e8c', weight: 2 + 10 * p.share, opacity: 0.75, className: 'flow-line' })
				.addTo(layer).bindTooltip(`<strong>${title}</strong><br>${tip}`, { sticky: true });
			L.circleMarker(to, { radius: 4, color: '#6a2c0c', weight: 1, fillColor: '#c8743f', fillOpacity: 1, className: 'flow-end' }).addTo(layer);
		}
	}, [flows]);
	return html`${frame({ label: t('stats.flows_label'), testid: 'flow-map' })}
		<ul class="map-legend">
			<li><span class="swatch swatch--match"></span>${t('stats.flows_legend')}</li>
		</ul>`;
}

const provinceName = (catalog, code) => {
	const p = catalog.provinces.find((x) => x.code === code);
	return p ? p.name : code;
};
// Tooltips are HTML: names go in escaped.
const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

function FlowTable({ flows, catalog }) {
	if (!flows.length) return html`<p class="muted" data-testid="flows-empty">${t('stats.flows_empty')}</p>`;
	return html`<div class="table-scroll" tabindex="0" role="region" aria-label=${t('stats.flows')}><table class="data-table" data-testid="flow-table">
		<caption class="visually-hidden">${t('stats.flows')}</caption>
		<thead><tr>
			<th scope="col">${t('stats.from')}</th><th scope="col">${t('stats.to')}</th><th scope="col">${t('listing.material')}</th>
			<th scope="col">${t('stats.col.confirmed_qty')}</th><th scope="col">${t('stats.col.delivered_qty')}</th>
		</tr></thead>
		<tbody>${flows.map((f) => {
			const m = catalog.byCode[f.material];
			return html`<tr>
				<td>${provinceName(catalog, f.offer_province)}</td><td>${provinceName(catalog, f.need_province)}</td>
				<td>${materialName(m) || f.material}</td>
				<td>${formatBase(f.confirmed_quantity, m)}</td><td>${formatBase(f.fulfilled_quantity, m)}</td>
			</tr>`;
		})}</tbody>
	</table></div>`;
}

