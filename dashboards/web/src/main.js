// escucha web dashboard: shell, sign-in, hash routing with filters in the URL, and the pages.
import * as api from './api.js';
import { t, lang, setLang, LANGS, labelName, setCustomThemes } from './i18n.js';
import { esc, num, pct, signed, minutes, fig, date, dateTime, shortDate, highlight } from './format.js';
import { chart, disposeAll } from './charts.js';

export const PAGES = ['overview', 'gaps', 'emotions', 'conversations', 'operations', 'pipelines'];
export const DIMENSIONS = ['channel', 'queue', 'team', 'agent', 'product', 'language'];
const FILTER_KEYS = ['from', 'to', 'channel', 'queue', 'team', 'agent', 'product', 'language'];
const LOYALTY = ['surprise', 'familiarity', 'relief', 'gratitude', 'belonging'];
const NEGATIVE = ['frustration', 'anger', 'disappointment'];
const ALL_EMOTIONS = [...LOYALTY, ...NEGATIVE, 'anxiety', 'confusion'];
const DEFAULT_DAYS = 30;
const DAY = 86400000;

const $ = (s, root = document) => root.querySelector(s);
const $$ = (s, root = document) => Array.from(root.querySelectorAll(s));

const state = {
  session: null, // {role, open}
  values: {}, // dimension -> [values]
  gen: 0,
  leave: [],
  minN: 5,
};

// ---------------------------------------------------------------------------
// Routing: #/page?from=...&channel=...  (filters and page options in the hash query)
// ---------------------------------------------------------------------------

function route() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, query = ''] = raw.split('?');
  const page = PAGES.includes(path) ? path : 'overview';
  return { page, q: new URLSearchParams(query) };
}

function go(page, q) {
  const s = q.toString();
  const next = `#/${page}${s ? `?${s}` : ''}`;
  if (location.hash !== next) location.hash = next;
  else render();
}

/** Sets (or, with an empty value, removes) query keys of the current route. */
function setQuery(changes, page) {
  const r = route();
  for (const [k, v] of Object.entries(changes)) {
    if (v === null || v === undefined || v === '') r.q.delete(k);
    else r.q.set(k, v);
  }
  go(page || r.page, r.q);
}

const isoDay = (d) => d.toISOString().slice(0, 10);

/** The effective date range: from the URL, else the last DEFAULT_DAYS days (to = today, inclusive). */
function range(q) {
  const today = new Date();
  const to = q.get('to') || isoDay(today);
  const from = q.get('from') || isoDay(new Date(Date.parse(to) - (DEFAULT_DAYS - 1) * DAY));
  return { from, to };
}

/** API filter parameters from the URL (the "to" day is inclusive in the UI, exclusive in the API). */
function filters(q) {
  const { from, to } = range(q);
  const p = { from, to: isoDay(new Date(Date.parse(to) + DAY)) };
  for (const k of DIMENSIONS) if (q.get(k)) p[k] = q.get(k);
  return p;
}

function spanDays(q) {
  const { from, to } = range(q);
  return Math.round((Date.parse(to) - Date.parse(from)) / DAY) + 1;
}
const interval = (q) => (spanDays(q) <= 62 ? 'day' : 'week');

// ---------------------------------------------------------------------------
// Shell
// ---------------------------------------------------------------------------

function shell() {
  document.title = t('app.title');
  document.documentElement.lang = lang();
  const app = $('#app');
  app.innerHTML = `
  <button type="button" class="skip" id="skip">${esc(t('app.skip'))}</button>
  <header class="top">
    <div class="brand"><span class="logo" aria-hidden="true">◉</span> <strong>escucha</strong> <span class="tagline">${esc(t('app.tagline'))}</span></div>
    <nav aria-label="${esc(t('nav.label'))}"><ul id="nav"></ul></nav>
    <div class="side">
      <label class="lang">${esc(t('lang.label'))}
        <select id="lang" data-testid="lang">${LANGS.map((l) => `<option value="${l}" ${l === lang() ? 'selected' : ''}>${l === 'es' ? 'Español' : l === 'pt' ? 'Português' : 'English'}</option>`).join('')}</select>
      </label>
      <span id="session"></span>
    </div>
  </header>
  <form id="filters" class="filters" aria-label="${esc(t('filters.label'))}" hidden></form>
  <div id="banner" class="banner" role="alert" hidden></div>
  <main id="main" tabindex="-1"></main>
  <footer>${esc(t('footer.methods'))}</footer>`;
  $('#skip').addEventListener('click', () => $('#main').focus());
  $('#lang').addEventListener('change', (e) => {
    setLang(e.target.value);
    shell();
    if (state.session) { renderSession(); render(); } else signInScreen();
  });
}

function renderNav() {
  const { page, q } = route();
  const keep = new URLSearchParams();
  for (const k of FILTER_KEYS) if (q.get(k)) keep.set(k, q.get(k));
  const s = keep.toString();
  $('#nav').innerHTML = PAGES.map((p) => `<li><a href="#/${p}${s ? `?${s}` : ''}" data-page="${p}" ${p === page ? 'aria-current="page"' : ''}>${esc(t(`nav.${p}`))}</a></li>`).join('');
}

function renderSession() {
  const el = $('#session');
  if (!state.session) { el.innerHTML = ''; return; }
  const { role, open } = state.session;
  el.innerHTML = `<span class="role" data-testid="role" title="${esc(t('role.label'))}">${esc(t(`role.${role}`))}${open ? ` · ${esc(t('auth.open'))}` : ''}</span>
    ${open ? '' : `<button type="button" id="signout" class="link">${esc(t('auth.signout'))}</button>`}`;
  const so = $('#signout');
  if (so) so.addEventListener('click', () => { api.setToken(''); state.session = null; shell(); signInScreen(); });
}

