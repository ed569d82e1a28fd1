// The tenant's agents (admin page): roles, disabling, password resets, and
// adding one. Disabling and resetting ask first: both end the agent's
// sessions.
import { api } from './api.js';
import { confirmDialog } from './dialog.js';
import { field, h } from './dom.js';
import { label, t } from './i18n.js';
import { enums } from './schema.js';
import { session } from './session.js';

function roleSelect(id, current, name) {
  return h('select', { id, name }, enums.Role.map((r) => h('option', { value: r, selected: r === current }, label('role_', r))));
}

function firstPassword(admin) {
  return (reply) => admin.oneTime(t('one_time_title'),
    t('one_time_explain', reply.agent.name, reply.agent.login), reply.initial_password);
}

function row(a, admin) {
  const self = a.login === session.me.login;
  const path = `/api/v1/agents/${a.login}`;
  const select = roleSelect(`role-${a.login}`, a.role);
  const disable = async () => {
    if (await confirmDialog(t('confirm_disable', a.name, a.login), t('disable'), { danger: true })) {
      admin.act('PATCH', path, { active: false });
    }
  };
  const reset = async () => {
    if (await confirmDialog(t('confirm_reset', a.name, a.login), t('reset'), { danger: true })) {
      admin.act('POST', `${path}/password`, undefined, { done: firstPassword(admin) });
    }
  };
  return h('tr', { 'data-login': a.login },
    h('td', { 'data-label': t('login') }, a.login),
    h('td', { 'data-label': t('name') }, a.name),
    h('td', { 'data-label': t('role') }, h('label', { for: `role-${a.login}`, class: 'muted' }, t('change_role')), select,
      h('button', { type: 'button', disabled: self, onclick: () => admin.act('PATCH', path, { role: select.value }) }, t('save'))),
    h('td', { 'data-label': t('active') }, a.active ? t('active') : t('disabled')),
    h('td', { 'data-label': t('actions') },
      h('button', { type: 'button', disabled: self || !a.active, id: `disable-${a.login}`, onclick: disable }, t('disable')),
      ' ',
      h('button', { type: 'button', disabled: !a.active, id: `reset-${a.login}`, onclick: reset }, t('reset'))));
}

export const agentsPanel = {
  load: () => api('GET', '/api/v1/agents'),
  render(agents, admin) {
    const form = h('form', { class: 'card', id: 'add-agent', novalidate: true },
      h('h3', {}, t('add_agent')),
      field('new-login', 'login', 'text', { name: 'login', autocomplete: 'off' }),
      field('new-name', 'name', 'text', { name: 'name', autocomplete: 'off' }),
      h('label', { for: 'f-new-role' }, t('role')), roleSelect('f-new-role', 'agent', 'role'),
      h('p', {}, h('button', { type: 'submit', class: 'primary' }, t('add'))),
      h('p', { class: 'error form-error', role: 'alert' }));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const body = { login: form.elements.login.value, name: form.elements.name.value, role: form.elements.role.value };
      admin.act('POST', '/api/v1/agents', body, { done: firstPassword(admin), form });
    });
    return [
      h('table', { id: 'agents-table' },
        h('thead', {}, h('tr', {}, ['login', 'name', 'role', 'active', 'actions'].map((k) => h('th', { scope: 'col' }, t(k))))),
        h('tbody', {}, agents.map((a) => row(a, admin)))),
      form,
    ];
  },
};
