// The query explorer: a language, a database, a time range and a query; results as a chart
// and a table. Everything that defines a run is in the URL (`#/query?lang=&db=&q=&range=`),
// so a link reproduces it, and opening such a link runs it.

import { ApiError } from './api.js';
import { drawChart } from './chart.js';
import { formatCount, h, replace } from './dom.js';
import { LANGUAGES, errorPosition } from './languages.js';
import { resultTable, toCsv } from './table.js';
import { describeRange, rangeFromParams, rangePicker, rangeToParams } from './timerange.js';

const SQL_EXAMPLES = [
  ['Series per measurement', 'SELECT table_name, series_count\nFROM system.series\nORDER BY series_count DESC'],
  ['Tables and columns', 'SELECT table_name, column_name, data_type\nFROM information_schema.columns\nWHERE table_schema = database()\nORDER BY table_name, column_name'],
  ['Recent queries', 'SELECT issue_time, query_type, query_text, end2end_duration_ms, success, error\nFROM system.queries\nORDER BY issue_time DESC\nLIMIT 50'],
];

/** The explorer's state from the URL parameters. */
function stateFrom(params, ctx) {
  const lang = LANGUAGES[params.get('lang')] ? params.get('lang') : 'sql';
  return {
    lang,
    db: params.get('db') ?? ctx.database(),
    text: params.get('q') ?? '',
    range: rangeFromParams(params),
    view: params.get('view') === 'table' ? 'table' : 'chart',
  };
}

/** The URL hash of a state. */
export function explorerHash(state) {
  const params = new URLSearchParams();
  params.set('lang', state.lang);
  if (state.db) params.set('db', state.db);
  if (state.text) params.set('q', state.text);
  rangeToParams(state.range, params);
  if (state.view === 'table') params.set('view', 'table');
  return `#/query?${params}`;
}

/** What to do on a server without databases: a database is created by its first write. */
export function gettingStarted() {
  const origin = window.location.origin;
  return h('div.getting-started',
    h('h2', 'No databases yet'),
    h('p', 'A database is created by its first write. Write a point with line protocol, then reload:'),
    h('pre', `curl -XPOST '${origin}/api/v3/write_lp?db=demo' \\\n  --data-binary 'cpu,host=a usage=1.5'`),
    h('p.muted.small', 'Prometheus remote_write, OTLP and the InfluxDB v1/v2 write APIs work too (see the docs).'));
}

