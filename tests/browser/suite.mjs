// suite.mjs — the browser suite: the whole life of a match through the web
// app, each role in its own browser context, on a desktop and on a phone
// (390×844), down to the listings filled; the life of a forum (created and
// run by its moderator through the Forums page, a need held for it until it
// closes, then matched; a forum's batch reviewed as one); bad input through
// the forms; sign-out, a revoked code and a cross-origin request refused;
// axe-core on every page; a screenshot of every page. Run by test_browser.py, which starts Redis and
// craftmatchd and passes:
//   CM_URL                the server, e.g. http://127.0.0.1:34567
//   CM_ADMIN_TOKEN        a bootstrap admin's token (set-up through the API)
//   CM_BROWSER_ARTIFACTS  where the screenshots go
//   CM_SUITE_ONLY         (optional, by hand) run only the steps whose name
//                         holds this text
// Drives Debian's /usr/bin/chromium (or $CHROMIUM) headless; never downloads
// a browser. Prints "N passed, N failed" and exits non-zero on any failure.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const URL_ = process.env.CM_URL;
const ADMIN = process.env.CM_ADMIN_TOKEN;
const ARTIFACTS = process.env.CM_BROWSER_ARTIFACTS || path.resolve('browser-artifacts');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const WAIT = 20000; // ms for anything the server or the engine does

if (!URL_ || !ADMIN) {
	console.error('suite.mjs: CM_URL and CM_ADMIN_TOKEN must be set (test_browser.py sets them)');
	process.exit(2);
}
fs.mkdirSync(ARTIFACTS, { recursive: true });

// ---- the API, for set-up and for checking what the forms did ---------------

async function apiCall(method, p, body, { token = ADMIN, headers = {} } = {}) {
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

async function apiOk(method, p, body, opts) {
	const r = await apiCall(method, p, body, opts);
	assert.ok(r.status >= 200 && r.status < 300, `${method} ${p} answered ${r.status}: ${JSON.stringify(r.data)}`);
	return r.data;
}

// A date in Vietnam `days` from today, as YYYY-MM-DD.
function vnDay(days) {
	const d = new Date(Date.now() + days * 86400000);
	return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Ho_Chi_Minh', year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
}

// ---- the browser ------------------------------------------------------------

const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
	'--disable-background-networking', '--disable-component-update', '--disable-sync',
	'--disable-dev-shm-usage', '--lang=vi-VN'];

// playwright-core gives the browser a fresh user-data-dir of its own (a new
// temporary folder, removed at close) and each context a fresh profile.
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS });

const cspViolations = [];
const pageErrors = [];

