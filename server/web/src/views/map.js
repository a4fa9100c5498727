// views/map.js — the map of the north: Vietnam's outline and its neighbours
// (Natural Earth, bundled), the 34 provincial units at their centres, open
// needs and offers as circles sized by quantity, matches as lines from the
// supplier to the village; reloaded live. Drawn with Leaflet, no tiles.
//
// Sovereignty, as Vietnamese maps show it: the Hoàng Sa and Trường Sa
// archipelagos are drawn as Vietnam's and labelled so. Whenever the main view
// does not hold them itself, an inset of the East Sea shows them, so no view
// that reaches the sea leaves them out.
import { useEffect, useRef, useState } from 'preact/hooks';
import L from 'leaflet';
import geometry from 'virtual:map-geometry';
import { api } from '../api.js';
import { t } from '../i18n.js';
import { formatBase, formatQuantity } from '../format.js';
import { html, Notice, materialName } from './common.js';
import { MaterialFilter } from './listings.js';

export const NORTH = [[19.6, 102.1], [23.45, 108.2]];
const COUNTRY = [[8.0, 102.1], [23.45, 117.5]];
const EAST_SEA = [[7.0, 104.5], [22.5, 116.0]];
// Where each label goes on the main map: over open sea and away from the
// map's east edge, which a phone's narrow view brings close; in the inset
// both go west, over the sea.
const ARCHIPELAGOS = [
	{ kind: 'hoang_sa', at: [16.5, 112.0], label: 'map.hoang_sa', side: 'bottom' },
	{ kind: 'truong_sa', at: [10.0, 114.3], label: 'map.truong_sa', side: 'left' },
];
const SEA_LABEL = [13.5, 110.3];

const STYLE = {
	vietnam: { color: '#8a3b12', weight: 1.2, fillColor: '#f6e7d8', fillOpacity: 1 },
	hoang_sa: { color: '#8a3b12', weight: 1.5, fillColor: '#f6e7d8', fillOpacity: 1 },
	truong_sa: { color: '#8a3b12', weight: 1.5, fillColor: '#f6e7d8', fillOpacity: 1 },
	neighbour: { color: '#9a948d', weight: 0.8, fillColor: '#ebe7e2', fillOpacity: 1 },
};

// The outlines and the archipelagos' labels on a map: the main one (labels
// to the right, the sea named) or the inset (labels to the left, over the sea,
// so they stay inside its small frame).
export function drawBase(map, main) {
	L.geoJSON(geometry, { style: (f) => STYLE[f.properties.kind], interactive: false }).addTo(map);
	for (const a of ARCHIPELAGOS) {
		const side = main ? a.side : 'left';
		// A ring around each archipelago: its islands are specks at this scale.
		L.circleMarker(a.at, { radius: 9, color: '#8a3b12', weight: 1.5, fill: false, interactive: false, className: 'archipelago archipelago--' + a.kind })
			.addTo(map)
			.bindTooltip(t(a.label), { permanent: true, direction: side, className: 'map-label map-label--archipelago map-label--' + side, offset: { right: [8, 0], left: [-8, 0], bottom: [0, 8] }[side] });
	}
	if (main) {
		L.tooltip({ permanent: true, direction: 'center', className: 'map-label map-label--sea' })
			.setLatLng(SEA_LABEL).setContent(t('map.east_sea')).addTo(map);
	}
}

export const centreOf = (provinces, code) => {
	const p = provinces.find((x) => x.code === code);
	return p ? [p.centre.lat, p.centre.lon] : null;
};

// The map of the north with its East Sea inset, for any page that draws on
// it (the map page, the statistics' flows): `maps.current.data` is the layer
// to draw on, `frame({label, testid})` the markup with the view buttons. The
// maps are made by the first effect of the page that calls it, so the page's
// own effects find them.
export function useVietnamMap(catalog) {
	const box = useRef(null);
	const insetBox = useRef(null);
	const maps = useRef(null);
	const [insetShown, setInsetShown] = useState(true);

	// The maps, once.
	useEffect(() => {
		const map = L.map(box.current, {
			zoomSnap: 0.25,
			minZoom: 4,
			maxZoom: 11,
			zoomControl: false,
			attributionControl: false,
		});
		L.control.zoom({ zoomInTitle: t('map.zoom_in'), zoomOutTitle: t('map.zoom_out') }).addTo(map);
		L.control.attribution({ prefix: 'Leaflet' }).addAttribution(t('map.attribution')).addTo(map);
		map.fitBounds(NORTH); // a view first: vector layers need one
		drawBase(map, true);
		for (const p of catalog.provinces) {
			L.circleMarker([p.centre.lat, p.centre.lon], { radius: 3, color: '#1d1b19', weight: 1, fillColor: '#1d1b19', fillOpacity: 1, className: 'province-centre' })
				.addTo(map)
				.bindTooltip(p.name, { direction: 'top' });
		}
		const data = L.layerGroup().addTo(map);
		const inset = L.map(insetBox.current, {
			zoomControl: false, attributionControl: false, dragging: false, scrollWheelZoom: false,
			doubleClickZoom: false, boxZoom: false, keyboard: false, touchZoom: false, zoomSnap: 0.25,
		});
		inset.fitBounds(EAST_SEA);
		drawBase(inset, false);
		const onMove = () => {
			const b = map.getBounds();
			setInsetShown(!ARCHIPELAGOS.every((a) => b.contains(a.at)));
		};
		map.on('moveend zoomend', onMove);
		onMove();
		maps.current = { map, inset, data };
		return () => {
			map.remove();
			inset.remove();
		};
	}, []);

	useEffect(() => {
		if (maps.current && insetShown) maps.current.inset.invalidateSize();
	}, [insetShown]);

	const fit = (bounds) => maps.current && maps.current.map.fitBounds(bounds);
	const frame = ({ label, testid }) => html`
		<div class="actions map-actions">
			<button type="button" class="button button--secondary" onClick=${() => fit(NORTH)}>${t('map.view_north')}</button>
			<button type="button" class="button button--secondary" onClick=${() => fit(COUNTRY)}>${t('map.view_country')}</button>
		</div>
		<div class="map-frame">
			<div class="map" ref=${box} role="region" aria-label=${label} data-testid=${testid}></div>
			<div class=${'map-inset' + (insetShown ? '' : ' map-inset--hidden')} data-testid=${testid + '-inset'} aria-hidden=${insetShown ? undefined : 'true'}>
				<div class="map-inset__map" ref=${insetBox}></div>
			</div>
		</div>`;
	return { maps, frame };
}