export function mount(view, params, ctx) {
  const state = stateFrom(params, ctx);
  if (state.db) ctx.setDatabase(state.db);
  let controller = null;
  let chart = null;
  let lastResult = null;

  const languageButtons = Object.entries(LANGUAGES).map(([key, language]) => h('button', {
    type: 'button',
    role: 'radio',
    dataset: { lang: key },
    onclick: () => setLanguage(key),
  }, language.label));
  const languages = h('div.segmented', { role: 'radiogroup', 'aria-label': 'Query language' }, languageButtons);
  const picker = rangePicker(state.range, (range) => {
    state.range = range;
    if (state.text.trim()) run();
    else writeUrl();
  });
  const runButton = h('button.primary#run', { type: 'button', onclick: () => run(), title: 'Run (Ctrl+Enter)' },
    'Run', h('kbd', 'Ctrl ↵'));
  const editor = h('textarea.editor#query', {
    spellcheck: false,
    autocapitalize: 'off',
    autocomplete: 'off',
    rows: 3,
    'aria-label': 'Query',
    value: state.text,
  });
  const errorBox = h('div.error-box#query-error', { role: 'alert', hidden: true });
  const hint = h('p.hint');
  const meta = h('span.meta#result-meta');
  // The view the user chose; a result with nothing to chart shows its table without changing it.
  let preferredView = state.view;
  const choose = (next) => {
    preferredView = next;
    setView(next);
  };
  const chartTab = h('button', { type: 'button', role: 'tab', dataset: { view: 'chart' }, onclick: () => choose('chart') }, 'Chart');
  const tableTab = h('button', { type: 'button', role: 'tab', dataset: { view: 'table' }, onclick: () => choose('table') }, 'Table');
  const copyLink = h('button.ghost.small', { type: 'button', onclick: copy, title: 'Copy a link that reruns this query' }, 'Copy link');
  const csvLink = h('button.ghost.small', { type: 'button', onclick: downloadCsv, disabled: true }, 'CSV');
  const chartBox = h('div.chart-box#chart');
  const tableBox = h('div.table-box#table');
  const resultBody = h('div.result-body', chartBox, tableBox);
  const results = h('section.card.results-card',
    h('div.results-head', h('div.tabs-inline', { role: 'tablist' }, chartTab, tableTab), meta, h('div.grow'), copyLink, csvLink),
    resultBody);
  const examples = h('div.examples');

  replace(view,
    h('section.page.explorer',
      h('div.card.query-card',
        h('div.toolbar', languages, picker.element, h('div.grow'), runButton),
        editor,
        errorBox,
        h('div.below-editor', hint, examples)),
      results));

  editor.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      run();
    }
  });
  editor.addEventListener('input', () => {
    state.text = editor.value;
    autosize();
  });

  function autosize() {
    editor.style.height = 'auto';
    editor.style.height = `${Math.min(480, Math.max(96, editor.scrollHeight + 2))}px`;
  }

  function setLanguage(key) {
    if (state.lang === key) return;
    state.lang = key;
    showLanguage();
    clearError();
    writeUrl();
  }

  function showLanguage() {
    const language = LANGUAGES[state.lang];
    for (const button of languageButtons) {
      const active = button.dataset.lang === state.lang;
      button.classList.toggle('active', active);
      button.setAttribute('aria-checked', String(active));
    }
    editor.placeholder = language.placeholder;
    hint.textContent = language.hint;
    replace(examples, state.lang === 'sql'
      ? [h('span.muted.small', 'Try:'), SQL_EXAMPLES.map(([label, text]) => h('button.chip', {
        type: 'button',
        onclick: () => {
          editor.value = text;
          state.text = text;
          autosize();
          run();
        },
      }, label))]
      : [h('a.small', { href: `#/schema${state.db ? `?db=${encodeURIComponent(state.db)}` : ''}` }, 'Browse metrics in the schema browser')]);
  }

  function setView(next) {
    state.view = next;
    chartTab.classList.toggle('active', next === 'chart');
    tableTab.classList.toggle('active', next === 'table');
    chartTab.setAttribute('aria-selected', String(next === 'chart'));
    tableTab.setAttribute('aria-selected', String(next === 'table'));
    chartBox.hidden = next !== 'chart';
    tableBox.hidden = next !== 'table';
    if (lastResult) writeUrl();
  }

  function writeUrl() {
    history.replaceState(null, '', explorerHash(state));
  }

  function clearError() {
    errorBox.hidden = true;
    errorBox.replaceChildren();
    editor.classList.remove('has-error');
  }

  function showError(error, sent) {
    const status = error instanceof ApiError ? error.status : null;
    const message = error.message || String(error);
    const parts = [h('div.error-title', status ? `Error ${status}` : 'Error'), h('pre.error-message', message)];
    const position = errorPosition(message, sent);
    if (position && position.lines[position.line - 1] !== undefined) {
      const line = position.lines[position.line - 1];
      parts.push(h('pre.error-caret',
        `line ${position.line}, column ${position.column}${sent !== editor.value ? ' of the query sent' : ''}\n`,
        `${line}\n${' '.repeat(Math.max(0, position.column - 1))}^`));
      if (sent === editor.value) selectPosition(position);
    }
    replace(errorBox, parts);
    errorBox.hidden = false;
    editor.classList.add('has-error');
  }

  function selectPosition(position) {
    let offset = 0;
    for (let line = 0; line < position.line - 1; line += 1) offset += position.lines[line].length + 1;
    offset += Math.max(0, position.column - 1);
    editor.setSelectionRange(offset, offset + 1);
  }

  async function run() {
    state.text = editor.value;
    state.db = ctx.database();
    if (!state.text.trim()) {
      editor.focus();
      return;
    }
    controller?.abort();
    controller = new AbortController();
    const { signal } = controller;
    writeUrl();
    clearError();
    runButton.classList.add('busy');
    meta.textContent = `Running · ${describeRange(state.range)}…`;
    const started = performance.now();
    const language = LANGUAGES[state.lang];
    let sent = state.text;
    try {
      const result = await language.run({
        text: state.text,
        db: state.db,
        range: state.range,
        width: chartBox.clientWidth || resultBody.clientWidth || 900,
        signal,
      });
      if (signal.aborted) return;
      sent = result.sent;
      const elapsed = performance.now() - started;
      showResult(result, elapsed);
    } catch (error) {
      if (signal.aborted || error.name === 'AbortError') return;
      meta.textContent = '';
      showError(error, error.sent || sent);
      showEmpty('No result.');
    } finally {
      if (!signal.aborted) runButton.classList.remove('busy');
    }
  }

  function showEmpty(text) {
    chart?.destroy();
    chart = null;
    replace(chartBox, h('div.empty', text));
    replace(tableBox, h('div.empty', text));
    csvLink.disabled = true;
    lastResult = null;
  }

  function showResult(result, elapsed) {
    lastResult = result;
    chart?.destroy();
    chart = null;
    const counts = [`${formatCount(result.rows.length)} ${result.rows.length === 1 ? 'row' : 'rows'}`];
    if (result.series.length) counts.push(`${formatCount(result.series.length)} series`);
    counts.push(`${Math.round(elapsed)} ms`);
    meta.textContent = counts.join(' · ');
    csvLink.disabled = result.rows.length === 0;
    replace(tableBox, result.rows.length ? resultTable(result.columns, result.rows) : h('div.empty', 'The query returned no rows.'));
    if (result.notes.length) tableBox.append(h('p.muted.small.table-note', result.notes.join(' ')));
    replace(chartBox);
    if (result.series.length) {
      chart = drawChart(chartBox, result.series, {
        onZoom: (start, end) => {
          state.range = { from: start, to: end };
          picker.set(state.range);
          run();
        },
      });
      chartBox.append(h('p.muted.small.chart-note', 'Drag across the chart to zoom into a range.'));
    } else {
      chartBox.append(h('div.empty', result.notes.join(' ') || 'Nothing to chart.'));
    }
    setView(result.series.length ? preferredView : 'table');
  }

  async function copy() {
    writeUrl();
    try {
      await navigator.clipboard.writeText(window.location.href);
      copyLink.textContent = 'Copied';
    } catch {
      copyLink.textContent = 'Link in address bar';
    }
    setTimeout(() => {
      copyLink.textContent = 'Copy link';
    }, 1500);
  }

  function downloadCsv() {
    if (!lastResult) return;
    const blob = new Blob([toCsv(lastResult.columns, lastResult.rows)], { type: 'text/csv' });
    const url = URL.createObjectURL(blob);
    const link = h('a', { href: url, download: 'tidemark-result.csv' });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  showLanguage();
  setView(state.view);
  autosize();
  const unsubscribe = ctx.onDatabaseChange((db) => {
    state.db = db;
    writeUrl();
    showLanguage();
    if (state.text.trim() && lastResult) run();
  });
  if (state.text.trim()) {
    run();
  } else if (!state.db && !ctx.databases.length) {
    showEmpty('Write a query and press Run (Ctrl+Enter).');
    replace(chartBox, gettingStarted());
  } else {
    showEmpty('Write a query and press Run (Ctrl+Enter).');
    editor.focus();
  }
  return () => {
    controller?.abort();
    chart?.destroy();
    unsubscribe();
  };
}
