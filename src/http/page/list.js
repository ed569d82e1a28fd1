// The callback list: one tab per status with its count, oldest due first
// unless the agent orders it otherwise, filters, a search by number, and
// the rows that came in since the agent last looked.
import { alertSwitches, counts, lastLook, onCounts } from './alerts.js';
import { api, explain } from './api.js';
import { attemptCount, holder, latestCall, mine, numberOf, recordingLength, sla, slaBadge } from './callbacks.js';
import { clearInvalid, h, markInvalid, toast } from './dom.js';
import { fmtRelative, fmtTime, label, t } from './i18n.js';
import { loadAgents } from './names.js';
import { enums } from './schema.js';
import { show } from './view.js';
import { later, laterSection, windowHours } from './window.js';

// The list reloads this often (one request a 200 rows).
const POLL_MS = 20000;
const PAGE_SIZE = 50;
// The API's largest page.
const MAX_PAGE = 200;
// Requests a load makes at most: a filtered list's pages may be short.
const MAX_REQUESTS = 10;

// The tab, its rows and cursor, the view, and what the agent chose: the
// search, the filters and each kind of tab's order (kept across tabs).
const list = {
  tab: 'pending', items: [], cursor: null, view: null, seen: null,
  q: '', reason: '', due: '', repeat: false, sort: { open: 'due', closed: '-due' },
};

const OPEN_TABS = ['pending', 'mine', 'claimed'];
const SORTS = { open: ['due', 'received', 'attempts'], closed: ['-due', 'due'] };
const SORT_LABELS = { due: 'sort_due', '-due': 'sort_desc_due', received: 'sort_received', attempts: 'sort_attempts' };

/** The statuses, "mine" among them just before everything claimed. */
function tabs() {
  return enums.Status.flatMap((s) => (s === 'claimed' ? ['mine', s] : [s]));
}

function kind(tab) {
  return OPEN_TABS.includes(tab) ? 'open' : 'closed';
}

function tabLabel(tab) {
  return tab === 'mine' ? t('tab_mine') : label('s_', tab);
}

/** The count a tab shows: its records waiting, held, or the agent's own. */
function tabCount(tab) {
  const c = counts.now;
  if (!c) return null;
  const n = { pending: c.pending, claimed: c.claimed, mine: c.mine }[tab];
  if (n === undefined || n === null) return null;
  return n >= c.cap ? `${c.cap - 1}+` : String(n);
}

/** The list's address, on the tab last shown. */
export function listHash() {
  return `#/list/${list.tab}`;
}

/** The list's query: a number search, or the tab with its filters and order. */
function params() {
  const p = new URLSearchParams();
  if (list.q) {
    p.set('q', list.q);
    return p;
  }
  p.set('status', list.tab === 'mine' ? 'claimed' : list.tab);
  if (list.reason) p.set('reason', list.reason);
  if (list.due && kind(list.tab) === 'open') p.set('due', list.due);
  if (list.repeat) p.set('repeat', 'true');
  const sort = list.sort[kind(list.tab)];
  if (sort !== 'due') p.set('sort', sort);
  return p;
}

// At least `wanted` rows, in pages of at most 200, following the cursor.
// "mine" loads every claimed record and keeps the agent's own: claims are
// few (each agent holds a handful, and a claim times out), and a page could
// otherwise miss some of them.
async function loadRows(wanted) {
  const all = list.tab === 'mine' && !list.q;
  let items = [];
  let cursor = null;
  let requests = 0;
  do {
    const p = params();
    p.set('limit', String(all ? MAX_PAGE : Math.min(MAX_PAGE, Math.max(PAGE_SIZE, wanted - items.length))));
    if (cursor) p.set('cursor', cursor);
    const page = await api('GET', `/api/v1/callbacks?${p}`);
    items = items.concat(page.items);
    cursor = page.next_cursor;
    requests += 1;
  } while (cursor && (all || items.length < wanted) && requests < MAX_REQUESTS);
  return { items, cursor };
}

function visible(items) {
  return list.tab === 'mine' && !list.q ? items.filter(mine) : items;
}

/** A row whose caller called since the agent last looked. */
function isNew(item) {
  return list.seen && new Date(latestCall(item)) > new Date(list.seen.before);
}

// Per-row badges and states, after the due time: each takes a list item
// and answers a node or null. A feature with a state of its own adds its
// badge here.
const ROW_BADGES = [
  (item) => (isNew(item) ? h('span', { class: 'badge new' }, t('new_call')) : null),
  (item) => (item.repeat_calls > 0 ? h('span', { class: 'badge repeat' }, t('repeat_badge', item.repeat_calls)) : null),
];

