// The agents' page: talks only to the JSON API. Everything typed by a
// caller or an agent goes into the page as text nodes, never as HTML.
'use strict';

// The list and an open record reload this often (one request each).
const POLL_MS = 20000;
const PAGE_SIZE = 50;

const OUTCOMES = ['reached', 'no_answer', 'busy', 'voicemail', 'wrong_number'];
const TABS = ['pending', 'mine', 'claimed', 'completed', 'failed'];
const ROLES = ['agent', 'supervisor', 'admin'];
// The settings an admin changes (GET/PATCH /api/v1/settings): choices, or the input type.
const SETTINGS = { language: ['ja-JP', 'en-US'], voice: 'text', max_recording_seconds: 'number', number_entry_attempts: 'number', max_callback_attempts: 'number', callback_sla_minutes: 'number', claim_timeout_minutes: 'number', retry_delay_minutes: 'number', retention_days: 'number', time_zone: 'text', delete_twilio_recording: 'checkbox', recording_format: ['wav', 'mp3'], routing_mode: ['overflow', 'dial', 'queue'], closed_now: 'checkbox' };

const state = { me: null, tab: 'pending', items: [], cursor: null, timer: null, agents: [] };

function lang() {
  const saved = localStorage.getItem('afureko.lang');
  if (saved === 'ja' || saved === 'en') return saved;
  return state.me && state.me.language.startsWith('en') ? 'en' : 'ja';
}

function t(key, ...args) {
  const text = T[lang()][key] ?? T.en[key] ?? key;
  return text.replace(/\{(\d)\}/g, (_, i) => String(args[Number(i)] ?? ''));
}

// Builds an element; strings become text nodes, so nothing is parsed as HTML.
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

class ApiFailure extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && state.me) headers['X-CSRF-Token'] = state.me.csrf_token;
  const reply = await fetch(path, {
    method, headers, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = reply.status === 204 ? null : await reply.json().catch(() => null);
  if (!reply.ok) {
    if (reply.status === 401 && state.me) { signedOut(t('session_over')); }
    const error = data && data.error;
    throw new ApiFailure(reply.status, error ? error.code : null, error ? error.message : reply.statusText);
  }
  return data;
}

function toast(text) {
  const el = document.getElementById('toast');
  el.textContent = text;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.textContent = ''; }, 6000);
}

// An API error in the page's language: by its `code`, more precisely where
// the form says what it means (`e_<where>_<code>`); a 409's "claimed by ann"
// becomes "ann is working on it". Unknown codes show the server's message.
function explain(err, where) {
  const held = err.status === 409 && /^claimed by (.+)$/.exec(err.message);
  if (held) return t('held_by', held[1]);
  // A refused setting: its label in the page's language, the rule as sent.
  const field = where === 'settings' && err.code === 'bad_request' && /^(\w+) /.exec(err.message);
  if (field && SETTINGS[field[1]]) return t('e_settings_field', t(`set_${field[1]}`), err.message);
  for (const key of [`e_${where}_${err.code}`, `e_${err.code}`]) {
    if (err.code && T[lang()][key]) return t(key);
  }
  return err.message;
}

function fmtTime(iso) {
  const opts = { timeZone: state.me.time_zone, dateStyle: 'short', timeStyle: 'short' };
  return new Intl.DateTimeFormat(lang(), opts).format(new Date(iso));
}

function fmtRelative(iso) {
  const minutes = Math.round((new Date(iso) - Date.now()) / 60000);
  const rtf = new Intl.RelativeTimeFormat(lang(), { numeric: 'auto' });
  if (Math.abs(minutes) < 60) return rtf.format(minutes, 'minute');
  if (Math.abs(minutes) < 48 * 60) return rtf.format(Math.round(minutes / 60), 'hour');
  return rtf.format(Math.round(minutes / 1440), 'day');
}

function sla(item) {
  if (item.status === 'completed' || item.status === 'failed') return null;
  const left = new Date(item.due_at) - Date.now();
  if (left < 0) return 'over';
  return left <= 30 * 60000 ? 'soon' : 'fine';
}

function slaLabel(kind) {
  return { over: t('overdue'), soon: t('soon'), fine: t('fine') }[kind];
}

function recordingLength(item) {
  const rec = item.recordings.filter((r) => r.duration_seconds !== null).pop();
  return rec ? t('seconds', rec.duration_seconds) : '—';
}

