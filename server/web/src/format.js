// format.js — numbers, money, quantities and dates as people in Vietnam
// write them: vi-VN grouping (2.400.000 ₫, 12,5 tấn) and Vietnam time.
import { dateLocale, getLang } from './i18n.js';

const money = new Intl.NumberFormat('vi-VN', { style: 'currency', currency: 'VND', maximumFractionDigits: 0 });
const number = new Intl.NumberFormat('vi-VN', { maximumFractionDigits: 3 });
export const TZ = 'Asia/Ho_Chi_Minh';

export const formatMoney = (vnd) => (vnd === null || vnd === undefined ? '' : money.format(vnd));

// A decimal string as sent by the server ("12.5") in vi-VN ("12,5"), exactly:
// the digits are regrouped by hand, never through floating point.
export function formatDecimal(s) {
	if (s === null || s === undefined) return '';
	const str = String(s);
	const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(str);
	if (!m) return str;
	const whole = m[2].replace(/\B(?=(\d{3})+(?!\d))/g, '.');
	return m[1] + whole + (m[3] ? ',' + m[3] : '');
}

export const formatNumber = (n) => number.format(n);

// A unit code's name in a material's list ("tan" -> "tấn").
export function unitName(material, code) {
	const u = material && material.units && material.units.find((x) => x.code === code);
	return u ? u.name : code;
}

// A quantity {amount, unit} or a base amount, with the material's unit names.
export function formatQuantity(q, material) {
	if (!q) return '';
	if (q.amount !== undefined && q.unit) return formatDecimal(q.amount) + ' ' + unitName(material, q.unit);
	return formatDecimal(String(q.base)) + ' ' + unitName(material, q.base_unit);
}

// A base-unit count in the material's largest unit it fills (12500 kg ->
// "12,5 tấn"), exactly: factors are powers of ten, so the decimal point is
// moved in the digits, never through floating point.
export function formatBase(base, material) {
	const digits = String(base);
	if (!material || !material.units || !/^\d+$/.test(digits)) return formatDecimal(digits);
	const units = [...material.units].sort((x, y) => y.factor - x.factor);
	for (const u of units) {
		const zeros = /^10*$/.exec(String(u.factor)) ? String(u.factor).length - 1 : -1;
		if (zeros < 0 || base < u.factor) continue;
		const whole = digits.slice(0, digits.length - zeros);
		const frac = digits.slice(digits.length - zeros).replace(/0+$/, '');
		return formatDecimal(whole + (frac ? '.' + frac : '')) + ' ' + u.name;
	}
	return formatDecimal(digits) + ' ' + unitName(material, material.base_unit);
}

const dateFmt = {};
export function formatDate(iso, withTime) {
	if (!iso) return '';
	const key = getLang() + (withTime ? 't' : 'd');
	if (!dateFmt[key]) {
		dateFmt[key] = new Intl.DateTimeFormat(dateLocale(), withTime
			? { timeZone: TZ, dateStyle: 'medium', timeStyle: 'short' }
			: { timeZone: TZ, dateStyle: 'medium' });
	}
	return dateFmt[key].format(new Date(iso));
}

// Today in Vietnam as YYYY-MM-DD (the minimum for date fields).
export function todayInVietnam() {
	return new Intl.DateTimeFormat('en-CA', { timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
}

// The calendar day in Vietnam of an instant, as YYYY-MM-DD (for date inputs).
export function dayInVietnam(iso) {
	if (!iso) return '';
	return new Intl.DateTimeFormat('en-CA', { timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(iso));
}