function renderFilters() {
  const { q } = route();
  const { from, to } = range(q);
  const form = $('#filters');
  form.hidden = false;
  const sel = (dim) => {
    const vals = state.values[dim] || [];
    const cur = q.get(dim) || '';
    const opts = vals.includes(cur) || !cur ? vals : [cur, ...vals];
    const name = (v) => (dim === 'channel' || dim === 'language' ? labelName(dim, v) : v);
    return `<label>${esc(t(`dim.${dim}`))}<select name="${dim}" data-filter="${dim}"><option value="">${esc(t('filters.all'))}</option>${opts.map((v) => `<option value="${esc(v)}" ${v === cur ? 'selected' : ''}>${esc(name(v))}</option>`).join('')}</select></label>`;
  };
  form.innerHTML = `
    <label>${esc(t('filters.from'))}<input type="date" name="from" data-filter="from" value="${esc(from)}" max="${esc(to)}"></label>
    <label>${esc(t('filters.to'))}<input type="date" name="to" data-filter="to" value="${esc(to)}" min="${esc(from)}"></label>
    ${DIMENSIONS.map(sel).join('')}
    <button type="button" id="reset" class="link">${esc(t('filters.reset'))}</button>`;
  form.onchange = (e) => {
    const k = e.target.name;
    if (FILTER_KEYS.includes(k)) setQuery({ [k]: e.target.value });
  };
  form.onsubmit = (e) => e.preventDefault();
  $('#reset').onclick = () => {
    const r = route();
    for (const k of FILTER_KEYS) r.q.delete(k);
    go(r.page, r.q);
  };
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

const errors = new Map();

function banner(e) {
  const msg = e && e.message ? e.message : String(e);
  const key = `${e && e.path ? e.path : ''}: ${msg}`;
  errors.set(key, e && e.status ? `${e.status} ${e.path || ''}: ${msg}` : msg);
  const el = $('#banner');
  el.hidden = false;
  el.innerHTML = `<strong>${esc(t('common.error'))}</strong><ul>${[...errors.values()].map((m) => `<li>${esc(m)}</li>`).join('')}</ul>
    <button type="button" class="link" id="dismiss">${esc(t('common.dismiss'))}</button>`;
  $('#dismiss').onclick = clearBanner;
}
function clearBanner() {
  errors.clear();
  const el = $('#banner');
  if (el) { el.hidden = true; el.innerHTML = ''; }
}

/** Runs LOAD for a section element; errors become an inline note and (except 404/403) a banner. */
async function section(el, load) {
  if (!el) return;
  const gen = state.gen;
  try {
    await load();
  } catch (e) {
    if (gen !== state.gen) return;
    if (e instanceof api.ApiError && e.missing) {
      el.innerHTML = `<p class="note">${esc(t('common.unavailable', { what: `/api/v1/${e.path}` }))}</p>`;
    } else if (e instanceof api.ApiError && e.status === 403) {
      el.innerHTML = analystsOnly();
    } else if (e instanceof api.ApiError && e.status === 401) {
      api.setToken('');
      state.session = null;
      shell();
      signInScreen(t('auth.rejected'));
    } else {
      el.innerHTML = `<p class="note error">${esc(e.message || e)}</p>`;
      banner(e);
    }
  }
}

const analystsOnly = () => `<p class="note analysts-only" data-testid="analysts-only">🔒 ${esc(t('common.analystsOnly', { role: t(`role.${state.session ? state.session.role : 'viewer'}`) }))}</p>`;
const canSeeVerbatims = () => state.session && (state.session.role === 'analyst' || state.session.role === 'admin');

// ---------------------------------------------------------------------------
// Sign-in
// ---------------------------------------------------------------------------

function signInScreen(message) {
  $('#filters').hidden = true;
  $('#nav').innerHTML = '';
  renderSession();
  disposeAll();
  $('#main').innerHTML = `
  <section class="card signin" aria-labelledby="signin-title">
    <h1 id="signin-title">${esc(t('auth.title'))}</h1>
    <p>${esc(t('auth.intro'))}</p>
    <form id="signin-form">
      <label for="token">${esc(t('auth.token'))}</label>
      <input id="token" name="token" type="password" autocomplete="off" required spellcheck="false">
      <button type="submit">${esc(t('auth.submit'))}</button>
      <p id="signin-error" class="note error" role="alert" ${message ? '' : 'hidden'}>${esc(message || '')}</p>
    </form>
  </section>`;
  $('#signin-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const tok = $('#token').value.trim();
    if (!tok) return;
    try {
      const s = await whoami(tok);
      if (!s) throw new api.ApiError(401, 'unauthorized', t('auth.rejected'));
      api.setToken(tok);
      state.session = s;
      await start();
    } catch (err) {
      const el = $('#signin-error');
      el.hidden = false;
      el.textContent = err.status === 401 || err.status === 403 ? t('auth.rejected') : err.message;
    }
  });
  $('#token').focus();
}

/**
 * The caller's role with token TOK from `GET /api/v1/whoami`: {role, open}, or null when the
 * token is not accepted. One cheap call: the verbatim endpoints are never called to probe.
 */
async function whoami(tok) {
  try {
    const w = await api.get('whoami', null, tok);
    return { role: w.role, open: !!w.open };
  } catch (e) {
    if (e.status === 401) return null;
    throw e;
  }
}

async function start() {
  shell();
  renderSession();
  const [values, themes] = await Promise.all([
    Promise.all(DIMENSIONS.map((d) => api.get(`values/${d}`).then((r) => [d, r.values || []]).catch((e) => { banner(e); return [d, []]; }))),
    api.get('themes').catch((e) => { banner(e); return {}; }),
  ]);
  state.values = Object.fromEntries(values);
  setCustomThemes(themes.custom_themes);
  render();
}

async function boot() {
  shell();
  window.addEventListener('hashchange', () => { if (state.session) render(); });
  $('#main').innerHTML = `<p class="note">${esc(t('common.loading'))}</p>`;
  try {
    const tok = api.token();
    const s = await whoami(tok);
    if (!s) {
      api.setToken('');
      signInScreen(tok ? t('auth.rejected') : '');
      return;
    }
    state.session = s;
    await start();
  } catch (e) {
    banner(e);
    signInScreen();
  }
}

// ---------------------------------------------------------------------------
// Rendering helpers
// ---------------------------------------------------------------------------

function render() {
  state.gen += 1;
  for (const f of state.leave.splice(0)) f();
  disposeAll();
  clearBanner();
  renderNav();
  renderFilters();
  const { page, q } = route();
  const main = $('#main');
  main.innerHTML = '';
  main.dataset.page = page;
  const ctx = { q, f: filters(q), gen: state.gen, alive: () => ctx.gen === state.gen };
  PAGE_RENDERERS[page](main, ctx);
}

function card(id, title, extra = '', cls = '') {
  return `<section class="card ${cls}" id="${id}" aria-labelledby="${id}-h"><header class="card-h"><h2 id="${id}-h">${title}</h2>${extra}</header><div class="body"><p class="note loading">${esc(t('common.loading'))}</p></div></section>`;
}
const body = (id) => $(`#${id} .body`);

function tile(key, label, valueHtml, note) {
  return `<div class="tile" data-kpi="${esc(key)}"><div class="v">${valueHtml}</div><div class="l">${esc(label)}</div>${note ? `<div class="n">${esc(note)}</div>` : ''}</div>`;
}

const scoreOf = (v) => (v && typeof v === 'object' ? v.score ?? v.percent ?? v.mean ?? v.value ?? null : v ?? null);
const nOf = (v) => (v && typeof v === 'object' ? v.n ?? null : null);

function trendArrow(change) {
  if (change === null || change === undefined) return `<span class="trend new">${esc(t('gaps.new'))}</span>`;
  const cls = change > 0 ? 'up' : change < 0 ? 'down' : 'flat';
  const arrow = change > 0 ? '▲' : change < 0 ? '▼' : '▬';
  return `<span class="trend ${cls}"><span aria-hidden="true">${arrow}</span> ${esc(signed(change, 1))} %</span>`;
}

function csvButton(id, label) {
  return `<button type="button" class="csv" id="${id}" data-testid="${id}">⤓ ${esc(label)}</button>`;
}

function bindCsv(id, path, params, filename) {
  const b = $(`#${id}`);
  if (!b) return;
  b.addEventListener('click', async () => {
    try {
      await api.download(path, { ...params, format: 'csv' }, filename);
    } catch (e) {
      banner(e);
    }
  });
}

function axisTime(points) {
  return points.map((p) => shortDate(p.start));
}

const tooltipNum = (digits = 1) => (v) => (v === null || v === undefined || v === '-' ? '—' : num(v, digits));

// ---------------------------------------------------------------------------
// Verbatims (analysts and admins)
// ---------------------------------------------------------------------------

function turnLabels(turn) {
  if (Array.isArray(turn.labels)) return turn.labels.map((l) => ({ kind: l.kind || 'theme', ...l }));
  return [
    ...(turn.emotions || []).map((l) => ({ kind: 'emotion', ...l })),
    ...(turn.themes || []).map((l) => ({ kind: 'theme', ...l })),
    ...(turn.empathy || []).map((l) => ({ kind: 'empathy', ...l })),
  ].filter((l) => typeof l === 'object');
}

function chips(kind, ids) {
  return (ids || []).map((id) => `<span class="chip ${kind} ${NEGATIVE.includes(id) ? 'neg' : LOYALTY.includes(id) ? 'pos' : ''}">${esc(labelName(kind, typeof id === 'object' ? id.label : id))}</span>`).join('');
}

function turnHtml(turn) {
  const labels = turnLabels(turn);
  const spans = labels.flatMap((l) => (l.evidence || []).map(([s, e]) => [s, e, `${labelName(l.kind, l.label)} (${num(l.confidence, 2)})`]));
  const speaker = turn.speaker || 'customer';
  return `<div class="turn ${esc(speaker)}"><span class="speaker">${esc(t(`speaker.${speaker}`) === `speaker.${speaker}` ? speaker : t(`speaker.${speaker}`))}</span>
    <span class="text">${highlight(turn.text, spans)}</span>
    ${labels.length ? `<span class="turn-labels">${labels.map((l) => `<span class="chip ${esc(l.kind)} ${NEGATIVE.includes(l.label) ? 'neg' : LOYALTY.includes(l.label) ? 'pos' : ''}" title="${esc(num(l.confidence, 2))}">${esc(labelName(l.kind, l.label))}</span>`).join('')}</span>` : ''}</div>`;
}

