// The tenant's API keys (admin page): made (the key shown once) and revoked.
import { api } from './api.js';
import { field, h } from './dom.js';
import { fmtTime, t } from './i18n.js';

function row(k, admin) {
  const revoke = () => admin.act('DELETE', `/api/v1/api-keys/${encodeURIComponent(k.id)}`);
  return h('tr', {}, h('td', { 'data-label': 'ID' }, k.id), h('td', { 'data-label': t('key_name') }, k.name || t('none')),
    h('td', { 'data-label': t('created') }, fmtTime(k.created_at)),
    h('td', {}, k.active ? h('button', { type: 'button', id: `revoke-${k.id}`, onclick: revoke }, t('revoke')) : t('revoked')));
}

export const keysPanel = {
  load: () => api('GET', '/api/v1/api-keys'),
  render(keys, admin) {
    const form = h('form', { class: 'card', id: 'add-key' }, h('h3', {}, t('new_key')),
      field('key-name', 'key_name', 'text', { name: 'name', autocomplete: 'off', required: false, maxlength: 100 }),
      h('p', {}, h('button', { type: 'submit', class: 'primary' }, t('add'))));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      admin.act('POST', '/api/v1/api-keys', { name: form.elements.name.value }, { done: (r) => admin.oneTime(t('key_once', r.key)), form });
    });
    const head = ['ID', t('key_name'), t('created'), t('status')].map((k) => h('th', { scope: 'col' }, k));
    return [
      h('h2', {}, t('api_keys')),
      h('table', { id: 'keys-table' }, h('thead', {}, h('tr', {}, head)), h('tbody', {}, keys.map((k) => row(k, admin)))),
      form,
    ];
  },
};
