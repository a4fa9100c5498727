// views/common.js — pieces every page uses: htm bound to Preact, form fields
// with their error next to them, the GOV.UK-style error summary, a match's
// explanation, a listing's summary, an account's reputation and the forums
// known to the signed-in account (a context the shell provides).
import { createContext, h } from 'preact';
import { useContext, useEffect, useRef } from 'preact/hooks';
import htm from 'htm';
import { csvUrl } from '../api.js';
import { getLang, t } from '../i18n.js';
import { formatBase, formatDate, formatDecimal, formatMoney, formatQuantity, formatNumber } from '../format.js';

export const html = htm.bind(h);

// The forums the signed-in account may see, by id (GET /v1/forums, reloaded
// by the shell on every event): a listing names its forum by id only.
export const Forums = createContext({});
export const useForums = () => useContext(Forums);
export const forumName = (forums, id) => (forums[id] ? forums[id].name : id);

// The id of a field's input, from the API's field name ("contact.phone").
export const fieldId = (name) => 'f-' + name.replace(/[^A-Za-z0-9_-]/g, '-');

// A labelled control: `error` (the server's message) is shown between the
// label and the control and tied to it with aria-describedby.
export function Field({ name, label, hint, error, children }) {
	const id = fieldId(name);
	const described = [hint ? id + '-hint' : '', error ? id + '-error' : ''].filter(Boolean).join(' ') || undefined;
	return html`<div class=${'field' + (error ? ' field--error' : '')}>
		<label for=${id}>${label}</label>
		${hint && html`<p class="hint" id=${id + '-hint'}>${hint}</p>`}
		${error && html`<p class="field-error" id=${id + '-error'}><span class="visually-hidden">${t('error.prefix')} </span>${error}</p>`}
		${children({ id, 'aria-describedby': described, 'aria-invalid': error ? 'true' : undefined, name })}
	</div>`;
}

export function TextField({ name, label, hint, error, value, onInput, type = 'text', ...rest }) {
	return html`<${Field} name=${name} label=${label} hint=${hint} error=${error}>
		${(a) => html`<input ...${a} ...${rest} type=${type} value=${value ?? ''} onInput=${(e) => onInput(e.currentTarget.value)} />`}
	<//>`;
}

export function SelectField({ name, label, hint, error, value, onChange, options, ...rest }) {
	return html`<${Field} name=${name} label=${label} hint=${hint} error=${error}>
		${(a) => html`<select ...${a} ...${rest} value=${value ?? ''} onChange=${(e) => onChange(e.currentTarget.value)}>
			${options.map((o) => html`<option value=${o.value}>${o.label}</option>`)}
		</select>`}
	<//>`;
}

export function TextArea({ name, label, hint, error, value, onInput, ...rest }) {
	return html`<${Field} name=${name} label=${label} hint=${hint} error=${error}>
		${(a) => html`<textarea ...${a} ...${rest} rows="3" value=${value ?? ''} onInput=${(e) => onInput(e.currentTarget.value)}></textarea>`}
	<//>`;
}

// The summary at the top of a form: what went wrong, each field's message a
// link to the field. It takes the focus when it appears, as GOV.UK's does.
export function ErrorSummary({ error, labels }) {
	const ref = useRef(null);
	useEffect(() => {
		if (error && ref.current) ref.current.focus();
	}, [error]);
	if (!error) return null;
	const fields = Object.entries(error.fields || {});
	return html`<div class="error-summary" role="alert" tabindex="-1" ref=${ref}>
		<h2 class="error-summary__title">${t('error.summary_title')}</h2>
		${fields.length === 0 && html`<p>${problemText(error)}</p>`}
		${fields.length > 0 && html`<ul>
			${fields.map(([f, msg]) => html`<li><a href=${'#' + fieldId(f)} onClick=${(e) => focusField(e, f)}>${summaryLine(f, msg, labels)}</a></li>`)}
		</ul>`}
	</div>`;
}

// The server's message names the field already ("số lượng: ..."): it is
// shown as sent, capitalised; a message that does not gets the form's label.
function summaryLine(f, msg, labels) {
	const m = String(msg || '');
	if (/^[^:]{1,40}: /.test(m)) return m.charAt(0).toUpperCase() + m.slice(1);
	return ((labels && labels[f]) || f) + ': ' + m;
}

function focusField(e, f) {
	const el = document.getElementById(fieldId(f));
	if (el) {
		e.preventDefault();
		el.focus();
	}
}

// A sentence for a failed request that names no field.
export function problemText(error) {
	if (!error) return '';
	if (error.status === 0) return t('error.network');
	if (error.status === 401) return t('error.unauthorized');
	if (error.status === 403) return t('error.forbidden') + (error.detail ? ' (' + error.detail + ')' : '');
	if (error.status === 412) return t('error.changed_meanwhile');
	if (error.status === 409) return t('error.conflict') + (error.detail ? ' (' + error.detail + ')' : '');
	return error.detail || t('error.generic');
}

// The failure of an action outside a form.
export function Notice({ error, message }) {
	if (error) return html`<p class="notice notice--error" role="alert">${problemText(error)}</p>`;
	if (message) return html`<p class="notice" role="status">${message}</p>`;
	return null;
}

// A material's name in the chosen language (listings carry `name`, the
// catalogue `name_en`; both carry `name_vi`).
export const materialName = (m) => {
	if (!m) return '';
	return (getLang() === 'en' ? m.name_en || m.name || m.name_vi : m.name_vi || m.name || m.name_en) || m.code;
};