function verbatimHtml(it) {
  const turns = (it.turns || []).filter((tu) => it.kind === 'survey' || turnLabels(tu).length);
  const scores = [
    it.nps !== null && it.nps !== undefined ? `NPS ${it.nps}` : '',
    it.csat !== null && it.csat !== undefined ? `CSAT ${it.csat}` : '',
    it.ces !== null && it.ces !== undefined ? `CES ${it.ces}` : '',
  ].filter(Boolean).join(' · ');
  const convLink = it.kind !== 'survey' ? ` · <a href="#/conversations?${esc(new URLSearchParams({ ...keptFilters(), conv: `${it.pipeline}/${it.id}` }).toString())}">${esc(t('conv.transcript'))}</a>` : '';
  return `<li class="verbatim"><div class="meta">${esc(t('verb.meta', { date: dateTime(it.occurred_at), channel: labelName('channel', it.channel), queue: it.queue || '—', lang: labelName('language', it.language) }))}${scores ? ` · ${esc(scores)}` : ''}${convLink}</div>
    ${turns.map(turnHtml).join('')}
    <div class="labels">${chips('emotion', it.emotions)}${chips('theme', it.themes)}</div></li>`;
}

function keptFilters() {
  const { q } = route();
  const o = {};
  for (const k of FILTER_KEYS) if (q.get(k)) o[k] = q.get(k);
  return o;
}

/** A paginated verbatim list for PARAMS into EL; viewers get a note instead of a request. */
async function verbatims(el, params, ctx) {
  if (!canSeeVerbatims()) { el.innerHTML = analystsOnly(); return; }
  el.innerHTML = `<ol class="verbatims" data-testid="verbatims"></ol><button type="button" class="more" hidden>${esc(t('common.more'))}</button>`;
  const list = $('ol', el);
  const more = $('button.more', el);
  let cursor = null;
  const load = async () => {
    const page = await api.get('interactions', { ...params, limit: '20', ...(cursor ? { cursor } : {}) });
    if (!ctx.alive()) return;
    list.insertAdjacentHTML('beforeend', page.items.map(verbatimHtml).join(''));
    if (!list.children.length) list.outerHTML = `<p class="note">${esc(t('verb.none'))}</p>`;
    cursor = page.next_cursor;
    more.hidden = !cursor;
  };
  more.addEventListener('click', () => section(el, load));
  await load();
}

// ---------------------------------------------------------------------------
// Anomalies
// ---------------------------------------------------------------------------

function anomalyText(a) {
  const label = labelName(a.kind === 'emotion' ? 'emotion' : 'theme', a.label);
  const seg = a.segment && a.segment.dimension ? `${t(`dim.${a.segment.dimension}`)}: ${a.segment.dimension === 'channel' || a.segment.dimension === 'language' ? labelName(a.segment.dimension, a.segment.value) : a.segment.value}` : t('anomaly.all');
  const digits = a.measure === 'share' ? 1 : 0;
  return t('anomaly.text', {
    label, measure: t(`anomaly.${a.measure}`) || a.measure, dir: t(`anomaly.${a.direction}`), segment: seg, day: date(a.day),
    value: num(a.value, digits), mean: num(a.baseline_mean, 1), sd: num(a.baseline_sd, 1), z: num(a.z, 1),
  });
}

// ---------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------

async function overview(main, ctx) {
  const { f, q } = ctx;
  main.innerHTML = `<h1 class="page-title">${esc(t('nav.overview'))}</h1>
    ${card('anomalies', `${esc(t('overview.anomalies'))} <span class="badge" id="anomaly-count" data-testid="anomaly-badge">…</span>`)}
    <section id="tiles" class="tiles" aria-label="KPI"></section>
    <div class="grid2">
      ${card('trends', esc(t('overview.trends')))}
      ${card('mix', esc(t('overview.emotionMix')))}
    </div>
    ${card('topgaps', esc(t('overview.topGaps')))}`;

  const summaryP = api.get('summary', f);
  section($('#tiles'), async () => {
    const r = await summaryP;
    if (!ctx.alive()) return;
    const s = r.summary;
    state.minN = r.min_sample ?? state.minN;
    const net = scoreOf(s.net_emotion);
    $('#tiles').innerHTML = [
      tile('interactions', t('kpi.interactions'), esc(num(s.interactions)), `${t('kpi.surveys')} ${num(s.surveys)} · ${t('kpi.transcripts')} ${num(s.transcripts)}`),
      tile('nps', t('kpi.nps'), fig(num(s.nps.score, 1), s.nps.score), `${t('common.n', { n: num(s.nps.n) })} · ${t('kpi.nps.note')}`),
      tile('csat', t('kpi.csat'), fig(pct(s.csat.percent), s.csat.percent), `${t('common.n', { n: num(s.csat.n) })} · ${t('kpi.csat.note', { mean: num(s.csat.mean, 2) })}`),
      tile('ces', t('kpi.ces'), fig(num(s.ces.mean, 2), s.ces.mean), `${t('common.n', { n: num(s.ces.n) })} · ${t('kpi.ces.note', { easy: pct(s.ces.percent_easy) })}`),
      s.net_emotion !== undefined ? tile('net_emotion', t('kpi.net'), fig(signed(net, 1), net), t('kpi.net.note')) : '',
      tile('recovery', t('kpi.recovery'), fig(pct(s.recovery.rate), s.recovery.rate), t('kpi.recovery.note', { a: num(s.recovery.recovered), b: num(s.recovery.started_negative) })),
      tile('empathy', t('kpi.empathy'), fig(num(s.agent_empathy.mean, 2), s.agent_empathy.mean), `${t('common.n', { n: num(s.agent_empathy.n) })} · ${t('kpi.empathy.note')}`),
    ].join('');
  });

  section(body('trends'), async () => {
    const r = await api.get('timeseries', { ...f, interval: interval(q), labels: 'emotion' });
    if (!ctx.alive()) return;
    const pts = r.points || [];
    if (!pts.length) { body('trends').innerHTML = `<p class="note">${esc(t('common.none'))}</p>`; body('mix').innerHTML = `<p class="note">${esc(t('common.none'))}</p>`; return; }
    const x = axisTime(pts);
    const vol = pts.map((p) => p.volume ?? p.interactions ?? p.with_text ?? 0);
    const series = [{ name: t('kpi.volume'), type: 'bar', data: vol, yAxisIndex: 0, itemStyle: { color: '#cbd5e0' } }];
    const hasScores = pts.some((p) => p.nps !== undefined);
    if (hasScores) {
      for (const [key, name] of [['nps', 'NPS'], ['csat', 'CSAT %'], ['ces', 'CES']]) {
        series.push({ name, type: 'line', yAxisIndex: 1, connectNulls: false, data: pts.map((p) => ({ value: scoreOf(p[key]), n: nOf(p[key]) })) });
      }
    }
    body('trends').innerHTML = '<div class="chart" data-testid="chart-trends"></div>';
    chart($('.chart', body('trends')), {
      tooltip: {
        trigger: 'axis',
        formatter: (items) => `${esc(items[0].axisValueLabel)}<br>${items.map((i) => `${i.marker}${esc(i.seriesName)}: ${i.value === null || i.value === undefined ? `— (${esc(t('common.withheld'))})` : esc(num(i.value, 1))}${i.data && i.data.n !== undefined && i.data.n !== null ? ` (${esc(t('common.n', { n: num(i.data.n) }))})` : ''}`).join('<br>')}`,
      },
      legend: { top: 0 },
      grid: { left: 48, right: 48, top: 36, bottom: 28 },
      xAxis: { type: 'category', data: x },
      yAxis: [{ type: 'value', name: t('kpi.volume') }, { type: 'value', name: hasScores ? 'NPS / CSAT / CES' : '', splitLine: { show: false } }],
      series,
    }, t('overview.trends'));

    const totals = {};
    pts.forEach((p) => Object.entries(p.counts || {}).forEach(([k, v]) => { totals[k] = (totals[k] || 0) + v; }));
    const emos = ALL_EMOTIONS.filter((e) => totals[e]);
    body('mix').innerHTML = '<div class="chart" data-testid="chart-mix"></div>';
    chart($('.chart', body('mix')), {
      tooltip: { trigger: 'axis', valueFormatter: (v) => pct(v) },
      legend: { top: 0, type: 'scroll' },
      grid: { left: 48, right: 16, top: 36, bottom: 28 },
      xAxis: { type: 'category', data: x },
      yAxis: { type: 'value', axisLabel: { formatter: (v) => pct(v, 0) } },
      series: emos.map((e) => ({
        name: labelName('emotion', e), type: 'line', stack: 'mix', areaStyle: {}, symbol: 'none',
        data: pts.map((p) => { const all = ALL_EMOTIONS.reduce((a, k) => a + ((p.counts || {})[k] || 0), 0); return all ? (100 * (p.counts[e] || 0)) / all : 0; }),
      })),
    }, t('overview.emotionMix'));
  });

  section(body('topgaps'), async () => {
    const [g, imp] = await Promise.all([
      api.get('gaps', f),
      api.get('impact', { ...f, metric: 'nps', by: 'theme' }).catch((e) => (e.missing ? null : Promise.reject(e))),
    ]);
    if (!ctx.alive()) return;
    const impacts = Object.fromEntries(((imp && imp.items) || []).map((i) => [i.label, i]));
    const top = g.gaps.gaps.slice(0, 6);
    body('topgaps').innerHTML = top.length ? `<table class="data" data-testid="top-gaps"><thead><tr><th scope="col">${esc(t('dim.theme'))}</th><th scope="col" class="num">${esc(t('common.count'))}</th><th scope="col" class="num">${esc(t('common.share'))}</th><th scope="col">${esc(t('gaps.trend'))}</th><th scope="col" class="num">${esc(t('gaps.impact'))}</th></tr></thead><tbody>
      ${top.map((x) => {
    const i = impacts[x.theme];
    const iv = i ? i.impact : null;
    return `<tr><th scope="row"><a href="#/gaps?${esc(new URLSearchParams({ ...keptFilters(), gap: x.theme }).toString())}">${esc(labelName('theme', x.theme))}</a></th><td class="num">${esc(num(x.count))}</td><td class="num">${esc(pct(x.share))}</td><td>${trendArrow(x.change)}</td><td class="num" ${i && i.ci95 ? `title="${esc(t('gaps.impactCi', { lo: signed(i.ci95[0]), hi: signed(i.ci95[1]) }))}"` : ''}>${imp ? fig(signed(iv), iv) : '<span class="note">n/a</span>'}</td></tr>`;
  }).join('')}</tbody></table>` : `<p class="note">${esc(t('common.none'))}</p>`;
  });

  section(body('anomalies'), async () => {
    // The 20 strongest; `total` counts them all.
    const r = await api.get('anomalies', { ...f, limit: '20' });
    if (!ctx.alive()) return;
    const list = r.anomalies || [];
    const total = r.total ?? list.length;
    $('#anomaly-count').textContent = num(total);
    $('#anomaly-count').classList.toggle('hot', total > 0);
    body('anomalies').innerHTML = list.length ? `<ul class="anomalies" data-testid="anomalies">${list.map((a) => `<li class="${a.direction === 'up' ? 'up' : 'down'}"><span class="badge ${a.direction === 'up' ? 'hot' : ''}" aria-hidden="true">${a.direction === 'up' ? '▲' : '▼'}</span> ${esc(anomalyText(a))}</li>`).join('')}</ul>` : `<p class="note">${esc(t('overview.noAnomalies'))}</p>`;
  }).then(() => { const b = $('#anomaly-count'); if (b && b.textContent === '…') b.textContent = '—'; });
}

