// One callback: its summary and call controls beside what can be done
// now, then its history with each call's recording where it came in.
import { api, explain } from './api.js';
import { callCard, followCalls } from './call.js';
import { attemptCount, heldText, mine, nextDue, numberOf, slaBadge } from './callbacks.js';
import { confirmDialog } from './dialog.js';
import { clearInvalid, h, markInvalid, textArea, toast } from './dom.js';
import { fmtClock, fmtRelative, fmtTime, label, t } from './i18n.js';
import { recount } from './alerts.js';
import { listHash } from './list.js';
import { loadAgents, nameOf, person } from './names.js';
import { enums } from './schema.js';
import { isSupervisor } from './session.js';
import { retitle, show } from './view.js';
import { windowHours } from './window.js';

// An open record reloads this often (one request).
const POLL_MS = 20000;

// The record shown, the view it is in, and the agents it can go to.
const shown = { view: null, id: null, version: null, agents: [] };

/** The holder's number as a large call control: a `tel:` link, which
 * rings through the agent's own phone or softphone. */
function telControl(r) {
  if (!mine(r)) return null;
  return h('a', { href: `tel:${r.callback_number}`, id: 'tel', class: 'call-button' },
    h('span', { class: 'icon', 'aria-hidden': 'true' }, '☎'), ' ', t('call_number'));
}

// Per-record controls beside the number (calling the customer back): each
// takes the record and answers a node or null. A new way to call adds its
// control here; the tel: link stays as the fallback.
const RECORD_CONTROLS = [telControl];

function summary(r) {
  // A claimed record says who has it: 「あなたが対応中です」.
  const status = r.status === 'claimed' && r.claimed_by ? heldText(r) : label('s_', r.status);
  return h('section', { class: 'card summary', 'aria-labelledby': 'record-number' },
    h('h2', { id: 'record-number' }, numberOf(r, 'span')),
    h('div', { class: 'call-controls', id: 'call-controls' }, RECORD_CONTROLS.map((control) => control(r))),
    h('dl', { class: 'facts' },
      h('dt', {}, t('status')), h('dd', { id: 'status' }, status),
      h('dt', {}, t('due')), h('dd', {}, fmtTime(r.due_at), ' ', slaBadge('span', r)),
      r.window ? [h('dt', {}, t('window')), windowHours('dd', r)] : null,
      h('dt', {}, t('received')), h('dd', {}, `${fmtTime(r.received_at)}（${fmtRelative(r.received_at)}）`),
      h('dt', {}, t('reason')), h('dd', {}, label('r_', r.reason)),
      h('dt', {}, t('attempts')), h('dd', {}, attemptCount(r)),
      h('dt', {}, t('repeats')), h('dd', {}, String(r.repeat_calls))));
}

/** The recordings a call left, each labelled with its call: 「最初の着信
 * 12:01」, 「再入電 12:31」. */
function recordingsOf(r, entry, playable) {
  const title = `${label('h_', entry.kind)} ${entry.at ? fmtClock(entry.at) : ''}`.trim();
  return playable.filter((rec) => rec.call_sid === entry.call_sid).map((rec) => {
    const id = `rec-${rec.recording_sid}`;
    const length = rec.duration_seconds !== null ? `（${t('seconds', rec.duration_seconds)}）` : '';
    return h('div', { class: 'recording' },
      h('span', { id, class: 'muted' }, t('recording_of', title), length),
      h('audio', { controls: true, preload: 'metadata', src: rec.url, 'aria-labelledby': id, 'data-sid': rec.recording_sid }));
  });
}

