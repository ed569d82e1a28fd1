// The one view in <main>. `show` starts a view and ends the one before:
// an ended view's late answers and timers change nothing, so a slow request
// never draws over the page the agent went on to.
class View {
  constructor() {
    this.live = true;
    this.timers = [];
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

  end() {
    this.live = false;
    for (const timer of this.timers) clearInterval(timer);
  }
}

let current = null;

/** Shows `nodes` as a new view titled `title`, and returns it. */
export function show(title, ...nodes) {
  leave();
  current = new View();
  document.title = `${title} — afureko`;
  current.render(...nodes);
  return current;
}

export function leave() {
  current?.end();
  current = null;
}
