// views/signin.js — signing in with the access code a moderator handed out:
// the code is exchanged for a session cookie and never kept by the app.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { t } from '../i18n.js';
import { html, ErrorSummary, TextField } from './common.js';

export function SignIn({ onSignedIn, ended }) {
	const [code, setCode] = useState('');
	const [error, setError] = useState(null);
	const [busy, setBusy] = useState(false);

	async function submit(e) {
		e.preventDefault();
		setBusy(true);
		setError(null);
		try {
			const session = await api.signIn(code.trim());
			setCode('');
			onSignedIn(session.account);
		} catch (err) {
			if (!Object.keys(err.fields).length) err.fields = { code: err.status === 0 ? t('error.network') : t('signin.bad_code') };
			setError(err);
		} finally {
			setBusy(false);
		}
	}

	return html`<section class="card signin" aria-labelledby="signin-title">
		<h1 id="signin-title">${t('signin.title')}</h1>
		<p>${t('signin.intro')}</p>
		${ended && html`<p class="notice" role="status">${t('signin.ended')}</p>`}
		<${ErrorSummary} error=${error} labels=${{ code: t('signin.code') }} />
		<form onSubmit=${submit} novalidate>
			<${TextField} name="code" label=${t('signin.code')} hint=${t('signin.code_hint')}
				error=${error && error.fields.code} value=${code} onInput=${setCode}
				autocomplete="off" autocapitalize="off" spellcheck="false" required />
			<button type="submit" class="button" disabled=${busy}>${t('signin.submit')}</button>
		</form>
	</section>`;
}