async function gapsPage(main, ctx) {
  const { f, q } = ctx;
  const sel = q.get('gap') || '';
  const by = ['channel', 'queue', 'product'].includes(q.get('by')) ? q.get('by') : 'product';
  main.innerHTML = `<h1 class="page-title">${esc(t('nav.gaps'))}</h1>
    ${card('gaptable', esc(t('gaps.title')))}
    <div class="grid2">
      ${card('gaptrend', esc(t('gaps.trendTitle')))}
      ${card('breakdown', esc(t('gaps.breakdown', { dim: t(`dim.${by}`) })), `<div class="tools"><label>${esc(t('common.breakdownBy'))} <select id="by">${['product', 'channel', 'queue'].map((d) => `<option value="${d}" ${d === by ? 'selected' : ''}>${esc(t(`dim.${d}`))}</option>`).join('')}</select></label> ${csvButton('csv-breakdown', t('common.csv'))}</div>`)}
    </div>
    ${card('gapverbatims', esc(sel ? t('gaps.verbatims', { label: labelName('theme', sel) }) : t('gaps.verbatimsAll')), sel && canSeeVerbatims() ? csvButton('csv-drill', t('gaps.drillCsv')) : '')}`;
  $('#by').addEventListener('change', (e) => setQuery({ by: e.target.value }));
  bindCsv('csv-breakdown', 'query', { ...f, dimensions: `theme,${by}`, metrics: 'interactions,share,nps,csat,ces' }, `escucha-gaps-by-${by}.csv`);
  if (sel) bindCsv('csv-drill', 'interactions', { ...f, theme: sel }, `escucha-verbatims-${sel}.csv`);

  section(body('gaptable'), async () => {
    const [g, imp] = await Promise.all([
      api.get('gaps', f),
      api.get('impact', { ...f, metric: 'nps', by: 'theme' }).catch((e) => (e.missing ? null : Promise.reject(e))),
    ]);
    if (!ctx.alive()) return;
    const impacts = Object.fromEntries(((imp && imp.items) || []).map((i) => [i.label, i]));
    const rows = g.gaps.gaps;
    if (!rows.length) { body('gaptable').innerHTML = `<p class="note">${esc(t('common.none'))}</p>`; return; }
    body('gaptable').innerHTML = `<div class="scroll"><table class="data" data-testid="gap-table"><thead><tr>
      <th scope="col">#</th><th scope="col">${esc(t('dim.theme'))}</th><th scope="col" class="num">${esc(t('common.count'))}</th><th scope="col" class="num">${esc(t('common.share'))}</th>
      <th scope="col">${esc(t('gaps.trend'))}</th><th scope="col" class="num">${esc(t('gaps.npsWith'))}</th><th scope="col" class="num">${esc(t('gaps.npsWithout'))}</th>
      <th scope="col" class="num">${esc(t('gaps.csatWith'))}</th><th scope="col" class="num">${esc(t('gaps.csatWithout'))}</th><th scope="col" class="num">${esc(t('gaps.impact'))}</th></tr></thead><tbody>
      ${rows.map((x, i) => {
    const im = impacts[x.theme];
    const iv = im ? im.impact : null;
    return `<tr class="${x.theme === sel ? 'selected' : ''}" data-theme="${esc(x.theme)}"><td>${i + 1}</td>
        <th scope="row"><button type="button" class="link pick-gap" data-theme="${esc(x.theme)}" aria-pressed="${x.theme === sel}">${esc(labelName('theme', x.theme))}</button></th>
        <td class="num">${esc(num(x.count))}</td><td class="num">${esc(pct(x.share))}</td><td>${trendArrow(x.change)}</td>
        <td class="num" title="${esc(t('common.n', { n: num(x.nps_with.n) }))}">${fig(num(x.nps_with.score, 1), x.nps_with.score)}</td>
        <td class="num" title="${esc(t('common.n', { n: num(x.nps_without.n) }))}">${fig(num(x.nps_without.score, 1), x.nps_without.score)}</td>
        <td class="num" title="${esc(t('common.n', { n: num(x.csat_with.n) }))}">${fig(pct(x.csat_with.percent), x.csat_with.percent)}</td>
        <td class="num" title="${esc(t('common.n', { n: num(x.csat_without.n) }))}">${fig(pct(x.csat_without.percent), x.csat_without.percent)}</td>
        <td class="num" ${im && im.ci95 ? `title="${esc(t('gaps.impactCi', { lo: signed(im.ci95[0]), hi: signed(im.ci95[1]) }))}"` : ''}>${imp ? fig(signed(iv), iv) : '<span class="note">n/a</span>'}</td></tr>`;
  }).join('')}</tbody></table></div>`;
    $$('.pick-gap', body('gaptable')).forEach((b) => b.addEventListener('click', () => setQuery({ gap: b.dataset.theme === sel ? '' : b.dataset.theme })));
  });

  section(body('gaptrend'), async () => {
    const r = await api.get('timeseries', { ...f, interval: interval(q), labels: 'theme' });
    if (!ctx.alive()) return;
    const pts = r.points || [];
    const totals = {};
    pts.forEach((p) => Object.entries(p.counts || {}).forEach(([k, v]) => { totals[k] = (totals[k] || 0) + v; }));
    let themes = Object.entries(totals).sort((a, b) => b[1] - a[1]).map(([k]) => k).slice(0, 6);
    if (sel && !themes.includes(sel)) themes = [sel, ...themes.slice(0, 5)];
    if (!pts.length) { body('gaptrend').innerHTML = `<p class="note">${esc(t('common.none'))}</p>`; return; }
    body('gaptrend').innerHTML = '<div class="chart" data-testid="chart-gap-trend"></div>';
    chart($('.chart', body('gaptrend')), {
      tooltip: { trigger: 'axis' },
      legend: { top: 0, type: 'scroll' },
      grid: { left: 40, right: 16, top: 36, bottom: 28 },
      xAxis: { type: 'category', data: axisTime(pts) },
      yAxis: { type: 'value' },
      series: themes.map((th) => ({
        name: labelName('theme', th), type: 'line', data: pts.map((p) => p.counts[th] || 0),
        lineStyle: { width: th === sel ? 4 : 2 }, emphasis: { focus: 'series' },
      })),
    }, t('gaps.trendTitle'));
  });

  section(body('breakdown'), async () => {
    const r = await api.get('query', { ...f, dimensions: `theme,${by}`, metrics: 'interactions,nps', limit: '1000' });
    if (!ctx.alive()) return;
    const rows = r.rows || [];
    if (!rows.length) { body('breakdown').innerHTML = `<p class="note">${esc(t('common.none'))}</p>`; return; }
    const sum = (key) => { const m = {}; rows.forEach((x) => { m[x[key]] = (m[x[key]] || 0) + (x.interactions || 0); }); return Object.entries(m).sort((a, b) => b[1] - a[1]).map(([k]) => k); };
    const themes = sum('theme').slice(0, 11);
    const cols = sum(by).slice(0, 15);
    const data = rows.filter((x) => themes.includes(x.theme) && cols.includes(x[by])).map((x) => [cols.indexOf(x[by]), themes.indexOf(x.theme), x.interactions, x.nps, x.nps_n]);
    const max = Math.max(1, ...data.map((d) => d[2]));
    body('breakdown').innerHTML = '<div class="chart tall" data-testid="chart-breakdown"></div>';
    chart($('.chart', body('breakdown')), {
      tooltip: {
        formatter: (p) => `${esc(labelName('theme', themes[p.value[1]]))} × ${esc(by === 'channel' ? labelName('channel', cols[p.value[0]]) : cols[p.value[0]] || '—')}<br>${esc(t('kpi.interactions'))}: ${esc(num(p.value[2]))}<br>NPS: ${p.value[3] === null || p.value[3] === undefined ? `— (${esc(t('common.withheld'))})` : esc(num(p.value[3], 1))}${p.value[4] !== undefined && p.value[4] !== null ? ` (${esc(t('common.n', { n: num(p.value[4]) }))})` : ''}`,
      },
      grid: { left: 150, right: 16, top: 8, bottom: 70 },
      xAxis: { type: 'category', data: cols.map((c) => (by === 'channel' ? labelName('channel', c) : c || '—')), axisLabel: { rotate: 30 } },
      yAxis: { type: 'category', data: themes.map((th) => labelName('theme', th)) },
      visualMap: { min: 0, max, calculable: true, orient: 'horizontal', left: 'center', bottom: 0, show: false, inRange: { color: ['#ebf4ff', '#2b6cb0'] } },
      series: [{ type: 'heatmap', data, label: { show: true, formatter: (p) => num(p.value[2]) } }],
    }, t('gaps.breakdown', { dim: t(`dim.${by}`) }));
  });

  section(body('gapverbatims'), async () => {
    if (!sel) {
      body('gapverbatims').innerHTML = canSeeVerbatims() ? `<p class="note">${esc(t('gaps.pick'))}</p>` : analystsOnly();
      return;
    }
    await verbatims(body('gapverbatims'), { ...f, theme: sel }, ctx);
  });
}

