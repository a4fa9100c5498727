// suite.mjs — the browser suite: the whole life of a match through the web
// app, each role in its own browser context, on a desktop and on a phone
// (390×844), down to the listings filled; the life of a forum (created and
// run by its moderator through the Forums page, a need held for it until it
// closes, then matched; a forum's batch reviewed as one; a spreadsheet
// imported); bad input through
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
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { forumBatch, forumLife } from './forums.mjs';
import { ARTIFACTS, URL_, apiCall, apiOk, axeReport, browser, cspViolations, inside, live, pageErrors, person, register, selectByLabel, shot, signIn, vnDay, waitFor } from './kit.mjs';

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
	// Both owners' reputation (uy tín) beside their listings: new accounts, no record yet.
	const preps = proposal.first().locator('[data-testid=reputation]');
	assert.equal(await preps.count(), 2, 'the moderator sees both parties\' reputation');
	assert.match(await preps.first().innerText(), /Uy tín[\s\S]*Chưa có ghép nối nào kết thúc/);
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
	// Approved: the village sees the supplier's reputation, only that one.
	const vrep = vmatch.first().locator('[data-testid=reputation]');
	assert.equal(await vrep.count(), 1, 'the other party\'s reputation from approval on');
	assert.match(await vrep.innerText(), /Uy tín của bên kia/);
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
	// The delivery counts for the supplier at once: one match kept of one.
	await village.page.locator('[data-match] [data-testid=reputation]', { hasText: 'Tỉ lệ hoàn thành: 100%' }).waitFor();
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
	await statsChecks(mod, modCode, village, villageCode, m, prov);

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

