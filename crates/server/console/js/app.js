// The console shell: hash routes (#/query, #/schema, #/status), the database picker shared by
// the pages, and the token dialog.

import { getJson, onTokenChange, setToken, setTokenPrompt, token } from './api.js';
import { h, replace } from './dom.js';
import * as explorer from './explorer.js';
import * as schema from './schema.js';
import * as status from './status.js';

const PAGES = { query: explorer, schema, status };
const DATABASE_KEY = 'tidemark.database';

const view = document.getElementById('view');
let picker = document.getElementById('database');
const pickerSlot = document.getElementById('database-slot');

let database = localStorage.getItem(DATABASE_KEY) || '';
const databaseListeners = new Set();

const ctx = {
  database: () => database,
  /** Selects a database without telling the pages (they call it for their own URL's db). */
  setDatabase(name) {
    if (!name || name === database) return;
    database = name;
    localStorage.setItem(DATABASE_KEY, name);
    showDatabase();
  },
  onDatabaseChange(listener) {
    databaseListeners.add(listener);
    return () => databaseListeners.delete(listener);
  },
  databases: [],
};

function chooseDatabase(name) {
  if (name === database) return;
  database = name;
  if (name) localStorage.setItem(DATABASE_KEY, name);
  for (const listener of [...databaseListeners]) listener(name);
}

function showDatabase() {
  if (picker.tagName === 'SELECT' && database && ![...picker.options].some((option) => option.value === database)) {
    picker.append(h('option', { value: database }, database));
  }
  picker.value = database;
}

/** Fills the picker from `/api/v0/console/databases`, or falls back to a text field. */
async function loadDatabases() {
  try {
    const body = await getJson('/api/v0/console/databases');
    ctx.databases = body.databases || [];
    usePicker('select');
    replace(picker, ctx.databases.length
      ? ctx.databases.map((name) => h('option', { value: name }, name))
      : h('option', { value: '', disabled: true }, 'no databases yet'));
    if (!database || !ctx.databases.includes(database)) {
      const first = ctx.databases[0] || '';
      if (!database && first) chooseDatabase(first);
    }
    showDatabase();
  } catch (error) {
    // No list (an old server, or the call was refused): a database can still be typed in.
    usePicker('input');
    picker.title = `The database list is unavailable: ${error.message}`;
    showDatabase();
  }
}

function usePicker(kind) {
  if (picker.tagName === kind.toUpperCase()) return;
  const next = kind === 'select'
    ? h('select#database', { 'aria-label': 'Database' })
    : h('input#database', { type: 'text', placeholder: 'database name', spellcheck: false, 'aria-label': 'Database' });
  next.addEventListener('change', () => chooseDatabase(next.value.trim()));
  replace(pickerSlot, next);
  picker = next;
}

picker.addEventListener('change', () => chooseDatabase(picker.value));

// Routing.
let unmount = null;

function route() {
  const hash = window.location.hash || '#/query';
  const [path, query = ''] = hash.slice(1).split('?');
  const name = path.replace(/^\//, '') || 'query';
  const page = PAGES[name] ? name : 'query';
  for (const link of document.querySelectorAll('.tabs a')) {
    link.classList.toggle('active', link.dataset.page === page);
    if (link.dataset.page === page) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.title = `${{ query: 'Query', schema: 'Schema', status: 'Status' }[page]} · Tidemark`;
  unmount?.();
  unmount = null;
  view.replaceChildren();
  try {
    unmount = PAGES[page].mount(view, new URLSearchParams(query), ctx) || null;
  } catch (error) {
    replace(view, h('div.card.error-box', `The page failed to load: ${error.message}`));
  }
}

window.addEventListener('hashchange', route);

// The token dialog.
const dialog = document.getElementById('token-dialog');
const tokenInput = document.getElementById('token-input');
const tokenReason = document.getElementById('token-reason');
const tokenButton = document.getElementById('token-button');
let answer = null;

function openTokenDialog(reason) {
  tokenReason.textContent = reason || 'Enter a token to query a server with authentication on.';
  tokenInput.value = '';
  document.getElementById('token-forget').hidden = !token();
  if (!dialog.open) dialog.showModal();
  tokenInput.focus();
  return new Promise((resolve) => {
    answer = resolve;
  });
}

function closeTokenDialog(saved) {
  if (dialog.open) dialog.close();
  answer?.(saved);
  answer = null;
}

document.getElementById('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const value = tokenInput.value.trim();
  if (!value) {
    tokenInput.focus();
    return;
  }
  setToken(value);
  closeTokenDialog(true);
});
document.getElementById('token-cancel').addEventListener('click', () => closeTokenDialog(false));
document.getElementById('token-forget').addEventListener('click', () => {
  setToken('');
  closeTokenDialog(false);
});
dialog.addEventListener('cancel', () => closeTokenDialog(false));
tokenButton.addEventListener('click', async () => {
  if (await openTokenDialog(token() ? 'A token is set for this tab. Enter another to replace it.' : null)) {
    await loadDatabases();
    route();
  }
});

function showTokenState(has) {
  tokenButton.textContent = has ? 'Token ✓' : 'Token';
  tokenButton.classList.toggle('has-token', has);
}

setTokenPrompt(async (reason) => {
  const saved = await openTokenDialog(reason);
  // A new token may see other databases.
  if (saved) loadDatabases();
  return saved;
});
onTokenChange(showTokenState);
showTokenState(Boolean(token()));

// Start: the route may name a database; the list comes in beside it.
loadDatabases().finally(() => {
  if (!unmount) route();
});
