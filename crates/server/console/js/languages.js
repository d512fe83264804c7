// The query languages of the explorer. Each entry knows how to run a query against the public
// API of its language and returns one result shape:
//   { columns: [name], rows: [[value]], series: [{ name, points: [[seconds, value]] }],
//     sent: the text sent, notes: [string] }
// Adding a language is one more entry here.

import { influxql, prometheus, sql } from './api.js';
import { intervalText, niceStep, resolveRange } from './timerange.js';

/** Prometheus refuses range queries with more points per series than this. */
const MAX_PROM_POINTS = 11000;

function isoSeconds(ms) {
  return new Date(ms).toISOString();
}

/** Replaces the SQL time macros with the range's bounds. */
export function expandSqlMacros(text, { start, end, stepSeconds }) {
  const from = `'${isoSeconds(start)}'`;
  const to = `'${isoSeconds(end)}'`;
  return text
    .replaceAll('$__timeFilter', `time >= ${from} AND time < ${to}`)
    .replaceAll('$__timeFrom', from)
    .replaceAll('$__timeTo', to)
    .replaceAll('$__interval', intervalText(stepSeconds));
}

const TIME_TEXT = /^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?$/;

/**
 * Turns SQL rows (objects; nulls are left out) into table columns and chart series: the
 * `time` column (or the first column of timestamps) is x, every numeric column is a value,
 * and the remaining text columns are tags that split series.
 */
export function sqlResult(records, sent) {
  const columns = [];
  const seen = new Set();
  for (const record of records) {
    for (const key of Object.keys(record)) {
      if (!seen.has(key)) {
        seen.add(key);
        columns.push(key);
      }
    }
  }
  const rows = records.map((record) => columns.map((column) => record[column] ?? null));
  const kinds = columns.map((_, index) => columnKind(rows, index));
  let timeIndex = columns.indexOf('time');
  if (timeIndex < 0 || kinds[timeIndex] !== 'time') timeIndex = kinds.indexOf('time');
  const notes = [];
  const series = [];
  if (timeIndex >= 0) {
    const valueIndexes = kinds.flatMap((kind, index) => (kind === 'number' ? [index] : []));
    const tagIndexes = kinds.flatMap((kind, index) => (kind === 'text' && index !== timeIndex ? [index] : []));
    const byName = new Map();
    for (const row of rows) {
      const at = Date.parse(row[timeIndex]);
      if (!Number.isFinite(at)) continue;
      const tags = tagIndexes.filter((index) => row[index] != null).map((index) => `${columns[index]}=${row[index]}`);
      for (const index of valueIndexes) {
        const value = row[index];
        if (typeof value !== 'number') continue;
        const name = tags.length ? `${columns[index]} {${tags.join(', ')}}` : columns[index];
        let entry = byName.get(name);
        if (!entry) {
          entry = { name, points: [] };
          byName.set(name, entry);
          series.push(entry);
        }
        entry.points.push([at / 1000, value]);
      }
    }
    for (const entry of series) entry.points.sort((a, b) => a[0] - b[0]);
    series.sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
    if (valueIndexes.length === 0) notes.push('No numeric column to chart.');
  } else if (rows.length) {
    notes.push('No time column to chart: the result is shown as a table.');
  }
  return { columns, rows, series, sent, notes, timeColumn: timeIndex };
}

/** `time` (every value is a timestamp text), `number`, `text`, or `other`. */
function columnKind(rows, index) {
  let kind = null;
  for (const row of rows) {
    const value = row[index];
    if (value == null) continue;
    let current;
    if (typeof value === 'number') current = 'number';
    else if (typeof value === 'string') current = TIME_TEXT.test(value) ? 'time' : 'text';
    else current = 'other';
    if (kind && kind !== current) {
      if ((kind === 'time' && current === 'text') || (kind === 'text' && current === 'time')) {
        kind = 'text';
        continue;
      }
      return 'other';
    }
    kind = current;
  }
  return kind || 'other';
}

/** A series' labels as `name{a="b", ...}`. */
export function formatMetric(metric) {
  const { __name__: name = '', ...labels } = metric || {};
  const pairs = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  return pairs.length ? `${name}{${pairs.join(', ')}}` : name || '{}';
}

