// Browser tests of the escucha dashboard, run by scripts/browser-test.sh against a live escucha
// with demo data: Debian's chromium, headless, driven by playwright-core (no browser download).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const BASE = process.env.ESCUCHA_URL || 'http://127.0.0.1:18089';
const TOKENS = {
  admin: process.env.ESCUCHA_TEST_ADMIN_TOKEN,
  analyst: process.env.ESCUCHA_TEST_ANALYST_TOKEN,
  viewer: process.env.ESCUCHA_TEST_VIEWER_TOKEN,
};
const ARTIFACTS = process.env.ESCUCHA_ARTIFACTS || 'browser-artifacts';
const EXECUTABLE = process.env.CHROMIUM || '/usr/bin/chromium';
const PAGES = ['overview', 'gaps', 'emotions', 'conversations', 'operations', 'pipelines'];
// Charts that must render with data on each page (data-testid of the chart container).
const CHARTS = {
  overview: ['chart-trends', 'chart-mix'],
  gaps: ['chart-gap-trend', 'chart-breakdown'],
  emotions: ['chart-emotions', 'chart-heatmap', 'chart-emotion-mix'],
  conversations: ['chart-recovery-queue', 'chart-trajectory'],
  operations: ['chart-ops-queue'],
  pipelines: ['chart-pipelines'],
};

for (const [role, tok] of Object.entries(TOKENS)) {
  if (!tok) throw new Error(`ESCUCHA_TEST_${role.toUpperCase()}_TOKEN is not set (run scripts/browser-test.sh)`);
}
mkdirSync(ARTIFACTS, { recursive: true });

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: EXECUTABLE,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update'],
  });
});
after(async () => {
  if (browser) await browser.close();
});

/**
 * A new browser context and page. With ROLE, the token is in sessionStorage before the page
 * starts (as after a sign-in). Console errors, page errors (uncaught exceptions and unhandled
 * rejections) and failed API responses are collected in `problems`.
 */
async function open(role, { locale = 'en-US', allowStatus = [] } = {}) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, locale, acceptDownloads: true });
  if (role) {
    await context.addInitScript((tok) => {
      if (!sessionStorage.getItem('escucha.token')) sessionStorage.setItem('escucha.token', tok);
    }, TOKENS[role]);
  }
  const page = await context.newPage();
  const problems = [];
  const requests = [];
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = m.text();
    if (allowStatus.some((s) => text.includes(`status of ${s}`))) return;
    problems.push(`console error: ${text} ${m.location().url || ''}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => requests.push(r.url()));
  page.on('response', (r) => {
    if (r.url().includes('/api/') && r.status() >= 400 && !allowStatus.includes(r.status())) {
      problems.push(`HTTP ${r.status()} ${r.url()}`);
    }
  });
  return { context, page, problems, requests };
}

/** Navigates to #/PATH and waits until every section has loaded. */
async function visit(page, path) {
  await page.goto(`${BASE}/#/${path}`);
  await settled(page);
}

async function settled(page) {
  await page.waitForSelector('#main[data-page]', { timeout: 15000 });
  await page.waitForFunction(() => document.querySelectorAll('#main .loading').length === 0, null, { timeout: 20000 });
  await page.waitForTimeout(150);
}

async function tileValue(page, key) {
  return (await page.textContent(`[data-kpi="${key}"] .v`)).trim();
}

/** Data points and painted pixels of the chart with data-testid ID. */
async function chartStats(page, id) {
  return page.$eval(`[data-testid="${id}"]`, (el) => {
    const canvas = el.querySelector('canvas');
    let painted = 0;
    if (canvas) {
      const ctx = canvas.getContext('2d');
      const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
      for (let i = 3; i < data.length; i += 16) if (data[i] > 0) painted += 1;
    }
    return { points: Number(el.dataset.points || 0), canvas: !!canvas, painted, width: canvas ? canvas.width : 0 };
  });
}

function assertClean(problems, where) {
  assert.deepEqual(problems, [], `${where}: expected no console errors, page errors or failed API calls`);
}

test('sign-in with a pasted token shows the role, sign-out returns to the sign-in screen', async () => {
  // Before the token is pasted, the dashboard asks /whoami without one: that 401 is expected.
  const { context, page, problems } = await open(null, { allowStatus: [401] });
  await page.goto(`${BASE}/`);
  await page.waitForSelector('#signin-form');
  await page.screenshot({ path: `${ARTIFACTS}/signin.png` });
  await page.fill('#token', 'not-a-valid-token');
  await page.click('#signin-form button[type=submit]');
  await page.waitForSelector('#signin-error:not([hidden])');
  await page.fill('#token', TOKENS.admin);
  await page.click('#signin-form button[type=submit]');
  await page.waitForSelector('[data-testid=role]');
  assert.match(await page.textContent('[data-testid=role]'), /admin/);
  await settled(page);
  assert.ok(await page.evaluate(() => sessionStorage.getItem('escucha.token')), 'token kept in sessionStorage');
  await page.click('#signout');
  await page.waitForSelector('#signin-form');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('escucha.token')), null);
  assertClean(problems, 'sign-in');
  await context.close();
});