async function emotionsPage(main, ctx) {
  const { f, q } = ctx;
  const by = q.get('by') === 'queue' ? 'queue' : 'channel';
  main.innerHTML = `<h1 class="page-title">${esc(t('nav.emotions'))}</h1>
    ${card('emotime', esc(t('emotions.overTime')))}
    <div class="grid2">
      ${card('heat', esc(t('emotions.heatmap', { dim: t(`dim.${by}`) })), `<div class="tools"><label>${esc(t('common.breakdownBy'))} <select id="by">${['channel', 'queue'].map((d) => `<option value="${d}" ${d === by ? 'selected' : ''}>${esc(t(`dim.${d}`))}</option>`).join('')}</select></label></div>`)}
      ${card('emomix', esc(t('emotions.mix')))}
    </div>`;
  $('#by').addEventListener('change', (e) => setQuery({ by: e.target.value }));

  section(body('emotime'), async () => {
    const r = await api.get('timeseries', { ...f, interval: interval(q), labels: 'emotion' });
    if (!ctx.alive()) return;
    const pts = r.points || [];
    if (!pts.length) { body('emotime').innerHTML = `<p class="note">${esc(t('common.none'))}</p>`; return; }
    const share = (p, e) => (p.with_text ? (100 * (p.counts[e] || 0)) / p.with_text : null);
    const group = (p, list) => (p.with_text ? list.reduce((a, e) => a + (p.counts[e] || 0), 0) / p.with_text * 100 : null);
    body('emotime').innerHTML = '<div class="chart tall" data-testid="chart-emotions"></div>';
    chart($('.chart', body('emotime')), {
      tooltip: { trigger: 'axis', valueFormatter: (v) => pct(v) },
      legend: { top: 0, type: 'scroll' },
      grid: { left: 48, right: 16, top: 40, bottom: 28 },
      xAxis: { type: 'category', data: axisTime(pts) },
      yAxis: { type: 'value', axisLabel: { formatter: (v) => pct(v, 0) } },
      series: [
        ...LOYALTY.map((e) => ({ name: labelName('emotion', e), type: 'line', symbol: 'none', data: pts.map((p) => share(p, e)) })),
        ...NEGATIVE.map((e) => ({ name: labelName('emotion', e), type: 'line', symbol: 'none', lineStyle: { type: 'dashed' }, data: pts.map((p) => share(p, e)) })),
        { name: `Σ ${t('emotions.loyalty')}`, type: 'line', symbol: 'none', lineStyle: { width: 4 }, color: '#2f855a', data: pts.map((p) => group(p, LOYALTY)) },
        { name: `Σ ${t('emotions.negative')}`, type: 'line', symbol: 'none', lineStyle: { width: 4, type: 'dashed' }, color: '#c53030', data: pts.map((p) => group(p, NEGATIVE)) },
      ],
    }, t('emotions.overTime'));
  });

  section(body('heat'), async () => {
    const [cells, totals] = await Promise.all([
      api.get('query', { ...f, dimensions: `emotion,${by}`, metrics: 'interactions', limit: '1000' }),
      api.get('query', { ...f, dimensions: by, metrics: 'interactions', limit: '1000' }),
    ]);
    if (!ctx.alive()) return;
    const tot = Object.fromEntries((totals.rows || []).map((x) => [x[by], x.interactions]));
    const cols = Object.entries(tot).sort((a, b) => b[1] - a[1]).map(([k]) => k).slice(0, 15);
    const emos = ALL_EMOTIONS;
    const data = (cells.rows || []).filter((x) => cols.includes(x[by]) && emos.includes(x.emotion))
      .map((x) => [cols.indexOf(x[by]), emos.indexOf(x.emotion), tot[x[by]] ? Math.round((1000 * x.interactions) / tot[x[by]]) / 10 : null, x.interactions]);
    if (!data.length) { body('heat').innerHTML = `<p class="note">${esc(t('common.none'))}</p>`; return; }
    body('heat').innerHTML = '<div class="chart tall" data-testid="chart-heatmap"></div>';
    chart($('.chart', body('heat')), {
      tooltip: { formatter: (p) => `${esc(labelName('emotion', emos[p.value[1]]))} × ${esc(by === 'channel' ? labelName('channel', cols[p.value[0]]) : cols[p.value[0]])}: ${esc(pct(p.value[2]))} (${esc(num(p.value[3]))})` },
      grid: { left: 120, right: 16, top: 8, bottom: 70 },
      xAxis: { type: 'category', data: cols.map((c) => (by === 'channel' ? labelName('channel', c) : c)), axisLabel: { rotate: 30 } },
      yAxis: { type: 'category', data: emos.map((e) => labelName('emotion', e)) },
      visualMap: { min: 0, max: Math.max(1, ...data.map((d) => d[2] || 0)), show: false, inRange: { color: ['#fff5f5', '#c53030'] } },
      series: [{ type: 'heatmap', data, label: { show: true, formatter: (p) => num(p.value[2], 0) } }],
    }, t('emotions.heatmap', { dim: t(`dim.${by}`) }));
  });

  section(body('emomix'), async () => {
    const r = await api.get('summary', f);
    if (!ctx.alive()) return;
    const list = (r.summary.emotions || []).slice().sort((a, b) => a.count - b.count);
    if (!list.length) { body('emomix').innerHTML = `<p class="note">${esc(t('common.none'))}</p>`; return; }
    body('emomix').innerHTML = '<div class="chart tall" data-testid="chart-emotion-mix"></div>';
    chart($('.chart', body('emomix')), {
      tooltip: { trigger: 'item', formatter: (p) => `${esc(p.name)}: ${esc(num(p.value))} (${esc(pct(list[p.dataIndex].share))})` },
      grid: { left: 120, right: 40, top: 8, bottom: 24 },
      xAxis: { type: 'value' },
      yAxis: { type: 'category', data: list.map((x) => labelName('emotion', x.label)) },
      series: [{ type: 'bar', data: list.map((x) => ({ value: x.count, itemStyle: { color: NEGATIVE.includes(x.label) || ['anxiety', 'confusion'].includes(x.label) ? '#c53030' : '#2f855a' } })), label: { show: true, position: 'right', formatter: (p) => pct(list[p.dataIndex].share) } }],
    }, t('emotions.mix'));
  });
}

