// The one view in <main>. `show` starts a view and ends the one before:
// an ended view's late answers and timers change nothing, so a slow request
// never draws over the page the agent went on to.
import { clearToast } from './dom.js';

class View {
  constructor() {
    this.live = true;
    this.timers = [];
    this.endings = [];
  }

  /** Replaces the view's content, if it is still shown. */
  render(...nodes) {
    if (!this.live) return;
    document.getElementById('main').replaceChildren(...nodes.filter((n) => n !== null && n !== undefined));
  }

  /** Re-renders in place: the scroll position and the focused element stay. */
  rerender(...nodes) {
    const y = window.scrollY;
    const focused = document.activeElement && document.activeElement.id;
    this.render(...nodes);
    if (!this.live) return;
    window.scrollTo(0, y);
    if (focused) document.getElementById(focused)?.focus();
  }

  /** Runs `fn` every `ms` while this view is shown. */
  every(ms, fn) {
    if (this.live) this.timers.push(setInterval(fn, ms));
  }

  /** Runs `fn` when the view ends. */
  onEnd(fn) {
    this.endings.push(fn);
  }

  end() {
    this.live = false;
    for (const timer of this.timers) clearInterval(timer);
    for (const fn of this.endings) fn();
  }
}

let current = null;
const title = { text: 'afureko', waiting: 0 };

// "(12) 折り返し一覧 — afureko": the records waiting, seen from any tab.
function drawTitle() {
  const count = title.waiting > 0 ? `(${title.waiting}) ` : '';
  document.title = title.text === 'afureko' ? `${count}afureko` : `${count}${title.text} — afureko`;
}

/** The number of records waiting, shown in the document title (0: none). */
export function setWaiting(n) {
  title.waiting = n;
  drawTitle();
}

/** Shows `nodes` as a new view titled `text`, and returns it. A message
 * of the view before (the toast) goes with it. */
export function show(text, ...nodes) {
  leave();
  clearToast();
  current = new View();
  title.text = text;
  drawTitle();
  current.render(...nodes);
  return current;
}

/** Names the view shown once it knows more (a record's number). */
export function retitle(text) {
  title.text = text;
  drawTitle();
}

export function leave() {
  current?.end();
  current = null;
}