function main() { return document.getElementById('main'); }

function setView(...nodes) {
  main().replaceChildren(...nodes.filter((n) => n !== null && n !== undefined));
}

function stopPolling() { clearInterval(state.timer); state.timer = null; }

function signedOut(message) {
  stopPolling();
  state.me = null;
  renderHeader();
  location.hash = '#/';
  showSignIn(message);
}

function renderHeader() {
  document.documentElement.lang = lang();
  for (const el of document.querySelectorAll('[data-t]')) el.textContent = t(el.dataset.t);
  const switchTo = lang() === 'ja' ? 'en' : 'ja';
  const button = document.getElementById('lang');
  button.textContent = switchTo === 'en' ? 'English' : '日本語';
  button.lang = switchTo;
  document.getElementById('signout').hidden = !state.me;
  const admin = document.getElementById('admin');
  admin.hidden = !(state.me && state.me.role === 'admin' && !state.me.must_change_password);
  admin.textContent = t('agents');
  document.getElementById('who').textContent = state.me ? `${state.me.name} (${state.me.login})` : '';
}

function field(name, labelKey, type, attrs) {
  const id = `f-${name}`;
  return [h('label', { for: id }, t(labelKey)), h('input', { id, name, type, required: true, ...attrs })];
}

function showSignIn(message) {
  document.title = `${t('signin')} — afureko`;
  const error = h('p', { class: 'error', role: 'alert' }, message || '');
  const form = h('form', { class: 'card', id: 'signin' },
    h('h2', {}, t('signin')),
    field('tenant', 'tenant', 'text', { autocomplete: 'organization', value: localStorage.getItem('afureko.tenant') || '' }),
    field('login', 'login', 'text', { autocomplete: 'username' }),
    field('password', 'password', 'password', { autocomplete: 'current-password' }),
    h('p', {}, h('button', { type: 'submit', class: 'primary' }, t('signin'))),
    error);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    try {
      state.me = await api('POST', '/api/v1/sessions', data);
      localStorage.setItem('afureko.tenant', data.tenant);
      start();
    } catch (err) {
      error.textContent = explain(err, 'signin');
    }
  });
  setView(form);
  form.querySelector('input:not([value]), input[value=""]')?.focus();
}

function showPasswordChange() {
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'card', id: 'newpw' },
    h('h2', {}, t('newpw_title')),
    field('current_password', 'current_password', 'password', { autocomplete: 'current-password' }),
    field('new_password', 'new_password', 'password', { autocomplete: 'new-password', minlength: 12 }),
    h('p', {}, h('button', { type: 'submit', class: 'primary' }, t('save'))),
    error);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      state.me = await api('POST', '/api/v1/me/password', Object.fromEntries(new FormData(form)));
      toast(t('saved'));
      start();
    } catch (err) {
      error.textContent = explain(err, 'password');
    }
  });
  setView(form);
  form.querySelector('input').focus();
}

function start() {
  renderHeader();
  if (state.me.must_change_password) return showPasswordChange();
  route();
}

function route() {
  stopPolling();
  if (!state.me) return;
  const match = /^#\/cb\/([\w-]+)$/.exec(location.hash);
  if (match) return showRecord(match[1]);
  if (location.hash === '#/agents' && state.me.role === 'admin') return showAgents();
  const tab = /^#\/list\/(\w+)$/.exec(location.hash);
  state.tab = tab && TABS.includes(tab[1]) ? tab[1] : 'pending';
  showList();
}

// ---- the list

// The API's largest page.
const MAX_PAGE = 200;

// At least `wanted` rows of the tab, in pages of at most 200, following the
// cursor. "mine" loads every claimed record and keeps the agent's own: claims
// are few (each agent holds a handful, and a claim times out), and a page
// could otherwise miss some of them.
async function loadRows(wanted) {
  const mine = state.tab === 'mine';
  const status = mine ? 'claimed' : state.tab;
  let items = [];
  let cursor = null;
  do {
    const limit = mine ? MAX_PAGE : Math.min(MAX_PAGE, wanted - items.length);
    const after = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
    const page = await api('GET', `/api/v1/callbacks?status=${status}&limit=${limit}${after}`);
    items = items.concat(page.items);
    cursor = page.next_cursor;
  } while (cursor && (mine || items.length < wanted));
  return { items, cursor };
}

