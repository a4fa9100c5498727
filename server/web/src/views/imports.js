// views/imports.js — "Nhập từ bảng tính": a registration sheet in. Pick
// what the sheet holds (the kinds the role may import) and the forum, get the
// template, choose the file, check it (a dry run: every row's errors, nothing
// written), then import it and watch the progress the status resource shows.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { formatNumber } from '../format.js';
import { getLang, t } from '../i18n.js';
import { html, Notice, SelectField, TextField } from './common.js';

// What each role may import: exactly what it could post row by row.
const KINDS = { admin: ['accounts'], moderator: ['accounts'], village: ['needs'], supplier: ['offers'] };
const POLL_MS = 1000;

function RowErrors({ errors }) {
	const vi = getLang() === 'vi';
	return html`<div class="table-scroll" tabindex="0" role="region" aria-label=${t('import.errors')}>
		<table class="batch__table" data-testid="import-errors">
			<thead><tr>
				<th scope="col">${t('import.row')}</th>
				<th scope="col">${t('import.column')}</th>
				<th scope="col">${t('import.problem')}</th>
			</tr></thead>
			<tbody>${errors.map((e) => html`<tr>
				<td class="num">${e.row}</td>
				<td>${e.column || ''}</td>
				<td>${vi ? e.message_vi : e.message}<br /><span class="muted">${vi ? e.message : e.message_vi}</span></td>
			</tr>`)}</tbody>
		</table>
	</div>`;
}

function Progress({ job }) {
	const r = job.rows;
	return html`<div class="card import-progress" data-testid="import-progress" role="status">
		<p><strong>${t('import.status.' + job.status)}</strong></p>
		<progress aria-label=${t('import.title')} max=${r.total || 1} value=${r.done}>${r.done} / ${r.total}</progress>
		<p>${t('import.counts', { done: formatNumber(r.done), total: formatNumber(r.total),
			created: formatNumber(r.created), skipped: formatNumber(r.skipped), failed: formatNumber(r.failed) })}</p>
		${job.status === 'interrupted' && html`<p class="hint" data-testid="import-interrupted">${t('import.interrupted_hint')}</p>`}
	</div>`;
}

export function ImportPage({ me }) {
	const kinds = KINDS[me.role] || [];
	const [kind, setKind] = useState(kinds[0]);
	const [forum, setForum] = useState('');
	const [file, setFile] = useState(null);
	const [dry, setDry] = useState(null);
	const [job, setJob] = useState(null);
	const [failed, setFailed] = useState([]);
	const [error, setError] = useState(null);
	const [busy, setBusy] = useState(false);
	const timer = useRef(null);
	useEffect(() => () => clearTimeout(timer.current), []);

	// The failed rows' errors once the import is done (every page of results).
	async function collectFailed(id) {
		const out = [];
		let offset = 0;
		while (offset !== null && offset !== undefined) {
			const page = await api.importStatus(id, offset);
			for (const r of page.results) if (r.outcome === 'failed') out.push(...(r.errors || []));
			offset = page.next_offset;
		}
		setFailed(out);
	}

	function poll(id) {
		api.importStatus(id, 0).then((view) => {
			setJob(view);
			// Interrupted: the node that ran it stopped; polling on would wait
			// for nothing, sending the file again finishes it.
			if (view.status === 'done' || view.status === 'interrupted') collectFailed(id).catch(setError);
			else timer.current = setTimeout(() => poll(id), POLL_MS);
		}, setError);
	}

	async function send(dryRun) {
		if (!file) return;
		setBusy(true);
		setError(null);
		setFailed([]);
		clearTimeout(timer.current);
		try {
			const data = await api.importSheet(kind, forum.trim(), dryRun, file);
			if (dryRun) {
				setDry(data);
				setJob(null);
			} else {
				setDry(null);
				setJob(data);
				poll(data.id);
			}
		} catch (err) {
			setError(err);
		} finally {
			setBusy(false);
		}
	}

	return html`<section aria-labelledby="page-title">
		<h1 id="page-title">${t('import.title')}</h1>
		<p class="hint">${t('import.intro')}</p>
		<form class="card" onSubmit=${(e) => { e.preventDefault(); send(true); }}>
			<${SelectField} name="kind" label=${t('import.kind')} value=${kind} onChange=${setKind}
				options=${kinds.map((k) => ({ value: k, label: t('import.kind.' + k) }))} />
			<p><a href=${api.importTemplate(kind)} download data-testid="import-template">${t('import.template')}</a></p>
			<${TextField} name="forum" label=${t('import.forum')} hint=${t('import.forum_hint')} value=${forum} onInput=${setForum} />
			<div class="field">
				<label for="f-sheet">${t('import.file')}</label>
				<input id="f-sheet" name="sheet" type="file" accept=".csv,text/csv"
					onChange=${(e) => { setFile(e.currentTarget.files[0] || null); setDry(null); setJob(null); }} />
			</div>
			<div class="actions">
				<button type="submit" class="button button--secondary" disabled=${busy || !file}>${t('import.check')}</button>
				<button type="button" class="button" disabled=${busy || !file || (dry && dry.rows.valid === 0)}
					onClick=${() => send(false)}>${t('import.run')}</button>
			</div>
		</form>
		${error && html`<${Notice} error=${error} />`}
		${error && error.errors.length > 0 && html`<ul class="notice">${error.errors.map((e) => html`<li>${e.field}: ${e.message}</li>`)}</ul>`}
		${dry && html`<div class="card" data-testid="import-dry">
			<p>${t('import.dry_counts', { total: formatNumber(dry.rows.total), valid: formatNumber(dry.rows.valid), failed: formatNumber(dry.rows.failed) })}</p>
			${dry.errors.length > 0 && html`<${RowErrors} errors=${dry.errors} />`}
		</div>`}
		${job && html`<${Progress} job=${job} />`}
		${failed.length > 0 && html`<${RowErrors} errors=${failed} />`}
	</section>`;
}
