// Formatting with Intl for the current locale, HTML escaping, evidence highlighting.
import { locale, t } from './i18n.js';

const cache = new Map();
function nf(opts) {
  const key = locale() + JSON.stringify(opts);
  if (!cache.has(key)) cache.set(key, new Intl.NumberFormat(locale(), opts));
  return cache.get(key);
}

export const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

const isNull = (v) => v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v));

/** A number, or "—" for a withheld (null) figure. */
export function num(v, digits = 0) {
  if (isNull(v)) return '—';
  return nf({ maximumFractionDigits: digits, minimumFractionDigits: digits }).format(v);
}
/** A percentage given in 0..100. */
export function pct(v, digits = 1) {
  if (isNull(v)) return '—';
  return nf({ style: 'percent', maximumFractionDigits: digits, minimumFractionDigits: digits }).format(v / 100);
}
/** A signed number (score points). */
export function signed(v, digits = 1) {
  if (isNull(v)) return '—';
  return nf({ maximumFractionDigits: digits, minimumFractionDigits: digits, signDisplay: 'exceptZero' }).format(v);
}
export function minutes(seconds) {
  if (isNull(seconds)) return '—';
  return t('kpi.minutes', { v: num(seconds / 60, 1) });
}

/** HTML for a figure: withheld figures get "—" with a title explaining why. */
export function fig(text, v) {
  if (isNull(v)) return `<span class="withheld" title="${esc(t('common.withheld'))}">—</span>`;
  return esc(text);
}

export function date(v, opts = { dateStyle: 'medium' }) {
  if (!v) return '—';
  const d = v instanceof Date ? v : new Date(v);
  if (Number.isNaN(d.getTime())) return String(v);
  return new Intl.DateTimeFormat(locale(), { timeZone: 'UTC', ...opts }).format(d);
}
export function dateTime(v) {
  return date(v, { dateStyle: 'medium', timeStyle: 'short' });
}
export function shortDate(v) {
  return date(v, { month: 'short', day: 'numeric' });
}

/**
 * TEXT (a JS string) with the evidence SPANS marked. Spans are [start, end) in Unicode scalar
 * values, so the text is split with Array.from (JS strings are UTF-16). SPANS: [[s, e, title]].
 */
export function highlight(text, spans) {
  const chars = Array.from(String(text ?? ''));
  const sorted = spans
    .filter((s) => Array.isArray(s) && s[1] > s[0])
    .map(([s, e, title]) => [Math.max(0, s), Math.min(chars.length, e), title])
    .sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  let out = '';
  let pos = 0;
  for (const [s, e, title] of sorted) {
    if (e <= pos) continue;
    const start = Math.max(s, pos);
    out += esc(chars.slice(pos, start).join(''));
    out += `<mark title="${esc(title)}">${esc(chars.slice(start, e).join(''))}</mark>`;
    pos = e;
  }
  return out + esc(chars.slice(pos).join(''));
}
