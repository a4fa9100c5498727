// views/listings.js — a village's needs or a supplier's offers: the list,
// the form to post one (with the material's own units, and the open forum it
// registers for), editing (PATCH with If-Match) and closing.
import { useEffect, useState } from 'preact/hooks';
import { api, newKey } from '../api.js';
import { t } from '../i18n.js';
import { dayInVietnam, formatQuantity, todayInVietnam } from '../format.js';
import { html, CsvLink, ErrorSummary, ListingSummary, Notice, SelectField, TextArea, TextField, materialName, unitLabel, useForums } from './common.js';

// The fields of a form, in the API's names; what the user typed is sent as
// typed (quantities as strings): the server decides what is valid and says why.
function emptyForm(kind, me, material) {
	return {
		material: material ? material.code : '',
		grade: '',
		quantity: '',
		unit: material ? defaultUnit(material) : '',
		price_vnd: '',
		province: me.province ? me.province.code : '',
		commune: me.commune || '',
		date: '',
		max_distance_km: '',
		min_order: '',
		accept_substitutes: false,
		note: '',
		forum: '',
		after_forum: 'market',
	};
}

const defaultUnit = (m) => {
	const units = [...m.units].sort((a, b) => b.factor - a.factor);
	return units.length ? units[0].code : m.base_unit;
};

const dateField = (kind) => (kind === 'need' ? 'needed_by' : 'available_until');

function toBody(kind, f) {
	const body = { material: f.material, quantity: f.quantity.trim(), unit: f.unit, province: f.province };
	if (f.grade) body.grade = f.grade;
	if (f.price_vnd.trim() !== '') body.price_vnd = wholeNumber(f.price_vnd);
	if (f.commune.trim()) body.commune = f.commune.trim();
	if (f.date) body[dateField(kind)] = f.date;
	if (f.note.trim()) body.note = f.note.trim();
	if (f.forum) {
		body.forum = f.forum;
		body.after_forum = f.after_forum;
	}
	if (kind === 'need') {
		body.accept_substitutes = f.accept_substitutes;
		if (f.max_distance_km.trim() !== '') body.max_distance_km = wholeNumber(f.max_distance_km);
	} else if (f.min_order.trim() !== '') body.min_order = f.min_order.trim();
	return body;
}

// "2.400.000" or "2400000" typed for a whole number: dots and spaces are
// grouping in Vietnamese; anything else goes to the server as typed, to be refused.
function wholeNumber(s) {
	const plain = s.trim().replace(/[.\s]/g, '');
	return /^\d{1,15}$/.test(plain) ? Number(plain) : s.trim();
}

