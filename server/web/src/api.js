// api.js — the one module that speaks to craftmatchd: every request (fetch,
// same origin, the session cookie, the X-Craftmatch header the server's CSRF
// check asks for) and the live event stream (a single-use stream ticket, then
// EventSource, resumed from the last event id). Nothing else in the app calls
// fetch or EventSource.

const HEADERS = { 'X-Craftmatch': '1', Accept: 'application/json, application/problem+json' };

// A failed request: `status` (0 when the server could not be reached), the
// problem+json `type`, its `detail`, and `fields`, the messages of
// `errors[].field` by field name.
export class ApiError extends Error {
	constructor(status, problem) {
		super((problem && (problem.detail || problem.title)) || 'HTTP ' + status);
		this.status = status;
		this.type = (problem && problem.type) || '';
		this.detail = (problem && problem.detail) || '';
		this.fields = {};
		// every {field, message}, as sent (a refused batch names each match)
		this.errors = ((problem && problem.errors) || []).filter((e) => e && e.field);
		for (const e of (problem && problem.errors) || []) {
			if (e && e.field && !(e.field in this.fields)) this.fields[e.field] = e.message;
		}
	}
}

// A random key for Idempotency-Key: one per intended write, kept for retries.
// crypto.getRandomValues works on plain http too (randomUUID does not).
export function newKey() {
	const b = new Uint8Array(16);
	crypto.getRandomValues(b);
	return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

// One request. Resolves to {status, data, etag}; rejects with ApiError.
export async function request(method, path, body, opts = {}) {
	const headers = { ...HEADERS };
	if (opts.raw) headers['Content-Type'] = opts.raw;
	else if (body !== undefined) headers['Content-Type'] = 'application/json';
	if (opts.ifMatch) headers['If-Match'] = opts.ifMatch;
	if (opts.key) headers['Idempotency-Key'] = opts.key;
	let r;
	try {
		r = await fetch(path, {
			method,
			headers,
			credentials: 'same-origin',
			cache: 'no-store',
			body: body === undefined || opts.raw ? body : JSON.stringify(body),
		});
	} catch (e) {
		throw new ApiError(0, { type: 'network', detail: String(e && e.message) });
	}
	let data = null;
	const type = r.headers.get('Content-Type') || '';
	if (type.includes('json')) {
		try {
			data = await r.json();
		} catch (e) {
			data = null;
		}
	}
	if (!r.ok) throw new ApiError(r.status, data);
	return { status: r.status, data, etag: r.headers.get('ETag') };
}

const get = (path) => request('GET', path).then((r) => r.data);
const query = (params) => {
	const q = new URLSearchParams();
	for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== '') q.set(k, v);
	const s = q.toString();
	return s ? '?' + s : '';
};

// Every page of a paged search (bounded: a view shows at most `max` items).
async function all(path, params, max = 200) {
	const items = [];
	let cursor = null;
	for (let pages = 0; pages < 50; pages++) {
		const page = await get(path + query({ ...params, limit: 100, cursor }));
		items.push(...page.items);
		cursor = page.next_cursor;
		if (!cursor || items.length >= max) break;
	}
	return items.slice(0, max);
}

// The address of a list's CSV export for these filters: every item, as a
// file the browser downloads (a plain GET with the session cookie), with the
// byte order mark and Vietnamese headers that Excel needs (docs/api.md).
export const csvUrl = (path, params) => path + query({ ...params, format: 'csv', bom: 1, headers: 'vi' });