test('every page loads without console errors and its charts render with data', async () => {
  const { context, page, problems } = await open('admin');
  for (const p of PAGES) {
    await visit(page, p);
    await page.screenshot({ path: `${ARTIFACTS}/${p}.png`, fullPage: true });
    assert.equal(await page.getAttribute('#main', 'data-page'), p);
    assert.equal(await page.isVisible('#banner'), false, `${p}: error banner shown: ${await page.textContent('#banner')}`);
    const inlineErrors = await page.$$eval('#main .note.error', (els) => els.map((e) => e.textContent));
    assert.deepEqual(inlineErrors, [], `${p}: sections failed`);
    const unavailable = await page.$$eval('#main .note', (els) => els.map((e) => e.textContent).filter((x) => x.includes('Not available')));
    assert.deepEqual(unavailable, [], `${p}: endpoints missing from this escucha`);
    for (const id of CHARTS[p]) {
      assert.ok(await page.$(`[data-testid="${id}"]`), `${p}: chart ${id} is missing`);
      const s = await chartStats(page, id);
      assert.ok(s.canvas && s.width > 0, `${p}: chart ${id} has no canvas`);
      assert.ok(s.points > 0, `${p}: chart ${id} has no data points`);
      assert.ok(s.painted > 100, `${p}: chart ${id} canvas is empty`);
    }
    assertClean(problems, p);
  }
  // Overview specifics: KPI tiles with numbers, top gaps with trends, anomalies with a badge.
  await visit(page, 'overview');
  assert.match(await tileValue(page, 'interactions'), /\d/);
  assert.ok((await page.$$('[data-testid=top-gaps] tbody tr')).length > 0, 'top gaps listed');
  assert.match(await page.textContent('[data-testid=anomaly-badge]'), /^\d+$/);
  assertClean(problems, 'overview');
  await context.close();
});

test('a filter changes the numbers and stays in the URL across a reload', async () => {
  const { context, page, problems } = await open('admin');
  await visit(page, 'overview');
  const all = await tileValue(page, 'interactions');
  const channels = await page.$$eval('select[data-filter=channel] option', (os) => os.map((o) => o.value).filter(Boolean));
  assert.ok(channels.length > 1, 'channel values offered');
  const channel = channels.includes('voice') ? 'voice' : channels[0];
  await page.selectOption('select[data-filter=channel]', channel);
  await page.waitForFunction((c) => location.hash.includes(`channel=${c}`), channel);
  await settled(page);
  const filtered = await tileValue(page, 'interactions');
  assert.notEqual(filtered, all, 'interactions change with the channel filter');
  const nps = await tileValue(page, 'nps');

  const queues = await page.$$eval('select[data-filter=queue] option', (os) => os.map((o) => o.value).filter(Boolean));
  await page.selectOption('select[data-filter=queue]', queues[0]);
  await page.waitForFunction((q) => location.hash.includes(`queue=${encodeURIComponent(q)}`), queues[0]);
  await settled(page);
  const both = await tileValue(page, 'interactions');
  const url = page.url();

  await page.reload();
  await settled(page);
  assert.equal(page.url(), url);
  assert.equal(await page.inputValue('select[data-filter=channel]'), channel);
  assert.equal(await page.inputValue('select[data-filter=queue]'), queues[0]);
  assert.equal(await tileValue(page, 'interactions'), both, 'same numbers after a reload');

  // Another page keeps the filters (the navigation links carry them).
  await page.click('nav a[data-page=gaps]');
  await page.waitForFunction(() => location.hash.startsWith('#/gaps'));
  await settled(page);
  assert.match(page.url(), new RegExp(`channel=${channel}`));
  assert.equal(await page.inputValue('select[data-filter=channel]'), channel);

  // A shared link opened in a new browser shows the same view.
  const other = await open('admin');
  await other.page.goto(url);
  await settled(other.page);
  assert.equal(await other.page.inputValue('select[data-filter=channel]'), channel);
  assert.equal(await tileValue(other.page, 'interactions'), both);
  await other.context.close();

  await page.goto(`${BASE}/#/overview?channel=${channel}`);
  await settled(page);
  assert.equal(await tileValue(page, 'interactions'), filtered);
  assert.equal(await tileValue(page, 'nps'), nps);
  assertClean(problems, 'filters');
  await context.close();
});

