// The status page: the engine's own metrics (`/metrics`, scraped every few seconds; rates and
// latency quantiles are computed between scrapes), hot and cold bytes per database (tier
// status), background work, and errors (error counters, and the selected database's failed
// SQL queries from `system.queries`).

import { ApiError, getJson, getText, sql } from './api.js';
import { drawChart } from './chart.js';
import {
  formatBytes, formatCount, formatDuration, formatNumber, formatSeconds, formatTime, h, replace,
} from './dom.js';
import {
  increase, meanBetween, parseMetrics, quantileBetween, rate, total, totalsBy,
} from './prom-text.js';

const SCRAPE_EVERY_MS = 5000;
const TIER_EVERY_MS = 60000;
/** Scrapes kept for the charts (10 minutes). */
const HISTORY = 120;
/** KPIs are computed over about this long (the last scrapes within it). */
const KPI_WINDOW_MS = 30000;

/** Counters that count failures, and how to name them. */
const ERROR_COUNTERS = [
  ['tidemark_query_errors_total', 'Failed queries'],
  ['tidemark_commit_failures_total', 'Failed commits'],
  ['tidemark_background_failures_total', 'Failed background work'],
  ['tidemark_ingest_requests_total', 'Write requests not fully written', (labels) => labels.outcome !== 'ok'],
  ['tidemark_ingest_rejected_points_total', 'Rejected points'],
  ['tidemark_limit_refusals_total', 'Limit refusals'],
];