export function ListingForm({ kind, me, catalog, onDone, onCancel }) {
	const materials = catalog.materials;
	const [f, setF] = useState(() => emptyForm(kind, me, materials[0]));
	const [error, setError] = useState(null);
	const [busy, setBusy] = useState(false);
	const [key] = useState(newKey);
	const material = materials.find((m) => m.code === f.material);
	const set = (name) => (v) => setF((old) => ({ ...old, [name]: v }));
	const setMaterial = (code) => {
		const m = materials.find((x) => x.code === code);
		setF((old) => ({ ...old, material: code, unit: m ? defaultUnit(m) : '', grade: '' }));
	};
	const fe = (name) => error && error.fields[name];
	const labels = formLabels(kind);
	// The forums taking registrations now (null while loading).
	const [openForums, setOpenForums] = useState(null);
	useEffect(() => {
		api.forums({ state: 'open' }).then(setOpenForums, () => setOpenForums([]));
	}, []);

	async function submit(e) {
		e.preventDefault();
		setBusy(true);
		setError(null);
		try {
			const created = await api.post(kind, toBody(kind, f), key);
			onDone(created);
		} catch (err) {
			// A forum that stopped taking registrations meanwhile is a 409 naming
			// no field: it is said next to the forum.
			if (err.status === 409 && f.forum && !Object.keys(err.fields).length) err.fields = { forum: t('listing.forum_not_open') };
			setError(err);
		} finally {
			setBusy(false);
		}
	}

	const units = material ? material.units.map((u) => ({ value: u.code, label: u.name })) : [];
	const grades = [{ value: '', label: kind === 'need' ? t('listing.any_grade') : t('common.choose') }]
		.concat((material ? material.grades : []).map((g) => ({ value: g, label: g })));
	return html`<section class="card" aria-labelledby="listing-form-title">
		<h2 id="listing-form-title">${kind === 'need' ? t('needs.new') : t('offers.new')}</h2>
		<${ErrorSummary} error=${error} labels=${labels} />
		<form onSubmit=${submit} novalidate>
			<${SelectField} name="material" label=${labels.material} error=${fe('material')} value=${f.material} onChange=${setMaterial}
				options=${materials.map((m) => ({ value: m.code, label: materialName(m) }))} />
			<${SelectField} name="grade" label=${labels.grade} hint=${kind === 'need' ? t('listing.grade_hint_need') : ''} error=${fe('grade')} value=${f.grade} onChange=${set('grade')} options=${grades} />
			<div class="row">
				<${TextField} name="quantity" label=${labels.quantity} hint=${t('listing.quantity_hint')} error=${fe('quantity')} value=${f.quantity} onInput=${set('quantity')} inputmode="decimal" autocomplete="off" />
				<${SelectField} name="unit" label=${labels.unit} error=${fe('unit')} value=${f.unit} onChange=${set('unit')} options=${units} />
			</div>
			<${TextField} name="price_vnd" label=${kind === 'need' ? t('listing.max_price_per', { unit: unitLabel(material, f.unit) }) : t('listing.price_per', { unit: unitLabel(material, f.unit) })}
				hint=${t('listing.price_hint')} error=${fe('price_vnd')} value=${f.price_vnd} onInput=${set('price_vnd')} inputmode="numeric" autocomplete="off" />
			${kind === 'offer' && html`<${TextField} name="min_order" label=${t('listing.min_order', { unit: unitLabel(material, f.unit) })} error=${fe('min_order')} value=${f.min_order} onInput=${set('min_order')} inputmode="decimal" autocomplete="off" />`}
			<${SelectField} name="province" label=${labels.province} error=${fe('province')} value=${f.province} onChange=${set('province')}
				options=${catalog.provinces.map((p) => ({ value: p.code, label: p.name }))} />
			<${TextField} name="commune" label=${labels.commune} error=${fe('commune')} value=${f.commune} onInput=${set('commune')} />
			<${TextField} name=${dateField(kind)} label=${labels[dateField(kind)]} error=${fe(dateField(kind))} value=${f.date} onInput=${set('date')} type="date" />
			${kind === 'need' && html`<${TextField} name="max_distance_km" label=${labels.max_distance_km} error=${fe('max_distance_km')} value=${f.max_distance_km} onInput=${set('max_distance_km')} inputmode="numeric" />
				<div class="field checkbox">
					<input type="checkbox" id="f-accept_substitutes" checked=${f.accept_substitutes} onChange=${(e) => set('accept_substitutes')(e.currentTarget.checked)} />
					<label for="f-accept_substitutes">${labels.accept_substitutes}</label>
				</div>`}
			<${TextArea} name="note" label=${labels.note} error=${fe('note')} value=${f.note} onInput=${set('note')} />
			<${ForumChoice} forums=${openForums} f=${f} set=${set} fe=${fe} labels=${labels} />
			<div class="actions">
				<button type="submit" class="button" disabled=${busy}>${kind === 'need' ? t('needs.post') : t('offers.post')}</button>
				<button type="button" class="button button--secondary" onClick=${onCancel}>${t('common.cancel')}</button>
			</div>
		</form>
	</section>`;
}