test('the language switch changes the UI text (es, pt, en) and is remembered after a reload', async () => {
  const { context, page, problems } = await open('admin', { locale: 'en-US' });
  await visit(page, 'emotions');
  assert.equal(await page.textContent('nav a[data-page=overview]'), 'Overview');
  const expected = {
    es: { nav: 'Resumen', gaps: 'Brechas de proceso', emotion: 'Frustración', lang: 'es' },
    pt: { nav: 'Visão geral', gaps: 'Falhas de processo', emotion: 'Frustração', lang: 'pt' },
    en: { nav: 'Overview', gaps: 'Process gaps', emotion: 'Frustration', lang: 'en' },
  };
  for (const [l, e] of Object.entries(expected)) {
    await page.selectOption('#lang', l);
    await settled(page);
    assert.equal(await page.textContent('nav a[data-page=overview]'), e.nav);
    assert.equal(await page.textContent('nav a[data-page=gaps]'), e.gaps);
    assert.equal(await page.getAttribute('html', 'lang'), e.lang);
    assert.ok((await page.textContent('#main')).length > 0);
    await page.reload();
    await settled(page);
    assert.equal(await page.textContent('nav a[data-page=overview]'), e.nav, `${l} remembered after reload`);
    assert.equal(await page.inputValue('#lang'), l);
    // Label names come from the catalogs too (checked in the heatmap's axis via the page text of the gaps table).
    await visit(page, 'gaps');
    const table = await page.textContent('[data-testid=gap-table]');
    assert.ok(table.includes({ es: 'Falta de empatía', pt: 'Falta de empatia', en: 'Lack of empathy' }[l]) || table.includes({ es: 'Espera larga', pt: 'Espera longa', en: 'Long wait' }[l]), `${l}: theme names translated`);
    await page.screenshot({ path: `${ARTIFACTS}/gaps-${l}.png`, fullPage: true });
    await visit(page, 'emotions');
  }
  // Without a saved choice, the browser's language decides.
  const pt = await open('admin', { locale: 'pt-BR' });
  await visit(pt.page, 'overview');
  assert.equal(await pt.page.textContent('nav a[data-page=overview]'), 'Visão geral');
  assert.match(await pt.page.textContent('[data-kpi=interactions] .l'), /Interações/);
  await pt.page.screenshot({ path: `${ARTIFACTS}/overview-pt.png`, fullPage: true });
  assertClean(pt.problems, 'pt browser');
  await pt.context.close();
  assertClean(problems, 'language');
  await context.close();
});

test('drill-down shows the verbatims behind a gap with the evidence highlighted', async () => {
  for (const role of ['analyst', 'admin']) {
    const { context, page, problems } = await open(role);
    await visit(page, 'gaps');
    await page.click('[data-testid=gap-table] tbody tr:first-child .pick-gap');
    await page.waitForFunction(() => location.hash.includes('gap='));
    await settled(page);
    const items = await page.$$('[data-testid=verbatims] .verbatim');
    assert.ok(items.length > 0, `${role}: verbatims listed`);
    const marks = await page.$$eval('[data-testid=verbatims] mark', (ms) => ms.map((m) => m.textContent));
    assert.ok(marks.length > 0 && marks.every((m) => m.length > 0), `${role}: evidence marked`);
    if (role === 'analyst') await page.screenshot({ path: `${ARTIFACTS}/gaps-drilldown.png`, fullPage: true });

    // Conversations: open a transcript from the list.
    await visit(page, 'conversations');
    await page.click('[data-testid=conversation-list] li:first-child a');
    await page.waitForFunction(() => location.hash.includes('conv='));
    await settled(page);
    assert.ok((await page.$$('[data-testid=transcript] .turn')).length > 1, `${role}: transcript turns shown`);
    if (role === 'analyst') await page.screenshot({ path: `${ARTIFACTS}/conversations-transcript.png`, fullPage: true });
    assertClean(problems, `${role} drill-down`);
    await context.close();
  }
});

test('a viewer sees aggregates but no verbatims and never calls the verbatim endpoints', async () => {
  const { context, page, problems, requests } = await open('viewer');
  await visit(page, 'gaps?gap=long_wait');
  assert.match(await page.textContent('[data-testid=role]'), /viewer/);
  assert.ok(await page.$('[data-testid=gap-table]'), 'aggregates shown');
  assert.ok(await page.isVisible('[data-testid=analysts-only]'), 'analysts-only note shown');
  assert.equal((await page.$$('.verbatim, mark')).length, 0, 'no verbatims for a viewer');
  await visit(page, 'conversations');
  assert.ok(await page.isVisible('[data-testid=analysts-only]'));
  assert.equal((await page.$$('[data-testid=transcript], [data-testid=conversation-list]')).length, 0);
  await page.screenshot({ path: `${ARTIFACTS}/viewer-conversations.png`, fullPage: true });
  assert.deepEqual(requests.filter((u) => u.includes('/api/v1/interactions')), [], 'no verbatim requests');
  assertClean(problems, 'viewer');
  await context.close();
});

test('the gap × product breakdown downloads as CSV', async () => {
  const { context, page, problems } = await open('viewer');
  await visit(page, 'gaps');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=csv-breakdown]')]);
  const file = `${ARTIFACTS}/gaps-by-product.csv`;
  await download.saveAs(file);
  const lines = readFileSync(file, 'utf8').trim().split(/\r?\n/);
  assert.match(lines[0], /theme/);
  assert.match(lines[0], /product/);
  assert.ok(lines.length > 1, 'CSV has rows');
  assertClean(problems, 'csv');
  await context.close();
});
