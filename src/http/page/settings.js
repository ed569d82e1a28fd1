// The tenant's settings (admin page): only what the admin changed is sent.
import { api } from './api.js';
import { h } from './dom.js';
import { label, t } from './i18n.js';

// Each setting with its choices, or its input type.
const SETTINGS = { language: ['ja-JP', 'en-US'], voice: 'text', max_recording_seconds: 'number', number_entry_attempts: 'number', max_callback_attempts: 'number', callback_sla_minutes: 'number', claim_timeout_minutes: 'number', retry_delay_minutes: 'number', retention_days: 'number', time_zone: 'text', delete_twilio_recording: 'checkbox', recording_format: ['wav', 'mp3'], routing_mode: ['overflow', 'dial', 'queue'], closed_now: 'checkbox' };

// A refused value's message starts with its name.
function fieldLabel(name) {
  return Object.hasOwn(SETTINGS, name) ? t(`set_${name}`) : null;
}

export const settingsPanel = {
  load: () => api('GET', '/api/v1/settings'),
  render(current, admin) {
    const inputs = Object.entries(SETTINGS).map(([name, kind]) => {
      const id = `set-${name}`;
      const input = Array.isArray(kind)
        ? h('select', { id, name }, kind.map((v) => h('option', { value: v, selected: v === current[name] }, label('o_', v))))
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
      admin.act('PATCH', '/api/v1/settings', change, { where: 'settings', fieldLabel });
    });
    return [form];
  },
};
