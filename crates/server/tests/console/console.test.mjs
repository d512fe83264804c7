// Drives the Tidemark console in headless Chromium (Debian's, through playwright-core)
// against real servers that crates/server/tests/server/console.rs started and filled:
//
//   node console.test.mjs --open <url> --auth <url> --token <token> --db <db> --shots <dir>
//
// `--open` is a server without tokens, `--auth` one with authentication on (and `--token` a
// token that reads `--db` there). Both hold the measurement `cpu` (tags host and region,
// fields usage and idle; hosts a, b and c) over the last hour. Every step saves a screenshot into `--shots`.
// Exits non-zero on the first failed check; prints `N passed, 0 failed` at the end.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

function args() {
  const parsed = {};
  const list = process.argv.slice(2);
  for (let index = 0; index < list.length; index += 2) parsed[list[index].replace(/^--/, '')] = list[index + 1];
  for (const name of ['open', 'auth', 'token', 'db', 'shots']) {
    if (!parsed[name]) throw new Error(`missing --${name}`);
  }
  return parsed;
}

const options = args();
mkdirSync(options.shots, { recursive: true });
let passed = 0;

function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
  passed += 1;
  console.log(`ok - ${what}`);
}

async function shot(page, name) {
  await page.screenshot({ path: join(options.shots, `${name}.png`), fullPage: true });
}

/** Pixels of the chart canvas near `rgb` (the first series' colour): a line was drawn. */
async function seriesPixels(page, rgb = [37, 99, 235]) {
  return page.$eval('#chart canvas', (canvas, color) => {
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    let near = 0;
    let inked = 0;
    for (let index = 0; index < data.length; index += 4) {
      const [r, g, b, a] = [data[index], data[index + 1], data[index + 2], data[index + 3]];
      if (a > 0 && r + g + b < 740) inked += 1;
      if (a > 128 && Math.abs(r - color[0]) < 40 && Math.abs(g - color[1]) < 40 && Math.abs(b - color[2]) < 40) near += 1;
    }
    return { near, inked, width: canvas.width, height: canvas.height };
  }, rgb);
}

/** A new page that fails the run on any script error or CSP violation. */
async function newPage(context, problems) {
  const page = await context.newPage();
  // Generous: CI runs this beside the other end-to-end tests on two cores.
  page.setDefaultTimeout(45000);
  await page.setViewportSize({ width: 1360, height: 900 });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    const text = message.text();
    // Failed API calls (401 before the token, the deliberate SQL error) are logged by the
    // browser as resource errors; script errors and CSP violations are not allowed.
    if (message.type() === 'error' && !/status of (400|401|403|404)/.test(text)) problems.push(`console error: ${text}`);
  });
  return page;
}

