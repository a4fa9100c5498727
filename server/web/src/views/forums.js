// views/forums.js — a moderator's forums (diễn đàn kết nối cung cầu): the
// forums it organises or oversees (an admin: all) with their state, the form
// to create one as a draft, the state actions the API allows from each
// state (open, close registration, close, cancel), each confirmed first and
// sent with If-Match so a forum changed meanwhile is not acted on blindly,
// and, in review, the clearing's batch to approve or reject as one.
import { useEffect, useState } from 'preact/hooks';
import { api, newKey } from '../api.js';
import { t } from '../i18n.js';
import { formatBase, formatDate, formatMoney, todayInVietnam } from '../format.js';
import { html, ErrorSummary, Notice, TextField, fieldId, materialName, useForums } from './common.js';
import { isOwnForum } from './listings.js';

// The actions of each state, in the order shown (docs/api.md "Forums").
const ACTIONS = {
	draft: ['open', 'cancel'],
	open: ['close-registration', 'cancel'],
	clearing: ['cancel'],
	review: ['close', 'cancel'],
};
const actionKey = (a) => a.replace(/-/g, '_');

const DATES = ['registration_opens', 'registration_closes', 'forum_day'];

function emptyForm(me) {
	const own = (me.scope && me.scope.provinces) || [];
	return {
		id: '', name: '', venue: '', provinces: own.slice(), materials: [],
		registration_opens: todayInVietnam(), registration_closes: '', forum_day: '',
	};
}

function toBody(f) {
	const body = { id: f.id.trim(), name: f.name.trim(), venue: f.venue.trim(), provinces: f.provinces, materials: f.materials };
	for (const d of DATES) if (f[d]) body[d] = f[d];
	return body;
}

const formLabels = () => ({
	id: t('forum.id'), name: t('forum.name'), venue: t('forum.venue'), provinces: t('forum.provinces'),
	materials: t('forum.materials'), registration_opens: t('forum.registration_opens'),
	registration_closes: t('forum.registration_closes'), forum_day: t('forum.forum_day'), organiser: t('forum.organiser'),
});

// A group of checkboxes (provinces, materials) with its error next to it; the
// first box carries the field's id, so the error summary's link lands there.
function Checkboxes({ name, label, hint, error, options, value, onChange }) {
	const id = fieldId(name);
	const toggle = (code, on) => onChange(on ? value.concat(code) : value.filter((c) => c !== code));
	const described = [hint ? id + '-hint' : '', error ? id + '-error' : ''].filter(Boolean).join(' ') || undefined;
	return html`<fieldset class=${'field checkboxes' + (error ? ' field--error' : '')} aria-describedby=${described}>
		<legend>${label}</legend>
		${hint && html`<p class="hint" id=${id + '-hint'}>${hint}</p>`}
		${error && html`<p class="field-error" id=${id + '-error'}><span class="visually-hidden">${t('error.prefix')} </span>${error}</p>`}
		<div class="checkboxes__grid">
			${options.map((o, i) => html`<div class="checkbox">
				<input type="checkbox" id=${i === 0 ? id : id + '-' + o.value} checked=${value.includes(o.value)}
					onChange=${(e) => toggle(o.value, e.currentTarget.checked)} />
				<label for=${i === 0 ? id : id + '-' + o.value}>${o.label}</label>
			</div>`)}
		</div>
	</fieldset>`;
}

