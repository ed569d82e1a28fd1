// The tenant's API keys (admin page): made (the key shown once, in a
// dialog) and revoked (after a question: it cannot be undone).
import { api } from './api.js';
import { confirmDialog } from './dialog.js';
import { field, h } from './dom.js';
import { fmtTime, t } from './i18n.js';

function row(k, admin) {
  const name = k.name || t('none');
  const revoke = async () => {
    if (await confirmDialog(t('confirm_revoke', name, k.id), t('revoke'), { danger: true })) {
      admin.act('DELETE', `/api/v1/api-keys/${encodeURIComponent(k.id)}`);
    }
  };
  return h('tr', {}, h('td', { 'data-label': 'ID' }, k.id), h('td', { 'data-label': t('key_name') }, name),
    h('td', { 'data-label': t('created') }, fmtTime(k.created_at)),
    h('td', {}, k.active ? h('button', { type: 'button', id: `revoke-${k.id}`, onclick: revoke }, t('revoke')) : t('revoked')));
}

export const keysPanel = {
  load: () => api('GET', '/api/v1/api-keys'),
  render(keys, admin) {
    const form = h('form', { class: 'card', id: 'add-key', novalidate: true }, h('h3', {}, t('new_key')),
      field('key-name', 'key_name', 'text', { name: 'name', autocomplete: 'off', required: false, maxlength: 100 }),
      h('p', {}, h('button', { type: 'submit', class: 'primary' }, t('add'))),
      h('p', { class: 'error form-error', role: 'alert' }));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const done = (reply) => admin.oneTime(t('key_once_title'), t('key_once_explain'), reply.key);
      admin.act('POST', '/api/v1/api-keys', { name: form.elements.name.value }, { done, where: 'keys', form });
    });
    const head = ['ID', t('key_name'), t('created'), t('status')].map((k) => h('th', { scope: 'col' }, k));
    return [
      h('h2', {}, t('api_keys')),
      h('table', { id: 'keys-table' }, h('thead', {}, h('tr', {}, head)), h('tbody', {}, keys.map((k) => row(k, admin)))),
      form,
    ];
  },
};