function visible(items) {
  return state.tab === 'mine' ? items.filter((i) => i.claimed_by === state.me.login) : items;
}

function listRow(item) {
  const kind = sla(item);
  const holder = item.claimed_by ? item.claimed_by + (item.claimed_by === state.me.login ? t('you') : '') : '—';
  return h('tr', { class: kind ? `sla-${kind}` : null, 'data-id': item.id },
    h('td', { 'data-label': t('due') },
      h('a', { href: `#/cb/${item.id}`, 'aria-label': `${t('open')} ${fmtTime(item.due_at)}` }, fmtTime(item.due_at)),
      kind ? h('div', { class: `sla sla-${kind}` }, slaLabel(kind)) : null),
    h('td', { 'data-label': t('received') }, fmtRelative(item.received_at), h('div', { class: 'muted' }, fmtTime(item.received_at))),
    h('td', { 'data-label': t('reason') }, t(`r_${item.reason}`)),
    h('td', { 'data-label': t('number') }, item.callback_number),
    h('td', { 'data-label': t('length') }, recordingLength(item)),
    h('td', { 'data-label': t('attempts') }, `${item.attempts.length} / ${state.me.max_attempts}`),
    h('td', { 'data-label': t('repeats') }, String(item.repeat_calls)),
    h('td', { 'data-label': t('holder') }, holder));
}

