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

export function textArea(id, labelKey, name) {
  return [h('label', { for: id }, t(labelKey)), h('textarea', { id, name, maxlength: 2000 })];
}

/** Takes back the marks of an earlier refusal in `form`. */
export function clearInvalid(form) {
  for (const el of form.querySelectorAll('[aria-invalid]')) {
    el.removeAttribute('aria-invalid');
    el.removeAttribute('aria-describedby');
  }
  for (const el of form.querySelectorAll('.field-error')) el.remove();
}

/** Marks the input `name` of `form` as refused, says why next to it and
 * puts the focus there; the marks of an earlier refusal go. False when
 * the form has no such input. */
export function markInvalid(form, name, text) {
  clearInvalid(form);
  const el = form.elements[name];
  if (!(el instanceof Element)) return false;
  const note = h('span', { class: 'error field-error', id: `${el.id}-error` }, text);
  el.setAttribute('aria-invalid', 'true');
  el.setAttribute('aria-describedby', note.id);
  el.after(note);
  el.focus();
  return true;
}

let toastTimer = null;

/** A short message at the bottom, read out by screen readers; it goes
 * after 6 s or with the view it was said in. */
export function toast(text) {
  const el = document.getElementById('toast');
  el.textContent = text;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(clearToast, 6000);
}

export function clearToast() {
  clearTimeout(toastTimer);
  document.getElementById('toast').textContent = '';
}

/** Whether the agent is typing (keys are theirs, not shortcuts). */
export function typing(el = document.activeElement) {
  return !!el && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName));
}
