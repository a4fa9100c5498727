// views/matches.js — matches: a village's or supplier's own (accept, decline,
// fulfil; the other party's reputation once approved, its contact once
// confirmed) and the moderator's review queue (both listings side by side
// with each owner's reputation, approve, reject with a reason).
import { useEffect, useState } from 'preact/hooks';
import { api, newKey } from '../api.js';
import { t } from '../i18n.js';
import { formatDate } from '../format.js';
import { html, CsvLink, Explain, ListingSummary, Notice, Reputation, materialName } from './common.js';
import { ForumFilter, MaterialFilter, ProvinceFilter, defaultProvince } from './listings.js';

const OPEN_STATES = ['proposed', 'approved', 'accepted', 'confirmed'];

// The reasons the server gives as codes (a listing that ended took the match
// with it) in words; any other reason is a person's own text.
const REASON_CODES = ['listing_closed', 'listing_expired'];
const reasonText = (r) => (REASON_CODES.includes(r) ? t('match.reason_code.' + r) : r);

function Badge({ state }) {
	return html`<span class=${'badge badge--' + state}>${t('match.state.' + state)}</span>`;
}

// Runs a match action with an Idempotency-Key, so a retried click is safe.
function useAction(onChanged) {
	const [error, setError] = useState(null);
	const [busy, setBusy] = useState(false);
	async function run(id, action, body) {
		setBusy(true);
		setError(null);
		try {
			await api.act(id, action, body, newKey());
			onChanged();
		} catch (err) {
			setError(err);
		} finally {
			setBusy(false);
		}
	}
	return { error, busy, run };
}

function Contact({ party }) {
	const c = party.contact || {};
	return html`<div class="contact" data-testid="counterparty">
		<h4>${t('match.counterparty')}</h4>
		<p><strong>${party.name}</strong></p>
		${c.phone && html`<p>${t('account.phone')}: <a href=${'tel:' + c.phone.replace(/\s+/g, '')}>${c.phone}</a></p>`}
		${c.email && html`<p>${t('account.email')}: <a href=${'mailto:' + c.email}>${c.email}</a></p>`}
		${c.address && html`<p>${t('account.address')}: ${c.address}</p>`}
	</div>`;
}

function PartyMatch({ match, me, catalog, onChanged }) {
	const { error, busy, run } = useAction(onChanged);
	const material = catalog.byCode[match.material.code];
	const side = me.role === 'village' ? 'need' : 'offer';
	const mine = match.accepted && match.accepted[side];
	const canAnswer = (match.state === 'approved' || match.state === 'accepted') && !mine;
	return html`<li class="card match" data-match=${match.id}>
		<h3 class="card__title">${materialName(match.material)} <${Badge} state=${match.state} /></h3>
		<p>${t('match.other_place', { place: (side === 'need' ? match.offer : match.need).province || '' })}</p>
		<${Explain} match=${match} material=${material} />
		${match.state === 'accepted' && mine && html`<p class="muted">${t('match.waiting_other')}</p>`}
		${match.reputation && html`<${Reputation} rep=${match.reputation[side === 'need' ? 'offer' : 'need']} label=${t('rep.other')} />`}
		${match.counterparty ? html`<${Contact} party=${match.counterparty} />` : OPEN_STATES.includes(match.state) && html`<p class="muted">${t('match.contact_after')}</p>`}
		${match.reason && html`<p data-testid="match-reason">${t('match.reason')}: ${reasonText(match.reason)}</p>`}
		<p class="muted">${t('match.updated', { when: formatDate(match.updated_at, true) })}</p>
		<${Notice} error=${error} />
		<div class="actions">
			${canAnswer && html`<button type="button" class="button" disabled=${busy} onClick=${() => run(match.id, 'accept')}>${t('match.accept')}</button>
				<button type="button" class="button button--warning" disabled=${busy} onClick=${() => run(match.id, 'decline')}>${t('match.decline')}</button>`}
			${match.state === 'confirmed' && me.role === 'village' && html`<button type="button" class="button" disabled=${busy} onClick=${() => run(match.id, 'fulfil')}>${t('match.fulfil')}</button>`}
		</div>
	</li>`;
}