function cell(name, labelText, ...content) {
  return h('td', { class: `c-${name}`, 'data-label': labelText }, ...content);
}

function listRow(item) {
  const kindOfSla = sla(item);
  const classes = [kindOfSla ? `sla-${kindOfSla}` : '', isNew(item) ? 'new' : ''].join(' ').trim();
  return h('tr', { class: classes || null, 'data-id': item.id },
    cell('due', t('due'),
      h('a', { href: `#/cb/${item.id}`, class: 'open', 'aria-label': `${t('open')} ${item.callback_display} ${fmtTime(item.due_at)}` }, fmtTime(item.due_at)),
      slaBadge('div', item), windowHours('div', item),
      h('div', { class: 'badges' }, ROW_BADGES.map((badge) => badge(item)))),
    list.q ? cell('status', t('status'), label('s_', item.status)) : null,
    cell('number', t('number'), numberOf(item)),
    cell('reason', t('reason'), label('r_', item.reason)),
    cell('received', t('received'), h('span', {}, fmtRelative(item.received_at)), h('div', { class: 'muted' }, fmtTime(item.received_at))),
    cell('length', t('length'), recordingLength(item)),
    cell('attempts', t('attempts'), attemptCount(item)),
    cell('holder', t('holder'), item.claimed_by ? holder(item) : '—'));
}

function header() {
  const columns = ['due', list.q ? 'status' : null, 'number', 'reason', 'received', 'length', 'attempts', 'holder'].filter(Boolean);
  return h('thead', {}, h('tr', {}, columns.map((k) => h('th', { scope: 'col', class: `c-${k}` }, t(k)))));
}

// Arrow keys move between the tabs (the ARIA tabs pattern); each tab is
// its own address.
function tabKeys(ev) {
  const all = tabs();
  const at = all.indexOf(ev.target.id?.replace(/^tab-/, ''));
  if (at < 0) return;
  const to = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: all.length - 1 }[ev.key];
  if (to === undefined) return;
  ev.preventDefault();
  const tab = all[(to + all.length) % all.length];
  document.getElementById(`tab-${tab}`)?.focus();
  openTab(tab);
}

function openTab(tab) {
  list.q = '';
  location.hash = `#/list/${tab}`;
}

function tabList() {
  return h('div', { role: 'tablist', 'aria-label': t('list'), onkeydown: tabKeys },
    tabs().map((tab) => {
      const selected = tab === list.tab && !list.q;
      const count = tabCount(tab);
      return h('button', {
        type: 'button', role: 'tab', id: `tab-${tab}`, 'aria-selected': String(selected),
        'aria-controls': 'tabpanel', tabindex: selected || (list.q && tab === list.tab) ? 0 : -1,
        onclick: () => openTab(tab),
      }, tabLabel(tab), count ? h('span', { class: 'count', id: `count-${tab}` }, count) : null);
    }));
}

function searchForm() {
  const input = h('input', {
    id: 'q', name: 'q', type: 'search', inputmode: 'tel', autocomplete: 'off', value: list.q,
    placeholder: t('search_hint'), maxlength: 40,
  });
  const form = h('form', { role: 'search', id: 'search', class: 'search' },
    h('label', { for: 'q' }, t('search_label')), input,
    h('button', { type: 'submit' }, t('search')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clearInvalid(form);
    list.q = input.value.trim();
    reload();
  });
  return form;
}

function select(id, text, value, options, onchange) {
  return h('span', { class: 'filter' },
    h('label', { for: id }, text),
    h('select', { id, onchange: (ev) => onchange(ev.target.value) },
      options.map(([v, words]) => h('option', { value: v, selected: v === value }, words))));
}

function filters() {
  if (list.q) return null;
  const open = kind(list.tab) === 'open';
  const sortKey = kind(list.tab);
  return h('div', { class: 'filters', id: 'filters' },
    select('f-reason', t('reason'), list.reason,
      [['', t('all')], ...enums.Reason.map((r) => [r, label('r_', r)])],
      (v) => { list.reason = v; reload(); }),
    open ? select('f-due', t('due'), list.due,
      [['', t('all')], ['overdue', t('overdue')], ['soon', t('soon')]],
      (v) => { list.due = v; reload(); }) : null,
    h('span', { class: 'filter check' },
      h('input', { type: 'checkbox', id: 'f-repeat', checked: list.repeat, onchange: (ev) => { list.repeat = ev.target.checked; reload(); } }),
      h('label', { for: 'f-repeat' }, t('repeat_only'))),
    select('f-sort', t('sort'), list.sort[sortKey],
      SORTS[sortKey].map((s) => [s, t(SORT_LABELS[s])]),
      (v) => { list.sort[sortKey] = v; reload(); }));
}

