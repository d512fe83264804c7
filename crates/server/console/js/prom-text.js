// The Prometheus text exposition format (what `/metrics` serves), parsed, and the arithmetic
// the status page does on two scrapes: counter rates and histogram quantiles over the interval.

/** Parses exposition text into samples `{ name, labels, value }`. */
export function parseMetrics(text) {
  const samples = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const sample = parseLine(line);
    if (sample) samples.push(sample);
  }
  return samples;
}

function parseLine(line) {
  const brace = line.indexOf('{');
  const space = line.indexOf(' ');
  let name;
  let labels = {};
  let rest;
  if (brace >= 0 && (space < 0 || brace < space)) {
    name = line.slice(0, brace);
    const parsed = parseLabels(line, brace + 1);
    if (!parsed) return null;
    labels = parsed.labels;
    rest = line.slice(parsed.end + 1);
  } else {
    if (space < 0) return null;
    name = line.slice(0, space);
    rest = line.slice(space);
  }
  const [valueText] = rest.trim().split(/\s+/);
  const value = parseValue(valueText);
  if (value === null) return null;
  return { name, labels, value };
}

function parseValue(text) {
  if (text === undefined) return null;
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  const value = Number(text);
  return Number.isNaN(value) ? null : value;
}

/** Reads `key="value",...}` from `start`; returns the labels and the index of the `}`. */
function parseLabels(line, start) {
  const labels = {};
  let index = start;
  while (index < line.length) {
    while (line[index] === ' ' || line[index] === ',') index += 1;
    if (line[index] === '}') return { labels, end: index };
    const equals = line.indexOf('=', index);
    if (equals < 0 || line[equals + 1] !== '"') return null;
    const key = line.slice(index, equals).trim();
    let value = '';
    index = equals + 2;
    while (index < line.length && line[index] !== '"') {
      if (line[index] === '\\' && index + 1 < line.length) {
        const next = line[index + 1];
        value += next === 'n' ? '\n' : next;
        index += 2;
      } else {
        value += line[index];
        index += 1;
      }
    }
    if (index >= line.length) return null;
    labels[key] = value;
    index += 1;
  }
  return null;
}

/** True when `labels` has every pair of `match`. */
function matches(labels, match) {
  return Object.entries(match || {}).every(([key, value]) => labels[key] === value);
}

/** The sum of the samples named `name` (with labels matching `match`), or null if none. */
export function total(samples, name, match) {
  let sum = null;
  for (const sample of samples) {
    if (sample.name === name && matches(sample.labels, match)) sum = (sum ?? 0) + sample.value;
  }
  return sum;
}

/** Sums of `name` per value of the label `by`. */
export function totalsBy(samples, name, by) {
  const sums = new Map();
  for (const sample of samples) {
    if (sample.name !== name) continue;
    const key = sample.labels[by] ?? '';
    sums.set(key, (sums.get(key) ?? 0) + sample.value);
  }
  return sums;
}

/**
 * Per-second rate of a counter between two scrapes (`{ at: ms, samples }`); null when the
 * counter is absent. A counter that went down (a restart) counts from zero.
 */
export function rate(before, after, name, match) {
  const now = total(after.samples, name, match);
  if (now === null) return null;
  const then = total(before.samples, name, match) ?? 0;
  const seconds = (after.at - before.at) / 1000;
  if (seconds <= 0) return null;
  const increase = now >= then ? now - then : now;
  return increase / seconds;
}

/** Increase of a counter between two scrapes (never negative), or null when absent. */
export function increase(before, after, name, match) {
  const now = total(after.samples, name, match);
  if (now === null) return null;
  const then = total(before.samples, name, match) ?? 0;
  return now >= then ? now - then : now;
}

/** The cumulative buckets `[[le, count]]` of histogram `name`, summed over other labels. */
function buckets(samples, name, match) {
  const byBound = new Map();
  for (const sample of samples) {
    if (sample.name !== `${name}_bucket` || !matches(sample.labels, match)) continue;
    const bound = parseValue(sample.labels.le);
    if (bound === null) continue;
    byBound.set(bound, (byBound.get(bound) ?? 0) + sample.value);
  }
  return [...byBound.entries()].sort((a, b) => a[0] - b[0]);
}

/**
 * The `q` quantile of histogram `name` over the observations between two scrapes, by linear
 * interpolation within the bucket (as Prometheus's `histogram_quantile`); null without any.
 */
export function quantileBetween(before, after, name, q, match) {
  const then = new Map(buckets(before.samples, name, match));
  const delta = buckets(after.samples, name, match)
    .map(([bound, count]) => [bound, Math.max(0, count - (then.get(bound) ?? 0))]);
  return quantile(delta, q);
}

/** `histogram_quantile` over cumulative `[[le, count]]` buckets. */
export function quantile(cumulative, q) {
  if (cumulative.length === 0) return null;
  const count = cumulative[cumulative.length - 1][1];
  if (!(count > 0)) return null;
  const rank = q * count;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [bound, cumulativeCount] of cumulative) {
    if (cumulativeCount >= rank) {
      if (bound === Infinity) return lowerBound;
      const inBucket = cumulativeCount - lowerCount;
      if (inBucket <= 0) return bound;
      return lowerBound + (bound - lowerBound) * ((rank - lowerCount) / inBucket);
    }
    lowerBound = bound;
    lowerCount = cumulativeCount;
  }
  return lowerBound;
}

/** Mean of histogram `name` between two scrapes (`_sum` / `_count`), or null. */
export function meanBetween(before, after, name, match) {
  const count = increase(before, after, `${name}_count`, match);
  const sum = increase(before, after, `${name}_sum`, match);
  if (!count || sum === null) return null;
  return sum / count;
}