// The statistics page after one match delivered in full: its cards, table
// and flows read the same figures as GET /v1/stats with the same code and
// filters (the oracle), the chart is drawn, the flow is on the map; a
// village sees its own figures only.
async function statsChecks(mod, modCode, village, villageCode, m, prov) {
	const figures = async (token, q) => apiOk('GET', '/v1/stats?' + new URLSearchParams(q), undefined, { token });
	const page = mod.page;
	await page.goto('/#/stats');
	await page.getByRole('heading', { name: 'Thống kê cung – cầu' }).waitFor();
	await selectByLabel(page, 'Nguyên liệu', m.code);
	const total = (await figures(modCode, { material: m.code })).rows[0];
	assert.equal(total.confirmed.count, 1);
	assert.equal(total.fulfilled.quantity, total.confirmed.quantity, 'the whole match was delivered');
	const card = (key) => page.locator(`[data-testid=stat-${key}] dd`);
	await card('confirmed').filter({ hasText: /^1/ }).waitFor();
	assert.match(await card('needs').innerText(), new RegExp('^' + total.needs.count + '\\b'));
	assert.match(await card('offers').innerText(), new RegExp('^' + total.offers.count + '\\b'));
	assert.match(await card('fulfilled').innerText(), /^1\b/);
	assert.equal(await card('rate').innerText(), '100 %');
	assert.match(await card('confirmed').innerText(), /₫/);

	// Grouped by material (the default): one row, the API's figures.
	const grouped = await figures(modCode, { material: m.code, group: 'material' });
	assert.equal(grouped.rows.length, 1);
	const row = page.locator('[data-testid=stats-table] tbody tr');
	await waitFor(async () => (await row.count()) === 1, 'the statistics table has not one row');
	const cells = await row.first().locator('td').allInnerTexts();
	assert.deepEqual(cells.slice(0, 4), [grouped.rows[0].needs.count, grouped.rows[0].offers.count, grouped.rows[0].proposed.count, grouped.rows[0].confirmed.count].map(String));
	assert.equal(cells[7], '100 %');

	// The chart has been drawn: some pixels of the canvas are not blank.
	const inked = await page.locator('[data-testid=stats-chart]').evaluate((c) => {
		const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
		let n = 0;
		for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++;
		return n;
	});
	assert.ok(inked > 100, 'the chart is blank');

	// The flow: supplier's province to the village's, on the map and in the table.
	assert.equal(grouped.flows.length, 1);
	assert.deepEqual([grouped.flows[0].offer_province, grouped.flows[0].need_province], [prov.code, prov.code]);
	const flow = page.locator('[data-testid=flow-table] tbody tr');
	await flow.first().waitFor();
	const fcells = await flow.first().locator('td').allInnerTexts();
	assert.deepEqual(fcells.slice(0, 2), [prov.name, prov.name]);
	assert.equal(fcells[3], '12,5 tấn');
	assert.equal(fcells[4], '12,5 tấn');
	await page.locator('[data-testid=flow-map] path.flow-line').first().waitFor({ state: 'attached' });
	await shot(mod, '15c-moderator-stats');

	// The table and the flows as files Excel opens: the figures on screen.
	const [rowsFile] = await Promise.all([page.waitForEvent('download'),
		page.locator('[data-testid=stats-csv]').click()]);
	assert.equal(rowsFile.suggestedFilename(), 'craftmatch-stats.csv');
	const rowsCsv = fs.readFileSync(await rowsFile.path());
	assert.deepEqual([...rowsCsv.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'the file starts with the byte order mark');
	const rowLines = rowsCsv.subarray(3).toString('utf8').split('\r\n');
	assert.match(rowLines[0], /^Vật liệu,Số tin cần,Lượng cần \(đơn vị gốc\),Số tin bán,/);
	assert.equal(rowLines.length, 3, 'a header, the one row, and the end');
	const g = grouped.rows[0];
	assert.ok(rowLines[1].startsWith([m.code, g.needs.count, g.needs.quantity, g.offers.count].join(',') + ','), rowLines[1]);
	const [flowsFile] = await Promise.all([page.waitForEvent('download'),
		page.locator('[data-testid=stats-flows-csv]').click()]);
	assert.equal(flowsFile.suggestedFilename(), 'craftmatch-stats-flows.csv');
	const flowLines = fs.readFileSync(await flowsFile.path()).subarray(3).toString('utf8').split('\r\n');
	const f = grouped.flows[0];
	assert.deepEqual(flowLines.slice(1), [[f.offer_province, f.need_province, f.material, f.confirmed_quantity, f.fulfilled_quantity].join(','), '']);

	// The village: its own figures, the same as the API gives its code.
	await village.page.goto('/#/stats');
	await village.page.getByText('Tin đăng và ghép nối của bạn.').waitFor();
	const own = (await figures(villageCode, {})).rows[0];
	assert.equal(own.needs.count, 1);
	assert.equal(own.offers.count, 0);
	await village.page.locator('[data-testid=stat-needs] dd').filter({ hasText: /^1/ }).waitFor();
	assert.match(await village.page.locator('[data-testid=stat-offers] dd').innerText(), /^0/);
	await shot(village, '15d-village-stats');
	await village.page.goto('/#/matches');
	await village.page.locator('[data-match] .badge--fulfilled').waitFor();
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
	// "Tải CSV": the list on screen as a file Excel opens (BOM, Vietnamese headers).
	const [download] = await Promise.all([m.page.waitForEvent('download'),
		m.page.getByRole('link', { name: 'Tải CSV' }).click()]);
	assert.equal(download.suggestedFilename(), 'craftmatch-accounts.csv');
	const csv = fs.readFileSync(await download.path());
	assert.deepEqual([...csv.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'the file starts with the byte order mark');
	const lines = csv.subarray(3).toString('utf8').split('\r\n');
	assert.match(lines[0], /^Mã tài khoản,Vai trò,Tên,/);
	assert.deepEqual(lines.slice(1), [lines[1], ''], 'the file holds the one account found');
	assert.ok(lines[1].startsWith(acc.id + ',village,' + name + ','), lines[1]);
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

// A registration sheet in: a moderator checks a sheet with one bad row (the
// dry run's table names its row and column, and nothing is written), imports
// it with the progress shown to the end, then imports it again: nothing twice.
async function importSheet(device) {
	const mod = await apiOk('POST', '/v1/accounts', { role: 'moderator', name: 'Khuyến công nhập ' + device, scope: { provinces: ['HN'] } });
	const modCode = (await apiOk('POST', '/v1/tokens', { account_id: mod.id })).token;
	const tag = 'Làng nhập bảng ' + device;
	const csv = '\ufeffKhóa dòng,Vai trò,Tên,Tỉnh/Thành phố,Điện thoại\r\n'
		+ `${device}-1,village,${tag} 1,Hà Nội,0912 345 001\r\n`
		+ `${device}-2,làng nghề,${tag} 2,Hà Nội,0912 345 002\r\n`
		+ `${device}-3,village,${tag} 3,Hà Nội,12\r\n`;
	const file = { name: 'dang-ky.csv', mimeType: 'text/csv', buffer: Buffer.from(csv, 'utf8') };
	const m = await person('moderator-import', device);
	await signIn(m, modCode);
	await m.page.getByRole('link', { name: 'Nhập từ bảng tính' }).click();
	await m.page.getByRole('heading', { name: 'Nhập từ bảng tính' }).waitFor();
	assert.match(await m.page.locator('[data-testid=import-template]').getAttribute('href'), /\/v1\/imports\/template\?kind=accounts$/);
	await m.page.locator('#f-sheet').setInputFiles(file);
	await m.page.getByRole('button', { name: 'Chạy thử' }).click();
	const dry = m.page.locator('[data-testid=import-dry]');
	await dry.getByText('3 dòng: 2 hợp lệ, 1 có lỗi. Chưa ghi gì.').waitFor();
	const cells = await dry.locator('tbody tr').first().locator('td').allInnerTexts();
	assert.deepEqual(cells.slice(0, 2), ['4', 'Điện thoại']);
	await shot(m, '40-import-dry-run');
	const names = async () => (await apiOk('GET', '/v1/accounts?q=' + encodeURIComponent(tag))).items.map((a) => a.name).sort();
	assert.deepEqual(await names(), [], 'the dry run wrote accounts');
	await m.page.getByRole('button', { name: 'Nhập', exact: true }).click();
	const progress = m.page.locator('[data-testid=import-progress]');
	await progress.getByText('Đã nhập xong').waitFor();
	await progress.getByText('3/3 dòng: 2 tạo mới, 0 đã nhập trước đây, 1 lỗi').waitFor();
	await m.page.locator('[data-testid=import-errors]').getByText('Điện thoại', { exact: true }).waitFor();
	await shot(m, '41-import-done');
	assert.deepEqual(await names(), [tag + ' 1', tag + ' 2']);
	await m.page.getByRole('button', { name: 'Nhập', exact: true }).click();
	await progress.getByText('3/3 dòng: 0 tạo mới, 2 đã nhập trước đây, 1 lỗi').waitFor();
	assert.deepEqual(await names(), [tag + ' 1', tag + ' 2'], 'the same sheet imported twice');
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
	await step('desktop: a sheet imported — dry run with its row errors, then the import and its progress, then again', () => importSheet('desktop'));
	await step('phone: a sheet imported', () => importSheet('phone'));
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