async function conversationsPage(main, ctx) {
  const { f, q } = ctx;
  const conv = q.get('conv') || '';
  main.innerHTML = `<h1 class="page-title">${esc(t('nav.conversations'))}</h1>
    <div class="grid2">
      ${card('recq', esc(t('conv.recoveryQueue')))}
      ${card('traj', esc(t('conv.trajectory')))}
    </div>
    ${card('reca', esc(t('conv.recoveryAgent')))}
    <div class="grid2 convs">
      ${card('convlist', esc(t('conv.list')))}
      ${card('transcript', esc(t('conv.transcript')))}
    </div>`;

  section(body('recq'), async () => {
    const r = await api.get('query', { ...f, kind: 'transcript', dimensions: 'queue', metrics: 'interactions,recovery_rate,agent_empathy', limit: '1000' });
    if (!ctx.alive()) return;
    const rows = (r.rows || []).slice().sort((a, b) => (b.interactions || 0) - (a.interactions || 0));
    if (!rows.length) { body('recq').innerHTML = `<p class="note">${esc(t('common.none'))}</p>`; return; }
    body('recq').innerHTML = '<div class="chart" data-testid="chart-recovery-queue"></div>';
    chart($('.chart', body('recq')), {
      tooltip: { trigger: 'axis', valueFormatter: tooltipNum(2) },
      legend: { top: 0 },
      grid: { left: 48, right: 48, top: 36, bottom: 48 },
      xAxis: { type: 'category', data: rows.map((x) => x.queue || '—'), axisLabel: { rotate: 20 } },
      yAxis: [{ type: 'value', name: '%', max: 100 }, { type: 'value', name: '0–1', max: 1, splitLine: { show: false } }],
      series: [
        { name: t('kpi.recovery'), type: 'bar', data: rows.map((x) => x.recovery_rate ?? null) },
        { name: t('kpi.empathy'), type: 'line', yAxisIndex: 1, data: rows.map((x) => x.agent_empathy ?? null) },
      ],
    }, t('conv.recoveryQueue'));
  });

  section(body('reca'), async () => {
    const r = await api.get('query', { ...f, kind: 'transcript', dimensions: 'agent', metrics: 'interactions,recovery_rate,agent_empathy', limit: '1000' });
    if (!ctx.alive()) return;
    const rows = (r.rows || []).filter((x) => x.recovery_rate !== null && x.recovery_rate !== undefined).sort((a, b) => b.recovery_rate - a.recovery_rate);
    if (!rows.length) { body('reca').innerHTML = `<p class="note">${esc(t('common.none'))} (${esc(t('common.withheld'))})</p>`; return; }
    const shown = rows.length > 30 ? [...rows.slice(0, 15), ...rows.slice(-15)] : rows;
    body('reca').innerHTML = '<div class="chart" data-testid="chart-recovery-agent"></div>';
    chart($('.chart', body('reca')), {
      tooltip: { trigger: 'axis', formatter: (items) => { const x = shown[items[0].dataIndex]; return `${esc(x.agent)}: ${esc(pct(x.recovery_rate))} · ${esc(t('kpi.empathy'))} ${esc(num(x.agent_empathy, 2))} · ${esc(t('common.n', { n: num(x.interactions) }))}`; } },
      grid: { left: 48, right: 16, top: 16, bottom: 56 },
      xAxis: { type: 'category', data: shown.map((x) => x.agent || '—'), axisLabel: { rotate: 45 } },
      yAxis: { type: 'value', max: 100, axisLabel: { formatter: (v) => pct(v, 0) } },
      series: [{ name: t('kpi.recovery'), type: 'bar', data: shown.map((x) => x.recovery_rate) }],
    }, t('conv.recoveryAgent'));
  });

  section(body('traj'), async () => {
    const r = await api.get('query', { ...f, kind: 'transcript', dimensions: 'first_emotion,last_emotion', metrics: 'interactions', limit: '1000' });
    if (!ctx.alive()) return;
    const rows = (r.rows || []).filter((x) => ALL_EMOTIONS.includes(x.first_emotion) && ALL_EMOTIONS.includes(x.last_emotion));
    if (!rows.length) { body('traj').innerHTML = `<p class="note">${esc(t('common.none'))}</p>`; return; }
    const emos = ALL_EMOTIONS;
    const data = rows.map((x) => [emos.indexOf(x.last_emotion), emos.indexOf(x.first_emotion), x.interactions]);
    body('traj').innerHTML = '<div class="chart" data-testid="chart-trajectory"></div>';
    chart($('.chart', body('traj')), {
      tooltip: { formatter: (p) => `${esc(t('conv.trajectoryOf', { start: labelName('emotion', emos[p.value[1]]), end: labelName('emotion', emos[p.value[0]]) }))}: ${esc(num(p.value[2]))}` },
      grid: { left: 120, right: 16, top: 8, bottom: 80 },
      xAxis: { type: 'category', name: t('conv.end'), nameLocation: 'middle', nameGap: 64, data: emos.map((e) => labelName('emotion', e)), axisLabel: { rotate: 40 } },
      yAxis: { type: 'category', name: t('conv.start'), data: emos.map((e) => labelName('emotion', e)) },
      visualMap: { min: 0, max: Math.max(1, ...data.map((d) => d[2])), show: false, inRange: { color: ['#f7fafc', '#6b46c1'] } },
      series: [{ type: 'heatmap', data, label: { show: true } }],
    }, t('conv.trajectory'));
  });

  if (!canSeeVerbatims()) {
    body('convlist').innerHTML = analystsOnly();
    body('transcript').innerHTML = analystsOnly();
    return;
  }
  const items = new Map();
  section(body('convlist'), async () => {
    const el = body('convlist');
    el.innerHTML = `<ul class="convlist" data-testid="conversation-list"></ul><button type="button" class="more" hidden>${esc(t('common.more'))}</button>`;
    let cursor = null;
    const load = async () => {
      const r = await api.get('interactions', { ...f, kind: 'transcript', limit: '20', ...(cursor ? { cursor } : {}) });
      if (!ctx.alive()) return;
      for (const it of r.items) items.set(`${it.pipeline}/${it.id}`, it);
      $('ul', el).insertAdjacentHTML('beforeend', r.items.map((it) => {
        const key = `${it.pipeline}/${it.id}`;
        return `<li><a class="${key === conv ? 'selected' : ''}" href="#/conversations?${esc(new URLSearchParams({ ...keptFilters(), conv: key }).toString())}" ${key === conv ? 'aria-current="true"' : ''}>
          <span class="meta">${esc(dateTime(it.occurred_at))} · ${esc(labelName('channel', it.channel))} · ${esc(it.queue || '—')} · ${esc(it.agent || '—')}</span>
          <span class="labels">${chips('emotion', it.emotions)}${chips('theme', it.themes)}</span></a></li>`;
      }).join(''));
      cursor = r.next_cursor;
      $('button.more', el).hidden = !cursor;
      if (!$('ul', el).children.length) el.innerHTML = `<p class="note">${esc(t('verb.none'))}</p>`;
    };
    $('button.more', el).addEventListener('click', () => section(el, load));
    await load();
  }).then(() => section(body('transcript'), async () => {
    if (!conv) { body('transcript').innerHTML = `<p class="note">${esc(t('conv.pick'))}</p>`; return; }
    const [pipeline, ...rest] = conv.split('/');
    const id = rest.join('/');
    let it;
    try {
      it = await api.get(`interactions/${encodeURIComponent(pipeline)}/${encodeURIComponent(id)}`);
    } catch (e) {
      if (!e.missing || !items.has(conv)) throw e;
      it = items.get(conv);
    }
    if (!ctx.alive()) return;
    // Start and end emotions: from the API, else from the first and last customer turns.
    const cust = (it.turns || []).filter((tu) => (tu.speaker || 'customer') === 'customer');
    const emosOf = (tu) => (tu ? turnLabels(tu).filter((l) => l.kind === 'emotion').map((l) => l.label) : []);
    const first = it.first_emotions || emosOf(cust[0]);
    const last = it.last_emotions || emosOf(cust[cust.length - 1]);
    const traj = cust.length || it.first_emotions ? t('conv.trajectoryOf', {
      start: first.length ? first.map((e) => labelName('emotion', e)).join(', ') : t('conv.neutral'),
      end: last.length ? last.map((e) => labelName('emotion', e)).join(', ') : t('conv.neutral'),
    }) : '';
    body('transcript').innerHTML = `<div class="transcript" data-testid="transcript">
      <div class="meta">${esc(dateTime(it.occurred_at))} · ${esc(labelName('channel', it.channel))} · ${esc(it.queue || '—')} · ${esc(it.agent || '—')}</div>
      <div class="summary-line">${traj ? `<span class="chip traj">${esc(traj)}</span>` : ''}
        ${it.recovered === true ? `<span class="chip pos">${esc(t('conv.recovered'))}</span>` : it.recovered === false ? `<span class="chip neg">${esc(t('conv.notRecovered'))}</span>` : ''}
        ${it.agent_empathy !== null && it.agent_empathy !== undefined ? `<span class="chip">${esc(t('conv.empathy', { v: num(it.agent_empathy, 2) }))}</span>` : ''}</div>
      <div class="turns">${(it.turns || []).map(turnHtml).join('')}</div>
      <div class="labels">${chips('emotion', it.emotions)}${chips('theme', it.themes)}</div></div>`;
  }));
}

