// Result tables: sortable by any column (click its header), the first MAX_ROWS rows shown.

import { h, replace } from './dom.js';

export const MAX_ROWS = 1000;

function compare(a, b) {
  if (a == null) return b == null ? 0 : 1;
  if (b == null) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

function cell(value) {
  if (value == null) return h('td.null', 'null');
  if (typeof value === 'number') return h('td.num', String(value));
  if (typeof value === 'boolean') return h('td.bool', String(value));
  if (typeof value === 'object') return h('td', JSON.stringify(value));
  return h('td', value);
}

/** A table of `columns` and `rows` (arrays of values). */
export function resultTable(columns, rows) {
  let sortIndex = -1;
  let descending = false;
  const body = h('tbody');
  const headers = columns.map((name, index) => h('th', {
    scope: 'col',
    title: 'Sort',
    onclick: () => {
      descending = sortIndex === index ? !descending : false;
      sortIndex = index;
      render();
    },
  }, name, h('span.sort')));
  const footer = h('p.muted.small.table-note');

  function render() {
    let ordered = rows;
    if (sortIndex >= 0) {
      ordered = [...rows].sort((a, b) => compare(a[sortIndex], b[sortIndex]) * (descending ? -1 : 1));
    }
    headers.forEach((header, index) => {
      header.classList.toggle('sorted', index === sortIndex);
      header.classList.toggle('desc', index === sortIndex && descending);
    });
    replace(body, ordered.slice(0, MAX_ROWS).map((row) => h('tr', row.map(cell))));
    footer.textContent = rows.length > MAX_ROWS
      ? `Showing ${MAX_ROWS.toLocaleString('en-US')} of ${rows.length.toLocaleString('en-US')} rows.`
      : '';
  }
  render();
  return h('div.table-wrap',
    h('table.results', h('thead', h('tr', headers)), body),
    footer);
}

/** The rows as CSV text (RFC 4180 quoting). */
export function toCsv(columns, rows) {
  const quote = (value) => {
    if (value == null) return '';
    const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
    return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  return [columns, ...rows].map((row) => row.map(quote).join(',')).join('\n') + '\n';
}