export function MapView({ catalog, changes }) {
	const [material, setMaterial] = useState('');
	const [error, setError] = useState(null);
	const [counts, setCounts] = useState(null);
	const { maps, frame } = useVietnamMap(catalog);

	// The listings and matches, again on every change.
	useEffect(() => {
		let gone = false;
		Promise.all([api.listings({ status: 'open', material }), api.matches(material ? { material } : {})])
			.then(([listings, matches]) => {
				if (gone || !maps.current) return;
				drawData(maps.current.data, catalog, listings, matches);
				const live = matches.filter((m) => ['proposed', 'approved', 'accepted', 'confirmed'].includes(m.state));
				setCounts({ needs: listings.filter((l) => l.kind === 'need').length, offers: listings.filter((l) => l.kind === 'offer').length, matches: live.length });
			}, setError);
		return () => {
			gone = true;
		};
	}, [material, changes]);

	return html`<section aria-labelledby="page-title">
		<h1 id="page-title">${t('map.title')}</h1>
		<${Notice} error=${error} />
		<form class="filters filters--map" onSubmit=${(e) => e.preventDefault()} aria-label=${t('common.filters')}>
			<${MaterialFilter} catalog=${catalog} value=${material} onChange=${setMaterial} />
		</form>
		${frame({ label: t('map.label'), testid: 'map' })}
		<ul class="map-legend">
			<li><span class="swatch swatch--need"></span>${t('map.legend_need')}</li>
			<li><span class="swatch swatch--offer"></span>${t('map.legend_offer')}</li>
			<li><span class="swatch swatch--match"></span>${t('map.legend_match')}</li>
		</ul>
		${counts && html`<p role="status" data-testid="map-counts">${t('map.counts', counts)}</p>`}
	</section>`;
}

// Circles for listings (area proportional to quantity within a material),
// lines for matches from the supplier's province to the village's.
function drawData(layer, catalog, listings, matches) {
	layer.clearLayers();
	const biggest = {};
	for (const l of listings) biggest[l.material.code] = Math.max(biggest[l.material.code] || 1, l.quantity.base);
	for (const m of matches) {
		if (!['proposed', 'approved', 'accepted', 'confirmed'].includes(m.state)) continue;
		const from = centreOf(catalog.provinces, m.offer.province_code);
		const to = centreOf(catalog.provinces, m.need.province_code);
		if (!from || !to) continue;
		const material = catalog.byCode[m.material.code];
		L.polyline([from, to], {
			color: '#1f4e8c', weight: 3, opacity: 0.8, dashArray: m.state === 'proposed' ? '6 6' : null,
			className: 'match-line match-line--' + m.state,
		}).addTo(layer).bindTooltip(`${materialName(m.material)}: ${formatBase(m.quantity.base, material)} · ${t('match.state.' + m.state)}`);
	}
	for (const l of listings) {
		const at = l.location ? [l.location.lat, l.location.lon] : centreOf(catalog.provinces, l.province && l.province.code);
		if (!at) continue;
		const radius = 5 + 15 * Math.sqrt(l.quantity.base / biggest[l.material.code]);
		const need = l.kind === 'need';
		L.circleMarker(at, {
			radius, weight: 1.5, color: need ? '#6a2c0c' : '#1d6b3a', fillColor: need ? '#c8743f' : '#4f9d69', fillOpacity: 0.55,
			className: 'listing-marker listing-marker--' + l.kind,
		}).addTo(layer).bindTooltip(`${t('kind.' + l.kind)} · ${materialName(l.material)}: ${formatQuantity(l.quantity, catalog.byCode[l.material.code])} · ${l.owner ? l.owner.name : ''}`);
	}
}