function renderList() {
  const tabs = h('div', { role: 'tablist', 'aria-label': t('list') },
    TABS.map((tab) => h('button', {
      type: 'button', role: 'tab', id: `tab-${tab}`, 'aria-selected': String(tab === state.tab),
      onclick: () => { location.hash = `#/list/${tab}`; },
    }, t(tab))));
  const items = visible(state.items);
  const body = items.length
    ? h('table', {},
      h('thead', {}, h('tr', {}, ['due', 'received', 'reason', 'number', 'length', 'attempts', 'repeats', 'holder'].map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', {}, items.map(listRow)))
    : h('p', { class: 'muted' }, t('empty'));
  const more = state.cursor
    ? h('button', { type: 'button', id: 'more', onclick: loadMore }, t('more'))
    : null;
  setView(h('h2', {}, t('list')), tabs, h('div', { role: 'tabpanel', 'aria-labelledby': `tab-${state.tab}` }, body), more);
}

async function refreshList() {
  try {
    // As many rows as were shown, again: keeps the page as long as it was.
    const page = await loadRows(Math.max(PAGE_SIZE, state.items.length));
    state.items = page.items;
    state.cursor = page.cursor;
    const y = window.scrollY;
    const focused = document.activeElement && document.activeElement.id;
    renderList();
    window.scrollTo(0, y);
    if (focused) document.getElementById(focused)?.focus();
  } catch (err) {
    if (err.status !== 401) toast(explain(err));
  }
}

// "mine" has everything loaded already, so only the other tabs page on.
async function loadMore() {
  try {
    const page = await api('GET', `/api/v1/callbacks?status=${state.tab}&limit=${PAGE_SIZE}&cursor=${encodeURIComponent(state.cursor)}`);
    state.items = state.items.concat(page.items);
    state.cursor = page.next_cursor;
    const y = window.scrollY;
    renderList();
    window.scrollTo(0, y);
  } catch (err) {
    toast(explain(err));
  }
}

async function showList() {
  document.title = `${t('list')} — afureko`;
  state.items = [];
  setView(h('p', {}, t('loading')));
  await refreshList();
  document.getElementById(`tab-${state.tab}`)?.focus();
  state.timer = setInterval(refreshList, POLL_MS);
}

// ---- one record

// The API gives the history in order; each kind has its own sentence.
function historyText(e) {
  switch (e.kind) {
    case 'arrived': return t('arrived');
    case 'repeat_call': return t('repeat_call');
    case 'claimed': return t('claimed_by', e.agent);
    case 'released': return t('released_by', e.agent);
    case 'claim_expired': return t('claim_expired', e.agent);
    case 'attempt': return t('attempt_by', e.agent, t(`outcome_${e.outcome}`));
    case 'note': return t('note_by', e.agent);
    case 'handed_over': return t('handed', e.agent, e.handed_to);
    case 'completed': return t('completed_by', e.agent);
    default: return e.kind;
  }
}

function historyOf(r) {
  return h('ol', { class: 'history', id: 'history' }, r.history.map((e) =>
    h('li', { 'data-kind': e.kind },
      e.at ? h('time', { datetime: e.at }, fmtTime(e.at)) : t('time_unknown'), ' — ', historyText(e),
      e.text ? h('div', { class: 'note' }, e.text) : null)));
}

function textArea(id, labelKey) {
  return [h('label', { for: id }, t(labelKey)), h('textarea', { id, maxlength: 2000 })];
}

async function act(id, action, body) {
  try {
    const record = await api('POST', `/api/v1/callbacks/${id}/${action}`, body);
    toast(t('saved'));
    renderRecord(record);
  } catch (err) {
    toast(explain(err));
    const box = document.getElementById('action-error');
    if (box) box.textContent = explain(err);
  }
}

function renderRecord(r) {
  const mine = r.claimed_by === state.me.login;
  const open = r.status === 'pending' || r.status === 'claimed';
  const kind = sla(r);
  const number = mine ? h('a', { href: `tel:${r.callback_number}`, id: 'tel' }, `${t('call_number')} ${r.callback_number}`) : r.callback_number;
  const facts = h('dl', { class: 'facts' },
    h('dt', {}, t('status')), h('dd', { id: 'status' }, t(`s_${r.status}`), r.claimed_by ? ` — ${t('held_by', r.claimed_by + (mine ? t('you') : ''))}` : ''),
    h('dt', {}, t('due')), h('dd', {}, fmtTime(r.due_at), kind ? h('span', { class: `sla sla-${kind}` }, ` ${slaLabel(kind)}`) : ''),
    h('dt', {}, t('received')), h('dd', {}, `${fmtTime(r.received_at)} (${fmtRelative(r.received_at)})`),
    h('dt', {}, t('reason')), h('dd', {}, t(`r_${r.reason}`)),
    h('dt', {}, t('number')), h('dd', {}, number),
    h('dt', {}, t('attempts')), h('dd', {}, `${r.attempts.length} / ${state.me.max_attempts}`),
    h('dt', {}, t('repeats')), h('dd', {}, String(r.repeat_calls)));
  const recordings = r.recordings.filter((rec) => rec.url);
  const audio = h('section', { class: 'card' }, h('h3', {}, t('recordings')),
    recordings.length
      ? recordings.map((rec, i) => h('div', {},
        h('span', { class: 'muted', id: `rec-${i}` }, rec.duration_seconds !== null ? t('seconds', rec.duration_seconds) : ''),
        h('audio', { controls: true, preload: 'metadata', src: rec.url, 'aria-labelledby': `rec-${i}` })))
      : h('p', { class: 'muted' }, t('none')),
    r.recordings_not_kept ? h('p', { class: 'muted', id: 'recordings-not-kept' }, t('recordings_not_kept', r.recordings_not_kept)) : '');

  const actions = h('section', { class: 'card', id: 'actions' }, h('p', { class: 'error', id: 'action-error', role: 'alert' }));
  if (open && !mine) {
    actions.append(h('div', { class: 'actions' }, h('button', { type: 'button', class: 'primary', id: 'claim', onclick: () => act(r.id, 'claim', {}) }, t('claim'))));
  }
  if (open && mine) {
    const outcomes = h('div', { class: 'actions', role: 'group', 'aria-label': t('log_attempt') },
      OUTCOMES.map((o) => h('button', {
        type: 'button', id: `outcome-${o}`,
        onclick: () => act(r.id, 'attempts', { outcome: o, note: document.getElementById('attempt-note').value || null }),
      }, t(`outcome_${o}`))));
    actions.append(
      h('h3', {}, t('log_attempt')), ...textArea('attempt-note', 'note'), outcomes,
      h('h3', {}, t('complete')), ...textArea('complete-note', 'completion_note'),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'primary', id: 'complete', onclick: () => act(r.id, 'complete', { note: document.getElementById('complete-note').value || null }) }, t('complete')),
        h('button', { type: 'button', id: 'release', onclick: () => act(r.id, 'release', {}) }, t('release'))));
  }
  const supervisor = state.me.role === 'supervisor' || state.me.role === 'admin';
  if (open && (mine || supervisor)) {
    const select = h('select', { id: 'assign-to' },
      state.agents.filter((a) => a.active && a.login !== r.claimed_by).map((a) => h('option', { value: a.login }, `${a.name} (${a.login})`)));
    actions.append(h('h3', {}, t('assign')), h('label', { for: 'assign-to' }, t('assign_to')), select,
      h('div', { class: 'actions' }, h('button', { type: 'button', id: 'assign', onclick: () => act(r.id, 'assign', { to: select.value }) }, t('assign'))));
  }
  actions.append(h('h3', {}, t('add_note')), ...textArea('note-text', 'notes_label'),
    h('div', { class: 'actions' }, h('button', {
      type: 'button', id: 'add-note',
      onclick: () => {
        const text = document.getElementById('note-text').value;
        if (text.trim()) act(r.id, 'notes', { text });
      },
    }, t('add_note'))));

  state.version = r.version;
  setView(
    h('p', {}, h('a', { href: `#/list/${state.tab}`, id: 'back' }, `← ${t('back')}`)),
    h('h2', {}, t('record')), facts, audio,
    h('section', { class: 'card' }, h('h3', {}, t('history')), historyOf(r)),
    actions);
}