function ForumForm({ me, catalog, onDone, onCancel }) {
	const [f, setF] = useState(() => emptyForm(me));
	const [error, setError] = useState(null);
	const [busy, setBusy] = useState(false);
	const [key] = useState(newKey);
	const set = (name) => (v) => setF((old) => ({ ...old, [name]: v }));
	const fe = (name) => error && error.fields[name];
	const labels = formLabels();

	async function submit(e) {
		e.preventDefault();
		setBusy(true);
		setError(null);
		try {
			onDone(await api.createForum(toBody(f), key));
		} catch (err) {
			// A taken id is a 409 naming no field: it belongs next to the id.
			if (err.status === 409 && !Object.keys(err.fields).length) err.fields = { id: t('forum.id_taken') };
			setError(err);
		} finally {
			setBusy(false);
		}
	}

	return html`<section class="card" aria-labelledby="forum-form-title">
		<h2 id="forum-form-title">${t('forums.new')}</h2>
		<${ErrorSummary} error=${error} labels=${labels} />
		<form onSubmit=${submit} novalidate>
			<${TextField} name="id" label=${labels.id} hint=${t('forum.id_hint')} error=${fe('id')} value=${f.id} onInput=${set('id')}
				autocomplete="off" autocapitalize="off" spellcheck="false" />
			<${TextField} name="name" label=${labels.name} hint=${t('forum.name_hint')} error=${fe('name')} value=${f.name} onInput=${set('name')} />
			<${TextField} name="venue" label=${labels.venue} error=${fe('venue')} value=${f.venue} onInput=${set('venue')} />
			${DATES.map((d) => html`<${TextField} name=${d} label=${labels[d]} error=${fe(d)} value=${f[d]} onInput=${set(d)} type="date" />`)}
			<${Checkboxes} name="provinces" label=${labels.provinces} error=${fe('provinces')} value=${f.provinces} onChange=${set('provinces')}
				options=${catalog.provinces.map((p) => ({ value: p.code, label: p.name }))} />
			<${Checkboxes} name="materials" label=${labels.materials} hint=${t('forum.materials_hint')} error=${fe('materials')} value=${f.materials} onChange=${set('materials')}
				options=${catalog.materials.map((m) => ({ value: m.code, label: materialName(m) }))} />
			<div class="actions">
				<button type="submit" class="button" disabled=${busy}>${t('forums.create')}</button>
				<button type="button" class="button button--secondary" onClick=${onCancel}>${t('common.cancel')}</button>
			</div>
		</form>
	</section>`;
}

function ForumCard({ forum, me, catalog, changes, onChanged }) {
	const [error, setError] = useState(null);
	const [busy, setBusy] = useState(false);
	const manages = me.role === 'admin' || forum.organiser === me.id;
	const province = (code) => (catalog.provinces.find((p) => p.code === code) || { name: code }).name;
	const material = (code) => materialName(catalog.byCode[code]) || code;

	async function act(action) {
		if (!window.confirm(t('forum.confirm.' + actionKey(action), { name: forum.name }))) return;
		setBusy(true);
		setError(null);
		try {
			await api.forumAct(forum.id, action, forum.version, newKey());
			onChanged();
		} catch (err) {
			setError(err);
		} finally {
			setBusy(false);
		}
	}

	const actions = manages ? ACTIONS[forum.state] || [] : [];
	return html`<li class="card forum" data-forum=${forum.id}>
		<h2 class="card__title">${forum.name} <span class=${'badge badge--' + forum.state}>${t('forum.state.' + forum.state)}</span></h2>
		<p class="hint">${t('forum.state_hint.' + forum.state)}</p>
		<dl class="listing-summary">
			<div><dt>${t('forum.id')}</dt><dd><code>${forum.id}</code></dd></div>
			<div><dt>${t('forum.venue')}</dt><dd>${forum.venue}</dd></div>
			<div><dt>${t('forum.registration')}</dt><dd>${t('forum.registration_value', { from: formatDay(forum.registration_opens), to: formatDay(forum.registration_closes) })}</dd></div>
			<div><dt>${t('forum.forum_day')}</dt><dd>${formatDay(forum.forum_day)}</dd></div>
			<div><dt>${t('forum.provinces')}</dt><dd>${forum.provinces.map(province).join(', ')}</dd></div>
			${forum.materials.length > 0 && html`<div><dt>${t('forum.materials')}</dt><dd>${forum.materials.map(material).join(', ')}</dd></div>`}
			<div><dt>${t('forum.listings')}</dt><dd data-testid="forum-listings">${forum.listings}</dd></div>
			<div><dt>${t('forum.organiser')}</dt><dd>${forum.organiser === me.id ? t('forum.organiser_me') : t('forum.organiser_other')}</dd></div>
		</dl>
		${manages && forum.state === 'review' && html`<${ForumBatch} forum=${forum} catalog=${catalog} changes=${changes} onReviewed=${onChanged} />`}
		<${Notice} error=${error} />
		${actions.length > 0 && html`<div class="actions">
			${actions.map((a) => html`<button type="button" disabled=${busy} onClick=${() => act(a)}
				class=${'button' + (a === 'cancel' ? ' button--warning' : a === 'open' || a === 'close' ? '' : ' button--secondary')}>${t('forum.action.' + actionKey(a))}</button>`)}
		</div>`}
		${!manages && html`<p class="muted">${t('forum.not_organiser')}</p>`}
	</li>`;
}

// A forum's day (YYYY-MM-DD, a day in Vietnam) as the language writes dates:
// noon in Vietnam is that day in every time zone the formatter uses. A
// registration that closes at a set time (a date-time) shows the time too.
const formatDay = (day) => (!day ? '' : day.length > 10 ? formatDate(day, true) : formatDate(day + 'T12:00:00+07:00'));

