// i18n.js — the app's words: every string shown comes from i18n/vi.json
// (Vietnamese, the default) or i18n/en.json, looked up by a key that says what
// it means. t('key', {name}) fills {name} placeholders. The chosen language
// is remembered in localStorage (only that: never a code or a session).
import vi from './i18n/vi.json';
import en from './i18n/en.json';

const TABLES = { vi, en };
const STORE = 'craftmatch.lang';
let lang = 'vi';
try {
	const saved = localStorage.getItem(STORE);
	if (saved && TABLES[saved]) lang = saved;
} catch (e) {
	/* storage may be off: Vietnamese then */
}

export const languages = Object.keys(TABLES);
export const getLang = () => lang;

export function setLang(next) {
	if (!TABLES[next]) return;
	lang = next;
	document.documentElement.lang = next;
	try {
		localStorage.setItem(STORE, next);
	} catch (e) {
		/* not remembered, still switched */
	}
}

// `inLang` forces a language (the sign-in card is always in Vietnamese).
export function t(key, params, inLang) {
	let s = TABLES[inLang || lang][key];
	if (s === undefined) s = TABLES.vi[key];
	if (s === undefined) return key;
	if (params) s = s.replace(/\{(\w+)\}/g, (m, k) => (params[k] === undefined ? m : String(params[k])));
	return s;
}

// The locale for dates in the chosen language; numbers and money are always
// written the Vietnamese way (2.400.000 ₫), as the people using them write them.
export const dateLocale = () => (lang === 'vi' ? 'vi-VN' : 'en-GB');
