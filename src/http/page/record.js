// One callback: its facts, recordings, history and what can be done now.
import { api, explain } from './api.js';
import { callCard, followCalls } from './call.js';
import { attemptCount, holder, mine, slaBadge } from './callbacks.js';
import { h, textArea, toast } from './dom.js';
import { fmtRelative, fmtTime, label, t } from './i18n.js';
import { listHash } from './list.js';
import { enums } from './schema.js';
import { isSupervisor } from './session.js';
import { show } from './view.js';
import { windowHours } from './window.js';

// An open record reloads this often (one request).
const POLL_MS = 20000;

// The record shown, the view it is in, and the agents it can go to.
const shown = { view: null, id: null, version: null, agents: [] };

// Each kind of history entry has its own sentence: {0} the agent, {1} the
// outcome, {2} the colleague it went to.
function historyOf(r) {
  return h('ol', { class: 'history', id: 'history' }, r.history.map((e) =>
    h('li', { 'data-kind': e.kind },
      e.at ? h('time', { datetime: e.at }, fmtTime(e.at)) : t('time_unknown'), ' — ',
      label('h_', e.kind, e.agent, e.outcome && label('outcome_', e.outcome), e.handed_to,
        e.previous_outcome && label('outcome_', e.previous_outcome), e.attempt),
      e.text ? h('div', { class: 'note' }, e.text) : null)));
}

function facts(r) {
  const number = mine(r) ? h('a', { href: `tel:${r.callback_number}`, id: 'tel' }, `${t('call_number')} ${r.callback_number}`) : r.callback_number;
  return h('dl', { class: 'facts' },
    h('dt', {}, t('status')), h('dd', { id: 'status' }, label('s_', r.status), r.claimed_by ? ` — ${t('held_by', holder(r))}` : ''),
    h('dt', {}, t('due')), h('dd', {}, fmtTime(r.due_at), slaBadge('span', r, ' ')),
    r.window ? [h('dt', {}, t('window')), windowHours('dd', r)] : null,
    h('dt', {}, t('received')), h('dd', {}, `${fmtTime(r.received_at)} (${fmtRelative(r.received_at)})`),
    h('dt', {}, t('reason')), h('dd', {}, label('r_', r.reason)),
    h('dt', {}, t('number')), h('dd', {}, number),
    h('dt', {}, t('attempts')), h('dd', {}, attemptCount(r)),
    h('dt', {}, t('repeats')), h('dd', {}, String(r.repeat_calls)));
}

function recordings(r) {
  const playable = r.recordings.filter((rec) => rec.url);
  return h('section', { class: 'card' }, h('h3', {}, t('recordings')),
    playable.length
      ? playable.map((rec, i) => h('div', {},
        h('span', { class: 'muted', id: `rec-${i}` }, label('rk_', rec.kind), ' ', rec.duration_seconds !== null ? t('seconds', rec.duration_seconds) : ''),
        h('audio', { controls: true, preload: 'metadata', src: rec.url, 'aria-labelledby': `rec-${i}` })))
      : h('p', { class: 'muted' }, t('none')),
    r.recordings_not_kept ? h('p', { class: 'muted', id: 'recordings-not-kept' }, t('recordings_not_kept', r.recordings_not_kept)) : '');
}

async function act(action, body) {
  const { view, id } = shown;
  try {
    const record = await api('POST', `/api/v1/callbacks/${id}/${action}`, body);
    toast(t('saved'));
    if (view === shown.view) renderRecord(record);
  } catch (err) {
    toast(explain(err));
    const box = document.getElementById('action-error');
    if (box) box.textContent = explain(err);
  }
}

function value(id) {
  return document.getElementById(id).value || null;
}

// What the agent can do: claim an open record, or work their own (log an
// attempt, complete, release); hand over their own (supervisors: any);
// add a note to any.
function actions(r) {
  const own = mine(r);
  const open = r.status === 'pending' || r.status === 'claimed';
  const box = h('section', { class: 'card', id: 'actions' }, h('p', { class: 'error', id: 'action-error', role: 'alert' }));
  if (open && !own) {
    box.append(h('div', { class: 'actions' }, h('button', { type: 'button', class: 'primary', id: 'claim', onclick: () => act('claim', {}) }, t('claim'))));
  }
  if (open && own) {
    const outcomes = h('div', { class: 'actions', role: 'group', 'aria-label': t('log_attempt') },
      enums.Outcome.map((o) => h('button', {
        type: 'button', id: `outcome-${o}`,
        onclick: () => act('attempts', { outcome: o, note: value('attempt-note') }),
      }, label('outcome_', o))));
    box.append(
      h('h3', {}, t('log_attempt')), ...textArea('attempt-note', 'note'), outcomes,
      h('h3', {}, t('complete')), ...textArea('complete-note', 'completion_note'),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'primary', id: 'complete', onclick: () => act('complete', { note: value('complete-note') }) }, t('complete')),
        h('button', { type: 'button', id: 'release', onclick: () => act('release', {}) }, t('release'))));
  }
  if (open && (own || isSupervisor())) {
    const select = h('select', { id: 'assign-to' },
      shown.agents.filter((a) => a.active && a.login !== r.claimed_by).map((a) => h('option', { value: a.login }, `${a.name} (${a.login})`)));
    box.append(h('h3', {}, t('assign')), h('label', { for: 'assign-to' }, t('assign_to')), select,
      h('div', { class: 'actions' }, h('button', { type: 'button', id: 'assign', onclick: () => act('assign', { to: select.value }) }, t('assign'))));
  }
  box.append(h('h3', {}, t('add_note')), ...textArea('note-text', 'notes_label'),
    h('div', { class: 'actions' }, h('button', {
      type: 'button', id: 'add-note',
      onclick: () => {
        const text = document.getElementById('note-text').value;
        if (text.trim()) act('notes', { text });
      },
    }, t('add_note'))));
  return box;
}

function renderRecord(r) {
  shown.version = r.version;
  shown.view.render(
    h('p', {}, h('a', { href: listHash(), id: 'back' }, `← ${t('back')}`)),
    h('h2', {}, t('record')), facts(r), callCard(r, renderRecord), recordings(r),
    h('section', { class: 'card' }, h('h3', {}, t('history')), historyOf(r)),
    actions(r));
}

// Typing in a box, a choice being made or a recording playing is never
// thrown away by a refresh.
function busy() {
  return [...document.querySelectorAll('textarea')].some((el) => el.value) ||
    ['SELECT', 'INPUT'].includes(document.activeElement?.tagName) ||
    [...document.querySelectorAll('audio')].some((a) => !a.paused);
}

async function refresh() {
  const { view, id } = shown;
  try {
    const record = await api('GET', `/api/v1/callbacks/${id}`);
    if (view === shown.view && record.version !== shown.version && !busy()) renderRecord(record);
  } catch (err) {
    if (err.status !== 401) toast(explain(err));
  }
}

export async function showRecord(id) {
  const view = show(t('record'), h('p', {}, t('loading')));
  Object.assign(shown, { view, id, version: null });
  try {
    const [record, agents] = await Promise.all([api('GET', `/api/v1/callbacks/${id}`), api('GET', '/api/v1/agents')]);
    if (view !== shown.view) return;
    shown.agents = agents;
    renderRecord(record);
    document.getElementById('back')?.focus();
  } catch (err) {
    view.render(h('p', { class: 'error' }, explain(err)), h('a', { href: '#/' }, t('back')));
    return;
  }
  view.every(POLL_MS, refresh);
  followCalls(view, refresh);
}