function renderList() {
  const items = visible(list.items);
  const table = (rows, id) => h('table', { id }, header(), h('tbody', {}, rows.map(listRow)));
  // Pending records that wait for their window come below the others.
  const waits = list.tab === 'pending' && !list.q;
  const now = waits ? items.filter((i) => !later(i)) : items;
  const body = [
    now.length ? table(now, 'callbacks') : h('p', { class: 'muted', id: 'empty' }, t(list.q ? 'no_match' : 'empty')),
    ...(waits ? laterSection(items, table) : []),
  ];
  const more = list.cursor
    ? h('button', { type: 'button', id: 'more', onclick: loadMore }, t('more'))
    : null;
  const searching = list.q
    ? h('p', { class: 'searching' }, t('search_results', list.q), ' ',
      h('button', { type: 'button', id: 'clear-search', onclick: () => { list.q = ''; reload(); } }, t('clear_search')))
    : null;
  list.view.rerender(
    h('div', { class: 'toolbar' }, h('h2', {}, t('list')), searchForm(), alertSwitches()),
    tabList(), filters(),
    h('div', { role: list.q ? 'region' : 'tabpanel', id: 'tabpanel', 'aria-labelledby': list.q ? null : `tab-${list.tab}`, 'aria-label': list.q ? t('search_results', list.q) : null },
      searching, body),
    more);
}

async function refreshList() {
  const { view } = list;
  try {
    // As many rows as were shown, again: keeps the page as long as it was.
    const page = await loadRows(Math.max(PAGE_SIZE, list.items.length));
    if (view !== list.view) return;
    list.items = page.items;
    list.cursor = page.cursor;
    renderList();
  } catch (err) {
    if (view !== list.view || err.status === 401) return;
    if (err.field === 'q' && list.q) {
      renderList();
      markInvalid(document.getElementById('search'), 'q', explain(err, 'list'));
    } else {
      toast(explain(err));
    }
  }
}

// A new search, filter or order: from the top.
function reload() {
  list.items = [];
  list.cursor = null;
  refreshList();
}

// "mine" has everything loaded already, so only the other tabs page on.
async function loadMore() {
  const { view } = list;
  try {
    const p = params();
    p.set('limit', String(PAGE_SIZE));
    p.set('cursor', list.cursor);
    const page = await api('GET', `/api/v1/callbacks?${p}`);
    if (view !== list.view) return;
    list.items = list.items.concat(page.items);
    list.cursor = page.next_cursor;
    renderList();
  } catch (err) {
    toast(explain(err));
  }
}

function redrawCounts() {
  for (const tab of tabs()) {
    const button = document.getElementById(`tab-${tab}`);
    if (!button) continue;
    button.querySelector('.count')?.remove();
    const count = tabCount(tab);
    if (count) button.append(h('span', { class: 'count', id: `count-${tab}` }, count));
  }
}

// Set by the `/` shortcut away from the list: the list focuses its
// search box once shown.
let searchNext = false;

/** Focuses the search box, going to the list first (the `/` shortcut). */
export function focusSearch() {
  const box = document.getElementById('q');
  if (box) {
    box.focus();
    return;
  }
  searchNext = true;
  location.hash = listHash();
}

/** The list on `tab` (a status or "mine"; anything else: pending). */
export async function showList(tab) {
  list.tab = tabs().includes(tab) ? tab : 'pending';
  list.items = [];
  list.cursor = null;
  const view = show(t('list'), h('p', {}, t('loading')));
  list.view = view;
  const look = lastLook();
  list.seen = look;
  view.onEnd(look.done);
  view.onEnd(onCounts((_, newCall) => {
    redrawCounts();
    if (newCall) refreshList();
  }));
  // Holders by name: the names come with the first rows.
  await Promise.all([refreshList(), loadAgents().catch(() => {})]);
  if (!view.live) return;
  renderList();
  document.getElementById(searchNext ? 'q' : `tab-${list.tab}`)?.focus();
  searchNext = false;
  view.every(POLL_MS, refreshList);
}
