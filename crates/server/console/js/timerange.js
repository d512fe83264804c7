// Time ranges: a relative preset ("last 1h", re-evaluated at each run) or absolute bounds.
// In URLs a range is `range=1h`, or `from=<ISO>&to=<ISO>`.

import { h } from './dom.js';

export const PRESETS = [
  ['5m', 'Last 5 minutes', 5 * 60],
  ['15m', 'Last 15 minutes', 15 * 60],
  ['1h', 'Last 1 hour', 3600],
  ['3h', 'Last 3 hours', 3 * 3600],
  ['6h', 'Last 6 hours', 6 * 3600],
  ['12h', 'Last 12 hours', 12 * 3600],
  ['24h', 'Last 24 hours', 24 * 3600],
  ['2d', 'Last 2 days', 2 * 86400],
  ['7d', 'Last 7 days', 7 * 86400],
  ['30d', 'Last 30 days', 30 * 86400],
];

export const DEFAULT_RANGE = { preset: '1h' };

/** The range named by URL parameters (`range`, or `from` and `to`). */
export function rangeFromParams(params) {
  const from = Date.parse(params.get('from') || '');
  const to = Date.parse(params.get('to') || '');
  if (Number.isFinite(from) && Number.isFinite(to) && from < to) return { from, to };
  const preset = params.get('range');
  if (PRESETS.some(([key]) => key === preset)) return { preset };
  return { ...DEFAULT_RANGE };
}

/** Writes a range into URL parameters. */
export function rangeToParams(range, params) {
  params.delete('range');
  params.delete('from');
  params.delete('to');
  if (range.preset) params.set('range', range.preset);
  else {
    params.set('from', new Date(range.from).toISOString());
    params.set('to', new Date(range.to).toISOString());
  }
}

/** The bounds of a range now, in ms since the epoch. */
export function resolveRange(range, now = Date.now()) {
  if (range.preset) {
    const seconds = PRESETS.find(([key]) => key === range.preset)?.[2] ?? 3600;
    return { start: now - seconds * 1000, end: now };
  }
  return { start: range.from, end: range.to };
}

/** A short description of a range. */
export function describeRange(range) {
  if (range.preset) return PRESETS.find(([key]) => key === range.preset)?.[1] ?? range.preset;
  const format = (ms) => new Date(ms).toISOString().replace('T', ' ').replace(/:\d\d\.\d+Z$/, 'Z');
  return `${format(range.from)} → ${format(range.to)}`;
}

// The console shows every time in UTC, the custom range inputs included: `2026-01-31 14:05:00`
// (seconds optional); a time with its own offset or `Z` is taken as it says.
function toUtcInput(ms) {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

export function fromUtcInput(text) {
  const match = /^(\d{4}-\d\d-\d\d)(?:[T ](\d\d:\d\d(?::\d\d(?:\.\d+)?)?))?\s*(Z|[+-]\d\d:?\d\d)?$/.exec(text.trim());
  if (!match) return NaN;
  const [, day, time = '00:00:00', zone = 'Z'] = match;
  return Date.parse(`${day}T${time.length === 5 ? `${time}:00` : time}${zone}`);
}

/**
 * A range picker: a preset list with "Custom range…", which shows two date-time inputs (UTC).
 * Calls `onChange(range)` on every change.
 */
export function rangePicker(initial, onChange) {
  let range = { ...initial };
  const select = h('select', { 'aria-label': 'Time range', class: 'range-select' },
    PRESETS.map(([key, label]) => h('option', { value: key }, label)),
    h('option', { value: 'custom' }, 'Custom range…'));
  const now = Date.now();
  const bounds = resolveRange(range, now);
  const from = h('input.time-input', { type: 'text', spellcheck: false, 'aria-label': 'From (UTC)', placeholder: 'YYYY-MM-DD hh:mm:ss', value: toUtcInput(bounds.start) });
  const to = h('input.time-input', { type: 'text', spellcheck: false, 'aria-label': 'To (UTC)', placeholder: 'YYYY-MM-DD hh:mm:ss', value: toUtcInput(bounds.end) });
  const apply = h('button', { type: 'button', class: 'ghost small' }, 'Apply');
  const custom = h('span.custom-range', from, h('span.muted', '→'), to, h('span.muted.small', 'UTC'), apply);
  const root = h('span.range-picker', h('span.icon-clock', { 'aria-hidden': 'true' }), select, custom);

  function show() {
    select.value = range.preset || 'custom';
    custom.hidden = Boolean(range.preset);
    if (!range.preset) {
      from.value = toUtcInput(range.from);
      to.value = toUtcInput(range.to);
    }
  }

  select.addEventListener('change', () => {
    if (select.value === 'custom') {
      const current = resolveRange(range);
      range = { from: current.start, to: current.end };
      show();
      onChange(range);
    } else {
      range = { preset: select.value };
      show();
      onChange(range);
    }
  });
  for (const input of [from, to]) {
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') apply.click();
    });
  }
  apply.addEventListener('click', () => {
    const start = fromUtcInput(from.value);
    const end = fromUtcInput(to.value);
    from.setCustomValidity(Number.isFinite(start) ? '' : 'A time such as 2026-01-31 14:05:00 (UTC)');
    to.setCustomValidity(Number.isFinite(end) ? '' : 'A time such as 2026-01-31 14:05:00 (UTC)');
    if (Number.isFinite(start) && Number.isFinite(end) && start >= end) to.setCustomValidity('The end must be after the start');
    if (!from.reportValidity() || !to.reportValidity()) return;
    range = { from: start, to: end };
    onChange(range);
  });
  show();
  return {
    element: root,
    set(next) {
      range = { ...next };
      show();
    },
  };
}

/** A step (seconds) near `span / points`, rounded up to a round number. */
export function niceStep(spanSeconds, points) {
  const raw = Math.max(1, spanSeconds / Math.max(1, points));
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800,
    21600, 43200, 86400, 172800, 604800];
  return steps.find((step) => step >= raw) ?? Math.ceil(raw / 86400) * 86400;
}

/** A step in seconds as SQL interval text (`10 seconds`, `5 minutes`, …). */
export function intervalText(seconds) {
  if (seconds % 86400 === 0) return `${seconds / 86400} days`;
  if (seconds % 3600 === 0) return `${seconds / 3600} hours`;
  if (seconds % 60 === 0) return `${seconds / 60} minutes`;
  return `${seconds} seconds`;
}
