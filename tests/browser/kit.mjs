// kit.mjs — what the browser suite's scenarios share: the settings from
// test_browser.py's environment, the API for set-up and checks, the browser
// (one Chromium for the run), a person (a context of their own), sign-in,
// screenshots with axe-core, and polling. See suite.mjs for the run.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
export const URL_ = process.env.CM_URL;
export const ADMIN = process.env.CM_ADMIN_TOKEN;
export const ARTIFACTS = process.env.CM_BROWSER_ARTIFACTS || path.resolve('browser-artifacts');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
export const WAIT = 20000; // ms for anything the server or the engine does

if (!URL_ || !ADMIN) {
	console.error('suite.mjs: CM_URL and CM_ADMIN_TOKEN must be set (test_browser.py sets them)');
	process.exit(2);
}
fs.mkdirSync(ARTIFACTS, { recursive: true });

// ---- the API, for set-up and for checking what the forms did ---------------

export async function apiCall(method, p, body, { token = ADMIN, headers = {} } = {}) {
	const h = { ...headers };
	if (token) h.Authorization = 'Bearer ' + token;
	if (body !== undefined) h['Content-Type'] = 'application/json';
	const r = await fetch(URL_ + p, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
	const text = await r.text();
	let data = null;
	try {
		data = text ? JSON.parse(text) : null;
	} catch (e) {
		data = text;
	}
	return { status: r.status, data, headers: r.headers };
}

export async function apiOk(method, p, body, opts) {
	const r = await apiCall(method, p, body, opts);
	assert.ok(r.status >= 200 && r.status < 300, `${method} ${p} answered ${r.status}: ${JSON.stringify(r.data)}`);
	return r.data;
}

// A date in Vietnam `days` from today, as YYYY-MM-DD.
export function vnDay(days) {
	const d = new Date(Date.now() + days * 86400000);
	return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Ho_Chi_Minh', year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
}

// ---- the browser ------------------------------------------------------------

export const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
	'--disable-background-networking', '--disable-component-update', '--disable-sync',
	'--disable-dev-shm-usage', '--lang=vi-VN'];

// playwright-core gives the browser a fresh user-data-dir of its own (a new
// temporary folder, removed at close) and each context a fresh profile.
export const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS });

export const cspViolations = [];
export const pageErrors = [];

// A new browser context (its own cookies: one person) and its page.
export async function person(label, device) {
	const ctx = await browser.newContext({
		baseURL: URL_,
		locale: 'vi-VN',
		timezoneId: 'Asia/Ho_Chi_Minh',
		...(device === 'phone'
			? { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true }
			: { viewport: { width: 1280, height: 900 } }),
	});
	const page = await ctx.newPage();
	page.setDefaultTimeout(WAIT);
	page.on('console', (m) => {
		if (/Content Security Policy/i.test(m.text())) cspViolations.push(`${label}: ${m.text()}`);
	});
	page.on('pageerror', (e) => pageErrors.push(`${label}: ${e.message}`));
	const dialogs = [];
	page.on('dialog', (d) => {
		dialogs.push(d.message());
		d.accept();
	});
	return { label, ctx, page, device, dialogs };
}

// axe-core, evaluated in the page (CDP evaluation is not subject to the CSP):
// no serious or critical violation.
export const axeReport = [];
export async function checkA11y(page, name) {
	await page.evaluate(AXE);
	const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
	const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
	axeReport.push({ page: name, violations: result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length })) });
	assert.deepEqual(bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`), [],
		`axe found serious or critical violations on ${name}`);
}

// A screenshot of the whole page under the artefacts folder, and axe on it.
export async function shot(p, name, { a11y = true } = {}) {
	const file = path.join(ARTIFACTS, `${p.device}-${name}.png`);
	await p.page.screenshot({ path: file, fullPage: true });
	if (a11y) await checkA11y(p.page, `${p.device}-${name}`);
}

export async function signIn(p, code) {
	await p.page.goto('/');
	await p.page.getByLabel('Mã truy cập').fill(code);
	await p.page.getByRole('button', { name: 'Đăng nhập' }).click();
	await p.page.getByRole('navigation').waitFor();
}

export const live = (p) => p.page.locator('[data-testid=live]', { hasText: 'Đang cập nhật trực tiếp' }).waitFor();

export async function selectByLabel(page, label, value) {
	await page.getByLabel(label, { exact: true }).selectOption(value);
}

// Registers a village or supplier through the moderator's form; returns the
// code read from the sign-in card.
export async function register(mod, role, name, phone, province, shotName) {
	const page = mod.page;
	await page.goto('/#/register');
	await page.getByRole('heading', { name: 'Đăng ký thành viên' }).waitFor();
	await selectByLabel(page, 'Vai trò', role);
	await page.getByLabel('Tên', { exact: true }).fill(name);
	await selectByLabel(page, 'Tỉnh, thành phố', province);
	await page.getByLabel('Xã, phường').fill(role === 'village' ? 'Bát Tràng' : 'Long Biên');
	await page.getByLabel('Điện thoại').fill(phone);
	if (shotName) await shot(mod, shotName);
	await page.getByRole('button', { name: 'Đăng ký và cấp mã' }).click();
	const card = page.locator('[data-testid=signin-card]');
	await card.waitFor();
	assert.match(await card.innerText(), new RegExp(name));
	assert.match(await card.locator('.signin-card__address').innerText(), new RegExp(URL_.replace(/[.]/g, '\\.')));
	const qr = card.locator('img.signin-card__qr');
	assert.match(await qr.getAttribute('src'), /^data:image\/gif;base64,/);
	assert.ok(await qr.evaluate((img) => img.complete && img.naturalWidth > 20), 'the QR code image did not load');
	const code = (await card.locator('[data-testid=card-code]').innerText()).trim();
	assert.match(code, /^cm_/);
	return code;
}

// ---- the scenario -------------------------------------------------------------

// Polls fn (every 200 ms, up to WAIT) until it returns something truthy.
export async function waitFor(fn, message) {
	const end = Date.now() + WAIT;
	for (;;) {
		const v = await fn();
		if (v) return v;
		assert.ok(Date.now() < end, message);
		await new Promise((r) => setTimeout(r, 200));
	}
}

// True when the element's box lies inside the container's box.
export async function inside(page, el, container) {
	const [a, b] = await Promise.all([el.boundingBox(), container.boundingBox()]);
	return !!(a && b && a.x >= b.x - 1 && a.y >= b.y - 1 && a.x + a.width <= b.x + b.width + 1 && a.y + a.height <= b.y + b.height + 1);
}