export function mount(view, params, ctx) {
  const scrapes = [];
  let first = null;
  let timer = null;
  let tierTimer = null;
  let stopped = false;
  const charts = new Map();

  const kpis = h('div.kpis');
  const chartsRow = h('div.charts');
  const tiers = h('div#tiers');
  const background = h('div.kv-grid#background');
  const errors = h('div#errors');
  const failedQueries = h('div#failed-queries');
  const updated = h('span.muted.small#updated');
  const refresh = h('button.ghost.small', { type: 'button', onclick: () => { scrape(); loadTiers(); loadFailedQueries(); } }, 'Refresh');
  replace(view, h('section.page.status',
    h('div.page-head', h('h1', 'Status'), h('div.grow'), updated, refresh),
    kpis,
    chartsRow,
    h('section.card', h('h2', 'Storage tiers', h('span.muted.small.sub', ' hot (KV store) and cold (object store) per database')), tiers),
    h('section.card', h('h2', 'Background work', h('span.muted.small.sub', ' compaction and tiering')), background),
    h('div.grid-2',
      h('section.card', h('h2', 'Errors', h('span.muted.small.sub', ' counters since the server started')), errors),
      h('section.card', h('h2', 'Failed SQL queries', h('span.muted.small.sub', ' this node, selected database')), failedQueries))));

  function schedule() {
    if (stopped) return;
    timer = setTimeout(async () => {
      await scrape();
      schedule();
    }, scrapes.length < 2 ? 1500 : SCRAPE_EVERY_MS);
  }

  async function scrape() {
    try {
      const text = await getText('/metrics');
      const sample = { at: Date.now(), samples: parseMetrics(text) };
      if (!first) first = sample;
      scrapes.push(sample);
      if (scrapes.length > HISTORY + 1) scrapes.shift();
      updated.textContent = `Updated ${new Date(sample.at).toISOString().slice(11, 19)} UTC · every ${SCRAPE_EVERY_MS / 1000}s`;
      render();
    } catch (error) {
      updated.textContent = `Cannot read /metrics: ${error.message}`;
    }
  }

  /** The scrape about KPI_WINDOW_MS before the latest (the oldest one if none is that old). */
  function windowStart() {
    const last = scrapes[scrapes.length - 1];
    for (let index = scrapes.length - 2; index >= 0; index -= 1) {
      if (last.at - scrapes[index].at >= KPI_WINDOW_MS) return scrapes[index];
    }
    return scrapes[0];
  }

  function render() {
    const last = scrapes[scrapes.length - 1];
    const ready = scrapes.length >= 2;
    const before = ready ? windowStart() : null;
    const samples = last.samples;
    // Before a counter's first increment it is absent: once two scrapes exist, that is a 0 rate.
    const r = (name, match) => (ready ? rate(before, last, name, match) ?? 0 : null);
    const version = samples.find((sample) => sample.name === 'tidemark_build_info')?.labels.version;
    const started = total(samples, 'process_start_time_seconds');
    const measuring = ready ? null : 'measuring…';
    const queries = ready ? increase(before, last, 'tidemark_query_duration_seconds_count') : null;
    replace(kpis,
      kpi('Ingest', 'kpi-ingest', r('tidemark_ingest_points_total'), 'points/s', [
        ['values/s', formatNumber(r('tidemark_ingest_values_total'))],
        ['write requests/s', formatNumber(r('tidemark_ingest_requests_total'))],
        ['rejected points/s', formatNumber(r('tidemark_ingest_rejected_points_total'))],
      ], measuring),
      kpi('Commit latency', 'kpi-commit', ready ? quantileBetween(before, last, 'tidemark_commit_duration_seconds', 0.99) : null, 'p99', [
        ['mean', formatSeconds(ready ? meanBetween(before, last, 'tidemark_commit_duration_seconds') : null)],
        ['p50', formatSeconds(ready ? quantileBetween(before, last, 'tidemark_commit_duration_seconds', 0.5) : null)],
        ['commits/s', formatNumber(r('tidemark_commit_groups_total'))],
      ], measuring || 'no commits', formatSeconds),
      kpi('Queries', 'kpi-queries', r('tidemark_query_duration_seconds_count'), 'queries/s', [
        ['p99 latency', formatSeconds(ready ? quantileBetween(before, last, 'tidemark_query_duration_seconds', 0.99) : null)],
        ['errors/s', formatNumber(r('tidemark_query_errors_total'))],
        ['in the window', formatCount(queries)],
      ], measuring),
      kpi('Process', 'kpi-process', total(samples, 'process_resident_memory_bytes'), 'resident', [
        ['up', started ? formatDuration(Date.now() / 1000 - started) : '—'],
        ['version', version || '—'],
        ['points written', formatCount(total(samples, 'tidemark_ingest_points_total') ?? 0)],
      ], null, formatBytes));
    renderCharts();
    renderBackground(samples);
    renderErrors(last, before);
  }

  function kpi(title, id, value, unit, rows, pending, format = (number) => formatNumber(number, 3)) {
    return h(`div.card.kpi#${id}`,
      h('div.kpi-title', title),
      h('div.kpi-value', value == null ? (pending || '—') : format(value), h('span.kpi-unit', value == null ? '' : ` ${unit}`)),
      h('dl', rows.map(([label, text]) => [h('dt', label), h('dd', text)])));
  }

  function perInterval(compute) {
    const points = [];
    for (let index = 1; index < scrapes.length; index += 1) {
      const value = compute(scrapes[index - 1], scrapes[index]);
      if (value != null && Number.isFinite(value)) points.push([scrapes[index].at / 1000, value]);
    }
    return points;
  }

  function renderCharts() {
    if (scrapes.length < 3) {
      replace(chartsRow, h('div.card.chart-card', h('p.muted', 'Charts of the last minutes appear after a few scrapes.')));
      return;
    }
    const boxes = [
      ['Ingest (points/s)', [{ name: 'points/s', points: perInterval((a, b) => rate(a, b, 'tidemark_ingest_points_total') ?? 0) }], formatNumber],
      ['Commit latency', [
        { name: 'p99', points: perInterval((a, b) => quantileBetween(a, b, 'tidemark_commit_duration_seconds', 0.99)) },
        { name: 'mean', points: perInterval((a, b) => meanBetween(a, b, 'tidemark_commit_duration_seconds')) },
      ], formatSeconds],
      ['Queries (per second)', [
        { name: 'queries/s', points: perInterval((a, b) => rate(a, b, 'tidemark_query_duration_seconds_count')) },
        { name: 'errors/s', points: perInterval((a, b) => rate(a, b, 'tidemark_query_errors_total') ?? 0) },
      ], formatNumber],
    ];
    if (charts.size === 0) replace(chartsRow);
    for (const [title, series, format] of boxes) {
      const existing = charts.get(title);
      if (existing?.chart) {
        existing.chart.update(series);
        continue;
      }
      let box = existing?.box;
      if (!box) {
        box = h('div.chart-small');
        chartsRow.append(h('div.card.chart-card', h('h3', title), box));
      }
      if (series.some((entry) => entry.points.length)) {
        replace(box);
        charts.set(title, { box, chart: drawChart(box, series, { height: 150, format }) });
      } else {
        replace(box, h('p.muted.small.chart-empty', 'Nothing in this window yet.'));
        charts.set(title, { box, chart: null });
      }
    }
  }

  function renderBackground(samples) {
    const lastPass = total(samples, 'tidemark_tiering_last_pass_timestamp_seconds');
    const rows = [
      ['Compaction backlog', formatCount(total(samples, 'tidemark_compaction_backlog')), 'buckets waiting'],
      ['Compaction passes', formatCount(total(samples, 'tidemark_compaction_passes_total')), 'since start'],
      ['Chunks compacted', formatCount(total(samples, 'tidemark_compaction_chunks_written_total')), 'since start'],
      ['Tiering backlog', formatCount(total(samples, 'tidemark_tiering_backlog_partitions')), 'partitions waiting'],
      ['Tiering passes', formatCount(total(samples, 'tidemark_tiering_passes_total')), lastPass ? `last ${formatDuration(Date.now() / 1000 - lastPass)} ago` : 'none yet'],
      ['Tiered to cold', formatBytes(total(samples, 'tidemark_tiering_bytes_written_total')), `${formatCount(total(samples, 'tidemark_tiering_files_written_total'))} files`],
    ];
    replace(background, rows.map(([label, value, note]) => h('div.kv',
      h('div.kv-label', label), h('div.kv-value', value), h('div.kv-note.muted.small', note))));
    background.append(h('p.muted.small.kv-foot', 'A dash means no pass has reported yet since the server started.'));
  }

  function renderErrors(last, before) {
    const rows = [];
    for (const [name, label, keep] of ERROR_COUNTERS) {
      for (const sample of last.samples) {
        if (sample.name !== name || (keep && !keep(sample.labels)) || sample.value === 0) continue;
        const labels = Object.entries(sample.labels).map(([key, value]) => `${key}=${value}`).join(', ');
        const recent = before ? increase(before, last, name, sample.labels) : null;
        const sinceOpen = first ? increase(first, last, name, sample.labels) : null;
        rows.push({ label, labels, total: sample.value, recent, sinceOpen });
      }
    }
    if (!rows.length) {
      replace(errors, h('p.ok', 'No errors since the server started.'));
      return;
    }
    replace(errors, h('table.results.compact',
      h('thead', h('tr', h('th', 'Counter'), h('th', 'Labels'), h('th.num', 'Total'), h('th.num', 'Since page opened'))),
      h('tbody', rows.map((row) => h(row.recent ? 'tr.rising' : 'tr',
        h('td', row.label), h('td.mono.small', row.labels), h('td.num', formatCount(row.total)),
        h('td.num', row.sinceOpen == null ? '—' : formatCount(row.sinceOpen)))))));
  }

  async function loadTiers() {
    try {
      const body = await getJson('/api/v0/tier/status');
      const databases = body.databases || [];
      const ns = (value) => (value == null ? '—' : formatTime(value / 1e6).slice(0, 10));
      replace(tiers,
        databases.length ? h('table.results.compact#tier-table',
          h('thead', h('tr', h('th', 'Database'), h('th.num', 'Hot bytes'), h('th.num', 'Hot keys'), h('th.num', 'Cold bytes'),
            h('th.num', 'Cold files'), h('th.num', 'Cold rows'), h('th', 'Oldest hot'), h('th', 'Oldest cold'))),
          h('tbody', databases.map((entry) => h('tr',
            h('td.mono', entry.database), h('td.num', formatBytes(entry.hot_bytes)), h('td.num', formatCount(entry.hot_keys)),
            h('td.num', formatBytes(entry.cold_bytes)), h('td.num', formatCount(entry.cold_files)), h('td.num', formatCount(entry.cold_rows)),
            h('td', ns(entry.oldest_hot_partition)), h('td', ns(entry.oldest_cold_partition)))))) : h('p.muted', 'No databases yet.'),
        h('p.muted.small', `Cold tier: ${body.object_store || '—'}. Refreshed every ${TIER_EVERY_MS / 1000}s (it reads every hot key).`));
    } catch (error) {
      const why = error instanceof ApiError && error.status === 403 ? 'this token may not see tier status' : error.message;
      replace(tiers, h('p.error-box', `Tier status unavailable: ${why}`));
    }
    if (!stopped) {
      clearTimeout(tierTimer);
      tierTimer = setTimeout(loadTiers, TIER_EVERY_MS);
    }
  }

  async function loadFailedQueries() {
    const db = ctx.database();
    if (!db) {
      replace(failedQueries, h('p.muted', 'Choose a database to see its failed queries.'));
      return;
    }
    try {
      const rows = await sql(db, 'SELECT issue_time, query_type, query_text, error FROM system.queries '
        + 'WHERE success = false AND running = false ORDER BY issue_time DESC LIMIT 10');
      replace(failedQueries, rows.length ? h('ul.failures', rows.map((row) => h('li',
        h('div.failure-head', h('span.mono.small', row.issue_time.replace('T', ' ').slice(0, 19)), h('span.kind', row.query_type)),
        h('pre.mono.small', row.query_text),
        h('div.error-message.small', row.error || 'failed')))) : h('p.ok', `No failed SQL queries of ${db} in this node's recent queries.`));
    } catch (error) {
      replace(failedQueries, h('p.error-box', `Cannot read system.queries: ${error.message}`));
    }
  }

  const unsubscribe = ctx.onDatabaseChange(() => loadFailedQueries());
  replace(chartsRow, h('div.card.chart-card', h('p.muted', 'Reading /metrics…')));
  scrape().then(schedule);
  loadTiers();
  loadFailedQueries();
  return () => {
    stopped = true;
    clearTimeout(timer);
    clearTimeout(tierTimer);
    for (const { chart } of charts.values()) chart?.destroy();
    unsubscribe();
  };
}
