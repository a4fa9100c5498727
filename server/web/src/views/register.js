// views/register.js — a moderator registers villages and suppliers of its
// provinces (an admin: moderators too, with their scope), issues each its
// access code, and prints the sign-in card: name, code as text and QR code,
// the server's address. The code is shown on this page only, never stored.
import { useState } from 'preact/hooks';
import qrcode from 'qrcode-generator';
import { api, newKey } from '../api.js';
import { t } from '../i18n.js';
import { html, ErrorSummary, SelectField, TextField } from './common.js';

function emptyForm(me) {
	const own = me.role === 'moderator' && me.scope && me.scope.provinces && me.scope.provinces[0];
	return { role: 'village', name: '', province: own || (me.province && me.province.code) || '', commune: '', phone: '', email: '', address: '', scope_provinces: '', forums: '' };
}

const splitList = (s) => s.split(/[,;\n]/).map((x) => x.trim()).filter(Boolean);

function toBody(f) {
	const body = { role: f.role, name: f.name.trim() };
	if (f.province) body.province = f.province;
	if (f.commune.trim()) body.commune = f.commune.trim();
	const contact = {};
	if (f.phone.trim()) contact.phone = f.phone.trim();
	if (f.email.trim()) contact.email = f.email.trim();
	if (f.address.trim()) contact.address = f.address.trim();
	if (Object.keys(contact).length) body.contact = contact;
	if (f.role === 'moderator') body.scope = { provinces: f.scope_provinces ? [f.scope_provinces] : [], forums: splitList(f.forums) };
	return body;
}

export function Register({ me, catalog }) {
	const [f, setF] = useState(() => emptyForm(me));
	const [error, setError] = useState(null);
	const [busy, setBusy] = useState(false);
	const [key, setKey] = useState(newKey);
	const [card, setCard] = useState(null);
	const set = (name) => (v) => setF((old) => ({ ...old, [name]: v }));
	const fe = (name) => error && error.fields[name];
	const labels = {
		role: t('account.role'), name: t('account.name'), province: t('account.province'), commune: t('account.commune'),
		'contact.phone': t('account.phone'), 'contact.email': t('account.email'), 'contact.address': t('account.address'),
		scope: t('account.scope_provinces'), 'scope.provinces': t('account.scope_provinces'), 'scope.forums': t('account.scope_forums'),
	};
	const roles = ['village', 'supplier'].concat(me.role === 'admin' ? ['moderator'] : []);
	const provinces = me.role === 'moderator' && me.scope && me.scope.provinces && me.scope.provinces.length
		? catalog.provinces.filter((p) => me.scope.provinces.includes(p.code)) : catalog.provinces;

	async function submit(e) {
		e.preventDefault();
		setBusy(true);
		setError(null);
		try {
			const account = await api.createAccount(toBody(f), key);
			const token = await api.issueToken(account.id, t('card.token_label'));
			setCard({ account, code: token.token });
			setF(emptyForm(me));
			setKey(newKey());
		} catch (err) {
			setError(err);
		} finally {
			setBusy(false);
		}
	}

	if (card) return html`<${SignInCard} card=${card} onDone=${() => setCard(null)} />`;
	return html`<section aria-labelledby="page-title">
		<h1 id="page-title">${t('register.title')}</h1>
		<p class="hint">${t('register.intro')}</p>
		<div class="card">
			<${ErrorSummary} error=${error} labels=${labels} />
			<form onSubmit=${submit} novalidate>
				<${SelectField} name="role" label=${labels.role} error=${fe('role')} value=${f.role} onChange=${set('role')}
					options=${roles.map((r) => ({ value: r, label: t('role.' + r) }))} />
				<${TextField} name="name" label=${labels.name} hint=${t('register.name_hint')} error=${fe('name')} value=${f.name} onInput=${set('name')} autocomplete="off" />
				<${SelectField} name="province" label=${labels.province} error=${fe('province')} value=${f.province} onChange=${set('province')}
					options=${[{ value: '', label: t('common.choose') }].concat(provinces.map((p) => ({ value: p.code, label: p.name })))} />
				<${TextField} name="commune" label=${labels.commune} error=${fe('commune')} value=${f.commune} onInput=${set('commune')} />
				<${TextField} name="contact.phone" label=${labels['contact.phone']} error=${fe('contact.phone')} value=${f.phone} onInput=${set('phone')} type="tel" autocomplete="off" />
				<${TextField} name="contact.email" label=${labels['contact.email']} error=${fe('contact.email')} value=${f.email} onInput=${set('email')} type="email" autocomplete="off" />
				<${TextField} name="contact.address" label=${labels['contact.address']} error=${fe('contact.address')} value=${f.address} onInput=${set('address')} />
				${f.role === 'moderator' && html`
					<${SelectField} name="scope.provinces" label=${labels['scope.provinces']} error=${fe('scope.provinces') || fe('scope')} value=${f.scope_provinces} onChange=${set('scope_provinces')}
						options=${[{ value: '', label: t('common.none') }].concat(catalog.provinces.map((p) => ({ value: p.code, label: p.name })))} />
					<${TextField} name="scope.forums" label=${labels['scope.forums']} hint=${t('register.forums_hint')} error=${fe('scope.forums')} value=${f.forums} onInput=${set('forums')} />`}
				<button type="submit" class="button" disabled=${busy}>${t('register.submit')}</button>
			</form>
		</div>
	</section>`;
}

// The card to hand over: printed on paper (print CSS shows only the card).
export function SignInCard({ card, onDone }) {
	const qr = qrcode(0, 'M');
	qr.addData(card.code);
	qr.make();
	const src = qr.createDataURL(6, 2);
	const address = window.location.origin;
	return html`<section aria-labelledby="card-title">
		<p class="notice no-print" role="status">${t('card.created', { name: card.account.name })}</p>
		<article class="signin-card" data-testid="signin-card" lang="vi">
			<h1 id="card-title">${t('card.title', undefined, 'vi')}</h1>
			<p class="signin-card__name">${card.account.name}</p>
			<p class="signin-card__role">${t('role.' + card.account.role, undefined, 'vi')}${card.account.province ? ' · ' + card.account.province.name : ''}</p>
			<img class="signin-card__qr" src=${src} alt=${t('card.qr_alt', undefined, 'vi')} width="180" height="180" />
			<dl>
				<div><dt>${t('card.address', undefined, 'vi')}</dt><dd class="signin-card__address">${address}</dd></div>
				<div><dt>${t('card.code', undefined, 'vi')}</dt><dd><code class="signin-card__code" data-testid="card-code">${card.code}</code></dd></div>
			</dl>
			<p class="signin-card__how">${t('card.how', undefined, 'vi')}</p>
			<p class="signin-card__keep">${t('card.keep', undefined, 'vi')}</p>
		</article>
		<div class="actions no-print">
			<button type="button" class="button" onClick=${() => window.print()}>${t('card.print')}</button>
			<button type="button" class="button button--secondary" onClick=${onDone}>${t('card.done')}</button>
		</div>
	</section>`;
}