// Registering for an open forum (a select of the forums taking
// registrations), and once one is chosen, what happens after it.
function ForumChoice({ forums, f, set, fe, labels }) {
	if (forums === null) return null;
	if (forums.length === 0) return html`<p class="muted" data-testid="no-open-forum">${t('listing.no_open_forum')}</p>`;
	return html`<${SelectField} name="forum" label=${labels.forum} hint=${t('listing.forum_hint')} error=${fe('forum')} value=${f.forum} onChange=${set('forum')}
			options=${[{ value: '', label: t('listing.no_forum') }].concat(forums.map((x) => ({ value: x.id, label: x.name })))} />
		${f.forum && html`<fieldset class=${'field radios' + (fe('after_forum') ? ' field--error' : '')} aria-describedby=${fe('after_forum') ? 'f-after_forum-error' : undefined}>
			<legend>${labels.after_forum}</legend>
			${fe('after_forum') && html`<p class="field-error" id="f-after_forum-error"><span class="visually-hidden">${t('error.prefix')} </span>${fe('after_forum')}</p>`}
			${['market', 'close'].map((v, i) => html`<div class="checkbox">
				<input type="radio" name="after_forum" id=${i ? 'f-after_forum-' + v : 'f-after_forum'} value=${v} checked=${f.after_forum === v} onChange=${() => set('after_forum')(v)} />
				<label for=${i ? 'f-after_forum-' + v : 'f-after_forum'}>${t('listing.after_forum.' + v)}</label>
			</div>`)}
		</fieldset>`}`;
}

export function formLabels(kind) {
	return {
		material: t('listing.material'), grade: t('listing.grade'), quantity: t('listing.quantity'),
		unit: t('listing.unit'), price_vnd: kind === 'need' ? t('listing.max_price') : t('listing.price'),
		price_unit: t('listing.unit'), province: t('listing.province'), commune: t('listing.commune'),
		needed_by: t('listing.needed_by'), available_until: t('listing.available_until'),
		max_distance_km: t('listing.max_distance'), min_order: t('listing.min_order_short'),
		accept_substitutes: t('listing.accept_substitutes'), note: t('listing.note'),
		forum: t('listing.forum_register'), after_forum: t('listing.after_forum'),
	};
}

// Editing an open listing: quantity, price, date, note. Sends If-Match with
// the version read, so a change made meanwhile elsewhere is not overwritten.
function EditForm({ listing, material, onDone, onCancel }) {
	const kind = listing.kind;
	const [f, setF] = useState({
		quantity: listing.quantity.amount,
		unit: listing.quantity.unit,
		price_vnd: listing.price ? String(listing.price.vnd) : '',
		date: dayInVietnam(kind === 'need' ? listing.needed_by : listing.available_until),
		note: listing.note || '',
	});
	const [error, setError] = useState(null);
	const [busy, setBusy] = useState(false);
	const set = (name) => (v) => setF((old) => ({ ...old, [name]: v }));
	const fe = (name) => error && error.fields[name];
	const labels = formLabels(kind);

	async function submit(e) {
		e.preventDefault();
		setBusy(true);
		setError(null);
		const body = { quantity: f.quantity.trim(), unit: f.unit, note: f.note.trim() || null };
		if (f.price_vnd.trim() !== '') {
			body.price_vnd = wholeNumber(f.price_vnd);
			body.price_unit = listing.price ? listing.price.unit : f.unit;
		}
		if (f.date) body[dateField(kind)] = f.date;
		try {
			onDone(await api.patch(listing.id, body, '"' + listing.version + '"'));
		} catch (err) {
			setError(err);
		} finally {
			setBusy(false);
		}
	}
	const units = material ? material.units.map((u) => ({ value: u.code, label: u.name })) : [];
	return html`<form class="edit-form" onSubmit=${submit} novalidate aria-label=${t('listing.edit')}>
		<${ErrorSummary} error=${error} labels=${labels} />
		<div class="row">
			<${TextField} name="quantity" label=${labels.quantity} error=${fe('quantity')} value=${f.quantity} onInput=${set('quantity')} inputmode="decimal" />
			<${SelectField} name="unit" label=${labels.unit} error=${fe('unit')} value=${f.unit} onChange=${set('unit')} options=${units} />
		</div>
		<${TextField} name="price_vnd" label=${labels.price_vnd} error=${fe('price_vnd')} value=${f.price_vnd} onInput=${set('price_vnd')} inputmode="numeric" />
		<${TextField} name=${dateField(kind)} label=${labels[dateField(kind)]} error=${fe(dateField(kind))} value=${f.date} onInput=${set('date')} type="date" min=${todayInVietnam()} />
		<${TextArea} name="note" label=${labels.note} error=${fe('note')} value=${f.note} onInput=${set('note')} />
		<div class="actions">
			<button type="submit" class="button" disabled=${busy}>${t('common.save')}</button>
			<button type="button" class="button button--secondary" onClick=${onCancel}>${t('common.cancel')}</button>
		</div>
	</form>`;
}