// A new browser context (its own cookies: one person) and its page.
async function person(label, device) {
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
const axeReport = [];
async function checkA11y(page, name) {
	await page.evaluate(AXE);
	const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
	const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
	axeReport.push({ page: name, violations: result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length })) });
	assert.deepEqual(bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`), [],
		`axe found serious or critical violations on ${name}`);
}

// A screenshot of the whole page under the artefacts folder, and axe on it.
async function shot(p, name, { a11y = true } = {}) {
	const file = path.join(ARTIFACTS, `${p.device}-${name}.png`);
	await p.page.screenshot({ path: file, fullPage: true });
	if (a11y) await checkA11y(p.page, `${p.device}-${name}`);
}

async function signIn(p, code) {
	await p.page.goto('/');
	await p.page.getByLabel('Mã truy cập').fill(code);
	await p.page.getByRole('button', { name: 'Đăng nhập' }).click();
	await p.page.getByRole('navigation').waitFor();
}

const live = (p) => p.page.locator('[data-testid=live]', { hasText: 'Đang cập nhật trực tiếp' }).waitFor();

async function selectByLabel(page, label, value) {
	await page.getByLabel(label, { exact: true }).selectOption(value);
}

// Registers a village or supplier through the moderator's form; returns the
// code read from the sign-in card.
async function register(mod, role, name, phone, province, shotName) {
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

// The whole life of a match on one device. `m` is a material of its own and
// `prov` a province of its own, so the two lives never match each other's
// listings nor see each other's proposals.
async function life(device, m, prov) {
	const tag = device === 'phone' ? 'ĐT' : 'MT';
	// The admin makes a moderator for the province and its code (API set-up).
	const modAcc = await apiOk('POST', '/v1/accounts', {
		role: 'moderator', name: `Trung tâm Khuyến công ${prov.name} (${tag})`, province: prov.code,
		contact: { phone: '024 3382 4126' }, scope: { provinces: [prov.code], forums: [] },
	});
	const modCode = (await apiOk('POST', '/v1/tokens', { account_id: modAcc.id })).token;

	// Signing in, the app in Vietnamese.
	const mod = await person('moderator', device);
	await mod.page.goto('/');
	await mod.page.getByRole('heading', { name: 'Đăng nhập' }).waitFor();
	assert.equal(await mod.page.evaluate(() => document.documentElement.lang), 'vi');
	await shot(mod, '01-sign-in');
	await signIn(mod, modCode);
	await live(mod);
	await mod.page.locator('[data-testid=queue-empty]').waitFor();
	await shot(mod, '02-moderator-queue-empty');
	// Nothing a moderator may not do is offered: no needs or offers pages.
	const menu = await mod.page.getByRole('navigation').innerText();
	assert.doesNotMatch(menu, /Nhu cầu của tôi|Chào bán của tôi/);

	// The moderator registers a village and a supplier and prints their cards.
	const villageName = `Hợp tác xã Gốm sứ Bát Tràng ${tag}`;
	const supplierName = `Công ty Cao lanh Trúc Thôn ${tag}`;
	const villageCode = await register(mod, 'village', villageName, '0912 345 678', prov.code, '03-register-form');
	await shot(mod, '04-sign-in-card');
	await mod.page.emulateMedia({ media: 'print' });
	await mod.page.screenshot({ path: path.join(ARTIFACTS, `${device}-05-sign-in-card-print.png`), fullPage: true });
	assert.equal(await mod.page.locator('.topbar').isVisible(), false, 'the print style shows the header');
	assert.equal(await mod.page.locator('[data-testid=signin-card]').isVisible(), true);
	await mod.page.emulateMedia({ media: 'screen' });
	await mod.page.getByRole('button', { name: 'Xong, đăng ký người khác' }).click();
	const supplierCode = await register(mod, 'supplier', supplierName, '0987 654 321', prov.code);

	// The moderator waits on the review queue: it must fill WITHOUT a reload.
	await mod.page.goto('/#/queue');
	await mod.page.locator('[data-testid=queue-empty]').waitFor();
	await live(mod);
	await mod.page.evaluate(() => { window.__noReload = 'still here'; });

	// The village posts a need through the form: bad input first.
	const village = await person('village', device);
	await signIn(village, villageCode);
	await village.page.getByRole('heading', { name: 'Nhu cầu nguyên liệu của tôi' }).waitFor();
	const vmenu = await village.page.getByRole('navigation').innerText();
	assert.doesNotMatch(vmenu, /Hàng chờ duyệt|Đăng ký thành viên|Chào bán của tôi/);
	await village.page.getByRole('button', { name: 'Đăng nhu cầu mới' }).click();
	const vf = village.page;
	await selectByLabel(vf, 'Nguyên liệu', m.code);
	await vf.getByLabel('Số lượng').fill('12,5');
	await selectByLabel(vf, 'Đơn vị', 'tan');
	await vf.getByLabel(/^Giá tối đa/).fill('2.400.000');
	await vf.getByLabel('Cần trước ngày').fill(vnDay(-3));
	await vf.getByRole('button', { name: 'Đăng nhu cầu' }).click();
	const summary = vf.locator('.error-summary');
	await summary.waitFor();
	assert.match(await summary.innerText(), /Có lỗi cần sửa/);
	assert.match(await vf.locator('#f-quantity-error').innerText(), /decimal point|dấu/);
	assert.match(await vf.locator('#f-needed_by-error').innerText(), /future|tương lai/);
	assert.equal(await vf.locator('#f-quantity').getAttribute('aria-invalid'), 'true');
	assert.ok(await summary.evaluate((el) => el === document.activeElement), 'the error summary does not take the focus');
	await shot(village, '06-need-form-errors');
	const me = await apiOk('GET', '/v1/me', undefined, { token: villageCode });
	let mine = await apiOk('GET', `/v1/needs?owner=${me.id}&status=any`);
	assert.equal(mine.items.length, 0, 'bad input created a need');

	// Corrected, it is posted.
	await vf.getByLabel('Số lượng').fill('12.5');
	await vf.getByLabel('Cần trước ngày').fill(vnDay(20));
	await vf.getByLabel('Ghi chú').fill('Cao lanh làm xương gốm, giao tận bãi');
	await vf.getByRole('button', { name: 'Đăng nhu cầu' }).click();
	await vf.locator('[data-listing]').first().waitFor();
	const needText = await vf.locator('[data-listing]').first().innerText();
	assert.match(needText, /12,5 tấn/);
	assert.match(needText, /2\.400\.000\s₫/);
	await shot(village, '07-village-needs');
	mine = await apiOk('GET', `/v1/needs?owner=${me.id}&status=any`);
	assert.equal(mine.items.length, 1);

	// The supplier posts an offer.
	const supplier = await person('supplier', device);
	await signIn(supplier, supplierCode);
	await supplier.page.getByRole('heading', { name: 'Nguyên liệu tôi chào bán' }).waitFor();
	await supplier.page.getByRole('button', { name: 'Đăng chào bán mới' }).click();
	const sf = supplier.page;
	await selectByLabel(sf, 'Nguyên liệu', m.code);
	await selectByLabel(sf, 'Loại (phẩm cấp)', 'A');
	await sf.getByLabel('Số lượng').fill('12.5');
	await selectByLabel(sf, 'Đơn vị', 'tan');
	await sf.getByLabel(/^Giá bán/).fill('2100000');
	await sf.getByLabel('Còn hàng đến ngày').fill(vnDay(60));
	await shot(supplier, '08-offer-form');
	await sf.getByRole('button', { name: 'Đăng chào bán' }).click();
	await sf.locator('[data-listing]').first().waitFor();
	assert.match(await sf.locator('[data-listing]').first().innerText(), /2\.100\.000\s₫/);
	await shot(supplier, '09-supplier-offers');

	// The proposal appears in the moderator's queue, live.
	const proposal = mod.page.locator('[data-match]');
	await proposal.first().waitFor();
	assert.equal(await mod.page.evaluate(() => window.__noReload), 'still here', 'the queue page was reloaded');
	const ptext = await proposal.first().innerText();
	assert.match(ptext, /Tổng chi phí đến nơi/);
	assert.match(ptext, /Cước vận chuyển/);
	assert.match(ptext, new RegExp(villageName));
	assert.match(ptext, new RegExp(supplierName));
	await mod.page.locator('.side-by-side .listing-summary').nth(1).waitFor();
	await shot(mod, '10-review-queue');
	await mod.page.goto('/#/listings');
	await mod.page.locator('[data-listing]').first().waitFor();
	await shot(mod, '11-moderator-listings');
	await mapChecks(mod);
	await mod.page.goto('/#/queue');
	await proposal.first().waitFor();
	await mod.page.getByRole('button', { name: 'Duyệt' }).click();
	await mod.page.locator('[data-testid=queue-empty]').waitFor();

	// Both accept; the contact details appear only then.
	await village.page.goto('/#/matches');
	const vmatch = village.page.locator('[data-match]');
	await vmatch.first().waitFor();
	assert.match(await vmatch.first().innerText(), /Đã duyệt/);
	assert.equal(await village.page.locator('[data-testid=counterparty]').count(), 0, 'contacts shown before both accepted');
	await shot(village, '12-village-match-approved');
	await village.page.getByRole('button', { name: 'Đồng ý' }).click();
	await village.page.getByText('Bạn đã đồng ý; đang chờ bên kia.').waitFor();
	assert.equal(await village.page.locator('[data-testid=counterparty]').count(), 0, 'contacts shown after one accept');

	await supplier.page.goto('/#/matches');
	await supplier.page.locator('[data-match]').first().waitFor();
	await supplier.page.getByRole('button', { name: 'Đồng ý' }).click();
	const scontact = supplier.page.locator('[data-testid=counterparty]');
	await scontact.waitFor();
	assert.match(await scontact.innerText(), new RegExp(villageName));
	assert.match(await scontact.innerText(), /0912 345 678/);
	await shot(supplier, '13-supplier-match-confirmed');

	// The village's page learns of the confirmation live, then it fulfils.
	const vcontact = village.page.locator('[data-testid=counterparty]');
	await vcontact.waitFor();
	assert.match(await vcontact.innerText(), new RegExp(supplierName));
	assert.match(await vcontact.innerText(), /0987 654 321/);
	await shot(village, '14-village-match-confirmed');
	await village.page.getByRole('button', { name: 'Đã nhận hàng' }).click();
	await village.page.locator('[data-match] .badge--fulfilled').waitFor();
	await shot(village, '15-village-match-fulfilled');

	// The whole quantity was delivered: the need is filled, shown as such
	// under its own filter, and no longer among the open ones.
	const need = mine.items[0];
	assert.equal((await apiOk('GET', '/v1/listings/' + need.id)).status, 'filled');
	await village.page.goto('/#/needs');
	await village.page.getByText('Chưa có nhu cầu nào.').waitFor();
	await selectByLabel(village.page, 'Hiển thị', 'filled');
	const filled = village.page.locator(`[data-listing="${need.id}"]`);
	await filled.locator('.badge--filled', { hasText: 'Đã giao đủ' }).waitFor();
	await shot(village, '15b-village-need-filled');
	await village.page.goto('/#/matches');
	await village.page.locator('[data-match] .badge--fulfilled').waitFor();

	// The language switch: English, then back.
	await village.page.getByRole('button', { name: 'English' }).click();
	await village.page.getByRole('heading', { name: 'Matches' }).waitFor();
	assert.equal(await village.page.evaluate(() => document.documentElement.lang), 'en');
	await shot(village, '16-village-matches-english');
	await village.page.getByRole('button', { name: 'Tiếng Việt' }).click();
	await village.page.getByRole('heading', { name: 'Đề xuất ghép nối' }).waitFor();

	// Sign-out: back to the sign-in page, and the code is spent.
	await village.page.getByRole('button', { name: 'Đăng xuất' }).click();
	await village.page.getByRole('heading', { name: 'Đăng nhập' }).waitFor();
	// Its open page hears of it on the stream and signs out by itself.
	await village.page.getByRole('heading', { name: 'Đăng nhập' }).waitFor();
	await village.page.getByText('Bạn đã đăng xuất hoặc mã truy cập đã bị thu hồi.').waitFor();
	await village.page.reload();
	await village.page.getByRole('heading', { name: 'Đăng nhập' }).waitFor();
	await village.page.getByLabel('Mã truy cập').fill(villageCode);
	await village.page.getByRole('button', { name: 'Đăng nhập' }).click();
	await village.page.locator('#f-code-error').waitFor();
	assert.equal((await apiCall('GET', '/v1/me', undefined, { token: villageCode })).status, 401, 'sign-out left the code valid');

	return { mod, village, supplier, supplierCode };
}

// The life of a forum on one device, with a province and a material of its
// own: the moderator creates it through the Forums page (bad input first),
// opens it; a village posts a need registered for it, which the engine holds
// out of matching while a compatible offer gets another need's proposal; the
// moderator closes registration, then the forum, each confirmed; the need
// joins the market and gets its proposal. Then a match that ends with its
// listing shows the parties why.
async function forumLife(device, m, prov) {
	const tag = device === 'phone' ? 'dt' : 'mt';
	const forumId = `dien-dan-${prov.slug}-${tag}`;
	const forumName = `Diễn đàn kết nối cung cầu nguyên liệu ${prov.name} (${tag.toUpperCase()})`;
	const account = async (role, name) => {
		const acc = await apiOk('POST', '/v1/accounts', {
			role, name, province: prov.code, contact: { phone: '0229 3871 234' },
			...(role === 'moderator' ? { scope: { provinces: [prov.code], forums: [] } } : {}),
		});
		return { acc, code: (await apiOk('POST', '/v1/tokens', { account_id: acc.id })).token };
	};
	const modA = await account('moderator', `Trung tâm Khuyến công ${prov.name} (${tag})`);
	const villageA = await account('village', `Hợp tác xã ${m.village} ${tag}`);
	const supplierA = await account('supplier', `Công ty ${m.supplier} ${tag}`);
	const vtoken = villageA.code;

	// The moderator's Forums page: none yet.
	const mod = await person('forum-moderator', device);
	await signIn(mod, modA.code);
	await live(mod);
	await mod.page.getByRole('link', { name: 'Diễn đàn' }).click();
	await mod.page.getByRole('heading', { name: 'Diễn đàn kết nối cung cầu' }).waitFor();
	await mod.page.locator('[data-testid=forums-none]').waitFor();
	await shot(mod, '20-forums-empty');

	// Bad input: an id that is no slug, a forum day before registration
	// closes. Each message shows next to its field; nothing is created.
	const page = mod.page;
	await page.getByRole('button', { name: 'Tạo diễn đàn mới' }).click();
	await page.getByLabel('Mã diễn đàn').fill('Diễn đàn!');
	await page.getByLabel('Tên diễn đàn').fill(forumName);
	await page.getByLabel('Địa điểm').fill(`Trung tâm Khuyến công ${prov.name}`);
	await page.getByLabel('Mở đăng ký từ ngày').fill(vnDay(0));
	await page.getByLabel('Hạn đăng ký').fill(vnDay(7));
	await page.getByLabel('Ngày diễn đàn').fill(vnDay(5));
	assert.equal(await page.getByRole('checkbox', { name: prov.name, exact: true }).isChecked(), true,
		"the moderator's own province is not ticked");
	await page.getByRole('checkbox', { name: m.name, exact: true }).check();
	await page.getByRole('button', { name: 'Tạo diễn đàn (bản nháp)' }).click();
	await page.locator('.error-summary').waitFor();
	assert.match(await page.locator('#f-id-error').innerText(), /mã diễn đàn/);
	assert.match(await page.locator('#f-forum_day-error').innerText(), /ngày diễn đàn.*registration_closes/);
	assert.equal(await page.locator('#f-id').getAttribute('aria-invalid'), 'true');
	await shot(mod, '21-forum-form-errors');
	const before = await apiOk('GET', '/v1/forums?limit=100');
	assert.equal(before.items.filter((f) => f.organiser === modA.acc.id).length, 0, 'bad input created a forum');

	// Corrected, it is created as a draft, then opened (confirmed first).
	await page.getByLabel('Mã diễn đàn').fill(forumId);
	await page.getByLabel('Ngày diễn đàn').fill(vnDay(9));
	await page.getByRole('button', { name: 'Tạo diễn đàn (bản nháp)' }).click();
	const card = page.locator(`[data-forum="${forumId}"]`);
	await card.locator('.badge', { hasText: 'Bản nháp' }).waitFor();
	const created = await apiOk('GET', '/v1/forums/' + forumId);
	assert.deepEqual([created.state, created.provinces, created.materials, created.forum_day],
		['draft', [prov.code], [m.code], vnDay(9)]);
	await shot(mod, '22-forum-draft');
	await card.getByRole('button', { name: 'Mở đăng ký' }).click();
	await card.locator('.badge', { hasText: 'Đang nhận đăng ký' }).waitFor();
	assert.match(mod.dialogs.at(-1), /Mở đăng ký cho diễn đàn/);

	// The village posts a need registered for the forum; its card says so.
	const village = await person('forum-village', device);
	await signIn(village, vtoken);
	const vp = village.page;
	await vp.getByRole('button', { name: 'Đăng nhu cầu mới' }).click();
	await selectByLabel(vp, 'Nguyên liệu', m.code);
	await vp.getByLabel('Số lượng').fill('12.5');
	await selectByLabel(vp, 'Đơn vị', 'tan');
	await vp.getByLabel(/^Giá tối đa/).fill('20.000.000');
	await vp.getByLabel('Cần trước ngày').fill(vnDay(30));
	await selectByLabel(vp, 'Đăng ký cho diễn đàn', forumId);
	assert.equal(await vp.getByLabel('Đưa vào ghép nối chung (mặc định)').isChecked(), true);
	await shot(village, '23-need-form-forum');
	await vp.getByRole('button', { name: 'Đăng nhu cầu' }).click();
	const vcard = vp.locator('[data-listing]').first();
	await vcard.waitFor();
	const forumLine = vcard.locator('[data-testid=listing-forum]');
	assert.match(await forumLine.innerText(), new RegExp(forumName.replace(/[()]/g, '.')));
	assert.match(await forumLine.innerText(), /Chờ diễn đàn kết thúc, sau đó vào ghép nối chung/);
	await shot(village, '24-village-need-in-forum');
	const needs = await apiOk('GET', `/v1/needs?owner=${villageA.acc.id}`);
	assert.equal(needs.items.length, 1);
	const held = needs.items[0];
	assert.deepEqual([held.forum, held.after_forum], [forumId, 'market']);

	// A compatible offer and a second need outside the forum: the second need
	// gets its proposal (so the engine has seen the offer), the forum's not.
	const offer = await apiOk('POST', '/v1/offers', {
		material: m.code, grade: 'A', quantity: '80', unit: 'tan', price_vnd: 15000000, province: prov.code,
		available_until: vnDay(60),
	}, { token: supplierA.code });
	const control = await apiOk('POST', '/v1/needs', {
		material: m.code, quantity: '10', unit: 'tan', price_vnd: 20000000, province: prov.code, needed_by: vnDay(30),
		note: 'Ngoài diễn đàn',
	}, { token: vtoken });
	const controlMatch = await waitFor(async () =>
		(await apiOk('GET', `/v1/matches?listing=${control.id}&state=proposed`)).items[0], 'the need outside the forum got no proposal');
	assert.equal(controlMatch.offer.id, offer.id);
	const heldMatches = async () => (await apiOk('GET', `/v1/matches?listing=${held.id}`)).items;
	assert.deepEqual(await heldMatches(), [], 'a need registered for an open forum was matched');

	// Registration closes (confirmed) while the village fills in another
	// need for the forum; the forum passes through the clearing to review,
	// and the need still waits.
	await vp.goto('/#/needs');
	await vp.getByRole('button', { name: 'Đăng nhu cầu mới' }).click();
	await selectByLabel(vp, 'Nguyên liệu', m.code);
	await vp.getByLabel('Số lượng').fill('3');
	await selectByLabel(vp, 'Đơn vị', 'tan');
	await vp.getByLabel('Cần trước ngày').fill(vnDay(30));
	await selectByLabel(vp, 'Đăng ký cho diễn đàn', forumId);
	await page.reload();
	await card.locator('[data-testid=forum-listings]', { hasText: '1' }).waitFor();
	await card.getByRole('button', { name: 'Khoá đăng ký' }).click();
	await card.locator('.badge', { hasText: 'Chờ kết thúc' }).waitFor();
	assert.match(mod.dialogs.at(-1), /Khoá đăng ký của diễn đàn/);
	await shot(mod, '25-forum-review');
	assert.deepEqual(await heldMatches(), [], 'a need registered for a forum in review was matched');

	// The village's late registration is refused (409), said next to the
	// forum it chose, and creates nothing.
	await vp.getByRole('button', { name: 'Đăng nhu cầu' }).click();
	await vp.locator('.error-summary').waitFor();
	assert.match(await vp.locator('#f-forum-error').innerText(), /vừa ngừng nhận đăng ký/);
	await shot(village, '25b-need-form-forum-closed');
	assert.equal((await apiOk('GET', `/v1/needs?owner=${villageA.acc.id}&status=any`)).items.length, 2,
		'a need registered for a forum past registration was created');

	// The forum closes: the need joins the market and gets its proposal,
	// which the moderator's queue shows with the forum it came through.
	await card.getByRole('button', { name: 'Kết thúc diễn đàn' }).click();
	await card.locator('.badge', { hasText: 'Đã kết thúc' }).waitFor();
	assert.match(mod.dialogs.at(-1), /Kết thúc diễn đàn/);
	assert.equal(await card.getByRole('button').count(), 0, 'a closed forum still offers actions');
	await shot(mod, '26-forum-closed');
	const proposal = await waitFor(async () => (await heldMatches()).find((x) => x.state === 'proposed'),
		'the need of the closed forum got no proposal');
	assert.equal(proposal.offer.id, offer.id);
	await page.goto('/#/queue');
	const pcard = page.locator(`[data-match="${proposal.id}"]`);
	await pcard.locator('[data-testid=listing-forum]').first().waitFor();
	assert.match(await pcard.locator('[data-testid=listing-forum]').first().innerText(), /Đã kết thúc/);
	assert.match(await pcard.locator('[data-testid=location-basis]').innerText(), /bên cần: trung tâm tỉnh; bên bán: trung tâm tỉnh/);
	await shot(mod, '27-queue-forum-proposal');

	// The need outside the forum: approved, then its village closes it; the
	// match ends with it, and the village's matches page says why in words.
	await page.locator(`[data-match="${controlMatch.id}"]`).getByRole('button', { name: 'Duyệt' }).click();
	await page.locator(`[data-match="${controlMatch.id}"]`).waitFor({ state: 'detached' });
	await vp.goto('/#/needs');
	await vp.locator(`[data-listing="${control.id}"]`).getByRole('button', { name: 'Đóng tin' }).click();
	await vp.locator(`[data-listing="${control.id}"]`).waitFor({ state: 'detached' });
	await vp.goto('/#/matches');
	const ended = vp.locator(`[data-match="${controlMatch.id}"]`);
	await ended.locator('.badge--cancelled').waitFor();
	assert.match(await ended.locator('[data-testid=match-reason]').innerText(),
		/Lý do: một trong hai tin đã đóng trước khi ghép nối được xác nhận/);
	await shot(village, '28-village-match-cancelled-listing-closed');
	await village.ctx.close();
	await mod.ctx.close();
}

// The review of a forum's batch through the Forums page: a forum in Phú
// Thọ whose clearing proposed three matches (set up through the API). The
// organiser sees them with quantity, landed cost and parties; a selection
// one of which another moderator approved meanwhile is refused whole, said
// in Vietnamese, and changes nothing; a rejection needs its reason; one is
// rejected with it, the rest approved all at once, and the village is told.
async function forumBatch(device) {
	const tag = device === 'phone' ? 'db' : 'mb';
	const prov = { code: 'PT', name: 'Phú Thọ' };
	const account = async (role, name) => {
		const acc = await apiOk('POST', '/v1/accounts', {
			role, name, province: prov.code, contact: { phone: '0210 3846 123' },
			...(role === 'moderator' ? { scope: { provinces: [prov.code], forums: [] } } : {}),
		});
		return { acc, code: (await apiOk('POST', '/v1/tokens', { account_id: acc.id })).token };
	};
	const modA = await account('moderator', `Trung tâm Khuyến công ${prov.name} (${tag})`);
	const villageA = await account('village', `Hợp tác xã gốm Hương Canh ${tag}`);
	const supplierA = await account('supplier', `Công ty khoáng sản Thanh Sơn ${tag}`);
	const forumId = `dien-dan-phu-tho-${tag}`;
	await apiOk('POST', '/v1/forums', {
		id: forumId, name: `Diễn đàn kết nối cung cầu nguyên liệu gốm Phú Thọ (${tag.toUpperCase()})`,
		provinces: [prov.code], venue: 'Trung tâm Khuyến công Phú Thọ, Việt Trì',
		registration_opens: vnDay(0), registration_closes: vnDay(5), forum_day: vnDay(7),
		materials: ['feldspar', 'quartz_sand', 'white_clay'],
	}, { token: modA.code });
	await apiOk('POST', `/v1/forums/${forumId}/open`, undefined, { token: modA.code });
	const needs = {};
	for (const [material, qty, price] of [['feldspar', '12', 1800000], ['quartz_sand', '20', 650000], ['white_clay', '8', 1200000]]) {
		needs[material] = await apiOk('POST', '/v1/needs', {
			material, quantity: qty, unit: 'tan', province: prov.code, needed_by: vnDay(30), forum: forumId,
		}, { token: villageA.code });
		await apiOk('POST', '/v1/offers', {
			material, grade: 'A', quantity: qty, unit: 'tan', price_vnd: price, province: prov.code,
			available_until: vnDay(60), forum: forumId,
		}, { token: supplierA.code });
	}
	await apiOk('POST', `/v1/forums/${forumId}/close-registration`, undefined, { token: modA.code });
	const batch = await waitFor(async () => {
		const b = await apiOk('GET', `/v1/forums/${forumId}/batch`, undefined, { token: modA.code });
		return b.total === 3 && b;
	}, 'the clearing proposed no batch');
	const idOf = Object.fromEntries(batch.items.map((x) => [x.material.code, x.id]));

	const mod = await person('batch-moderator', device);
	await signIn(mod, modA.code);
	const page = mod.page;
	await page.getByRole('link', { name: 'Diễn đàn' }).click();
	const card = page.locator(`[data-forum="${forumId}"]`);
	const table = card.locator('[data-testid=forum-batch]');
	await table.locator('tbody tr').nth(2).waitFor();
	assert.match(await table.locator('[data-testid=batch-summary]').innerText(), /đề xuất 3 ghép nối; còn 3 chờ duyệt/);
	const row = (material) => table.locator(`tr[data-match="${idOf[material]}"]`);
	const feldspar = await row('feldspar').innerText();
	assert.match(feldspar, /Tràng thạch/);
	assert.match(feldspar, /12 tấn/);
	assert.match(feldspar, /Hợp tác xã gốm Hương Canh/);
	assert.match(feldspar, /Công ty khoáng sản Thanh Sơn/);
	const landed = batch.items.find((x) => x.id === idOf.feldspar).explain.landed.total_vnd;
	assert.ok(landed >= 12 * 1800000, 'landed cost below the goods');
	assert.ok(feldspar.includes(landed.toLocaleString('vi-VN')), `the landed cost ${landed} is not shown: ${feldspar}`);
	await shot(mod, '30-forum-batch');

	// Two ticked; another moderator approves one of them between the click
	// and the request reaching the server: the selection is refused whole,
	// in words, and nothing changes.
	await row('feldspar').getByRole('checkbox').check();
	await row('quartz_sand').getByRole('checkbox').check();
	const approveBatch = `**/v1/forums/${forumId}/approve-batch`;
	await page.route(approveBatch, async (route) => {
		await apiOk('POST', `/v1/matches/${idOf.feldspar}/approve`);
		await route.continue();
	});
	await card.getByRole('button', { name: 'Duyệt các mục đã chọn (2)' }).click();
	const refused = card.locator('[data-testid=batch-refused]');
	await refused.waitFor();
	assert.match(mod.dialogs.at(-1), /Duyệt 2 đề xuất đã chọn/);
	assert.match(await refused.innerText(), /Không làm gì cả/);
	assert.match(await refused.innerText(), /Tràng thạch.*đã chuyển sang «Đã duyệt»/);
	const after = await apiOk('GET', `/v1/forums/${forumId}/batch`, undefined, { token: modA.code });
	assert.deepEqual(after.by_state, { approved: 1, proposed: 2 }, 'a refused selection changed the batch');
	await page.unroute(approveBatch);
	await row('feldspar').locator('.badge', { hasText: 'Đã duyệt' }).waitFor();
	await shot(mod, '31-forum-batch-refused');

	// A rejection without its reason is refused in the form; with it, the
	// ticked one is rejected and says so.
	await row('quartz_sand').getByRole('checkbox').check();
	await card.getByRole('button', { name: 'Từ chối các mục đã chọn (1)' }).click();
	assert.match(await card.locator('.field-error').innerText(), /hãy ghi lý do/);
	await shot(mod, '32-forum-batch-reason-missing');
	await card.getByLabel('Lý do từ chối').fill('Giá cát thạch anh chưa gồm bốc xếp');
	await card.getByRole('button', { name: 'Từ chối các mục đã chọn (1)' }).click();
	await card.getByRole('status').filter({ hasText: 'Đã từ chối 1 đề xuất; còn 1 đề xuất chờ duyệt.' }).waitFor();
	const rejected = await apiOk('GET', `/v1/matches/${idOf.quartz_sand}`);
	assert.deepEqual([rejected.state, rejected.reason], ['rejected', 'Giá cát thạch anh chưa gồm bốc xếp']);

	// The rest, approved all at once; nothing is left to review.
	await card.getByRole('button', { name: 'Duyệt tất cả' }).click();
	await card.getByRole('status').filter({ hasText: 'Đã duyệt 1 đề xuất; còn 0 đề xuất chờ duyệt.' }).waitFor();
	assert.match(mod.dialogs.at(-1), /Duyệt tất cả 1 đề xuất/);
	await card.getByRole('button', { name: 'Duyệt tất cả' }).waitFor({ state: 'detached' });
	const done = await apiOk('GET', `/v1/forums/${forumId}/batch`, undefined, { token: modA.code });
	assert.deepEqual(done.by_state, { approved: 2, rejected: 1 });
	await shot(mod, '33-forum-batch-reviewed');
	// the village is told: its approved matches are on its matches page
	const village = await person('batch-village', device);
	await signIn(village, villageA.code);
	await village.page.goto('/#/matches');
	for (const material of ['feldspar', 'white_clay'])
		await village.page.locator(`[data-match="${idOf[material]}"] .badge--approved`).waitFor();
	await shot(village, '34-village-batch-approved');
	await village.ctx.close();
	await mod.ctx.close();
}

// Polls fn (every 200 ms, up to WAIT) until it returns something truthy.
async function waitFor(fn, message) {
	const end = Date.now() + WAIT;
	for (;;) {
		const v = await fn();
		if (v) return v;
		assert.ok(Date.now() < end, message);
		await new Promise((r) => setTimeout(r, 200));
	}
}

// True when the element's box lies inside the container's box.
async function inside(page, el, container) {
	const [a, b] = await Promise.all([el.boundingBox(), container.boundingBox()]);
	return !!(a && b && a.x >= b.x - 1 && a.y >= b.y - 1 && a.x + a.width <= b.x + b.width + 1 && a.y + a.height <= b.y + b.height + 1);
}

// The map: the 34 provincial centres, the open listings and the proposal on
// it, and the Hoàng Sa and Trường Sa archipelagos drawn and labelled as
// Vietnam's in every view that reaches the East Sea: in an inset while the
// view is the north, on the map itself when it is the whole country.
async function mapChecks(p) {
	const page = p.page;
	await page.goto('/#/map');
	const map = page.locator('[data-testid=map]');
	await map.locator('path.province-centre').first().waitFor();
	const provinces = (await apiOk('GET', '/v1/provinces')).provinces.length;
	assert.equal(provinces, 34);
	assert.equal(await map.locator('path.province-centre').count(), provinces);
	await map.locator('path.listing-marker--need').first().waitFor();
	await map.locator('path.listing-marker--offer').first().waitFor();
	// (both parties are in one province here: the line has no length, but it is drawn)
	await map.locator('path.match-line--proposed').first().waitFor({ state: 'attached' });
	const labels = ['Quần đảo Hoàng Sa (Việt Nam)', 'Quần đảo Trường Sa (Việt Nam)'];

	// The north: the Gulf of Tonkin is in view, so the inset shows both.
	const inset = page.locator('[data-testid=map-inset]');
	assert.equal(await inset.isVisible(), true, 'no East Sea inset on the map of the north');
	for (const text of labels) {
		const label = inset.locator('.map-label--archipelago', { hasText: text });
		assert.equal(await label.isVisible(), true, `the inset does not show ${text}`);
		assert.ok(await inside(page, label, inset), `${text} lies outside the inset`);
	}
	assert.equal(await inset.locator('path.archipelago').count(), 2);
	await shot(p, '11b-map-north');

	// The whole country: the archipelagos on the map itself.
	await page.getByRole('button', { name: 'Cả nước' }).click();
	await inset.waitFor({ state: 'hidden' });
	for (const text of labels) {
		const label = map.locator('.map-label--archipelago', { hasText: text });
		await label.waitFor();
		assert.ok(await inside(page, label, map), `the label ${text} lies outside the map`);
		const ring = map.locator('path.archipelago--' + (text.includes('Hoàng') ? 'hoang_sa' : 'truong_sa'));
		assert.ok(await inside(page, ring, map), `the ring of ${text} lies outside the map`);
	}
	assert.equal(await map.locator('.map-label--sea', { hasText: 'Biển Đông' }).isVisible(), true);
	await shot(p, '11c-map-country');
}

// A revoked code is refused, and a page signed in with it ends its session.
async function revoked(device, supplierCode) {
	const sup = await apiOk('GET', '/v1/me', undefined, { token: supplierCode });
	const extra = await apiOk('POST', '/v1/tokens', { account_id: sup.id, name: 'thẻ dự phòng' });
	const p = await person('supplier-2', device);
	await signIn(p, extra.token);
	await live(p);
	await apiOk('DELETE', '/v1/tokens/' + extra.id);
	await p.page.getByRole('heading', { name: 'Đăng nhập' }).waitFor();
	await p.page.getByText('Bạn đã đăng xuất hoặc mã truy cập đã bị thu hồi.').waitFor();
	await p.page.getByLabel('Mã truy cập').fill(extra.token);
	await p.page.getByRole('button', { name: 'Đăng nhập' }).click();
	await p.page.locator('#f-code-error').waitFor();
	assert.match(await p.page.locator('#f-code-error').innerText(), /không đúng hoặc đã bị thu hồi/);
	await shot(p, '17-revoked-code');
	await p.ctx.close();
}

// A request made with the session cookie from another origin, or without
// the app's header, is refused and changes nothing.
async function csrf(supplier) {
	const cookies = await supplier.ctx.cookies(URL_);
	const session = cookies.find((c) => c.name === 'cm_session');
	assert.ok(session, 'no cm_session cookie after sign-in');
	assert.equal(session.httpOnly, true);
	assert.equal(session.sameSite, 'Strict');
	assert.equal(await supplier.page.evaluate(() => document.cookie.includes('cm_session')), false);
	const cookie = `cm_session=${session.value}`;
	const before = await apiOk('GET', '/v1/offers?status=any', undefined, { token: null, headers: { Cookie: cookie } });
	const body = { material: 'clay', grade: 'A', quantity: '1', unit: 'tan', price_vnd: 1000, province: 'HN' };
	const cases = [
		{ Cookie: cookie, 'X-Craftmatch': '1', Origin: 'http://evil.example' },
		{ Cookie: cookie, Origin: URL_ },
		{ Cookie: cookie, 'X-Craftmatch': '1', 'Sec-Fetch-Site': 'cross-site' },
	];
	for (const headers of cases) {
		const r = await apiCall('POST', '/v1/offers', body, { token: null, headers });
		assert.equal(r.status, 403, `a cross-site POST was not refused: ${JSON.stringify(headers)} -> ${r.status}`);
		assert.match(r.headers.get('content-type'), /application\/problem\+json/);
		assert.match(r.data.type, /csrf/);
	}
	const after = await apiOk('GET', '/v1/offers?status=any', undefined, { token: null, headers: { Cookie: cookie } });
	assert.equal(after.items.length, before.items.length, 'a refused request created an offer');
}

// The organiser's desk: a moderator finds a village by its name typed
// without accents, suspends it (confirmed), sees and revokes its codes; the
// village's open session is refused from its next request on.
async function desk(device) {
	const mod = await apiOk('POST', '/v1/accounts', { role: 'moderator', name: 'Khuyến công bàn ' + device, scope: { provinces: ['HN'] } });
	const modCode = (await apiOk('POST', '/v1/tokens', { account_id: mod.id })).token;
	const name = 'Làng gốm Bát Tràng bàn ' + device;
	const acc = await apiOk('POST', '/v1/accounts', { role: 'village', name, province: 'HN', contact: { phone: '0912 345 678' } });
	const code = (await apiOk('POST', '/v1/tokens', { account_id: acc.id, name: 'thẻ giấy' })).token;
	const village = await person('village-desk', device);
	await signIn(village, code);
	await live(village);
	const m = await person('moderator-desk', device);
	await signIn(m, modCode);
	await m.page.getByRole('link', { name: 'Tài khoản', exact: true }).click();
	await m.page.getByRole('heading', { name: 'Tài khoản' }).waitFor();
	await m.page.getByLabel('Tên', { exact: true }).fill('Bat Trang ban ' + device);
	await m.page.getByRole('button', { name: 'Tìm', exact: true }).click();
	const row = m.page.locator(`[data-testid=account][data-id="${acc.id}"]`);
	await row.waitFor();
	await waitFor(async () => (await m.page.locator('[data-testid=account]').count()) === 1, 'the search lists exactly the one account');
	await row.getByRole('button', { name: 'Mã truy cập' }).click();
	await row.locator('[data-testid=codes]').getByText('thẻ giấy').waitFor();
	await shot(m, '30-accounts-search');
	await row.getByRole('button', { name: 'Tạm khoá' }).click();
	assert.match(m.dialogs.at(-1), /Tạm khoá tài khoản Làng gốm Bát Tràng/);
	await row.locator('[data-testid=suspended]').waitFor();
	await row.getByRole('button', { name: 'Mở khoá' }).waitFor();
	await shot(m, '31-account-suspended');
	// The village's session is refused at its next request.
	const r = await apiCall('GET', '/v1/me', undefined, { token: code });
	assert.equal(r.status, 401, 'the suspended village\'s code still works');
	// Its open page hears of it on the stream and signs out by itself.
	await village.page.getByRole('heading', { name: 'Đăng nhập' }).waitFor();
	await village.page.getByText('Bạn đã đăng xuất hoặc mã truy cập đã bị thu hồi.').waitFor();
	await village.page.reload();
	await village.page.getByRole('heading', { name: 'Đăng nhập' }).waitFor();
	await shot(village, '32-suspended-village-signed-out');
	// Reactivated, then its code revoked from the desk.
	await row.getByRole('button', { name: 'Mở khoá' }).click();
	await row.getByRole('button', { name: 'Tạm khoá' }).waitFor();
	await row.getByRole('button', { name: 'Thu hồi' }).click();
	assert.match(m.dialogs.at(-1), /Thu hồi mã truy cập/);
	await row.getByText('Tài khoản chưa có mã truy cập nào.').waitFor();
	assert.equal((await apiCall('GET', '/v1/me', undefined, { token: code })).status, 401, 'a revoked code still works');
	await village.ctx.close();
	await m.ctx.close();
}

// ---- runner -------------------------------------------------------------------

let passed = 0;
let failed = 0;
async function step(name, fn) {
	if (process.env.CM_SUITE_ONLY && !name.includes(process.env.CM_SUITE_ONLY)) return null;
	const t0 = Date.now();
	try {
		const r = await fn();
		passed++;
		console.log(`ok   ${name} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
		return r;
	} catch (e) {
		failed++;
		console.log(`FAIL ${name}: ${e && e.stack ? e.stack : e}`);
		return null;
	}
}

