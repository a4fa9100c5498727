// main.js — the app's shell: who is signed in, the catalogue (materials and
// provinces), the forums the account may see, the page chosen by the
// address's #fragment, the pages each role may use, the live stream, and the
// language switch.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, openStream } from './api.js';
import { getLang, languages, setLang, t } from './i18n.js';
import { html, Forums, Notice } from './views/common.js';
import { ForumsPage } from './views/forums.js';
import { SignIn } from './views/signin.js';
import { MyListings, ScopeListings } from './views/listings.js';
import { MyMatches, ReviewQueue } from './views/matches.js';
import { Register } from './views/register.js';
import { AccountsPage } from './views/accounts.js';
import { ImportPage } from './views/imports.js';

// The pages of each role, in menu order; the first is its home. A role is
// offered nothing else.
const PAGES = {
	village: ['needs', 'matches', 'map', 'stats', 'import'],
	supplier: ['offers', 'matches', 'map', 'stats', 'import'],
	moderator: ['queue', 'listings', 'forums', 'map', 'stats', 'register', 'accounts', 'import'],
	admin: ['queue', 'listings', 'forums', 'map', 'stats', 'register', 'accounts', 'import'],
};

const pageFromHash = () => (window.location.hash.replace(/^#\/?/, '').split('/')[0] || '');

function useHashPage() {
	const [page, setPage] = useState(pageFromHash);
	useEffect(() => {
		const on = () => setPage(pageFromHash());
		window.addEventListener('hashchange', on);
		return () => window.removeEventListener('hashchange', on);
	}, []);
	return page;
}

// The map and the statistics (Leaflet, the outlines, Chart.js) are loaded
// when first shown, not with the app.
function lazy(load) {
	return function Lazy(props) {
		const [View, setView] = useState(null);
		const [error, setError] = useState(null);
		useEffect(() => {
			load().then((v) => setView(() => v), () => setError({ status: 0 }));
		}, []);
		if (error) return html`<${Notice} error=${error} />`;
		return View ? html`<${View} ...${props} />` : html`<p class="muted">${t('common.loading')}</p>`;
	};
}
const LazyMap = lazy(() => import('./views/map.js').then((m) => m.MapView));
const LazyStats = lazy(() => import('./views/stats.js').then((m) => m.StatsPage));

// The forums the signed-in account may see, by id, reloaded with every change
// the stream reports (an action's result, someone else's forum opening) and
// on every change of page: a village or supplier hears only of the forums
// its account was registered for.
function useForumList(me, changes, page) {
	const [state, setState] = useState({ byId: {}, loaded: false, error: null });
	const [tick, setTick] = useState(0);
	useEffect(() => {
		if (!me) return undefined;
		let current = true;
		api.forums({}).then(
			(list) => current && setState({ byId: Object.fromEntries(list.map((f) => [f.id, f])), loaded: true, error: null }),
			(error) => current && setState((old) => ({ ...old, loaded: true, error })),
		);
		return () => {
			current = false;
		};
	}, [me && me.id, changes, tick, page]);
	return [state, () => setTick((n) => n + 1)];
}

async function loadCatalog() {
	const [m, p] = await Promise.all([api.materials(), api.provinces()]);
	const byCode = {};
	for (const x of m.materials) byCode[x.code] = x;
	return { materials: m.materials, provinces: p.provinces, byCode };
}

function App() {
	const [me, setMe] = useState(undefined); // undefined: not known yet; null: signed out
	const [ended, setEnded] = useState(false);
	const [catalog, setCatalog] = useState(null);
	const [error, setError] = useState(null);
	const [live, setLive] = useState(false);
	const [changes, setChanges] = useState(0);
	const [, setLangTick] = useState(0);
	const page = useHashPage();
	const [forums, reloadForums] = useForumList(me, changes, page);

	useEffect(() => {
		api.me().then(setMe, (err) => (err.status === 401 ? setMe(null) : setError(err)));
		loadCatalog().then(setCatalog, setError);
	}, []);

	// The live stream while signed in: any event about listings or matches
	// makes the shown page reload what it shows (a `reset` too).
	useEffect(() => {
		if (!me) return undefined;
		let timer = null;
		const stop = openStream((ev) => {
			if (ev.type === 'session.ended') {
				setEnded(true);
				setMe(null);
				return;
			}
			if (ev.type === 'token.revoked' || ev.type === 'account.suspended') {
				// One of this account's codes, or the account suspended: is this session still good?
				api.me().catch((err) => {
					if (err.status === 401) {
						setEnded(true);
						setMe(null);
					}
				});
				return;
			}
			clearTimeout(timer);
			timer = setTimeout(() => setChanges((n) => n + 1), 150);
		}, setLive);
		return () => {
			clearTimeout(timer);
			stop();
		};
	}, [me && me.id]);

	function switchLang() {
		const next = languages[(languages.indexOf(getLang()) + 1) % languages.length];
		setLang(next);
		setLangTick((n) => n + 1);
	}

	async function signOut() {
		try {
			await api.signOut();
		} catch (err) {
			/* the session is gone either way */
		}
		setEnded(false);
		setMe(null);
		window.location.hash = '';
	}

	const pages = me ? PAGES[me.role] || [] : [];
	const current = pages.includes(page) ? page : pages[0];
	useEffect(() => {
		document.title = (me && current ? t('nav.' + current) + ' · ' : '') + t('app.name');
	});

	let main;
	if (error && (!catalog || me === undefined)) main = html`<${Notice} error=${error} />`;
	else if (me === undefined || !catalog) main = html`<p class="muted">${t('common.loading')}</p>`;
	else if (me === null) main = html`<${SignIn} ended=${ended} onSignedIn=${(acc) => { setEnded(false); setMe(acc); window.location.hash = ''; }} />`;
	else {
		const props = { me, catalog, changes };
		main = {
			needs: () => html`<${MyListings} kind="need" ...${props} />`,
			offers: () => html`<${MyListings} kind="offer" ...${props} />`,
			matches: () => html`<${MyMatches} ...${props} />`,
			queue: () => html`<${ReviewQueue} ...${props} />`,
			listings: () => html`<${ScopeListings} ...${props} />`,
			register: () => html`<${Register} ...${props} />`,
			accounts: () => html`<${AccountsPage} ...${props} />`,
			import: () => html`<${ImportPage} ...${props} />`,
			map: () => html`<${LazyMap} ...${props} />`,
			stats: () => html`<${LazyStats} ...${props} />`,
			forums: () => html`<${ForumsPage} ...${props} forumsState=${forums} reloadForums=${reloadForums} />`,
		}[current]();
	}

	return html`
		<a class="skip-link" href="#main">${t('nav.skip')}</a>
		<header class="topbar">
			<div class="topbar__brand">
				<span class="topbar__name">${t('app.name')}</span>
				<span class="topbar__tagline">${t('app.tagline')}</span>
			</div>
			<div class="topbar__tools">
				${me && html`<span class=${'live ' + (live ? 'live--on' : 'live--off')} role="status" data-testid="live">${live ? t('live.on') : t('live.off')}</span>`}
				<button type="button" class="link-button" onClick=${switchLang} lang=${getLang() === 'vi' ? 'en' : 'vi'}>${t('lang.switch')}</button>
			</div>
		</header>
		${me && html`<nav class="menu" aria-label=${t('nav.label')}>
			<p class="menu__who"><span>${me.name}</span> <span class="muted">(${t('role.' + me.role)})</span></p>
			<ul>
				${pages.map((p) => html`<li><a href=${'#/' + p} aria-current=${p === current ? 'page' : undefined}>${t('nav.' + p)}</a></li>`)}
				<li><button type="button" class="link-button" onClick=${signOut}>${t('nav.sign_out')}</button></li>
			</ul>
		</nav>`}
		<main id="main" tabindex="-1"><${Forums.Provider} value=${forums.byId}>${main}<//></main>
		<footer class="footer"><p>${t('app.footer')}</p></footer>`;
}

setLang(getLang());
render(html`<${App} />`, document.getElementById('app'));