// Why the server refused one match of a selection, in words.
function refusalText(message) {
	const why = message.slice(message.indexOf(':') + 1).trim();
	const state = /^([a-z]+), not proposed$/.exec(why);
	if (state) return t('batch.refused.state', { state: t('match.state.' + state[1]) });
	return t('batch.refused.not_in_batch');
}

// The clearing's batch, as its organiser reviews it (forum in review): each
// match with its quantity, landed cost and parties; approve all, approve
// the ones ticked, or reject (the ticked ones, else all left) with a reason.
// Each is one call: all of it happens, or none (a refusal names the matches).
function ForumBatch({ forum, catalog, changes, onReviewed }) {
	const [batch, setBatch] = useState(null);
	const [selected, setSelected] = useState([]);
	const [reason, setReason] = useState('');
	const [reasonError, setReasonError] = useState('');
	const [error, setError] = useState(null);
	const [message, setMessage] = useState('');
	const [busy, setBusy] = useState(false);
	// Reloaded after every review: a ticked match no longer proposed is unticked.
	const load = () => api.forumBatch(forum.id).then((b) => {
		setBatch(b);
		const open = new Set(b.items.filter((m) => m.state === 'proposed').map((m) => m.id));
		setSelected((old) => old.filter((id) => open.has(id)));
	}, setError);
	// reloaded on every event too: a match reviewed elsewhere shows at once
	useEffect(() => {
		load();
	}, [forum.id, forum.version, changes]);

	const items = (batch && batch.items) || [];
	const proposed = items.filter((m) => m.state === 'proposed');
	const describe = (m) => t('batch.row', {
		material: materialName(m.material), quantity: formatBase(m.quantity.base, catalog.byCode[m.material.code]),
		need: m.need.owner_name || m.need.id, offer: m.offer.owner_name || m.offer.id,
	});
	const toggle = (id, on) => setSelected((old) => (on ? old.concat(id) : old.filter((x) => x !== id)));

	async function review(action, ids) {
		setError(null);
		setMessage('');
		setReasonError('');
		if (action === 'reject' && !reason.trim()) {
			setReasonError(t('batch.reason_required'));
			return;
		}
		const n = ids ? ids.length : proposed.length;
		if (!window.confirm(t('batch.confirm.' + action + (ids ? '_selected' : '_all'), { n }))) return;
		const body = {};
		if (ids) body.matches = ids;
		if (action === 'reject') body.reason = reason.trim();
		setBusy(true);
		try {
			const done = await api.forumReview(forum.id, action, body, newKey());
			setMessage(t('batch.done.' + action, { n: done.count, left: done.proposed_left }));
			setSelected([]);
			setReason('');
			await load();
			onReviewed();
		} catch (err) {
			if (err.status === 400 && err.fields.reason) setReasonError(t('batch.reason_required'));
			else setError(err);
			await load();
		} finally {
			setBusy(false);
		}
	}

	// A refusal names each match it could not take: say which, in words.
	const refused = error && error.status === 409 && error.errors && error.errors.length > 0;
	const byId = Object.fromEntries(items.map((m) => [m.id, m]));
	const rid = 'batch-reason-' + forum.id;
	return html`<section class="batch" data-testid="forum-batch" aria-labelledby=${'batch-title-' + forum.id}>
		<h3 id=${'batch-title-' + forum.id}>${t('batch.title')}</h3>
		${batch === null && !error ? html`<p class="muted">${t('common.loading')}</p>` : html`
			<p class="hint" data-testid="batch-summary">${!batch ? '' : batch.total === 0 ? t('batch.empty')
				: !batch.by_state.proposed ? t('batch.summary_done', { total: batch.total })
				: t('batch.summary', { total: batch.total, proposed: batch.by_state.proposed })}</p>
			${items.length > 0 && html`<div class="table-scroll" tabindex="0" role="region" aria-labelledby=${'batch-title-' + forum.id}><table class="batch__table">
				<thead><tr>
					<th scope="col"><span class="visually-hidden">${t('batch.select')}</span></th>
					<th scope="col">${t('listing.material')}</th>
					<th scope="col">${t('explain.quantity')}</th>
					<th scope="col">${t('explain.landed')}</th>
					<th scope="col">${t('match.need_side')}</th>
					<th scope="col">${t('match.offer_side')}</th>
					<th scope="col">${t('batch.state')}</th>
				</tr></thead>
				<tbody>${items.map((m) => html`<tr key=${m.id} data-match=${m.id}>
					<td>${m.state === 'proposed' && html`<input type="checkbox" id=${'batch-sel-' + m.id} aria-label=${t('batch.select_one', { row: describe(m) })}
						checked=${selected.includes(m.id)} disabled=${busy} onChange=${(e) => toggle(m.id, e.currentTarget.checked)} />`}</td>
					<td class="batch__material">${materialName(m.material)}</td>
					<td class="num" data-label=${t('explain.quantity')}>${formatBase(m.quantity.base, catalog.byCode[m.material.code])}</td>
					<td class="num" data-label=${t('explain.landed')}>${m.explain && m.explain.landed ? formatMoney(m.explain.landed.total_vnd) : ''}</td>
					<td data-label=${t('match.need_side')}><span>${m.need.owner_name}<br /><span class="muted">${m.need.province}</span></span></td>
					<td data-label=${t('match.offer_side')}><span>${m.offer.owner_name}<br /><span class="muted">${m.offer.province}</span></span></td>
					<td data-label=${t('batch.state')}><span><span class=${'badge badge--' + m.state}>${t('match.state.' + m.state)}</span>${m.reason ? html`<br /><span class="muted">${m.reason}</span>` : ''}</span></td>
				</tr>`)}</tbody>
			</table></div>`}
			${batch && batch.truncated && html`<p class="muted">${t('batch.truncated', { total: batch.total })}</p>`}
			${refused ? html`<div class="notice notice--error" role="alert" data-testid="batch-refused">
				<p>${t('batch.refused.title')}</p>
				<ul>${error.errors.map((e) => {
					const id = e.message.split(':')[0];
					return html`<li>${byId[id] ? describe(byId[id]) : id}: ${refusalText(e.message)}</li>`;
				})}</ul>
			</div>` : html`<${Notice} error=${error} message=${message} />`}
			${proposed.length > 0 && html`<div class="actions batch__actions">
				<button type="button" class="button" disabled=${busy} onClick=${() => review('approve')}>${t('batch.approve_all')}</button>
				<button type="button" class="button button--secondary" disabled=${busy || selected.length === 0}
					onClick=${() => review('approve', selected)}>${t('batch.approve_selected', { n: selected.length })}</button>
				<div class=${'field reject' + (reasonError ? ' field--error' : '')}>
					<label for=${rid}>${t('review.reason')}</label>
					${reasonError && html`<p class="field-error" id=${rid + '-error'}><span class="visually-hidden">${t('error.prefix')} </span>${reasonError}</p>`}
					<input id=${rid} type="text" value=${reason} aria-describedby=${reasonError ? rid + '-error' : undefined}
						onInput=${(e) => setReason(e.currentTarget.value)} />
				</div>
				<button type="button" class="button button--warning" disabled=${busy}
					onClick=${() => review('reject', selected.length ? selected : undefined)}>${selected.length ? t('batch.reject_selected', { n: selected.length }) : t('batch.reject_all')}</button>
			</div>`}`}
	</section>`;
}

