'use strict';
// A dependency-free dashboard over the escucha API.
const NEGATIVE = ['frustration', 'anger', 'anxiety', 'confusion', 'disappointment'];
const $ = (s) => document.querySelector(s);
const form = $('#filters');
const state = { emotion: '', theme: '', cursor: null };
const COLORS = ['#2b6cb0', '#c53030', '#2f855a', '#b7791f', '#6b46c1', '#2c7a7b', '#d53f8c', '#4a5568'];

function params(extra = {}) {
  const p = new URLSearchParams();
  for (const k of ['from', 'to', 'channel', 'queue', 'product', 'language']) {
    const v = form.elements[k].value;
    if (v) p.set(k, v);
  }
  for (const [k, v] of Object.entries(extra)) if (v) p.set(k, v);
  return p;
}

async function api(path, p = new URLSearchParams()) {
  const headers = {};
  const token = form.elements.token.value || sessionStorage.getItem('escucha-token');
  if (token) headers.Authorization = 'Bearer ' + token;
  const r = await fetch(`/api/v1/${path}?${p}`, { headers });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.message || r.statusText);
  return body;
}

const fmt = (v, digits = 0) => (v === null || v === undefined ? '—' : Number(v).toFixed(digits));
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

function showError(e) {
  const el = $('#error');
  el.textContent = e ? String(e.message || e) : '';
  el.hidden = !e;
}

function tiles(s, k) {
  const t = [
    ['Interactions', s.interactions, ''],
    ['Surveys', s.surveys, ''],
    ['NPS', fmt(s.nps.score), `n=${s.nps.n}`],
    ['CSAT %', fmt(s.csat.percent, 1), `n=${s.csat.n}, mean ${fmt(s.csat.mean, 2)}`],
    ['CES mean', fmt(s.ces.mean, 2), `n=${s.ces.n}, ${fmt(s.ces.percent_easy, 1)}% easy`],
    ['Recovery %', fmt(s.recovery.rate, 1), `${s.recovery.recovered} of ${s.recovery.started_negative} negative starts`],
    ['Agent empathy', fmt(s.agent_empathy.mean, 2), `0–1, n=${s.agent_empathy.n}`],
  ];
  if (k) {
    t.push(
      ['AHT', k.aht_seconds === null ? '—' : `${fmt(k.aht_seconds / 60, 1)} min`, `${k.contacts} contacts`],
      ['ASA', k.asa_seconds === null ? '—' : `${fmt(k.asa_seconds / 60, 1)} min`, 'mean queue wait'],
      ['Transfer %', fmt(k.transfer_rate, 1), 'transferred at least once'],
      ['Repeat %', fmt(k.repeat_contact_rate, 1), `same customer within ${k.repeat_window_days} days`],
      ['Bot containment %', fmt(k.bot_containment, 1), 'bot sessions not escalated'],
    );
  }
  $('#kpis').innerHTML = t.map(([l, v, n]) => `<div class="tile"><div class="v">${esc(v)}</div><div class="l">${esc(l)} ${esc(n)}</div></div>`).join('');
}

function bars(list) {
  const max = Math.max(1, ...list.map((x) => x.count));
  $('#emotions').innerHTML = list.map((x) => `<div class="bar ${NEGATIVE.includes(x.label) ? 'neg' : 'pos'}" data-emotion="${esc(x.label)}">
      <span>${esc(x.label)}</span><div class="fill" style="width:${(100 * x.count) / max}%"></div><span>${x.count} · ${fmt(x.share, 1)}%</span></div>`).join('') || '<p>No classified text yet.</p>';
  document.querySelectorAll('.bar').forEach((b) => b.addEventListener('click', () => drill({ emotion: b.dataset.emotion })));
}

function gapsTable(g) {
  $('#gaps tbody').innerHTML = g.gaps.map((x) => {
    const c = x.change === null ? 'new' : `${x.change > 0 ? '+' : ''}${fmt(x.change, 1)}%`;
    const cls = x.change > 0 ? 'up' : x.change < 0 ? 'down' : '';
    return `<tr data-theme="${esc(x.theme)}"><td>${esc(x.theme)}</td><td>${x.count}</td><td>${fmt(x.share, 1)}%</td><td class="${cls}">${c}</td><td>${fmt(x.nps_with.score)}</td><td>${fmt(x.nps_without.score)}</td></tr>`;
  }).join('');
  document.querySelectorAll('#gaps tbody tr').forEach((r) => r.addEventListener('click', () => drill({ theme: r.dataset.theme })));
}