/** Turns a Prometheus query answer into table rows and chart series. */
export function promResult(data, sent) {
  const series = [];
  const notes = [];
  const results = data.resultType === 'matrix' || data.resultType === 'vector' ? data.result : [];
  if (data.resultType === 'scalar' || data.resultType === 'string') {
    return {
      columns: ['time', 'value'],
      rows: [[new Date(data.result[0] * 1000).toISOString(), data.result[1]]],
      series: [],
      sent,
      notes,
    };
  }
  const labelKeys = [];
  for (const item of results) {
    for (const key of Object.keys(item.metric || {})) {
      if (key !== '__name__' && !labelKeys.includes(key)) labelKeys.push(key);
    }
  }
  labelKeys.sort();
  const columns = ['metric', ...labelKeys, 'last value', 'last sample', 'samples'];
  const rows = [];
  for (const item of results) {
    const samples = item.values || (item.value ? [item.value] : []);
    const points = samples.map(([at, value]) => [at, Number(value)]);
    const name = formatMetric(item.metric);
    series.push({ name, points });
    const last = samples[samples.length - 1];
    rows.push([
      item.metric?.__name__ ?? '',
      ...labelKeys.map((key) => item.metric?.[key] ?? null),
      last ? Number(last[1]) : null,
      last ? new Date(last[0] * 1000).toISOString() : null,
      samples.length,
    ]);
  }
  // Aggregations drop the metric name: then the column would be empty.
  if (rows.every((row) => row[0] === '')) {
    return { columns: columns.slice(1), rows: rows.map((row) => row.slice(1)), series, sent, notes };
  }
  return { columns, rows, series, sent, notes };
}

/** Replaces Grafana's InfluxQL macros with the range's bounds. */
export function expandInfluxqlMacros(text, { start, end, stepSeconds }) {
  return text
    .replaceAll('$timeFilter', `time >= ${Math.floor(start)}ms and time <= ${Math.ceil(end)}ms`)
    .replaceAll('$__interval', `${stepSeconds}s`);
}

/**
 * Turns an InfluxQL statement's series (epoch=ms) into table rows (tags, then columns) and
 * chart series: every numeric column of every series, named by the series' tags.
 */
export function influxqlResult(result, sent) {
  const all = result.series || [];
  const tagKeys = [...new Set(all.flatMap((one) => Object.keys(one.tags || {})))].sort();
  const valueColumns = [...new Set(all.flatMap((one) => one.columns || []))];
  const columns = ['name', ...tagKeys, ...valueColumns];
  const rows = [];
  const series = [];
  const notes = [];
  for (const one of all) {
    const tags = one.tags || {};
    const timeIndex = (one.columns || []).indexOf('time');
    for (const values of one.values || []) {
      const byColumn = Object.fromEntries(one.columns.map((column, index) => [column, values[index]]));
      rows.push([
        one.name ?? '',
        ...tagKeys.map((key) => tags[key] ?? null),
        ...valueColumns.map((column) => {
          const value = byColumn[column];
          return column === 'time' && typeof value === 'number' ? new Date(value).toISOString() : value ?? null;
        }),
      ]);
    }
    if (timeIndex < 0) continue;
    const label = Object.entries(tags).map(([key, value]) => `${key}=${value}`).join(', ');
    one.columns.forEach((column, index) => {
      if (index === timeIndex) return;
      const points = (one.values || [])
        .filter((values) => typeof values[index] === 'number')
        .map((values) => [values[timeIndex] / 1000, values[index]]);
      if (!points.length) return;
      const name = `${one.name}.${column}${label ? ` {${label}}` : ''}`;
      series.push({ name, points });
    });
  }
  if (all.length && !series.length) notes.push('No numeric column over time to chart.');
  return { columns, rows, series, sent, notes };
}

/**
 * Where in the sent text an error message points, if it says: SQL parser errors name
 * `Line: L, Column: C`; InfluxQL's `at line L, char C`; PromQL parsers say `1:5:` or
 * `position 5`.
 */
