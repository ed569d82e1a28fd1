// Building the page. Everything typed by a caller or an agent goes in as
// text nodes, never as HTML.
import { t } from './i18n.js';

/** An element; strings become text nodes, so nothing is parsed as HTML. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** A labelled input, `f-<name>`. */
export function field(name, labelKey, type, attrs) {
  const id = `f-${name}`;
  return [h('label', { for: id }, t(labelKey)), h('input', { id, name, type, required: true, ...attrs })];
}

export function textArea(id, labelKey) {
  return [h('label', { for: id }, t(labelKey)), h('textarea', { id, maxlength: 2000 })];
}

/** Marks the input `name` of `form` as refused, says why next to it and
 * puts the focus there; the marks of an earlier refusal go. */
export function markInvalid(form, name, text) {
  for (const el of form.querySelectorAll('[aria-invalid]')) {
    el.removeAttribute('aria-invalid');
    el.removeAttribute('aria-describedby');
  }
  for (const el of form.querySelectorAll('.field-error')) el.remove();
  const el = form.elements[name];
  if (!(el instanceof Element)) return;
  const note = h('span', { class: 'error field-error', id: `${el.id}-error` }, text);
  el.setAttribute('aria-invalid', 'true');
  el.setAttribute('aria-describedby', note.id);
  el.after(note);
  el.focus();
}

let toastTimer = null;

/** A short message at the bottom, read out by screen readers. */
export function toast(text) {
  const el = document.getElementById('toast');
  el.textContent = text;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.textContent = ''; }, 6000);
}
