// Every request the console makes goes through here: same-origin calls to the server's public
// APIs, with the token (if one was entered) as `Authorization: Bearer`. A 401 asks for a token
// once and retries; the token lives in sessionStorage, so it is gone when the tab closes.

const TOKEN_KEY = 'tidemark.token';

// Once the dialog was dismissed, later 401s fail without asking again (the status page polls)
// until a token is set through the Token button.
let declined = false;

/** A failed API call: the HTTP status and the server's own message. */
export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
  declined = false;
  for (const listener of tokenListeners) listener(Boolean(value));
}

const tokenListeners = new Set();

/** Calls `listener(hasToken)` whenever the token changes. */
export function onTokenChange(listener) {
  tokenListeners.add(listener);
}

// Set by the app shell: shows the token dialog and resolves true once a token was entered.
let askForToken = async () => false;
let pendingAsk = null;

export function setTokenPrompt(prompt) {
  askForToken = prompt;
}

/** Asks for a token once, however many requests are waiting on it. */
function promptOnce(reason) {
  if (declined) return Promise.resolve(false);
  if (!pendingAsk) {
    pendingAsk = askForToken(reason).then((saved) => {
      declined = !saved;
      return saved;
    }).finally(() => {
      pendingAsk = null;
    });
  }
  return pendingAsk;
}

/** The error message of a response body in any of the server's dialects. */
export function errorMessage(body, fallback) {
  if (body && typeof body === 'object') {
    if (typeof body.error === 'string') return body.error;
    if (typeof body.message === 'string') return body.message;
  }
  if (typeof body === 'string' && body.trim()) return body.trim();
  return fallback;
}

/**
 * Sends a request and returns the Response once it succeeded.
 * `options`: `params` (query string), `json` (a body to send as JSON), `method`, `signal`,
 * `prompt` (false: a 401 fails instead of asking for a token).
 */
export async function request(path, options = {}) {
  const url = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(options.params || {})) {
    if (value == null || value === '') continue;
    for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(key, item);
  }
  const headers = { Accept: 'application/json' };
  const current = token();
  if (current) headers.Authorization = `Bearer ${current}`;
  let body;
  if (options.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.json);
  }
  const response = await fetch(url, {
    method: options.method || (body ? 'POST' : 'GET'),
    headers,
    body,
    signal: options.signal,
    credentials: 'same-origin',
    cache: 'no-store',
  });
  if (response.ok) return response;
  const text = await response.text();
  let parsed = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: keep the text.
  }
  const message = errorMessage(parsed, `${response.status} ${response.statusText}`);
  if (response.status === 401 && options.prompt !== false) {
    const reason = current
      ? `The server did not accept the token: ${message}`
      : 'This server requires a token.';
    if (await promptOnce(reason)) return request(path, options);
  }
  const hint = response.status === 401 ? ' (enter a token with the Token button)' : '';
  throw new ApiError(response.status, `${message}${hint}`, parsed);
}

/** GETs (or POSTs, with `json`) and parses a JSON answer. */
export async function getJson(path, options = {}) {
  const response = await request(path, options);
  return response.json();
}

/** GETs a text answer. */
export async function getText(path, options = {}) {
  const response = await request(path, options);
  return response.text();
}

/** Runs SQL through `/api/v3/query_sql` and returns its rows (objects keyed by column). */
export async function sql(db, query, options = {}) {
  return getJson('/api/v3/query_sql', { ...options, json: { db, q: query, format: 'json' } });
}

/** Calls the Prometheus HTTP API and returns `data` of its envelope. */
export async function prometheus(path, params, options = {}) {
  const body = await getJson(path, { ...options, params });
  if (body.status !== 'success') throw new ApiError(200, errorMessage(body, 'the query failed'), body);
  return body.data;
}

/**
 * Runs InfluxQL on `/query` (times as epoch milliseconds) and returns the first statement's
 * result; a statement error becomes an `ApiError` like any other.
 */
export async function influxql(db, query, options = {}) {
  const body = await getJson('/query', { ...options, params: { db, q: query, epoch: 'ms' } });
  const result = (body.results || [])[0] || {};
  if (result.error) throw new ApiError(200, result.error, body);
  return result;
}