// The Forums page of moderators and admins. The list is the shell's (reloaded
// on every event), so an action's result shows as soon as its event comes.
export function ForumsPage({ me, catalog, changes, forumsState, reloadForums }) {
	const forums = useForums();
	const [adding, setAdding] = useState(false);
	const [message, setMessage] = useState('');
	const mine = Object.values(forums)
		.filter((f) => isOwnForum(me, f))
		.sort((a, b) => b.created_at - a.created_at);
	return html`<section aria-labelledby="page-title">
		<h1 id="page-title">${t('forums.title')}</h1>
		<p class="hint">${t('forums.intro')}</p>
		<${Notice} message=${message} />
		${adding
			? html`<${ForumForm} me=${me} catalog=${catalog} onCancel=${() => setAdding(false)}
				onDone=${(x) => { setAdding(false); setMessage(t('forums.created', { name: x.name })); reloadForums(); }} />`
			: html`<p><button type="button" class="button" onClick=${() => { setMessage(''); setAdding(true); }}>${t('forums.new')}</button></p>`}
		<${Notice} error=${forumsState.error} />
		${!forumsState.loaded ? html`<p class="muted">${t('common.loading')}</p>` : mine.length === 0
			? html`<p class="muted" data-testid="forums-none">${t('forums.none')}</p>`
			: html`<ul class="cards">${mine.map((f) => html`<${ForumCard} key=${f.id} forum=${f} me=${me} catalog=${catalog} changes=${changes} onChanged=${reloadForums} />`)}</ul>`}
	</section>`;
}
