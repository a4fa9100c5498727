// forums.mjs — the browser suite's forum scenarios: a forum's life through
// the Forums page (a need held for it until it closes, then matched) and a
// forum's batch reviewed as one. Run from suite.mjs.
import assert from 'node:assert/strict';

import { apiOk, live, person, selectByLabel, shot, signIn, vnDay, waitFor } from './kit.mjs';

// The life of a forum on one device, with a province and a material of its
// own: the moderator creates it through the Forums page (bad input first),
// opens it; a village posts a need registered for it, which the engine holds
// out of matching while a compatible offer gets another need's proposal; the
// moderator closes registration, then the forum, each confirmed; the need
// joins the market and gets its proposal. Then a match that ends with its
// listing shows the parties why.
export async function forumLife(device, m, prov) {
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
export async function forumBatch(device) {
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

