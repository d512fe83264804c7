// Time-series charts with uPlot (vendored; loaded as the global `uPlot`). Times are shown in
// UTC, like every time in the console.

import { formatNumber, formatTime, h } from './dom.js';

/** Lines drawn at most; the legend says how many were left out. */
export const MAX_SERIES = 50;

export const PALETTE = [
  '#2563eb', '#0d9488', '#d97706', '#dc2626', '#7c3aed',
  '#0891b2', '#65a30d', '#db2777', '#4b5563', '#ea580c',
];

/**
 * Puts series with their own timestamps on one x axis (the union of all timestamps; a series
 * without a sample at a time gets null there, and the line spans the gap).
 */
export function alignSeries(series) {
  const times = new Set();
  for (const entry of series) for (const [at] of entry.points) times.add(at);
  const xs = Float64Array.from(times).sort();
  const position = new Map();
  xs.forEach((at, index) => position.set(at, index));
  const columns = series.map((entry) => {
    const ys = new Array(xs.length).fill(null);
    for (const [at, value] of entry.points) ys[position.get(at)] = Number.isFinite(value) ? value : null;
    return ys;
  });
  return [xs, ...columns];
}

const utc = (seconds) => window.uPlot.tzDate(new Date(seconds * 1000), 'Etc/UTC');

// uPlot's tick label table (increment, then formats by what changed), in 24-hour time.
const TIME_TICKS = [
  [3600 * 24 * 365, '{YYYY}', null, null, null, null, null, null, 1],
  [3600 * 24 * 28, '{MMM}', '\n{YYYY}', null, null, null, null, null, 1],
  [3600 * 24, '{MM}-{DD}', '\n{YYYY}', null, null, null, null, null, 1],
  [3600, '{HH}:{mm}', '\n{YYYY}-{MM}-{DD}', null, '\n{MM}-{DD}', null, null, null, 1],
  [60, '{HH}:{mm}', '\n{YYYY}-{MM}-{DD}', null, '\n{MM}-{DD}', null, null, null, 1],
  [1, ':{ss}', '\n{YYYY}-{MM}-{DD} {HH}:{mm}', null, '\n{MM}-{DD} {HH}:{mm}', null, '\n{HH}:{mm}', null, 1],
  [0.001, ':{ss}.{fff}', '\n{YYYY}-{MM}-{DD} {HH}:{mm}', null, '\n{MM}-{DD} {HH}:{mm}', null, '\n{HH}:{mm}', null, 1],
];

const axis = {
  stroke: '#64748b',
  grid: { stroke: '#eef1f5', width: 1 },
  ticks: { stroke: '#e2e8f0', width: 1 },
  font: '11px system-ui, -apple-system, "Segoe UI", sans-serif',
};

/**
 * Draws `series` ([{ name, points: [[seconds, value]] }]) into `container`.
 * Options: `height`, `legend` (default true), `onZoom(startMs, endMs)` (a drag across the
 * chart selects a new range; without it the chart zooms itself), `format` (y values).
 * Returns `{ update(series), destroy() }`, or null when uPlot is missing.
 */
export function drawChart(container, series, options = {}) {
  if (!window.uPlot) {
    container.append(h('p.notice', 'The chart library did not load.'));
    return null;
  }
  const shown = series.slice(0, MAX_SERIES);
  const data = alignSeries(shown);
  const format = options.format || ((value) => formatNumber(value));
  const height = options.height || 320;
  const width = Math.max(200, container.clientWidth || 800);
  const chart = new window.uPlot({
    width,
    height,
    tzDate: utc,
    scales: { x: { time: true } },
    legend: { show: options.legend !== false, live: true },
    cursor: {
      drag: { x: true, y: false, setScale: !options.onZoom },
      points: { size: 6 },
    },
    series: [
      { label: 'Time (UTC)', value: (u, seconds) => (seconds == null ? '' : formatTime(seconds * 1000)) },
      ...shown.map((entry, index) => ({
        label: entry.name,
        stroke: PALETTE[index % PALETTE.length],
        width: 1.5,
        spanGaps: true,
        value: (u, value) => (value == null ? '' : format(value)),
      })),
    ],
    axes: [
      { ...axis, values: TIME_TICKS },
      { ...axis, size: 64, values: (u, values) => values.map((value) => format(value)) },
    ],
    hooks: {
      setSelect: [
        (u) => {
          if (!options.onZoom || u.select.width < 4) return;
          const start = u.posToVal(u.select.left, 'x') * 1000;
          const end = u.posToVal(u.select.left + u.select.width, 'x') * 1000;
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          options.onZoom(Math.floor(start), Math.ceil(end));
        },
      ],
    },
  }, data, container);
  if (series.length > shown.length) {
    container.append(h('p.muted.small.chart-note', `Showing ${shown.length} of ${series.length} series.`));
  }
  const observer = new ResizeObserver(() => {
    const next = Math.max(200, container.clientWidth);
    if (Math.abs(next - chart.width) > 1) chart.setSize({ width: next, height });
  });
  observer.observe(container);
  return {
    /** Redraws with new points for the same series. */
    update(next) {
      chart.setData(alignSeries(next.slice(0, MAX_SERIES)));
    },
    destroy() {
      observer.disconnect();
      chart.destroy();
    },
  };
}
