// The tenant's notification endpoints (admin page): added (a standard
// one's signing secret shown once), tested, removed; each with how its
// newest delivery went, the error included.
import { api } from './api.js';
import { field, h, toast } from './dom.js';
import { fmtTime, t } from './i18n.js';

const EVENTS = {
  'callback.created': 'ev_created',
  'callback.repeat_call': 'ev_repeat_call',
  'callback.overdue': 'ev_overdue',
  'callback.completed': 'ev_completed',
  'callback.failed': 'ev_failed',
  'recording.copy_failed': 'ev_copy_failed',
  'notification.test': 'ev_test',
};
const FORMATS = { standard: 'nt_standard', slack: 'nt_slack' };
const STATES = { retrying: 'dl_retrying', delivered: 'dl_delivered', failed: 'dl_failed', gone: 'dl_gone' };

const named = (table, value) => (table[value] ? t(table[value]) : value);

function lastDelivery(d) {
  if (!d) return t('dl_none');
  const when = t('dl_when', named(STATES, d.state), d.attempts, fmtTime(d.last_at));
  return [`${named(EVENTS, d.event)}: ${when}`, d.error ? h('div', { class: 'error' }, d.error) : null];
}

function row(e, admin) {
  const path = `/api/v1/notifications/${encodeURIComponent(e.id)}`;
  const tested = (reply) => {
    const d = reply.deliveries[0];
    toast(d && d.state === 'delivered' ? t('nt_test_ok') : t('nt_test_failed', (d && d.error) || ''));
  };
  const test = () => admin.act('POST', `${path}/test`, undefined, { done: tested, where: 'notifications' });
  const remove = () => admin.act('DELETE', path, undefined, { where: 'notifications' });
  const state = e.active ? t('nt_active') : t('nt_disabled', e.disabled_reason);
  return h('tr', { id: `nt-${e.id}` },
    h('td', { 'data-label': t('nt_url') }, h('code', {}, e.url), h('div', { class: 'muted' }, named(FORMATS, e.format))),
    h('td', { 'data-label': t('nt_events') }, e.events.map((ev) => named(EVENTS, ev)).join('、')),
    h('td', { 'data-label': t('status') }, state),
    h('td', { 'data-label': t('nt_last'), class: 'last-delivery' }, lastDelivery(e.deliveries[0])),
    h('td', {},
      h('button', { type: 'button', id: `test-${e.id}`, onclick: test }, t('nt_test')), ' ',
      h('button', { type: 'button', id: `remove-${e.id}`, onclick: remove }, t('nt_remove'))));
}

function addForm(admin) {
  const events = Object.keys(EVENTS).filter((ev) => ev !== 'notification.test');
  const form = h('form', { class: 'card', id: 'add-notification', novalidate: true }, h('h3', {}, t('nt_new')),
    h('p', {}, field('nt-url', 'nt_url', 'url', { name: 'url', autocomplete: 'off', placeholder: 'https://' })),
    h('p', {}, h('label', { for: 'f-nt-format' }, t('nt_format')), ' ',
      h('select', { id: 'f-nt-format', name: 'format' },
        Object.keys(FORMATS).map((f) => h('option', { value: f }, named(FORMATS, f))))),
    h('fieldset', { id: 'f-nt-events', name: 'events' }, h('legend', {}, t('nt_events')),
      events.map((ev) => h('label', {},
        h('input', { type: 'checkbox', name: 'event', value: ev, checked: ev === 'callback.created' }), ' ', named(EVENTS, ev)))),
    h('p', {}, h('button', { type: 'submit', class: 'primary' }, t('add'))));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const body = {
      url: form.elements.url.value.trim(),
      format: form.elements.format.value,
      events: [...form.querySelectorAll('input[name=event]:checked')].map((c) => c.value),
    };
    const made = (r) => (r.secret ? admin.oneTime(t('nt_secret_title'), t('nt_secret_explain'), r.secret) : toast(t('saved')));
    admin.act('POST', '/api/v1/notifications', body, {
      done: made, where: 'notifications', form, labels: { url: t('nt_url'), events: t('nt_events') },
    });
  });
  return form;
}

export const notificationsPanel = {
  load: () => api('GET', '/api/v1/notifications'),
  render(endpoints, admin) {
    const head = [t('nt_url'), t('nt_events'), t('status'), t('nt_last'), ''].map((k) => h('th', { scope: 'col' }, k));
    return [
      h('h2', {}, t('notifications')),
      h('table', { id: 'notifications-table' }, h('thead', {}, h('tr', {}, head)),
        h('tbody', {}, endpoints.map((e) => row(e, admin)))),
      addForm(admin),
    ];
  },
};