const OPS = [
  { key: 'resolution_rate', label: 'kpi.fcr', note: 'kpi.fcr.note', kind: 'pct', gaps: ['unresolved'] },
  { key: 'repeat_contact_rate', label: 'kpi.repeat', note: 'kpi.repeat.note', kind: 'pct', gaps: ['repeat_contact', 'repeat_information'] },
  { key: 'transfer_rate', label: 'kpi.transfer', note: 'kpi.transfer.note', kind: 'pct', gaps: ['transfer'] },
  { key: 'bot_containment', label: 'kpi.containment', note: 'kpi.containment.note', kind: 'pct', gaps: ['bot_dead_end'] },
  { key: 'escalation_rate', label: 'kpi.escalation', note: 'kpi.escalation.note', kind: 'pct', gaps: ['bot_dead_end', 'channel_mismatch'] },
  { key: 'aht_seconds', label: 'kpi.aht', note: 'kpi.aht.note', kind: 'min', gaps: ['knowledge_gap', 'repeat_information'] },
  { key: 'asa_seconds', label: 'kpi.asa', note: 'kpi.asa.note', kind: 'min', gaps: ['long_wait'] },
];

async function operationsPage(main, ctx) {
  const { f, q } = ctx;
  const w = Math.min(90, Math.max(1, parseInt(q.get('window') || '7', 10) || 7));
  main.innerHTML = `<h1 class="page-title">${esc(t('nav.operations'))}</h1>
    ${card('opkpis', esc(t('ops.title')), `<div class="tools"><label>${esc(t('ops.window'))} <input id="window" type="number" min="1" max="90" value="${w}"></label></div>`)}
    ${card('opqueue', esc(t('ops.perQueue')))}`;
  $('#window').addEventListener('change', (e) => setQuery({ window: e.target.value === '7' ? '' : e.target.value }));

  section(body('opkpis'), async () => {
    const [k, s, imp, co] = await Promise.all([
      api.get('kpis', { ...f, repeat_window_days: String(w) }),
      api.get('summary', f),
      api.get('impact', { ...f, metric: 'nps', by: 'theme' }).catch((e) => (e.missing ? null : Promise.reject(e))),
      // Every theme × emotion (the gaps are picked below): a theme filter would
      // only add a condition every row of a listed gap meets anyway.
      api.get('query', { ...f, dimensions: 'theme,emotion', metrics: 'interactions', limit: '1000' }).catch((e) => (e.missing ? null : Promise.reject(e))),
    ]);
    if (!ctx.alive()) return;
    const kp = k.kpis;
    const themes = Object.fromEntries((s.summary.themes || []).map((x) => [x.label, x]));
    const impacts = Object.fromEntries(((imp && imp.items) || []).map((i) => [i.label, i]));
    const emoWith = {};
    for (const r of (co && co.rows) || []) (emoWith[r.theme] = emoWith[r.theme] || []).push(r);
    const value = (o) => (o.kind === 'pct' ? fig(pct(kp[o.key]), kp[o.key]) : fig(minutes(kp[o.key]), kp[o.key]));
    body('opkpis').innerHTML = `<div class="tiles">${tile('contacts', t('kpi.contacts'), esc(num(kp.contacts)), '')}${OPS.map((o) => tile(o.key, t(o.label), value(o), t(o.note, { days: kp.repeat_window_days ?? w }))).join('')}</div>
      <div class="scroll"><table class="data" data-testid="ops-drivers"><thead><tr><th scope="col">KPI</th><th scope="col" class="num"></th><th scope="col">${esc(t('ops.drives'))}</th></tr></thead><tbody>
      ${OPS.map((o) => `<tr><th scope="row">${esc(t(o.label))}</th><td class="num">${value(o)}</td><td><ul class="drivers">${o.gaps.map((g) => {
    const th = themes[g];
    const im = impacts[g];
    const emos = (emoWith[g] || []).sort((a, b) => b.interactions - a.interactions).slice(0, 3);
    return `<li><a href="#/gaps?${esc(new URLSearchParams({ ...keptFilters(), gap: g }).toString())}">${esc(labelName('theme', g))}</a>: ${esc(t('ops.mentions', { n: num(th ? th.count : 0), share: pct(th ? th.share : 0) }))}${im ? ` · ${esc(t('gaps.impact'))} ${fig(signed(im.impact), im.impact)}` : ''}${emos.length ? ` · ${esc(t('ops.emotionsWith'))}: ${chips('emotion', emos.map((e) => e.emotion))}` : ''}</li>`;
  }).join('')}</ul></td></tr>`).join('')}</tbody></table></div>`;
  });

  section(body('opqueue'), async () => {
    const r = await api.get('query', { ...f, dimensions: 'queue', metrics: 'interactions,transfer_rate,repeat_contact_rate,aht_seconds,asa_seconds', limit: '1000' });
    if (!ctx.alive()) return;
    const rows = (r.rows || []).slice().sort((a, b) => (b.interactions || 0) - (a.interactions || 0));
    if (!rows.length) { body('opqueue').innerHTML = `<p class="note">${esc(t('common.none'))}</p>`; return; }
    body('opqueue').innerHTML = '<div class="chart" data-testid="chart-ops-queue"></div>';
    const m = (v) => (v === null || v === undefined ? null : Math.round(v / 6) / 10);
    chart($('.chart', body('opqueue')), {
      tooltip: { trigger: 'axis', valueFormatter: tooltipNum(1) },
      legend: { top: 0 },
      grid: { left: 48, right: 48, top: 36, bottom: 48 },
      xAxis: { type: 'category', data: rows.map((x) => x.queue || '—'), axisLabel: { rotate: 20 } },
      yAxis: [{ type: 'value', name: '%' }, { type: 'value', name: 'min', splitLine: { show: false } }],
      series: [
        { name: t('kpi.transfer'), type: 'bar', data: rows.map((x) => x.transfer_rate ?? null) },
        { name: t('kpi.repeat'), type: 'bar', data: rows.map((x) => x.repeat_contact_rate ?? null) },
        { name: `${t('kpi.aht')} (min)`, type: 'line', yAxisIndex: 1, data: rows.map((x) => m(x.aht_seconds)) },
        { name: `${t('kpi.asa')} (min)`, type: 'line', yAxisIndex: 1, data: rows.map((x) => m(x.asa_seconds)) },
      ],
    }, t('ops.perQueue'));
  });
}