// Typing in a box is never thrown away by a refresh.
function busyTyping() {
  return [...document.querySelectorAll('textarea')].some((el) => el.value) ||
    document.activeElement?.tagName === 'SELECT';
}

async function showRecord(id) {
  document.title = `${t('record')} — afureko`;
  setView(h('p', {}, t('loading')));
  try {
    const [record, agents] = await Promise.all([api('GET', `/api/v1/callbacks/${id}`), api('GET', '/api/v1/agents')]);
    state.agents = agents;
    renderRecord(record);
    document.getElementById('back')?.focus();
  } catch (err) {
    setView(h('p', { class: 'error' }, explain(err)), h('a', { href: '#/' }, t('back')));
    return;
  }
  state.timer = setInterval(async () => {
    try {
      const record = await api('GET', `/api/v1/callbacks/${id}`);
      const playing = [...document.querySelectorAll('audio')].some((a) => !a.paused);
      if (record.version !== state.version && !busyTyping() && !playing) renderRecord(record);
    } catch (err) {
      if (err.status !== 401) toast(explain(err));
    }
  }, POLL_MS);
}

// ---- the tenant's agents (admins)

function roleSelect(id, current) {
  return h('select', { id }, ROLES.map((r) => h('option', { value: r, selected: r === current }, t(`role_${r}`))));
}

async function adminAct(method, path, body, done, where = 'agents') {
  try {
    const reply = await api(method, path, body);
    await showAgents();
    if (done) done(reply);
    else toast(t('saved'));
  } catch (err) {
    toast(explain(err, where));
  }
}

function showPassword(reply) {
  document.getElementById('one-time').textContent = t('one_time', reply.agent.login, reply.initial_password);
}

