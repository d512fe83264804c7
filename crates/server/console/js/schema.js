// The schema browser: a database's measurements (with their series, from the index), and per
// measurement its columns (tags, fields and their types, from SQL's information_schema) and
// its cardinality (distinct values and top values per tag key, from the index).
// URL: #/schema?db=<db>&m=<measurement>.

import { getJson, sql } from './api.js';
import { formatCount, h, replace } from './dom.js';
import { explorerHash, gettingStarted } from './explorer.js';
import { LANGUAGES } from './languages.js';
import { DEFAULT_RANGE } from './timerange.js';

/** A column's role and readable type, from its Arrow type. */
export function columnRole(dataType) {
  if (dataType.startsWith('Dictionary(')) return ['tag', 'string'];
  if (dataType.startsWith('Timestamp(')) return ['time', 'timestamp (ns, UTC)'];
  const types = {
    Float64: 'float', Int64: 'integer', UInt64: 'unsigned', Utf8: 'string', Boolean: 'boolean',
  };
  return ['field', types[dataType] || dataType];
}

function quoteLiteral(text) {
  return `'${text.replaceAll("'", "''")}'`;
}

export function mount(view, params, ctx) {
  if (params.get('db')) ctx.setDatabase(params.get('db'));
  let db = ctx.database();
  let selected = params.get('m') || '';
  let columns = new Map();
  let measurements = [];
  let generation = 0;

  const filter = h('input.filter', { type: 'search', placeholder: 'Filter measurements', 'aria-label': 'Filter measurements', spellcheck: false });
  const summary = h('p.muted.small.summary');
  const list = h('ul.measure-list#measurements', { role: 'listbox', 'aria-label': 'Measurements' });
  const detail = h('div.detail#measurement-detail');
  const heading = h('h1', 'Schema');
  replace(view, h('section.page.schema',
    h('div.page-head', heading, h('div.grow'), summary),
    h('div.split',
      h('aside.card.side', filter, list),
      h('div.card.main', detail))));

  filter.addEventListener('input', () => showList());

  function writeUrl() {
    const next = new URLSearchParams();
    if (db) next.set('db', db);
    if (selected) next.set('m', selected);
    history.replaceState(null, '', `#/schema?${next}`);
  }

  async function load() {
    const mine = ++generation;
    measurements = [];
    columns = new Map();
    writeUrl();
    if (!db) {
      replace(list);
      replace(detail, ctx.databases.length ? h('div.empty', 'Choose a database at the top right.') : gettingStarted());
      summary.textContent = '';
      return;
    }
    replace(list, h('li.muted.loading', 'Loading…'));
    replace(detail);
    const [cardinality, info] = await Promise.allSettled([
      getJson('/api/v0/console/cardinality', { params: { db } }),
      sql(db, `SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = ${quoteLiteral(db)} ORDER BY table_name, ordinal_position`),
    ]);
    if (mine !== generation) return;
    if (info.status === 'fulfilled') {
      for (const row of info.value) {
        if (!columns.has(row.table_name)) columns.set(row.table_name, []);
        columns.get(row.table_name).push(row);
      }
    }
    let truncated = false;
    if (cardinality.status === 'fulfilled') {
      measurements = cardinality.value.measurements.map((entry) => ({ name: entry.measurement, series: entry.series }));
      truncated = cardinality.value.truncated;
    } else {
      measurements = [...columns.keys()].map((name) => ({ name, series: null }));
    }
    const failure = [cardinality, info].find((outcome) => outcome.status === 'rejected');
    if (failure && measurements.length === 0) {
      replace(list);
      replace(detail, h('div.error-box', `Cannot read the schema of ${db}: ${failure.reason.message}`));
      summary.textContent = '';
      return;
    }
    const series = measurements.reduce((sum, entry) => sum + (entry.series || 0), 0);
    summary.textContent = `${db} · ${formatCount(measurements.length)} measurements · ${formatCount(series)} series${truncated ? ' (at least)' : ''}`;
    showList();
    if (!selected && measurements.length) selected = measurements[0].name;
    if (selected) select(selected);
    else replace(detail, h('div.empty', `The database ${db} has no measurements yet.`));
  }

  function showList() {
    const needle = filter.value.trim().toLowerCase();
    const most = Math.max(1, ...measurements.map((entry) => entry.series || 0));
    const shown = measurements.filter((entry) => entry.name.toLowerCase().includes(needle));
    replace(list, shown.length ? shown.map((entry) => {
      const bar = h('span.bar');
      bar.style.width = `${Math.max(2, ((entry.series || 0) / most) * 100)}%`;
      const item = h('li', {
        role: 'option',
        tabIndex: 0,
        dataset: { measurement: entry.name },
        onclick: () => select(entry.name),
        onkeydown: (event) => {
          if (event.key === 'Enter') select(entry.name);
        },
      }, h('span.name', entry.name), h('span.count', entry.series == null ? '' : formatCount(entry.series)), h('span.bar-track', bar));
      if (entry.name === selected) {
        item.classList.add('active');
        item.setAttribute('aria-selected', 'true');
      }
      return item;
    }) : h('li.muted.empty-item', measurements.length ? 'No measurement matches.' : 'No measurements.'));
  }

  async function select(name) {
    selected = name;
    writeUrl();
    showList();
    const mine = generation;
    const cols = columns.get(name) || [];
    const tags = cols.filter((column) => columnRole(column.data_type)[0] === 'tag');
    const fields = cols.filter((column) => columnRole(column.data_type)[0] === 'field');
    const numericFields = fields.filter((column) => ['Float64', 'Int64', 'UInt64', 'Boolean'].includes(column.data_type));
    const sqlLink = explorerHash({ lang: 'sql', db, text: LANGUAGES.sql.example(name), range: DEFAULT_RANGE });
    const promLinks = numericFields.slice(0, 6).map((field) => h('a.chip', {
      href: explorerHash({ lang: 'promql', db, text: LANGUAGES.promql.example(name, field.column_name), range: DEFAULT_RANGE }),
    }, LANGUAGES.promql.example(name, field.column_name)));
    const cardinalityBox = h('div.cardinality', h('p.muted', 'Counting series…'));
    const seriesCount = measurements.find((entry) => entry.name === name)?.series;
    replace(detail,
      h('div.detail-head',
        h('h2', name),
        seriesCount == null ? null : h('span.badge', `${formatCount(seriesCount)} series`),
        h('div.grow'),
        h('a.button.ghost.small#query-sql', { href: sqlLink }, 'Query in SQL')),
      promLinks.length ? h('div.prom-links', h('span.muted.small', 'PromQL:'), promLinks) : null,
      h('h3', 'Columns'),
      cols.length ? h('table.results.compact',
        h('thead', h('tr', h('th', 'Column'), h('th', 'Kind'), h('th', 'Type'))),
        h('tbody', cols.map((column) => {
          const [role, type] = columnRole(column.data_type);
          return h('tr', h('td.mono', column.column_name), h('td', h(`span.kind.kind-${role}`, role)), h('td.muted', type));
        })))
        : h('p.muted', 'No column information (information_schema did not answer).'),
      h('h3', 'Cardinality', h('span.muted.small.sub', ' from the series index: distinct values and the values with the most series')),
      cardinalityBox);
    if (!tags.length && cols.length) {
      replace(cardinalityBox, h('p.muted', 'This measurement has no tags: it is one series.'));
      return;
    }
    try {
      const answer = await getJson('/api/v0/console/cardinality', { params: { db, measurement: name, top: 10 } });
      if (mine !== generation || selected !== name) return;
      replace(cardinalityBox, cardinalityTable(answer));
    } catch (error) {
      if (mine !== generation || selected !== name) return;
      replace(cardinalityBox, h('div.error-box', `Cannot count series: ${error.message}`));
    }
  }

  function cardinalityTable(answer) {
    if (!answer.tags.length) return h('p.muted', 'This measurement has no tags.');
    const most = Math.max(1, answer.series);
    return h('div',
      answer.truncated ? h('p.notice', 'The index is larger than one request reads: counts are lower bounds.') : null,
      h('table.results.compact.cardinality-table',
        h('thead', h('tr', h('th', 'Tag key'), h('th.num', 'Distinct values'), h('th', 'Top values (series)'))),
        h('tbody', answer.tags.map((tag) => h('tr',
          h('td.mono', tag.key),
          h('td.num', formatCount(tag.values)),
          h('td', h('div.top-values', tag.top.map((entry) => {
            const bar = h('span.bar');
            bar.style.width = `${Math.max(2, (entry.series / most) * 100)}%`;
            return h('div.top-value', { title: `${entry.series} of ${answer.series} series` },
              h('span.value.mono', entry.value === '' ? '(empty)' : entry.value),
              h('span.bar-track', bar),
              h('span.count', formatCount(entry.series)));
          }), tag.values > tag.top.length ? h('span.muted.small', `+ ${formatCount(tag.values - tag.top.length)} more`) : null)))))));
  }

  const unsubscribe = ctx.onDatabaseChange((name) => {
    db = name;
    selected = '';
    load();
  });
  load();
  return () => {
    generation += 1;
    unsubscribe();
  };
}