try {
	const desktop = await step('desktop: the whole life of a match, each role in its own context',
		() => life('desktop', { code: 'kaolin' }, { code: 'HN', name: 'Hà Nội' }));
	if (desktop) {
		await step('desktop: a revoked code is refused and ends its session', () => revoked('desktop', desktop.supplierCode));
		await step('a cookie request from another origin or without X-Craftmatch is refused (csrf)', () => csrf(desktop.supplier));
	}
	const phone = await step('phone 390x844: the whole life of a match', () => life('phone', { code: 'clay' }, { code: 'BN', name: 'Bắc Ninh' }));
	if (phone) await step('phone: a revoked code is refused', () => revoked('phone', phone.supplierCode));
	await step('desktop: the life of a forum through the Forums page, a need held for it until it closes',
		() => forumLife('desktop', { code: 'sedge', name: 'Cói', village: 'Cói Kim Sơn', supplier: 'Cói Kim Đông' },
			{ code: 'NB', name: 'Ninh Bình', slug: 'ninh-binh' }));
	await step('phone: the life of a forum', () => forumLife('phone',
		{ code: 'rattan', name: 'Mây', village: 'Mây tre Phú Vinh', supplier: 'Mây Chiêm Hóa' },
		{ code: 'HY', name: 'Hưng Yên', slug: 'hung-yen' }));
	await step('desktop: a forum\'s batch reviewed as one through the Forums page', () => forumBatch('desktop'));
	await step('phone: a forum\'s batch reviewed as one', () => forumBatch('phone'));
	await step('desktop: the organiser\'s desk finds a village without accents and suspends it; its session is refused', () => desk('desktop'));
	await step('phone: the organiser\'s desk', () => desk('phone'));
	await step('every string of the app is in both languages', () => {
		const strings = (lang) => Object.keys(JSON.parse(fs.readFileSync(new URL(`../../server/web/src/i18n/${lang}.json`, import.meta.url), 'utf8')));
		assert.deepEqual(strings('en').sort(), strings('vi').sort());
	});
	await step('no Content-Security-Policy violation and no script error on any page', () => {
		assert.deepEqual(cspViolations, []);
		assert.deepEqual(pageErrors, []);
	});
} finally {
	fs.writeFileSync(path.join(ARTIFACTS, 'axe-report.json'), JSON.stringify(axeReport, null, 2));
	await browser.close();
}
console.log(`screenshots: ${ARTIFACTS}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