function ListingCard({ listing, catalog, onChanged, canEdit, canClose }) {
	const [editing, setEditing] = useState(false);
	const [error, setError] = useState(null);
	const material = catalog.byCode[listing.material.code];
	async function close() {
		if (!window.confirm(t('listing.close_confirm'))) return;
		try {
			await api.close(listing.id);
			onChanged();
		} catch (err) {
			setError(err);
		}
	}
	return html`<li class="card listing" data-listing=${listing.id}>
		<h2 class="card__title">${materialName(listing.material)} — ${formatQuantity(listing.quantity, material)}
			<span class=${'badge badge--' + listing.status}>${t('status.' + listing.status)}</span></h2>
		${editing
			? html`<${EditForm} listing=${listing} material=${material} onCancel=${() => setEditing(false)} onDone=${() => { setEditing(false); onChanged(); }} />`
			: html`<${ListingSummary} listing=${listing} material=${material} />`}
		<${Notice} error=${error} />
		${!editing && listing.status === 'open' && html`<div class="actions">
			${canEdit && html`<button type="button" class="button button--secondary" onClick=${() => setEditing(true)}>${t('listing.edit')}</button>`}
			${canClose && html`<button type="button" class="button button--warning" onClick=${close}>${t('listing.close')}</button>`}
		</div>`}
	</li>`;
}

// The signed-in village's needs or supplier's offers.
export function MyListings({ kind, me, catalog, changes }) {
	const [items, setItems] = useState(null);
	const [error, setError] = useState(null);
	const [adding, setAdding] = useState(false);
	const [message, setMessage] = useState('');
	const [status, setStatus] = useState('open');
	const load = () =>
		api.listings({ owner: 'me', kind, status }).then(setItems, setError);
	useEffect(load, [kind, status, changes]);
	const title = kind === 'need' ? t('needs.title') : t('offers.title');
	return html`<section aria-labelledby="page-title">
		<h1 id="page-title">${title}</h1>
		<${Notice} error=${error} message=${message} />
		${adding
			? html`<${ListingForm} kind=${kind} me=${me} catalog=${catalog} onCancel=${() => setAdding(false)}
				onDone=${(l) => { setAdding(false); setMessage(t('listing.posted', { what: materialName(l.material) })); load(); }} />`
			: html`<p><button type="button" class="button" onClick=${() => { setMessage(''); setAdding(true); }}>${kind === 'need' ? t('needs.new') : t('offers.new')}</button></p>`}
		<${StatusFilter} value=${status} onChange=${setStatus} />
		${items === null ? html`<p class="muted">${t('common.loading')}</p>` : items.length === 0
			? html`<p class="muted">${kind === 'need' ? t('needs.none') : t('offers.none')}</p>`
			: html`<ul class="cards">${items.map((l) => html`<${ListingCard} key=${l.id} listing=${l} catalog=${catalog} onChanged=${load} canEdit=${true} canClose=${true} />`)}</ul>`}
	</section>`;
}

export function StatusFilter({ value, onChange }) {
	return html`<div class="field inline">
		<label for="f-status-filter">${t('listing.show')}</label>
		<select id="f-status-filter" value=${value} onChange=${(e) => onChange(e.currentTarget.value)}>
			${['open', 'filled', 'closed', 'expired', 'any'].map((s) => html`<option value=${s}>${t('status.filter.' + s)}</option>`)}
		</select>
	</div>`;
}

