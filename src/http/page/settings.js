// The tenant's settings (admin page), drawn from the fields the API
// describes (`fields`: name, type, label key, bounds, choices), in its
// order; only what the admin changed is sent.
import { api } from './api.js';
import { h } from './dom.js';
import { known, label, t } from './i18n.js';

function fieldLabel(f) {
  return known(f.label) ? t(f.label) : f.name;
}

// The label, with an integer's bounds.
function labelOf(f) {
  const bounds = f.minimum !== undefined && f.maximum !== undefined
    ? h('span', { class: 'muted' }, ` ${f.minimum}–${f.maximum}`)
    : null;
  return h('label', { for: `set-${f.name}` }, fieldLabel(f), bounds);
}

function input(f, value) {
  const id = `set-${f.name}`;
  switch (f.type) {
    case 'boolean':
      return h('input', { id, name: f.name, type: 'checkbox', checked: value === true });
    case 'integer':
      return h('input', { id, name: f.name, type: 'number', step: 1, min: f.minimum, max: f.maximum, value });
    case 'phone':
      return h('input', { id, name: f.name, type: 'tel', autocomplete: 'off', value });
    case 'enum':
      return h('select', { id, name: f.name }, f.choices.map((c) => h('option', { value: c, selected: c === value }, label('o_', c))));
    case 'list':
      return h('textarea', { id, name: f.name, rows: f.max_items, placeholder: f.example }, value.join('\n'));
    default:
      return h('input', { id, name: f.name, type: 'text', maxlength: f.max_length, value });
  }
}

function ruleOf(f) {
  if (f.type === 'integer' && f.minimum !== undefined && f.maximum !== undefined) return t('rule_between', f.minimum, f.maximum);
  if (f.max_length !== undefined) return t('rule_max_chars', f.max_length);
  return '';
}

function valueOf(f, el) {
  if (f.type === 'boolean') return el.checked;
  if (f.type === 'integer') return Number(el.value);
  if (f.type === 'list') return el.value.split('\n').map((line) => line.trim()).filter(Boolean);
  return el.value;
}

export const settingsPanel = {
  load: () => api('GET', '/api/v1/settings'),
  render(current, admin) {
    // The server judges every value (and says why): no browser check first.
    const form = h('form', { class: 'card', id: 'settings', novalidate: true }, h('h2', {}, t('settings')),
      current.fields.map((f) => h('p', {}, labelOf(f), ' ', input(f, current[f.name]))),
      h('p', {}, h('button', { type: 'submit', class: 'primary' }, t('save'))),
      h('p', { class: 'error form-error', role: 'alert' }));
    const labels = Object.fromEntries(current.fields.map((f) => [f.name, fieldLabel(f)]));
    // What a refused value should be, in the page's words.
    const rules = Object.fromEntries(current.fields.map((f) => [f.name, ruleOf(f)]));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const change = {};
      for (const f of current.fields) {
        const value = valueOf(f, form.elements[f.name]);
        if (JSON.stringify(value) !== JSON.stringify(current[f.name])) change[f.name] = value;
      }
      admin.act('PATCH', '/api/v1/settings', change, { where: 'settings', form, labels, rules });
    });
    return [form];
  },
};