async function showAgents() {
  document.title = `${t('agents')} — afureko`;
  let agents, keys, settings;
  try {
    [agents, keys, settings] = await Promise.all(['/api/v1/agents', '/api/v1/api-keys', '/api/v1/settings'].map((p) => api('GET', p)));
  } catch (err) {
    return setView(h('p', { class: 'error' }, explain(err)));
  }
  const rows = agents.map((a) => {
    const self = a.login === state.me.login;
    const select = roleSelect(`role-${a.login}`, a.role);
    return h('tr', { 'data-login': a.login },
      h('td', { 'data-label': t('login') }, a.login),
      h('td', { 'data-label': t('name') }, a.name),
      h('td', { 'data-label': t('role') }, h('label', { for: `role-${a.login}`, class: 'muted' }, t('change_role')), select,
        h('button', { type: 'button', disabled: self, onclick: () => adminAct('PATCH', `/api/v1/agents/${a.login}`, { role: select.value }) }, t('save'))),
      h('td', { 'data-label': t('active') }, a.active ? t('active') : t('disabled')),
      h('td', { 'data-label': t('actions') },
        h('button', { type: 'button', disabled: self || !a.active, id: `disable-${a.login}`, onclick: () => adminAct('PATCH', `/api/v1/agents/${a.login}`, { active: false }) }, t('disable')),
        ' ',
        h('button', { type: 'button', disabled: !a.active, id: `reset-${a.login}`, onclick: () => adminAct('POST', `/api/v1/agents/${a.login}/password`, undefined, showPassword) }, t('reset'))));
  });
  const form = h('form', { class: 'card', id: 'add-agent' },
    h('h3', {}, t('add_agent')),
    field('new-login', 'login', 'text', { name: 'login', autocomplete: 'off' }),
    field('new-name', 'name', 'text', { name: 'name', autocomplete: 'off' }),
    h('label', { for: 'f-new-role' }, t('role')), roleSelect('f-new-role', 'agent'),
    h('p', {}, h('button', { type: 'submit', class: 'primary' }, t('add'))));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const body = { login: form.elements.login.value, name: form.elements.name.value, role: document.getElementById('f-new-role').value };
    adminAct('POST', '/api/v1/agents', body, showPassword);
  });
  setView(
    h('p', {}, h('a', { href: '#/', id: 'back' }, `← ${t('back')}`)),
    h('h2', {}, t('agents')),
    h('p', { id: 'one-time', role: 'status', class: 'card' }),
    h('table', { id: 'agents-table' },
      h('thead', {}, h('tr', {}, ['login', 'name', 'role', 'active', 'actions'].map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', {}, rows)),
    form, ...keysPanel(keys), settingsPanel(settings));
}

function keysPanel(keys) {
  const rows = keys.map((k) => h('tr', {}, h('td', { 'data-label': 'ID' }, k.id), h('td', { 'data-label': t('key_name') }, k.name || t('none')),
    h('td', { 'data-label': t('created') }, fmtTime(k.created_at)),
    h('td', {}, k.active ? h('button', { type: 'button', id: `revoke-${k.id}`, onclick: () => adminAct('DELETE', `/api/v1/api-keys/${encodeURIComponent(k.id)}`) }, t('revoke')) : t('revoked'))));
  const form = h('form', { class: 'card', id: 'add-key' }, h('h3', {}, t('new_key')),
    field('key-name', 'key_name', 'text', { name: 'name', autocomplete: 'off', required: false, maxlength: 100 }),
    h('p', {}, h('button', { type: 'submit', class: 'primary' }, t('add'))));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    adminAct('POST', '/api/v1/api-keys', { name: form.elements.name.value }, (r) => { document.getElementById('one-time').textContent = t('key_once', r.key); });
  });
  const head = ['ID', t('key_name'), t('created'), t('status')].map((k) => h('th', { scope: 'col' }, k));
  return [h('h2', {}, t('api_keys')), h('table', { id: 'keys-table' }, h('thead', {}, h('tr', {}, head)), h('tbody', {}, rows)), form];
}

// Sends only what the admin changed; a refused value's message names it.
function settingsPanel(current) {
  const inputs = Object.entries(SETTINGS).map(([name, kind]) => {
    const id = `set-${name}`;
    const input = Array.isArray(kind)
      ? h('select', { id, name }, kind.map((v) => h('option', { value: v, selected: v === current[name] }, t(`o_${v}`))))
      : h('input', { id, name, type: kind, checked: kind === 'checkbox' && current[name], value: kind === 'checkbox' ? null : current[name] });
    return h('p', {}, h('label', { for: id }, t(`set_${name}`)), ' ', input);
  });
  const form = h('form', { class: 'card', id: 'settings' }, h('h2', {}, t('settings')), inputs,
    h('p', {}, h('button', { type: 'submit', class: 'primary' }, t('save'))));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const change = {};
    for (const [name, kind] of Object.entries(SETTINGS)) {
      const el = form.elements[name];
      const value = kind === 'checkbox' ? el.checked : kind === 'number' ? Number(el.value) : el.value;
      if (value !== current[name]) change[name] = value;
    }
    adminAct('PATCH', '/api/v1/settings', change, null, 'settings');
  });
  return form;
}

// ---- start-up

document.getElementById('lang').addEventListener('click', () => {
  document.getElementById('toast').textContent = '';
  localStorage.setItem('afureko.lang', lang() === 'ja' ? 'en' : 'ja');
  renderHeader();
  if (state.me && !state.me.must_change_password) route();
  else if (!state.me) showSignIn();
});
document.getElementById('signout').addEventListener('click', async () => {
  try { await api('DELETE', '/api/v1/sessions/current'); } catch (err) { /* signed out either way */ }
  signedOut(t('signed_out'));
});
window.addEventListener('hashchange', route);

(async () => {
  try {
    state.me = await api('GET', '/api/v1/me');
    start();
  } catch (err) {
    renderHeader();
    showSignIn();
  }
})();