function lagOf(lag) {
  if (lag === null || lag === undefined) return null;
  if (typeof lag === 'number') return lag;
  if (Array.isArray(lag)) return lag.reduce((a, x) => a + (lagOf(x && typeof x === 'object' && 'lag' in x ? x.lag : x) || 0), 0);
  if (typeof lag === 'object') return Object.values(lag).reduce((a, x) => a + (lagOf(x) || 0), 0);
  return null;
}

async function pipelinesPage(main, ctx) {
  main.innerHTML = `<h1 class="page-title">${esc(t('nav.pipelines'))}</h1>
    ${card('pipetable', esc(t('pipes.title')))}
    <div class="grid2">${card('pipechart', esc(t('pipes.chart')))}${card('deadletters', esc(t('pipes.deadLetters')))}</div>`;
  const load = async () => {
    const r = await api.get('pipelines');
    if (!ctx.alive()) return;
    const ps = r.pipelines || [];
    const rows = Object.fromEntries((r.stored || []).map((x) => [x.pipeline, x]));
    body('pipetable').innerHTML = `<div class="scroll"><table class="data" data-testid="pipelines"><thead><tr>
      <th scope="col">${esc(t('pipes.name'))}</th><th scope="col">${esc(t('pipes.state'))}</th><th scope="col" class="num">${esc(t('pipes.consumed'))}</th>
      <th scope="col" class="num">${esc(t('pipes.stored'))}</th><th scope="col" class="num">${esc(t('pipes.deadLettered'))}</th><th scope="col" class="num">${esc(t('pipes.lag'))}</th>
      <th scope="col" class="num">${esc(t('pipes.throughput'))}</th><th scope="col" class="num">${esc(t('pipes.rows'))}</th><th scope="col">${esc(t('pipes.lastError'))}</th></tr></thead><tbody>
      ${ps.map((p) => `<tr><th scope="row">${esc(p.name)}<div class="n">${esc((p.topics || []).join(', '))}</div></th><td><span class="state ${esc(p.state)}">${esc(labelName('state', p.state))}</span></td>
        <td class="num">${esc(num(p.consumed))}</td><td class="num">${esc(num(p.stored))}</td><td class="num">${esc(num(p.dead_lettered))}</td>
        <td class="num">${esc(num(lagOf(p.lag)))}</td><td class="num">${p.throughput_per_s === undefined ? '—' : esc(t('pipes.perSecond', { v: num(p.throughput_per_s, 1) }))}</td>
        <td class="num">${esc(num((rows[p.name] || {}).interactions))}</td>
        <td>${p.last_error ? `<span class="error">${esc(p.last_error)}</span>` : '—'}</td></tr>`).join('')}</tbody></table></div>`;
    disposeAll();
    body('pipechart').innerHTML = '<div class="chart" data-testid="chart-pipelines"></div>';
    chart($('.chart', body('pipechart')), {
      tooltip: { trigger: 'axis', valueFormatter: tooltipNum(0) },
      legend: { top: 0 },
      grid: { left: 56, right: 16, top: 36, bottom: 28 },
      xAxis: { type: 'category', data: ps.map((p) => p.name) },
      yAxis: { type: 'value' },
      series: [
        { name: t('pipes.consumed'), type: 'bar', data: ps.map((p) => p.consumed ?? 0) },
        { name: t('pipes.stored'), type: 'bar', data: ps.map((p) => p.stored ?? 0), itemStyle: { color: '#2f855a' } },
        { name: t('pipes.deadLettered'), type: 'bar', data: ps.map((p) => p.dead_lettered ?? 0), itemStyle: { color: '#c53030' } },
      ],
    }, t('pipes.chart'));
    const dls = ps.flatMap((p) => (p.recent_dead_letters || []).map((d) => ({ ...d, pipeline: p.name })));
    const known = ps.some((p) => Array.isArray(p.recent_dead_letters));
    body('deadletters').innerHTML = !known ? `<p class="note">${esc(t('common.unavailable', { what: 'recent_dead_letters' }))}</p>`
      : dls.length ? `<div class="scroll"><table class="data" data-testid="dead-letters"><thead><tr><th scope="col">${esc(t('pipes.name'))}</th><th scope="col">${esc(t('pipes.at'))}</th><th scope="col">${esc(t('pipes.kind'))}</th><th scope="col">${esc(t('pipes.reason'))}</th><th scope="col">${esc(t('pipes.where'))}</th></tr></thead><tbody>
        ${dls.sort((a, b) => String(b.at).localeCompare(String(a.at))).slice(0, 40).map((d) => `<tr><td>${esc(d.pipeline)}</td><td>${esc(dateTime(d.at))}</td><td><code>${esc(d.kind)}</code></td><td>${esc(d.reason)}</td><td><code>${esc(d.topic)} / ${esc(d.partition)} / ${esc(d.offset)}</code></td></tr>`).join('')}</tbody></table></div>`
        : `<p class="note">${esc(t('pipes.noDeadLetters'))}</p>`;
  };
  await section(body('pipetable'), load);
  const timer = setInterval(() => { if (ctx.alive()) section(body('pipetable'), load); }, 10000);
  state.leave.push(() => clearInterval(timer));
}

const PAGE_RENDERERS = {
  overview, gaps: gapsPage, emotions: emotionsPage, conversations: conversationsPage, operations: operationsPage, pipelines: pipelinesPage,
};

// Shown to the user; still reported to the console (the browser tests fail on it).
window.addEventListener('unhandledrejection', (e) => banner(e.reason || 'error'));
boot();
