// The tenant's settings (admin page), drawn from the fields the API
// describes (`fields`: name, type, group, label key, bounds, choices), in
// its order, a fieldset a group; only what the admin changed is sent.
import { api } from './api.js';
import { h } from './dom.js';
import { fmtTime, known, label, t } from './i18n.js';

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

// A prompt as the caller hears it: a sample number and due time filled in.
const SAMPLE = {
  'ja-JP': { number: '090-1234-5678', due: '本日15時30分までに' },
  'en-US': { number: '090 1234 5678', due: 'by 3:30 pm today' },
};

function heard(text, language) {
  const sample = SAMPLE[language] || SAMPLE['ja-JP'];
  return text.replaceAll('{number}', sample.number).replaceAll('{due}', sample.due);
}

// A text a prompt (empty: the standard one), each with how it sounds.
function prompts(f, value, language) {
  return f.choices.map((key) => {
    const id = `prompt-${key}`;
    const area = h('textarea', { id, name: id, rows: 2, placeholder: f.defaults[key] }, value[key] || '');
    const preview = h('span', { class: 'muted', id: `${id}-heard` });
    const show = () => { preview.textContent = t('prompt_preview', heard(area.value.trim() || f.defaults[key], language)); };
    area.addEventListener('input', show);
    show();
    return h('p', {}, h('label', { for: id }, label('pk_', key)), h('br', {}), area, h('br', {}), preview);
  });
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
      return h('textarea', { id, name: f.name, rows: Math.min(f.max_items, 7), placeholder: f.example }, value.join('\n'));
    default:
      return h('input', { id, name: f.name, type: 'text', maxlength: f.max_length, value });
  }
}

function ruleOf(f) {
  if (f.type === 'integer' && f.minimum !== undefined && f.maximum !== undefined) return t('rule_between', f.minimum, f.maximum);
  if (f.max_length !== undefined) return t('rule_max_chars', f.max_length);
  return '';
}

function valueOf(f, form) {
  if (f.type === 'prompts') {
    // Blank is the standard text; any other text is sent as typed.
    return Object.fromEntries(f.choices.map((key) => {
      const text = form.elements[`prompt-${key}`].value;
      return [key, text.trim() ? text : null];
    }));
  }
  const el = form.elements[f.name];
  if (f.type === 'boolean') return el.checked;
  if (f.type === 'integer') return Number(el.value);
  if (f.type === 'list') return el.value.split('\n').map((line) => line.trim()).filter(Boolean);
  return el.value;
}

// The first TwiML the next call gets: the server's own answer, now, on the
// stored settings (drawn again after each save).
function nextCall(next) {
  const why = next.reason ? label('r_', next.reason) : t('next_call_connect');
  // One verb a line: Say texts escape their own angle brackets.
  const twiml = next.twiml.replaceAll('><', '>\n<');
  return h('section', { class: 'card', id: 'next-call' },
    h('h2', {}, t('next_call')),
    h('p', { class: 'muted' }, t('next_call_explain', fmtTime(next.at), next.caller, why)),
    h('pre', { id: 'next-call-twiml', tabindex: 0, 'aria-label': t('next_call') }, twiml));
}

export const settingsPanel = {
  load: async () => {
    const [current, next] = await Promise.all([api('GET', '/api/v1/settings'), api('GET', '/api/v1/settings/next-call')]);
    return { current, next };
  },
  render({ current, next }, admin) {
    // The server judges every value (and says why): no browser check first.
    const groups = [...new Set(current.fields.map((f) => f.group))];
    const row = (f) => (f.type === 'prompts'
      // Focusable: a refused prompt marks the fieldset and moves there.
      ? h('fieldset', { id: `set-${f.name}`, name: f.name, tabindex: -1 }, h('legend', {}, fieldLabel(f)), prompts(f, current[f.name], current.language))
      : h('p', {}, labelOf(f), ' ', input(f, current[f.name])));
    const form = h('form', { class: 'card', id: 'settings', novalidate: true }, h('h2', {}, t('settings')),
      groups.map((g) => h('fieldset', { id: `group-${g}` }, h('legend', {}, label('g_', g)),
        current.fields.filter((f) => f.group === g).map(row))),
      h('p', {}, h('button', { type: 'submit', class: 'primary' }, t('save'))),
      h('p', { class: 'error form-error', role: 'alert' }));
    const labels = Object.fromEntries(current.fields.map((f) => [f.name, fieldLabel(f)]));
    // What a refused value should be, in the page's words.
    const rules = Object.fromEntries(current.fields.map((f) => [f.name, ruleOf(f)]));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const change = {};
      for (const f of current.fields) {
        const value = valueOf(f, form);
        if (f.type === 'prompts') {
          // Only the prompts changed: a null one goes back to the standard text.
          const changed = Object.entries(value).filter(([key, text]) => text !== (current[f.name][key] ?? null));
          if (changed.length) change[f.name] = Object.fromEntries(changed);
        } else if (JSON.stringify(value) !== JSON.stringify(current[f.name])) change[f.name] = value;
      }
      admin.act('PATCH', '/api/v1/settings', change, { where: 'settings', form, labels, rules });
    });
    return [form, nextCall(next)];
  },
};