export function errorPosition(message, sent) {
  const lines = sent.split('\n');
  let match = /Line: (\d+), Column: (\d+)/.exec(message) || /at line (\d+), char (\d+)/.exec(message);
  if (match) return { line: Number(match[1]), column: Number(match[2]), lines };
  match = /^(?:.*?: )?(\d+):(\d+): /.exec(message) || /\bposition (\d+)\b/.exec(message);
  if (match && match.length === 3) return { line: Number(match[1]), column: Number(match[2]), lines };
  if (match) {
    let offset = Number(match[1]);
    for (let line = 0; line < lines.length; line += 1) {
      if (offset <= lines[line].length) return { line: line + 1, column: offset + 1, lines };
      offset -= lines[line].length + 1;
    }
  }
  return null;
}

function quoteIdentifier(name) {
  return `"${name.replaceAll('"', '""')}"`;
}

export const LANGUAGES = {
  sql: {
    label: 'SQL',
    hint: 'SQL (DataFusion) over /api/v3/query_sql. Macros: $__timeFilter, $__timeFrom, $__timeTo, $__interval.',
    placeholder: 'SELECT * FROM cpu WHERE $__timeFilter ORDER BY time DESC LIMIT 100',
    example(measurement) {
      const table = measurement ? quoteIdentifier(measurement) : 'cpu';
      return `SELECT *\nFROM ${table}\nWHERE $__timeFilter\nORDER BY time DESC\nLIMIT 100`;
    },
    async run({ text, db, range, width, signal }) {
      const { start, end } = resolveRange(range);
      const stepSeconds = niceStep((end - start) / 1000, Math.max(50, width / 4));
      const sent = expandSqlMacros(text, { start, end, stepSeconds });
      try {
        const records = await sql(db, sent, { signal });
        return sqlResult(Array.isArray(records) ? records : [], sent);
      } catch (error) {
        // Error positions refer to the text sent, macros expanded.
        error.sent = sent;
        throw error;
      }
    },
  },
  influxql: {
    label: 'InfluxQL',
    hint: "InfluxQL over /query (InfluxDB 1.x). Grafana's macros: $timeFilter, $__interval.",
    placeholder: 'SELECT mean(usage) FROM cpu WHERE $timeFilter GROUP BY time($__interval), host',
    example(measurement, field) {
      const name = measurement ? `"${measurement.replaceAll('"', '\\"')}"` : 'cpu';
      const value = field ? `mean("${field.replaceAll('"', '\\"')}")` : 'count(*)';
      return `SELECT ${value}\nFROM ${name}\nWHERE $timeFilter\nGROUP BY time($__interval) fill(none)`;
    },
    async run({ text, db, range, width, signal }) {
      const { start, end } = resolveRange(range);
      const stepSeconds = niceStep((end - start) / 1000, Math.max(50, width / 4));
      const sent = expandInfluxqlMacros(text, { start, end, stepSeconds });
      try {
        return influxqlResult(await influxql(db, sent, { signal }), sent);
      } catch (error) {
        error.sent = sent;
        throw error;
      }
    },
  },
  promql: {
    label: 'PromQL',
    hint: 'PromQL over the Prometheus HTTP API (/api/v1/query_range); the step follows the range and the chart width.',
    placeholder: 'rate(http_requests_total[5m])',
    example(measurement, field) {
      if (!measurement) return 'up';
      return field && field !== 'value' ? `${measurement}_${field}` : measurement;
    },
    async run({ text, db, range, width, signal }) {
      const { start, end } = resolveRange(range);
      const span = (end - start) / 1000;
      let step = niceStep(span, Math.max(50, width / 3));
      if (span / step > MAX_PROM_POINTS) step = Math.ceil(span / MAX_PROM_POINTS);
      const data = await prometheus('/api/v1/query_range', {
        db,
        query: text,
        start: (start / 1000).toFixed(3),
        end: (end / 1000).toFixed(3),
        step: `${step}s`,
      }, { signal });
      const result = promResult(data, text);
      result.notes.push(`Step ${step}s.`);
      return result;
    },
  },
};