// Why the engine proposed a match: price, distance, freight, landed cost.
export function Explain({ match, material }) {
	const x = match.explain || {};
	const unitPrice = x.unit_price
		? formatMoney(x.unit_price.vnd) + ' / ' + unitLabel(material, x.unit_price.unit)
		: '';
	const distanceFrom = x.distance_from ? t('explain.from.' + x.distance_from.replace(/[^a-z]+/g, '_')) : '';
	const basis = x.location_basis;
	const basisText = (b) => t('explain.basis.' + String(b).replace(/[^a-z]+/g, '_'));
	return html`<dl class="explain">
		<div><dt>${t('explain.quantity')}</dt><dd>${formatBase(match.quantity.base, material)}</dd></div>
		<div><dt>${t('explain.unit_price')}</dt><dd>${unitPrice}</dd></div>
		<div><dt>${t('explain.distance')}</dt><dd>${x.distance_km !== undefined ? formatNumber(x.distance_km) + ' km' : ''}${distanceFrom && html` <span class="muted">(${distanceFrom})</span>`}</dd></div>
		${basis && html`<div data-testid="location-basis"><dt>${t('explain.basis')}</dt><dd>${t('explain.basis_value', { need: basisText(basis.need), offer: basisText(basis.offer) })}</dd></div>`}
		<div><dt>${t('explain.goods')}</dt><dd>${formatMoney(x.goods_total_vnd)}</dd></div>
		<div><dt>${t('explain.freight')}</dt><dd>${x.freight ? formatMoney(x.freight.total_vnd) : ''}</dd></div>
		<div class="explain__total"><dt>${t('explain.landed')}</dt><dd>${x.landed ? formatMoney(x.landed.total_vnd) : ''}</dd></div>
		${x.candidates !== undefined && html`<div><dt>${t('explain.rank')}</dt><dd>${t('explain.rank_value', { rank: x.rank, candidates: x.candidates })}${x.substitute ? ' · ' + t('explain.substitute') : ''}</dd></div>`}
	</dl>`;
}

export const unitLabel = (material, code) => {
	const u = material && material.units && material.units.find((x) => x.code === code);
	return u ? u.name : code;
};

// A listing in a few lines: what, how much, where, until when, at what price.
export function ListingSummary({ listing, material }) {
	const forums = useForums();
	if (!listing) return html`<p class="muted">${t('common.loading')}</p>`;
	const until = listing.kind === 'need' ? listing.needed_by : listing.available_until;
	return html`<dl class="listing-summary">
		<div><dt>${t('listing.material')}</dt><dd>${materialName(listing.material)}${listing.grade ? ' · ' + t('listing.grade_short', { grade: listing.grade }) : ''}</dd></div>
		<div><dt>${t('listing.quantity')}</dt><dd>${formatQuantity(listing.quantity, material)}${listing.remaining && listing.status === 'open' ? html` <span class="muted">(${t('listing.remaining', { q: formatQuantity(listing.remaining, material) })})</span>` : ''}</dd></div>
		${listing.price && html`<div><dt>${listing.kind === 'need' ? t('listing.max_price') : t('listing.price')}</dt><dd>${formatMoney(listing.price.vnd)} / ${unitLabel(material, listing.price.unit)}</dd></div>`}
		<div><dt>${t('listing.place')}</dt><dd>${[listing.commune, listing.province && listing.province.name].filter(Boolean).join(', ')}</dd></div>
		${until && html`<div><dt>${listing.kind === 'need' ? t('listing.needed_by') : t('listing.available_until')}</dt><dd>${formatDate(until)}</dd></div>`}
		${listing.forum && html`<${ForumLine} listing=${listing} forum=${forums[listing.forum]} />`}
		${listing.owner && html`<div><dt>${t('listing.owner')}</dt><dd>${listing.owner.name}</dd></div>`}
		${listing.note && html`<div><dt>${t('listing.note')}</dt><dd>${listing.note}</dd></div>`}
	</dl>`;
}

// The forum a listing is registered for, and while the forum is still on,
// that the listing waits for it (and what becomes of it after).
function ForumLine({ listing, forum }) {
	const waiting = listing.status === 'open' && forum && ['open', 'clearing', 'review'].includes(forum.state);
	return html`<div data-testid="listing-forum"><dt>${t('listing.forum')}</dt><dd>
		${forum ? forum.name : listing.forum}${forum && html` <span class="muted">(${t('forum.state.' + forum.state)})</span>`}
		${waiting && html`<br /><span class="muted">${t('listing.forum_waiting_' + (listing.after_forum === 'close' ? 'close' : 'market'))}</span>`}
	</dd></div>`;
}

export { formatDecimal };

// A percentage of an exact ratio, rounded down; null when there is nothing to divide.
const percent = (r) => (r && r.denominator > 0 ? Math.floor((r.numerator * 100) / r.denominator) : null);

// An account's reputation (uy tín) as the server counts it: how it kept its word.
export function Reputation({ rep, label }) {
	if (!rep) return null;
	const rate = percent(rep.fulfilment_rate);
	const share = percent(rep.delivered_share);
	return html`<div class="reputation" data-testid="reputation" data-account=${rep.account_id}>
		<h4>${label || t('rep.title')}</h4>
		${rate === null
			? html`<p class="muted">${t('rep.none')}</p>`
			: html`<p><strong>${t('rep.rate')}: ${rate}%</strong> (${t('rep.rate_of', { n: rep.fulfilment_rate.numerator, d: rep.fulfilment_rate.denominator })})</p>`}
		${share !== null && html`<p>${t('rep.delivered')}: ${share}%</p>`}
		<p class="muted">${t('rep.counts', rep)}</p>
	</div>`;
}

// "Tải CSV": the whole list on screen, with its filters, as a spreadsheet.
export function CsvLink({ path, params, label, testid }) {
	return html`<p class="csv-link"><a class="button button--secondary" href=${csvUrl(path, params)} download data-testid=${testid || 'csv-link'}>${label || t('common.csv')}</a></p>`;
}