function series(points) {
  const totals = {};
  points.forEach((p) => Object.entries(p.counts).forEach(([k, v]) => (totals[k] = (totals[k] || 0) + v)));
  const top = Object.entries(totals).sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k]) => k);
  const W = 900, H = 220, P = 30;
  const max = Math.max(1, ...points.flatMap((p) => top.map((k) => p.counts[k] || 0)));
  const x = (i) => P + (i * (W - 2 * P)) / Math.max(1, points.length - 1);
  const y = (v) => H - P - (v * (H - 2 * P)) / max;
  const lines = top.map((k, j) => `<polyline fill="none" stroke="${COLORS[j]}" stroke-width="2" points="${points.map((p, i) => `${x(i)},${y(p.counts[k] || 0)}`).join(' ')}"/>`).join('');
  const labels = points.map((p, i) => (i % Math.ceil(points.length / 8) === 0 ? `<text x="${x(i)}" y="${H - 8}">${p.start.slice(5, 10)}</text>` : '')).join('');
  const legend = top.map((k, j) => `<text x="${P + j * 140}" y="12" style="fill:${COLORS[j]}">■ ${esc(k)}</text>`).join('');
  $('#series').innerHTML = `<svg viewBox="0 0 ${W} ${H}" width="100%">${legend}${lines}${labels}<text x="2" y="${y(max) + 4}">${max}</text></svg>`;
}

function highlight(text, labels) {
  const spans = labels.flatMap((l) => l.evidence.map(([s, e]) => [s, e, l.label])).sort((a, b) => a[0] - b[0]);
  const chars = Array.from(text);
  let out = '', pos = 0;
  for (const [s, e, label] of spans) {
    if (s < pos) continue;
    out += esc(chars.slice(pos, s).join('')) + `<mark title="${esc(label)}">${esc(chars.slice(s, e).join(''))}</mark>`;
    pos = e;
  }
  return out + esc(chars.slice(pos).join(''));
}

async function loadVerbatims(append) {
  const p = params({ emotion: state.emotion, theme: state.theme, limit: '20', cursor: append ? state.cursor : '' });
  try {
    const page = await api('interactions', p);
    const html = page.items.map((it) => {
      const turns = it.turns.filter((t) => t.emotions.length || t.themes.length || t.empathy.length || it.kind === 'survey');
      const body = turns.map((t) => `<div><b>${esc(t.speaker)}:</b> ${highlight(t.text, t.emotions.concat(t.themes, t.empathy))}</div>`).join('');
      const chips = it.emotions.concat(it.themes).map((l) => `<span class="chip">${esc(l)}</span>`).join('');
      return `<li><div class="meta">${esc(it.occurred_at.slice(0, 16).replace('T', ' '))} · ${esc(it.channel)} · ${esc(it.queue)} · ${esc(it.language)}${it.nps !== null ? ' · NPS ' + it.nps : ''}</div>${body}<div>${chips}</div></li>`;
    }).join('');
    $('#verbatims').innerHTML = (append ? $('#verbatims').innerHTML : '') + (html || (append ? '' : '<p>No verbatims for this selection.</p>'));
    state.cursor = page.next_cursor;
    $('#more').hidden = !page.next_cursor;
  } catch (e) {
    $('#verbatims').innerHTML = `<p>${esc(e.message)}</p>`;
  }
}

function drill(sel) {
  state.emotion = sel.emotion || '';
  state.theme = sel.theme || '';
  $('#verbatim-filter').textContent = state.emotion || state.theme ? `— ${state.emotion || state.theme}` : '';
  loadVerbatims(false);
  $('#verbatims').scrollIntoView({ behavior: 'smooth' });
}

async function fillPickers() {
  for (const dim of ['channel', 'queue', 'product', 'language']) {
    try {
      const r = await api(`values/${dim}`);
      const sel = form.elements[dim];
      sel.innerHTML = '<option value="">all</option>' + r.values.map((v) => `<option>${esc(v)}</option>`).join('');
    } catch (_) { /* shown by refresh */ }
  }
}

async function refresh() {
  showError(null);
  try {
    const [sum, gaps, ts, kpis] = await Promise.all([
      api('summary', params()),
      api('gaps', params()),
      api('timeseries', params({ labels: 'theme', interval: 'week' })),
      api('kpis', params()),
    ]);
    tiles(sum.summary, kpis.kpis);
    bars(sum.summary.emotions);
    gapsTable(gaps.gaps);
    series(ts.points);
    loadVerbatims(false);
  } catch (e) {
    showError(e);
  }
}

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  if (form.elements.token.value) sessionStorage.setItem('escucha-token', form.elements.token.value);
  fillPickers();
  refresh();
});
$('#more').addEventListener('click', () => loadVerbatims(true));
const today = new Date();
form.elements.to.value = new Date(today.getTime() + 86400000).toISOString().slice(0, 10);
form.elements.from.value = new Date(today.getTime() - 90 * 86400000).toISOString().slice(0, 10);
fillPickers();
refresh();