// The listings of a moderator's scope (an admin's: all), filterable; a
// moderator or admin may close them.
export function ScopeListings({ me, catalog, changes }) {
	const [items, setItems] = useState(null);
	const [error, setError] = useState(null);
	const [filter, setFilter] = useState({ kind: '', province: defaultProvince(me), material: '', status: 'open', forum: '' });
	const set = (name) => (v) => setFilter((old) => ({ ...old, [name]: v }));
	const load = () => api.listings(filter).then(setItems, setError);
	useEffect(load, [filter, changes]);
	return html`<section aria-labelledby="page-title">
		<h1 id="page-title">${t('scope.title')}</h1>
		<${Notice} error=${error} />
		<form class="filters" onSubmit=${(e) => e.preventDefault()} aria-label=${t('common.filters')}>
			<${SelectField} name="filter-kind" label=${t('scope.kind')} value=${filter.kind} onChange=${set('kind')}
				options=${[{ value: '', label: t('common.all') }, { value: 'need', label: t('kind.need') }, { value: 'offer', label: t('kind.offer') }]} />
			<${ProvinceFilter} me=${me} catalog=${catalog} value=${filter.province} onChange=${set('province')} />
			<${MaterialFilter} catalog=${catalog} value=${filter.material} onChange=${set('material')} />
			<${StatusFilter} value=${filter.status} onChange=${set('status')} />
			<${ForumFilter} me=${me} value=${filter.forum} onChange=${set('forum')} />
		</form>
		<${CsvLink} path="/v1/listings" params=${filter} />
		${items === null ? html`<p class="muted">${t('common.loading')}</p>` : items.length === 0
			? html`<p class="muted">${t('scope.none')}</p>`
			: html`<ul class="cards">${items.map((l) => html`<${ListingCard} key=${l.id} listing=${l} catalog=${catalog} onChanged=${load} canEdit=${false} canClose=${true} />`)}</ul>`}
	</section>`;
}

export const defaultProvince = (me) =>
	me.role === 'moderator' && me.scope && me.scope.provinces && me.scope.provinces.length === 1 ? me.scope.provinces[0] : '';

// The provinces a filter offers: a moderator's own, or all.
export function ProvinceFilter({ me, catalog, value, onChange }) {
	const own = me.role === 'moderator' && me.scope && me.scope.provinces && me.scope.provinces.length
		? catalog.provinces.filter((p) => me.scope.provinces.includes(p.code)) : catalog.provinces;
	return html`<${SelectField} name="filter-province" label=${t('listing.province')} value=${value} onChange=${onChange}
		options=${[{ value: '', label: t('common.all') }].concat(own.map((p) => ({ value: p.code, label: p.name })))} />`;
}

// The forums a filter offers: a moderator's own (organised or in its
// scope), or, for an admin or a moderator with none, every forum known.
export function ForumFilter({ me, value, onChange }) {
	const all = Object.values(useForums());
	const own = all.filter((f) => isOwnForum(me, f));
	return html`<${SelectField} name="filter-forum" label=${t('review.forum')} value=${value} onChange=${onChange}
		options=${[{ value: '', label: t('common.all') }].concat((own.length ? own : all).map((f) => ({ value: f.id, label: f.name })))} />`;
}

// A forum the account organises or oversees (an admin: every forum).
export const isOwnForum = (me, f) =>
	me.role === 'admin' || f.organiser === me.id || !!(me.scope && me.scope.forums && me.scope.forums.includes(f.id));

export function MaterialFilter({ catalog, value, onChange }) {
	return html`<${SelectField} name="filter-material" label=${t('listing.material')} value=${value} onChange=${onChange}
		options=${[{ value: '', label: t('common.all') }].concat(catalog.materials.map((m) => ({ value: m.code, label: materialName(m) })))} />`;
}