// The matches the signed-in village or supplier takes part in; details of
// each (with counterparty when confirmed) come from GET /v1/matches/{id}.
export function MyMatches({ me, catalog, changes }) {
	const [items, setItems] = useState(null);
	const [error, setError] = useState(null);
	const load = () =>
		api.matches({})
			.then((list) => Promise.all(list.map((m) => (m.state === 'confirmed' || m.state === 'fulfilled' ? api.match(m.id) : m))))
			.then(setItems, setError);
	useEffect(load, [changes]);
	const open = (items || []).filter((m) => OPEN_STATES.includes(m.state));
	const past = (items || []).filter((m) => !OPEN_STATES.includes(m.state));
	const list = (ms) => html`<ul class="cards">${ms.map((m) => html`<${PartyMatch} key=${m.id} match=${m} me=${me} catalog=${catalog} onChanged=${load} />`)}</ul>`;
	return html`<section aria-labelledby="page-title">
		<h1 id="page-title">${t('matches.title')}</h1>
		<p class="hint">${t('matches.intro')}</p>
		<${CsvLink} path="/v1/matches" params=${{}} />
		<${Notice} error=${error} />
		${items === null ? html`<p class="muted">${t('common.loading')}</p>` : html`
			<h2>${t('matches.open')}</h2>
			${open.length ? list(open) : html`<p class="muted">${t('matches.none_open')}</p>`}
			${past.length > 0 && html`<h2>${t('matches.past')}</h2>${list(past)}`}`}
	</section>`;
}

function Proposal({ match, catalog, listings, onChanged }) {
	const { error, busy, run } = useAction(onChanged);
	const [reason, setReason] = useState('');
	const material = catalog.byCode[match.material.code];
	const rid = 'reason-' + match.id;
	return html`<li class="card match proposal" data-match=${match.id}>
		<h2 class="card__title">${materialName(match.material)} <${Badge} state=${match.state} /></h2>
		<${Explain} match=${match} material=${material} />
		<div class="side-by-side">
			<div class="side"><h3>${t('match.need_side')}</h3><${ListingSummary} listing=${listings[match.need.id]} material=${material} />
				<${Reputation} rep=${match.reputation && match.reputation.need} /></div>
			<div class="side"><h3>${t('match.offer_side')}</h3><${ListingSummary} listing=${listings[match.offer.id]} material=${material} />
				<${Reputation} rep=${match.reputation && match.reputation.offer} /></div>
		</div>
		<p class="muted">${t('match.expires', { when: formatDate(match.expires_at, true) })}</p>
		<${Notice} error=${error} />
		${match.state === 'proposed' && html`<div class="actions review-actions">
			<button type="button" class="button" disabled=${busy} onClick=${() => run(match.id, 'approve')}>${t('review.approve')}</button>
			<div class="field reject">
				<label for=${rid}>${t('review.reason')}</label>
				<input id=${rid} type="text" value=${reason} onInput=${(e) => setReason(e.currentTarget.value)} />
			</div>
			<button type="button" class="button button--warning" disabled=${busy}
				onClick=${() => run(match.id, 'reject', reason.trim() ? { reason: reason.trim() } : undefined)}>${t('review.reject')}</button>
		</div>`}
	</li>`;
}

// The review queue of a moderator (or admin): proposals of its scope.
export function ReviewQueue({ me, catalog, changes }) {
	const [items, setItems] = useState(null);
	const [listings, setListings] = useState({});
	const [error, setError] = useState(null);
	const [filter, setFilter] = useState({ province: defaultProvince(me), material: '', forum: '' });
	const set = (name) => (v) => setFilter((old) => ({ ...old, [name]: v }));
	const load = async () => {
		try {
			const ms = await api.matches({ state: 'proposed', ...filter });
			setItems(ms);
			const ids = new Set();
			for (const m of ms) ids.add(m.need.id).add(m.offer.id);
			const got = await Promise.all([...ids].map((id) => api.listing(id).then((r) => r.data, () => null)));
			const next = {};
			for (const l of got) if (l) next[l.id] = l;
			setListings(next);
		} catch (err) {
			setError(err);
		}
	};
	useEffect(() => {
		load();
	}, [filter, changes]);
	return html`<section aria-labelledby="page-title">
		<h1 id="page-title">${t('review.title')}</h1>
		<p class="hint">${t('review.intro')}</p>
		<form class="filters" onSubmit=${(e) => e.preventDefault()} aria-label=${t('common.filters')}>
			<${ProvinceFilter} me=${me} catalog=${catalog} value=${filter.province} onChange=${set('province')} />
			<${MaterialFilter} catalog=${catalog} value=${filter.material} onChange=${set('material')} />
			<${ForumFilter} me=${me} value=${filter.forum} onChange=${set('forum')} />
		</form>
		<${CsvLink} path="/v1/matches" params=${{ state: 'proposed', ...filter }} />
		<${Notice} error=${error} />
		${items === null ? html`<p class="muted">${t('common.loading')}</p>` : items.length === 0
			? html`<p class="muted" data-testid="queue-empty">${t('review.none')}</p>`
			: html`<p role="status">${t('review.count', { n: items.length })}</p>
				<ul class="cards">${items.map((m) => html`<${Proposal} key=${m.id} match=${m} catalog=${catalog} listings=${listings} onChanged=${load} />`)}</ul>`}
	</section>`;
}
