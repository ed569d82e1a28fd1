// Calling back from the page (click-to-call): on a record the agent holds,
// a button that has Twilio ring the agent's own phone first; the call's
// progress while it lasts (the record is reloaded often meanwhile); the
// agent's own phone; and correcting the outcome an attempt was logged with.
import { api, explain } from './api.js';
import { mine } from './callbacks.js';
import { clearToast, h, textArea, toast } from './dom.js';
import { label, t } from './i18n.js';
import { enums } from './schema.js';
import { isSupervisor, session } from './session.js';

// While a call is under way the record reloads this often.
const CALL_POLL_MS = 2000;

// Whether the record shown has a call under way.
let live = false;

/** Reloads the record with `refresh` every CALL_POLL_MS while a call on
 * it is under way, for as long as `view` is shown. */
export function followCalls(view, refresh) {
  view.every(CALL_POLL_MS, () => {
    if (live) refresh();
  });
}

function underWay(call) {
  return Boolean(call) && call.state !== 'ended';
}

// Where the call is, how it ended, what it logged.
function progress(r) {
  const c = r.call;
  if (!c) return null;
  const parts = [label('cs_', c.state, c.agent)];
  if (c.end) parts.push(label('ce_', c.end));
  const logged = c.attempt && r.attempts[c.attempt - 1];
  if (logged) parts.push(t('call_result', c.attempt, label('outcome_', logged.outcome)));
  if (c.twilio_error) parts.push(t('call_twilio_error', c.twilio_error.code ?? '', c.twilio_error.message ?? ''));
  return h('p', { id: 'call-state', role: 'status', 'data-state': c.state, 'data-end': c.end }, parts.join(' — '));
}

// Why the agent cannot call now, if they cannot.
function blocked(r) {
  if (!session.me.outbound_caller_id) return t('call_no_caller_id');
  if (!session.me.phone) return t('call_no_phone');
  if (underWay(r.call)) return label('cs_', r.call.state, r.call.agent);
  return null;
}

function failed(id, err, where) {
  const labels = { phone: t('my_phone'), note: t('correct_note'), outbound_caller_id: t('set_outbound_caller_id') };
  document.getElementById(id).textContent = explain(err, where, labels);
}

async function callBack(r) {
  try {
    await api('POST', `/api/v1/callbacks/${r.id}/call`);
    live = true;
    toast(t('call_placed'));
  } catch (err) {
    failed('call-error', err, 'call');
  }
}

// The agent's own phone, which click-to-call rings.
function myPhone(r, show) {
  const input = h('input', { id: 'my-phone', type: 'tel', autocomplete: 'tel', value: session.me.phone ?? '' });
  const save = async () => {
    try {
      const profile = await api('PATCH', '/api/v1/me', { phone: input.value.trim() });
      session.me.phone = profile.phone;
      toast(t('saved'));
      show(r);
      document.getElementById('call-back')?.focus();
    } catch (err) {
      failed('phone-error', err, 'phone');
    }
  };
  return h('details', { id: 'phone', open: !session.me.phone },
    h('summary', {}, `${t('my_phone')}: ${session.me.phone ?? t('my_phone_none')}`),
    h('label', { for: 'my-phone' }, t('my_phone')), input,
    h('div', { class: 'actions' }, h('button', { type: 'button', id: 'save-phone', onclick: save }, t('save'))),
    h('p', { class: 'error', id: 'phone-error', role: 'alert' }));
}

// The latest attempt's outcome, for its agent or a supervisor to correct.
function correction(r, show) {
  const a = r.attempts[r.attempts.length - 1];
  if (!a || (a.agent !== session.me.login && !isSupervisor())) return null;
  const select = h('select', { id: 'correct-outcome' },
    enums.Outcome.map((o) => h('option', { value: o, selected: o === a.outcome }, label('outcome_', o))));
  const correct = async () => {
    const note = document.getElementById('correct-note').value;
    try {
      const record = await api('PATCH', `/api/v1/callbacks/${r.id}/attempts/${a.n}`, { outcome: select.value, note });
      toast(t('saved'));
      show(record);
    } catch (err) {
      failed('correct-error', err, 'correct');
    }
  };
  return h('div', { id: 'correct' },
    h('h4', {}, t('correct_title', a.n)),
    h('label', { for: 'correct-outcome' }, t('correct_outcome')), select,
    ...textArea('correct-note', 'correct_note'),
    h('div', { class: 'actions' }, h('button', { type: 'button', id: 'correct-attempt', onclick: correct }, t('correct'))),
    h('p', { class: 'error', id: 'correct-error', role: 'alert' }));
}

/** The record's call-back card: the button (or why it is off) on a record
 * the agent holds, the latest call, and the correction of the latest
 * attempt; `show` draws a record again. Nothing when none of it applies. */
export function callCard(r, show) {
  live = underWay(r.call);
  // "Ringing your phone" is over once the call is.
  if (!live && document.getElementById('toast')?.textContent === t('call_placed')) clearToast();
  const open = r.status === 'pending' || r.status === 'claimed';
  const calling = open && mine(r);
  const fix = correction(r, show);
  if (!calling && !r.call && !fix) return null;
  const why = calling ? blocked(r) : null;
  const button = calling ? [
    h('p', { class: 'muted' }, t('call_how')),
    h('div', { class: 'actions' }, h('button', {
      type: 'button', class: 'primary', id: 'call-back', disabled: Boolean(why),
      'aria-describedby': why ? 'call-why' : null, onclick: () => callBack(r),
    }, t('call_back'))),
    why ? h('p', { id: 'call-why' }, why) : null,
    h('p', { class: 'error', id: 'call-error', role: 'alert' }),
    myPhone(r, show),
  ] : [];
  return h('section', { class: 'card', id: 'call' }, h('h3', {}, t('call_title')), progress(r), button, fix);
}
