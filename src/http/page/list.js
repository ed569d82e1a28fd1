// The callback list: one tab per status, oldest due first, and "mine".
import { api, explain } from './api.js';
import { attemptCount, holder, mine, recordingLength, sla, slaBadge } from './callbacks.js';
import { h, toast } from './dom.js';
import { fmtRelative, fmtTime, label, t } from './i18n.js';
import { enums } from './schema.js';
import { show } from './view.js';
import { later, laterSection, windowHours } from './window.js';

// The list reloads this often (one request).
const POLL_MS = 20000;
const PAGE_SIZE = 50;
// The API's largest page.
const MAX_PAGE = 200;

const list = { tab: 'pending', items: [], cursor: null, view: null };

/** The statuses, "mine" among them just before everything claimed. */
function tabs() {
  return enums.Status.flatMap((s) => (s === 'claimed' ? ['mine', s] : [s]));
}

function tabLabel(tab) {
  return tab === 'mine' ? t('tab_mine') : label('s_', tab);
}

/** The list's address, on the tab last shown. */
export function listHash() {
  return `#/list/${list.tab}`;
}

// At least `wanted` rows of the tab, in pages of at most 200, following the
// cursor. "mine" loads every claimed record and keeps the agent's own: claims
// are few (each agent holds a handful, and a claim times out), and a page
// could otherwise miss some of them.
async function loadRows(wanted) {
  const all = list.tab === 'mine';
  const status = all ? 'claimed' : list.tab;
  let items = [];
  let cursor = null;
  do {
    const limit = all ? MAX_PAGE : Math.min(MAX_PAGE, wanted - items.length);
    const after = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
    const page = await api('GET', `/api/v1/callbacks?status=${status}&limit=${limit}${after}`);
    items = items.concat(page.items);
    cursor = page.next_cursor;
  } while (cursor && (all || items.length < wanted));
  return { items, cursor };
}

function visible(items) {
  return list.tab === 'mine' ? items.filter(mine) : items;
}

function listRow(item) {
  const kind = sla(item);
  return h('tr', { class: kind ? `sla-${kind}` : null, 'data-id': item.id },
    h('td', { 'data-label': t('due') },
      h('a', { href: `#/cb/${item.id}`, 'aria-label': `${t('open')} ${fmtTime(item.due_at)}` }, fmtTime(item.due_at)),
      slaBadge('div', item), windowHours('div', item)),
    h('td', { 'data-label': t('received') }, fmtRelative(item.received_at), h('div', { class: 'muted' }, fmtTime(item.received_at))),
    h('td', { 'data-label': t('reason') }, label('r_', item.reason)),
    h('td', { 'data-label': t('number') }, item.callback_number),
    h('td', { 'data-label': t('length') }, recordingLength(item)),
    h('td', { 'data-label': t('attempts') }, attemptCount(item)),
    h('td', { 'data-label': t('repeats') }, String(item.repeat_calls)),
    h('td', { 'data-label': t('holder') }, item.claimed_by ? holder(item) : '—'));
}

function renderList() {
  const tablist = h('div', { role: 'tablist', 'aria-label': t('list') },
    tabs().map((tab) => h('button', {
      type: 'button', role: 'tab', id: `tab-${tab}`, 'aria-selected': String(tab === list.tab),
      onclick: () => { location.hash = `#/list/${tab}`; },
    }, tabLabel(tab))));
  const items = visible(list.items);
  const table = (rows, id) => h('table', { id },
    h('thead', {}, h('tr', {}, ['due', 'received', 'reason', 'number', 'length', 'attempts', 'repeats', 'holder'].map((k) => h('th', { scope: 'col' }, t(k))))),
    h('tbody', {}, rows.map(listRow)));
  // Pending records that wait for their window come below the others.
  const now = list.tab === 'pending' ? items.filter((i) => !later(i)) : items;
  const waiting = list.tab === 'pending' ? laterSection(items, table) : [];
  const body = [now.length ? table(now) : h('p', { class: 'muted' }, t('empty')), ...waiting];
  const more = list.cursor
    ? h('button', { type: 'button', id: 'more', onclick: loadMore }, t('more'))
    : null;
  list.view.rerender(h('h2', {}, t('list')), tablist, h('div', { role: 'tabpanel', 'aria-labelledby': `tab-${list.tab}` }, body), more);
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
    if (err.status !== 401) toast(explain(err));
  }
}

// "mine" has everything loaded already, so only the other tabs page on.
async function loadMore() {
  const { view } = list;
  try {
    const page = await api('GET', `/api/v1/callbacks?status=${list.tab}&limit=${PAGE_SIZE}&cursor=${encodeURIComponent(list.cursor)}`);
    if (view !== list.view) return;
    list.items = list.items.concat(page.items);
    list.cursor = page.next_cursor;
    renderList();
  } catch (err) {
    toast(explain(err));
  }
}

/** The list on `tab` (a status or "mine"; anything else: pending). */
export async function showList(tab) {
  list.tab = tabs().includes(tab) ? tab : 'pending';
  list.items = [];
  const view = show(t('list'), h('p', {}, t('loading')));
  list.view = view;
  await refreshList();
  if (view.live) document.getElementById(`tab-${list.tab}`)?.focus();
  view.every(POLL_MS, refreshList);
}
