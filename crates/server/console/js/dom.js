// Small DOM helpers. Elements are built with properties and text nodes only (never HTML
// strings), so nothing a server returns is ever parsed as markup, and the Content Security
// Policy's ban on inline styles and scripts holds.

/**
 * Creates an element: `h('div.card#id', {onclick, title, dataset: {...}}, child, ...)`.
 * Children may be strings, numbers, nodes, arrays of those, or null/false (skipped).
 */
export function h(tag, props, ...children) {
  const [name, ...rest] = tag.split(/(?=[.#])/);
  const el = document.createElement(name || 'div');
  for (const part of rest) {
    if (part.startsWith('.')) el.classList.add(part.slice(1));
    else if (part.startsWith('#')) el.id = part.slice(1);
  }
  if (props && (typeof props !== 'object' || props instanceof Node || Array.isArray(props))) {
    children.unshift(props);
    props = null;
  }
  for (const [key, value] of Object.entries(props || {})) {
    if (value == null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (key === 'class') {
      for (const name of String(value).split(/\s+/).filter(Boolean)) el.classList.add(name);
    } else if (key in el) {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child == null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces the children of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A number with thousands separators, or a dash. */
export function formatCount(value) {
  if (value == null || Number.isNaN(value)) return '—';
  return Math.round(value).toLocaleString('en-US');
}

/** A number for people: at most 4 significant digits, thousands separated. */
export function formatNumber(value, digits = 4) {
  if (value == null || Number.isNaN(value)) return '—';
  if (!Number.isFinite(value)) return String(value);
  if (value !== 0 && Math.abs(value) < 1e-3) return value.toExponential(2);
  const rounded = Number(value.toPrecision(digits));
  return rounded.toLocaleString('en-US', { maximumFractionDigits: 6 });
}

/** Bytes with a binary unit. */
export function formatBytes(bytes) {
  if (bytes == null || Number.isNaN(bytes)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** Seconds as a short latency: µs, ms or s. */
export function formatSeconds(seconds) {
  if (seconds == null || Number.isNaN(seconds)) return '—';
  if (seconds < 1e-3) return `${formatNumber(seconds * 1e6, 3)} µs`;
  if (seconds < 1) return `${formatNumber(seconds * 1e3, 3)} ms`;
  return `${formatNumber(seconds, 3)} s`;
}

/** A duration in seconds as `3d 4h`, `5m 2s`, … (two units at most). */
export function formatDuration(seconds) {
  if (seconds == null || Number.isNaN(seconds)) return '—';
  const parts = [];
  let left = Math.max(0, Math.round(seconds));
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]]) {
    if (left >= size || (unit === 's' && parts.length === 0)) {
      parts.push(`${Math.floor(left / size)}${unit}`);
      left %= size;
    }
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}

/** A time (ms since the epoch) in UTC, without milliseconds when they are zero. */
export function formatTime(ms) {
  if (ms == null || Number.isNaN(ms)) return '—';
  const iso = new Date(ms).toISOString();
  return iso.replace('T', ' ').replace(/\.000Z$/, 'Z');
}