async function runSqlChartAndTable(page, base) {
  const query = 'SELECT time, host, usage FROM cpu WHERE $__timeFilter ORDER BY time';
  const hash = `#/query?lang=sql&db=${encodeURIComponent(options.db)}&q=${encodeURIComponent(query)}&range=1h`;
  await page.goto(`${base}/${hash}`);
  await page.waitForSelector('#chart canvas', { timeout: 45000 });
  await page.waitForFunction(() => /rows/.test(document.querySelector('#result-meta')?.textContent || ''));
  const pixels = await seriesPixels(page);
  check(pixels.width > 300 && pixels.height > 100, `SQL chart canvas has a size (${pixels.width}x${pixels.height})`);
  check(pixels.near > 30, `SQL chart drew its first series (${pixels.near} pixels of its colour)`);
  const legend = await page.$$eval('.u-legend .u-series', (rows) => rows.map((row) => row.textContent));
  check(legend.some((text) => text.includes('host=a')) && legend.some((text) => text.includes('host=b')),
    'SQL chart has one line per host');
  await shot(page, '01-sql-chart');
  await page.click('button[data-view="table"]');
  await page.waitForSelector('#table table tbody tr');
  const rows = await page.$$eval('#table table tbody tr', (trs) => trs.length);
  const headers = await page.$$eval('#table table thead th', (ths) => ths.map((th) => th.textContent));
  check(rows >= 100, `SQL table shows the rows (${rows})`);
  check(headers.join(',') === 'time,host,usage', `SQL table has the columns (${headers.join(',')})`);
  await shot(page, '02-sql-table');
  const url = page.url();
  check(url.includes('view=table') && url.includes('lang=sql') && url.includes('range=1h'), 'the URL holds the query');
  return url;
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const problems = [];
  try {
    // 1. SQL against the open server: chart, table, shareable URL.
    const context = await browser.newContext();
    const page = await newPage(context, problems);
    const shared = await runSqlChartAndTable(page, options.open);

    const again = await newPage(context, problems);
    await again.goto(shared);
    await again.waitForSelector('#table table tbody tr', { timeout: 45000 });
    check(await again.$eval('#query', (editor) => editor.value.includes('$__timeFilter')), 'a shared URL restores the query');
    check(await again.isVisible('#table table'), 'a shared URL runs the query and restores the table view');
    await again.close();

    // 2. PromQL through the UI: language picker, editor, Run.
    await page.click('button[data-lang="promql"]');
    await page.fill('#query', 'cpu_usage');
    await page.click('#run');
    await page.waitForFunction(() => /3 series/.test(document.querySelector('#result-meta')?.textContent || ''), null, { timeout: 45000 });
    await page.click('button[data-view="chart"]');
    await page.waitForSelector('#chart canvas');
    const promPixels = await seriesPixels(page);
    check(promPixels.near > 30, `PromQL chart drew its first series (${promPixels.near} pixels)`);
    check(page.url().includes('lang=promql') && page.url().includes('cpu_usage'), 'the URL follows the PromQL query');
    await shot(page, '03-promql-chart');
    await page.click('button[data-view="table"]');
    const promRows = await page.$$eval('#table table tbody tr', (trs) => trs.map((tr) => tr.textContent));
    check(promRows.length === 3 && promRows.every((text) => text.includes('cpu_usage')), 'PromQL table lists the three series');

    // 2b. InfluxQL through the UI, with Grafana's macros.
    await page.click('button[data-lang="influxql"]');
    await page.fill('#query', 'SELECT mean(usage) FROM cpu WHERE $timeFilter GROUP BY time($__interval), host fill(none)');
    await page.click('#run');
    await page.waitForFunction(() => /3 series/.test(document.querySelector('#result-meta')?.textContent || ''), null, { timeout: 45000 });
    await page.click('button[data-view="chart"]');
    await page.waitForSelector('#chart canvas');
    const influxPixels = await seriesPixels(page);
    check(influxPixels.near > 30, `InfluxQL chart drew its first series (${influxPixels.near} pixels)`);
    check(page.url().includes('lang=influxql'), 'the URL follows the InfluxQL query');
    await shot(page, '03b-influxql-chart');
    await page.fill('#query', 'SELECT mean(usage) FROM cpu GROUP BY');
    await page.click('#run');
    await page.waitForSelector('#query-error:not([hidden])');
    const influxError = await page.textContent('#query-error');
    check(/line 1, column \d+/.test(influxError), `the InfluxQL parse error is shown with its position (${influxError.slice(0, 80)}…)`);

    // 3. An error shows under the editor, with its position.
    await page.click('button[data-lang="sql"]');
    await page.fill('#query', 'SELEC * FROM cpu');
    await page.click('#run');
    await page.waitForSelector('#query-error:not([hidden])');
    const error = await page.textContent('#query-error');
    check(/Error 400/.test(error) && /line 1, column 1/.test(error), `the SQL error is shown with its position (${error.slice(0, 80)}…)`);
    await shot(page, '04-sql-error');

    // 4. Schema browser: measurements, columns, cardinality.
    await page.goto(`${options.open}/#/schema?db=${encodeURIComponent(options.db)}`);
    await page.waitForSelector('#measurements li[data-measurement="cpu"]', { timeout: 45000 });
    await page.click('#measurements li[data-measurement="cpu"]');
    await page.waitForSelector('.cardinality-table');
    const detail = await page.textContent('#measurement-detail');
    check(detail.includes('usage') && detail.includes('idle') && detail.includes('region'), 'the schema shows the tags and fields of cpu');
    const cardinality = await page.$$eval('.cardinality-table tbody tr', (trs) => trs.map((tr) => tr.textContent));
    check(cardinality.some((text) => text.startsWith('host') && text.includes('3')), `cardinality per tag key (${cardinality.join(' | ')})`);
    await shot(page, '05-schema');

    // 5. Status page: rates from two scrapes while points arrive, tiers.
    let batch = 0;
    const writer = setInterval(() => {
      const at = Date.now() * 1e6;
      const body = Array.from({ length: 200 }, (_, index) => `load,writer=w${index % 4} n=${batch * 200 + index}i ${at + index}`).join('\n');
      batch += 1;
      fetch(`${options.open}/api/v3/write_lp?db=${encodeURIComponent(options.db)}`, { method: 'POST', body })
        .catch((error) => problems.push(`write failed: ${error.message}`));
    }, 250);
    try {
      await page.goto(`${options.open}/#/status`);
      await page.waitForSelector('#tier-table', { timeout: 45000 });
      await page.waitForFunction(() => {
        const value = document.querySelector('#kpi-ingest .kpi-value')?.textContent || '';
        return /^[\d,.]+/.test(value) && Number.parseFloat(value.replace(/,/g, '')) > 0;
      }, null, { timeout: 45000 });
      await page.waitForFunction(() => document.querySelectorAll('.chart-small canvas').length === 3, null, { timeout: 45000 });
      await page.waitForTimeout(5500);
    } finally {
      clearInterval(writer);
    }
    const ingest = await page.textContent('#kpi-ingest .kpi-value');
    check(/points\/s/.test(ingest), `the status page shows an ingest rate (${ingest})`);
    const commit = await page.textContent('#kpi-commit .kpi-value');
    check(/\d\s*(µs|ms|s) p99$/.test(commit.trim()), `the status page shows commit latency (${commit})`);
    const tiers = await page.textContent('#tier-table');
    check(tiers.includes(options.db), 'tier status lists the database');
    await shot(page, '06-status');
    await context.close();

    // 6. A server with authentication: a token is asked for, kept for the tab, and used.
    const authContext = await browser.newContext();
    const authPage = await newPage(authContext, problems);
    const query = 'SELECT time, host, usage FROM cpu WHERE $__timeFilter ORDER BY time';
    await authPage.goto(`${options.auth}/#/query?lang=sql&db=${encodeURIComponent(options.db)}&q=${encodeURIComponent(query)}`);
    await authPage.waitForSelector('#token-dialog[open]', { timeout: 45000 });
    await shot(authPage, '07-token-dialog');
    await authPage.fill('#token-input', options.token);
    await authPage.click('#token-save');
    await authPage.waitForSelector('#chart canvas', { timeout: 45000 });
    const authPixels = await seriesPixels(authPage);
    check(authPixels.near > 30, 'with a token, the query on the auth server charts');
    const stored = await authPage.evaluate(() => ({
      session: sessionStorage.getItem('tidemark.token'),
      local: Object.keys(localStorage).filter((key) => localStorage.getItem(key)?.includes('tmk_')),
    }));
    check(stored.session === options.token && stored.local.length === 0, 'the token is in sessionStorage only');
    check((await authPage.textContent('#token-button')).includes('✓'), 'the token button shows a token is set');
    await shot(authPage, '08-auth-result');
    await authContext.close();

    check(problems.length === 0, `no script errors or CSP violations${problems.length ? `: ${problems.join('; ')}` : ''}`);
  } finally {
    await browser.close();
  }
  console.log(`${passed} passed, 0 failed`);
}

main().catch((error) => {
  console.error(error.stack || String(error));
  console.log(`${passed} passed, 1 failed`);
  process.exit(1);
});