// Each kind of history entry has its own sentence: {0} who acted, {1} the
// outcome, {2} the colleague it went to; a call carries its recordings.
function historyOf(r) {
  const playable = r.recordings.filter((rec) => rec.url);
  const calls = new Set(r.history.map((e) => e.call_sid).filter(Boolean));
  const loose = playable.filter((rec) => !calls.has(rec.call_sid));
  return h('ol', { class: 'history', id: 'history' },
    r.history.map((e) => h('li', { 'data-kind': e.kind },
      e.at ? h('time', { datetime: e.at }, fmtTime(e.at)) : t('time_unknown'), ' — ',
      label('h_', e.kind, e.agent && person(e.agent), e.outcome && label('outcome_', e.outcome), e.handed_to && person(e.handed_to),
        e.previous_outcome && label('outcome_', e.previous_outcome), e.attempt),
      e.text ? h('div', { class: 'note' }, e.text) : null,
      e.call_sid ? recordingsOf(r, e, playable) : null)),
    // Recordings of no call in the history (a recorded call back), by kind.
    loose.length ? h('li', { 'data-kind': 'recordings' }, t('recordings'),
      loose.map((rec) => h('div', { class: 'recording' },
        h('span', { id: `rec-${rec.recording_sid}`, class: 'muted' }, label('rk_', rec.kind),
          rec.duration_seconds !== null ? `（${t('seconds', rec.duration_seconds)}）` : ''),
        h('audio', { controls: true, preload: 'metadata', src: rec.url, 'aria-labelledby': `rec-${rec.recording_sid}`, 'data-sid': rec.recording_sid })))) : null);
}

/** Plays the newest recording, or pauses it (the `p` shortcut too). */
function playLatest() {
  const audios = [...document.querySelectorAll('#history audio')];
  const latest = audios[audios.length - 1];
  if (!latest) return;
  if (!latest.paused) {
    latest.pause();
    return;
  }
  latest.scrollIntoView({ block: 'center' });
  latest.play().catch(() => toast(t('cannot_play')));
}

function history(r) {
  const any = r.recordings.some((rec) => rec.url);
  return h('section', { class: 'card', 'aria-labelledby': 'history-title' },
    h('div', { class: 'section-head' },
      h('h3', { id: 'history-title' }, t('history')),
      h('button', { type: 'button', id: 'play-latest', disabled: !any, onclick: playLatest }, `▶ ${t('play_latest')}`)),
    historyOf(r));
}

function say(text) {
  const box = document.getElementById('action-error');
  if (box) box.textContent = text;
}

/** Sends a change to the record; a refusal of one input is marked in
 * `form`, any other is said above the actions. */
async function act(action, body, form) {
  const { view, id } = shown;
  say('');
  if (form) clearInvalid(form);
  try {
    const record = await api('POST', `/api/v1/callbacks/${id}/${action}`, body);
    if (view !== shown.view) return null;
    renderRecord(record);
    toast(t('saved'));
    recount();
    return record;
  } catch (err) {
    if (view !== shown.view) return null;
    const text = explain(err, 'record');
    if (!(form && err.field && markInvalid(form, err.field, text))) say(text);
    return null;
  }
}

/** After an attempt: the record due next, one click (or `n`) away. */
async function offerNext(after) {
  const { view } = shown;
  const next = await nextDue(after).catch(() => null);
  const slot = document.getElementById('next-slot');
  if (view !== shown.view || !slot) return;
  slot.replaceChildren(next
    ? h('p', { class: 'next', id: 'next' }, t('next_due'), ' ',
      h('a', { href: `#/cb/${next.id}`, id: 'open-next' }, `${fmtTime(next.due_at)} ${next.callback_display}`))
    : h('p', { class: 'next muted', id: 'next' }, t('none_waiting')));
}

function noteOf(form, name) {
  return form.elements[name].value.trim() || null;
}

