// Noticing new calls while the page is open all day: the open records
// counted (`GET /api/v1/callbacks/counts`) every 15 s and when the page
// comes back into view, the waiting count in the document title, and, if
// the agent turns them on (never on load), a sound and a desktop
// notification when a new call arrives.
import { api } from './api.js';
import { h } from './dom.js';
import { t } from './i18n.js';
import { session } from './session.js';
import { setWaiting } from './view.js';

const POLL_MS = 15000;
const SOUND = 'afureko.sound';
const NOTIFY = 'afureko.notify';

/** The last counts (`null` until the first answer). */
export const counts = { now: null };

const listeners = new Set();
const state = { timer: null, latest: null, audio: null };

/** Calls `fn(counts, newCall)` with every answer; returns the way to stop. */
export function onCounts(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function later(a, b) {
  return a && (!b || new Date(a) > new Date(b));
}

async function poll() {
  let answer;
  try {
    answer = await api('GET', '/api/v1/callbacks/counts');
  } catch {
    // A 401 signs out (api.js); anything else: the next poll tries again.
    return;
  }
  if (!session.me) return;
  const newCall = state.latest !== null && later(answer.latest_received_at, state.latest);
  if (answer.latest_received_at) state.latest = answer.latest_received_at;
  else state.latest ??= '';
  counts.now = answer;
  setWaiting(answer.pending);
  for (const fn of listeners) fn(answer, newCall);
  if (newCall) announce(answer);
}

function visible() {
  if (document.visibilityState === 'visible') poll();
}

/** Starts counting for the signed-in agent. */
export function startAlerts() {
  stopAlerts();
  poll();
  state.timer = setInterval(poll, POLL_MS);
  document.addEventListener('visibilitychange', visible);
}

/** Asks for the counts now (after a change the agent made). */
export function recount() {
  if (state.timer) poll();
}

export function stopAlerts() {
  clearInterval(state.timer);
  document.removeEventListener('visibilitychange', visible);
  Object.assign(state, { timer: null, latest: null });
  counts.now = null;
  setWaiting(0);
}

function soundOn() {
  return localStorage.getItem(SOUND) === '1';
}

function notifyOn() {
  return localStorage.getItem(NOTIFY) === '1' && 'Notification' in window &&
    Notification.permission === 'granted';
}

// A browser plays sound only after the agent did something on the page:
// the context is made (or woken) by the first key or click.
function wakeAudio() {
  if (!soundOn()) return;
  state.audio ??= new AudioContext();
  if (state.audio.state === 'suspended') state.audio.resume();
}
document.addEventListener('pointerdown', wakeAudio);
document.addEventListener('keydown', wakeAudio);

function chime() {
  const audio = state.audio;
  if (!audio || audio.state !== 'running') return;
  const at = audio.currentTime;
  for (const [i, pitch] of [880, 1175].entries()) {
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.frequency.value = pitch;
    gain.gain.setValueAtTime(0.12, at + i * 0.18);
    gain.gain.exponentialRampToValueAtTime(0.001, at + i * 0.18 + 0.35);
    tone.connect(gain).connect(audio.destination);
    tone.start(at + i * 0.18);
    tone.stop(at + i * 0.18 + 0.4);
  }
}

function announce(answer) {
  if (soundOn()) chime();
  if (notifyOn() && (document.visibilityState !== 'visible' || !document.hasFocus())) {
    const note = new Notification(t('notify_title'), { body: t('notify_body', answer.pending), tag: 'afureko-new-call' });
    note.onclick = () => {
      window.focus();
      location.hash = '#/list/pending';
      note.close();
    };
  }
}

/** The switches for the sound and the desktop notification. */
export function alertSwitches() {
  const sound = h('button', {
    type: 'button', id: 'sound', 'aria-pressed': String(soundOn()),
    onclick: () => {
      localStorage.setItem(SOUND, soundOn() ? '0' : '1');
      sound.setAttribute('aria-pressed', String(soundOn()));
      wakeAudio();
      chime();
    },
  }, t('sound_switch'));
  const status = h('span', { class: 'muted', id: 'notify-status', role: 'status' });
  const notify = h('button', {
    type: 'button', id: 'notify', 'aria-pressed': String(notifyOn()),
    onclick: async () => {
      if (!('Notification' in window)) {
        status.textContent = t('notify_unsupported');
        return;
      }
      if (notifyOn()) {
        localStorage.setItem(NOTIFY, '0');
      } else {
        const granted = Notification.permission === 'granted' || await Notification.requestPermission() === 'granted';
        localStorage.setItem(NOTIFY, granted ? '1' : '0');
        status.textContent = granted ? '' : t('notify_denied');
      }
      notify.setAttribute('aria-pressed', String(notifyOn()));
    },
  }, t('notify_switch'));
  return h('div', { class: 'switches' }, sound, notify, status);
}

// The last look at the list, per agent: rows whose call came after it
// are new to them.
function seenKey() {
  return `afureko.seen.${session.me.tenant}.${session.me.login}`;
}

/** When the agent last looked at the list (now, the first time), marking
 * this look; `done` marks its end. */
export function lastLook() {
  const key = seenKey();
  const before = localStorage.getItem(key) ?? new Date().toISOString();
  localStorage.setItem(key, before);
  return { before, done: () => localStorage.setItem(key, new Date().toISOString()) };
}