export const api = {
	signIn: (code) => request('POST', '/v1/sessions', { code }).then((r) => r.data),
	signOut: () => request('DELETE', '/v1/sessions/current'),
	me: () => get('/v1/me'),
	materials: () => get('/v1/materials'),
	provinces: () => get('/v1/provinces'),
	listings: (params) => all('/v1/listings', params),
	listing: (id) => request('GET', '/v1/listings/' + encodeURIComponent(id)),
	post: (kind, body, key) => request('POST', kind === 'need' ? '/v1/needs' : '/v1/offers', body, { key }).then((r) => r.data),
	patch: (id, body, etag) => request('PATCH', '/v1/listings/' + encodeURIComponent(id), body, { ifMatch: etag }).then((r) => r.data),
	close: (id) => request('DELETE', '/v1/listings/' + encodeURIComponent(id)),
	matches: (params) => all('/v1/matches', params),
	stats: (params) => get('/v1/stats' + query(params)),
	match: (id) => get('/v1/matches/' + encodeURIComponent(id)),
	act: (id, action, body, key) =>
		request('POST', '/v1/matches/' + encodeURIComponent(id) + '/' + action, body, { key }).then((r) => r.data),
	createAccount: (body, key) => request('POST', '/v1/accounts', body, { key }).then((r) => r.data),
	issueToken: (accountId, name) => request('POST', '/v1/tokens', { account_id: accountId, name }).then((r) => r.data),
	forums: (params) => all('/v1/forums', params),
	// A spreadsheet (a File: its bytes as they are) of kind; dryRun answers every
	// row's errors and writes nothing, else the import's status resource comes back.
	importSheet: (kind, forum, dryRun, file) =>
		request('POST', '/v1/imports' + query({ kind, forum, dry_run: dryRun ? '1' : '' }), file, { raw: 'text/csv' }).then((r) => r.data),
	importStatus: (id, offset) => get('/v1/imports/' + encodeURIComponent(id) + query({ offset, limit: 1000 })),
	importTemplate: (kind) => '/v1/imports/template' + query({ kind }),
	accounts: (params) => all('/v1/accounts', params),
	patchAccount: (id, body, etag) => request('PATCH', '/v1/accounts/' + encodeURIComponent(id), body, { ifMatch: etag }).then((r) => r.data),
	reputation: (id) => get('/v1/accounts/' + encodeURIComponent(id) + '/reputation'),
	tokens: (accountId) => get('/v1/tokens' + query({ account_id: accountId })),
	revokeToken: (id) => request('DELETE', '/v1/tokens/' + encodeURIComponent(id)),
	createForum: (body, key) => request('POST', '/v1/forums', body, { key }).then((r) => r.data),
	// open, close-registration, close or cancel, from the version shown (If-Match).
	forumAct: (id, action, version, key) =>
		request('POST', '/v1/forums/' + encodeURIComponent(id) + '/' + action, undefined, { ifMatch: '"' + version + '"', key })
			.then((r) => r.data),
	// The clearing's batch, and its review as one: approve or reject (with a
	// reason) the selected matches, or every proposed one when none is named.
	forumBatch: (id) => get('/v1/forums/' + encodeURIComponent(id) + '/batch'),
	forumReview: (id, action, body, key) =>
		request('POST', '/v1/forums/' + encodeURIComponent(id) + '/' + action + '-batch', body, { key }).then((r) => r.data),
};

// The live event stream. `onEvent(event)` gets each event's parsed data (with
// `type`); `onState(live)` is told whether the stream is open. A new ticket is
// asked for on every (re)connection, since a ticket works once; the last id
// seen is passed on so nothing is missed. Returns a function that stops it.
export function openStream(onEvent, onState) {
	let es = null;
	let lastId = '';
	let stopped = false;
	let timer = null;
	let delay = 1000;

	const seen = (e) => {
		if (e.lastEventId) lastId = e.lastEventId;
	};
	const handle = (e) => {
		seen(e);
		let data = {};
		try {
			data = JSON.parse(e.data);
		} catch (err) {
			data = {};
		}
		if (!data.type) data.type = e.type;
		onEvent(data);
	};
	const retry = () => {
		onState(false);
		if (es) es.close();
		es = null;
		if (stopped) return;
		clearTimeout(timer);
		timer = setTimeout(connect, delay);
		delay = Math.min(delay * 2, 30000);
	};

	async function connect() {
		if (stopped) return;
		let ticket;
		try {
			ticket = (await request('POST', '/v1/stream-tickets')).data.ticket;
		} catch (e) {
			if (e.status === 401) {
				stopped = true;
				onState(false);
				onEvent({ type: 'session.ended' });
				return;
			}
			retry();
			return;
		}
		if (stopped) return;
		const q = new URLSearchParams({ ticket });
		if (lastId) q.set('last_event_id', lastId);
		es = new EventSource('/v1/events?' + q);
		es.addEventListener('ready', (e) => {
			seen(e);
			delay = 1000;
			onState(true);
		});
		for (const type of EVENT_TYPES) es.addEventListener(type, handle);
		es.addEventListener('reset', handle);
		es.onerror = retry;
	}

	connect();
	return () => {
		stopped = true;
		clearTimeout(timer);
		if (es) es.close();
		onState(false);
	};
}

// The event types the views react to (docs/openapi.yaml lists them all).
const EVENT_TYPES = [
	'listing.created', 'listing.updated', 'listing.closed', 'listing.expired', 'listing.filled',
	'match.proposed', 'match.approved', 'match.rejected', 'match.accepted', 'match.declined',
	'match.confirmed', 'match.fulfilled', 'match.cancelled', 'match.expired',
	'token.revoked', 'account.created',
	'forum.created', 'forum.updated', 'forum.open', 'forum.clearing', 'forum.review', 'forum.closed', 'forum.cancelled',
];