// What the agent can do: claim an open record, or work their own (log an
// attempt, complete, release); hand over their own (supervisors: any);
// add a note to any.
function actions(r) {
  const own = mine(r);
  const open = r.status === 'pending' || r.status === 'claimed';
  const box = h('section', { class: 'card actions-card', id: 'actions', 'aria-label': t('actions') },
    h('p', { class: 'error', id: 'action-error', role: 'alert' }),
    h('div', { id: 'next-slot' }));
  if (open && !own) {
    box.append(h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'primary', id: 'claim', onclick: () => act('claim', {}) }, t('claim'))));
  }
  if (open && own) {
    const attempt = h('form', { id: 'attempt' }, h('h3', {}, t('log_attempt')), ...textArea('attempt-note', 'note', 'note'));
    const log = async (outcome) => {
      // "Reached" closes the record: never by one stray click.
      if (outcome === 'reached' && !await confirmDialog(t('confirm_reached'), t('outcome_reached'))) return;
      const record = await act('attempts', { outcome, note: noteOf(attempt, 'note') }, attempt);
      if (record) offerNext(record.id);
    };
    attempt.append(h('div', { class: 'actions', role: 'group', 'aria-label': t('log_attempt'), id: 'outcomes' },
      enums.Outcome.map((o) => h('button', {
        type: 'button', id: `outcome-${o}`, class: o === 'reached' ? 'primary' : null, onclick: () => log(o),
      }, label('outcome_', o)))));
    const complete = h('form', { id: 'complete-form' }, h('h3', {}, t('complete')), ...textArea('complete-note', 'completion_note', 'note'),
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'primary', id: 'complete' }, t('complete')),
        h('button', { type: 'button', id: 'release', onclick: () => act('release', {}) }, t('release'))));
    complete.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (await act('complete', { note: noteOf(complete, 'note') }, complete)) offerNext(r.id);
    });
    box.append(attempt, complete);
  }
  if (open && (own || isSupervisor())) {
    const colleagues = shown.agents.filter((a) => a.active && a.login !== r.claimed_by);
    const assign = h('form', { id: 'assign-form' }, h('h3', {}, t('assign')),
      h('label', { for: 'assign-to' }, t('assign_to')),
      h('select', { id: 'assign-to', name: 'to' },
        h('option', { value: '', selected: true }, t('choose_colleague')),
        colleagues.map((a) => h('option', { value: a.login }, nameOf(a.login)))),
      h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'assign' }, t('assign'))));
    assign.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const to = assign.elements.to.value;
      // Nobody chosen is nobody to hand it to.
      if (!to) {
        markInvalid(assign, 'to', t('e_record_to'));
        return;
      }
      act('assign', { to }, assign);
    });
    box.append(assign);
  }
  const note = h('form', { id: 'note-form' }, h('h3', {}, t('add_note')), ...textArea('note-text', 'notes_label', 'text'),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'add-note' }, t('add_note'))));
  note.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = note.elements.text.value;
    if (text.trim()) act('notes', { text }, note);
    else markInvalid(note, 'text', t('e_record_text'));
  });
  box.append(note);
  return box;
}

function renderRecord(r) {
  shown.version = r.version;
  shown.view.render(
    h('p', {}, h('a', { href: listHash(), id: 'back' }, `← ${t('back')}`)),
    h('div', { class: 'record-top' },
      h('div', { class: 'record-main' }, summary(r), callCard(r, renderRecord)),
      actions(r)),
    history(r));
}

// Typing in a box, a choice being made, a question asked or a recording
// playing is never thrown away by a refresh.
function busy() {
  return [...document.querySelectorAll('#main textarea')].some((el) => el.value) ||
    ['SELECT', 'INPUT'].includes(document.activeElement?.tagName) || document.querySelector('dialog[open]') ||
    [...document.querySelectorAll('audio')].some((a) => !a.paused);
}

async function refresh() {
  const { view, id } = shown;
  try {
    const record = await api('GET', `/api/v1/callbacks/${id}`);
    if (view === shown.view && record.version !== shown.version && !busy()) renderRecord(record);
  } catch (err) {
    if (err.status !== 401 && view === shown.view) say(explain(err));
  }
}

export async function showRecord(id) {
  const view = show(t('record'), h('p', {}, t('loading')));
  Object.assign(shown, { view, id, version: null });
  try {
    const [record, agents] = await Promise.all([api('GET', `/api/v1/callbacks/${id}`), loadAgents()]);
    if (view !== shown.view) return;
    shown.agents = agents;
    renderRecord(record);
    retitle(`${t('record')} ${record.callback_display}`);
    document.getElementById('back')?.focus();
  } catch (err) {
    view.render(h('p', { class: 'error' }, explain(err)), h('a', { href: '#/' }, t('back')));
    return;
  }
  view.every(POLL_MS, refresh);
  followCalls(view, refresh);
}

