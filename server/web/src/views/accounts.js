// views/accounts.js — the organiser's desk: the accounts an admin or a
// moderator manages, found by name (accents do not matter), role, province
// and forum; each can be suspended or reactivated (after a confirmation),
// its access codes listed and revoked, and its reputation shown.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { formatDate } from '../format.js';
import { t } from '../i18n.js';
import { html, CsvLink, Notice, Reputation, SelectField, TextField } from './common.js';

function Codes({ account }) {
	const [items, setItems] = useState(null);
	const [error, setError] = useState(null);
	const load = () => api.tokens(account.id).then((x) => setItems(x.items), setError);
	useEffect(() => {
		load();
	}, [account.id]);
	async function revoke(tok) {
		if (!window.confirm(t('accounts.revoke_confirm', { name: account.name }))) return;
		try {
			await api.revokeToken(tok.id);
			load();
		} catch (err) {
			setError(err);
		}
	}
	if (error) return html`<${Notice} error=${error} />`;
	if (!items) return html`<p class="muted">${t('common.loading')}</p>`;
	if (!items.length) return html`<p class="muted">${t('accounts.no_codes')}</p>`;
	return html`<ul class="codes" data-testid="codes">
		${items.map((tok) => html`<li key=${tok.id}>
			<span>${tok.name || tok.id}</span> <span class="muted">${formatDate(tok.created_at, true)}</span>
			<button type="button" class="button button--secondary" onClick=${() => revoke(tok)}>${t('accounts.revoke')}</button>
		</li>`)}
	</ul>`;
}

// The account's reputation, read when asked for.
function AccountReputation({ account }) {
	const [rep, setRep] = useState(null);
	const [error, setError] = useState(null);
	useEffect(() => {
		api.reputation(account.id).then(setRep, setError);
	}, [account.id]);
	if (error) return html`<${Notice} error=${error} />`;
	if (!rep) return html`<p class="muted">${t('common.loading')}</p>`;
	return html`<${Reputation} rep=${rep} />`;
}

function AccountRow({ account, onChanged }) {
	const [open, setOpen] = useState(false);
	const [repOpen, setRepOpen] = useState(false);
	const [error, setError] = useState(null);
	const [busy, setBusy] = useState(false);
	async function toggle() {
		const suspend = !account.suspended;
		if (!window.confirm(t(suspend ? 'accounts.suspend_confirm' : 'accounts.reactivate_confirm', { name: account.name }))) return;
		setBusy(true);
		setError(null);
		try {
			await api.patchAccount(account.id, { suspended: suspend }, '"' + (account.version || 1) + '"');
			onChanged();
		} catch (err) {
			setError(err);
		} finally {
			setBusy(false);
		}
	}
	const c = account.contact || {};
	return html`<li class="card account" data-testid="account" data-id=${account.id}>
		<h2 class="account__name">${account.name}
			${account.suspended && html` <span class="badge badge--closed" data-testid="suspended">${t('accounts.suspended')}</span>`}</h2>
		<p class="muted">${t('role.' + account.role)}${account.province ? ' · ' + account.province.name : ''}${account.forum ? ' · ' + account.forum : ''}</p>
		${(c.phone || c.email || c.address) && html`<p>${[c.phone, c.email, c.address].filter(Boolean).join(' · ')}</p>`}
		${error && html`<${Notice} error=${error} />`}
		<div class="actions">
			<button type="button" class="button" disabled=${busy} onClick=${toggle}>${t(account.suspended ? 'accounts.reactivate' : 'accounts.suspend')}</button>
			<button type="button" class="button button--secondary" aria-expanded=${open} onClick=${() => setOpen(!open)}>${t('accounts.codes')}</button>
			${(account.role === 'village' || account.role === 'supplier') && html`<button type="button" class="button button--secondary" aria-expanded=${repOpen} onClick=${() => setRepOpen(!repOpen)}>${t('rep.title')}</button>`}
		</div>
		${open && html`<${Codes} account=${account} />`}
		${repOpen && html`<${AccountReputation} account=${account} />`}
	</li>`;
}

export function AccountsPage({ catalog, changes }) {
	const [f, setF] = useState({ q: '', role: '', province: '', forum: '' });
	const [shown, setShown] = useState(f);
	const [items, setItems] = useState(null);
	const [error, setError] = useState(null);
	const [tick, setTick] = useState(0);
	const set = (name) => (v) => setF((old) => ({ ...old, [name]: v }));
	useEffect(() => {
		let current = true;
		api.accounts(shown).then((x) => current && (setItems(x), setError(null)), (err) => current && setError(err));
		return () => {
			current = false;
		};
	}, [shown, tick, changes]);
	function search(e) {
		e.preventDefault();
		setShown({ ...f, q: f.q.trim() });
	}
	return html`<section aria-labelledby="page-title">
		<h1 id="page-title">${t('accounts.title')}</h1>
		<p class="hint">${t('accounts.intro')}</p>
		<form class="card filters" onSubmit=${search} role="search">
			<${TextField} name="q" label=${t('accounts.q')} hint=${t('accounts.q_hint')} value=${f.q} onInput=${set('q')} />
			<${SelectField} name="role" label=${t('account.role')} value=${f.role} onChange=${set('role')}
				options=${[{ value: '', label: t('common.all') }].concat(['village', 'supplier', 'moderator', 'admin'].map((r) => ({ value: r, label: t('role.' + r) })))} />
			<${SelectField} name="province" label=${t('account.province')} value=${f.province} onChange=${set('province')}
				options=${[{ value: '', label: t('common.all') }].concat(catalog.provinces.map((p) => ({ value: p.code, label: p.name })))} />
			<${TextField} name="forum" label=${t('accounts.forum')} value=${f.forum} onInput=${set('forum')} />
			<button type="submit" class="button">${t('accounts.search')}</button>
		</form>
		<${CsvLink} path="/v1/accounts" params=${shown} />
		${error && html`<${Notice} error=${error} />`}
		${!items && !error && html`<p class="muted">${t('common.loading')}</p>`}
		${items && !items.length && html`<p class="muted" data-testid="accounts-empty">${t('accounts.none')}</p>`}
		${items && items.length > 0 && html`<ul class="accounts">
			${items.map((a) => html`<${AccountRow} key=${a.id} account=${a} onChanged=${() => setTick((n) => n + 1)} />`)}
		</ul>`}
	</section>`;
}
