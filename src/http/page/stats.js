// The service level (`#/stats/{today|week|month}`), for supervisors and
// admins: did the callbacks come in time today, in the last 7 or 30 days?
// Figures of the period, a chart per day drawn here as SVG, the ten
// callbacks waiting longest, per agent, and the period's records as CSV.
import { api, explain } from './api.js';
import { h } from './dom.js';
import { fmtRelative, fmtTime, label, lang, t } from './i18n.js';
import { isAdmin, session } from './session.js';
import { show } from './view.js';

// Name, days, label, and how often the figures reload (one request, which
// reads every record of the period: the longer periods less often).
const RANGES = [
  ['today', 1, 'sl_today', 60000],
  ['week', 7, 'sl_week', 5 * 60000],
  ['month', 30, 'sl_month', 15 * 60000],
];
const SVG = 'http://www.w3.org/2000/svg';

/** An SVG element; strings become text nodes. */
function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children.flat()) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/** The days `from`..`to` (YYYY-MM-DD) of the last `days` days, today
 * included, in the tenant's time zone: calendar arithmetic, so a day of
 * 23 or 25 hours counts as one. */
function period(days) {
  const today = new Intl.DateTimeFormat('en-CA', {
    timeZone: session.me.time_zone, year: 'numeric', month: '2-digit', day: '2-digit',
  }).format(new Date());
  const [y, m, d] = today.split('-').map(Number);
  const from = new Date(Date.UTC(y, m - 1, d - (days - 1))).toISOString().slice(0, 10);
  return { from, to: today };
}

function percent(share) {
  if (share === null) return '—';
  return new Intl.NumberFormat(lang(), { style: 'percent', maximumFractionDigits: 1 }).format(share);
}

function minutes(value) {
  return value === null ? '—' : t('sl_minutes', new Intl.NumberFormat(lang()).format(value));
}

function spread(s) {
  return s.median === null ? '—' : t('sl_spread', minutes(s.median), minutes(s.p90));
}

/** The figures of the whole period. */
function totals(f) {
  const row = (id, key, ...value) => [h('dt', {}, t(key)), h('dd', { id }, ...value)];
  return h('section', { class: 'card' },
    h('dl', { class: 'facts', id: 'sl-totals' },
      row('sl-received', 'sl_received', String(f.received)),
      row('sl-share', 'sl_share', percent(f.sla_share), h('span', { class: 'muted' }, ` ${t('sl_within', f.completed_within_sla)}`)),
      [h('dt', {}, label('s_', 'completed')), h('dd', { id: 'sl-completed' }, String(f.completed))],
      [h('dt', {}, label('s_', 'failed')), h('dd', { id: 'sl-failed' }, String(f.failed))],
      row('sl-open', 'sl_open', String(f.open)),
      row('sl-first-attempt', 'sl_first_attempt', spread(f.minutes_to_first_attempt)),
      row('sl-completion', 'sl_completion', spread(f.minutes_to_completion)),
      row('sl-attempts', 'sl_attempts_per', f.attempts_per_completed === null ? '—' : String(f.attempts_per_completed)),
      row('sl-repeats', 'repeats', String(f.repeat_calls)),
      row('sl-not-copied', 'sl_not_copied', String(f.recordings_not_copied))),
    h('h3', {}, t('sl_by_reason')),
    h('ul', { class: 'reasons', id: 'sl-reasons' }, Object.entries(f.by_reason).map(([reason, n]) =>
      h('li', { 'data-reason': reason }, `${label('r_', reason)}: ${n}`))));
}

/** Bars of calls received per day and a line of the share called back in
 * time; the table after it has the same figures in words. */
function chart(stats) {
  const days = stats.days;
  const [w, hgt, left, bottom, top] = [640, 220, 36, 24, 12];
  const plot = hgt - bottom - top;
  const step = (w - left) / days.length;
  const most = Math.max(1, ...days.map((d) => d.received));
  const x = (i) => left + step * i;
  const bars = days.map((d, i) => svg('rect', {
    class: 'bar', x: x(i) + step * 0.15, width: step * 0.7,
    y: top + plot - (plot * d.received) / most, height: (plot * d.received) / most,
  }, svg('title', {}, `${d.date}: ${d.received}`)));
  const judged = days.map((d, i) => [d, i]).filter(([d]) => d.sla_share !== null);
  const point = ([d, i]) => `${x(i) + step / 2},${top + plot - plot * d.sla_share}`;
  const line = judged.length > 1 ? svg('polyline', { class: 'share', points: judged.map(point).join(' ') }) : null;
  const dots = judged.map(([d, i]) => svg('circle', {
    class: 'share-dot', r: 3.5, cx: x(i) + step / 2, cy: top + plot - plot * d.sla_share,
  }, svg('title', {}, `${d.date}: ${percent(d.sla_share)}`)));
  // At most about ten date labels, whatever the period.
  const every = Math.ceil(days.length / 10);
  const labels = days.map((d, i) => (i % every === 0
    ? svg('text', { class: 'axis', x: x(i) + step / 2, y: hgt - 6, 'text-anchor': 'middle' }, d.date.slice(5))
    : null)).filter(Boolean);
  const scale = [
    svg('text', { class: 'axis', x: left - 4, y: top + 4, 'text-anchor': 'end' }, String(most)),
    svg('text', { class: 'axis', x: left - 4, y: top + plot, 'text-anchor': 'end' }, '0'),
    svg('line', { class: 'base', x1: left, x2: w, y1: top + plot, y2: top + plot }),
  ];
  const caption = t('sl_chart_summary', days.length, stats.totals.received, percent(stats.totals.sla_share));
  return h('figure', { class: 'card chart' },
    h('figcaption', { id: 'sl-chart-caption' }, h('strong', {}, t('sl_chart')), ' ', caption),
    svg('svg', { viewBox: `0 0 ${w} ${hgt}`, role: 'img', 'aria-labelledby': 'sl-chart-caption', id: 'sl-chart' },
      scale, bars, line, dots, labels),
    h('p', { class: 'muted legend' },
      h('span', { class: 'key-bar' }), t('sl_legend_volume'), ' ',
      h('span', { class: 'key-share' }), t('sl_legend_share')));
}

/** The chart's figures in words, folded away: long for 30 days. */
function dayTable(stats) {
  const heads = ['sl_day', 'sl_received', 's_completed', 'sl_share'];
  return h('details', { class: 'card' }, h('summary', {}, t('sl_by_day')), h('table', { id: 'sl-days' },
    h('thead', {}, h('tr', {}, heads.map((k) => h('th', { scope: 'col' }, k === 's_completed' ? label('s_', 'completed') : t(k))))),
    h('tbody', {}, stats.days.map((d) => h('tr', { 'data-date': d.date },
      h('td', { 'data-label': t('sl_day') }, d.date),
      h('td', { 'data-label': t('sl_received') }, String(d.received)),
      h('td', { 'data-label': label('s_', 'completed') }, String(d.completed)),
      h('td', { 'data-label': t('sl_share') }, percent(d.sla_share)))))));
}

function backlog(b) {
  const waiting = b.oldest.length
    ? h('ol', { id: 'sl-oldest', class: 'oldest' }, b.oldest.map((w) => h('li', { 'data-id': w.id },
      h('a', { href: `#/cb/${w.id}` }, t('sl_waiting_since', fmtTime(w.received_at))),
      ` (${fmtRelative(w.received_at)}) — ${label('r_', w.reason)} — ${label('s_', w.status)}`,
      w.claimed_by ? ` — ${w.claimed_by}` : '')))
    : h('p', { class: 'muted', id: 'sl-oldest' }, t('empty'));
  return h('section', { class: 'card' },
    h('h3', {}, t('sl_backlog')),
    h('dl', { class: 'facts', id: 'sl-backlog' },
      h('dt', {}, label('s_', 'pending')), h('dd', { id: 'sl-pending' }, String(b.pending)),
      h('dt', {}, label('s_', 'claimed')), h('dd', { id: 'sl-claimed' }, String(b.claimed)),
      h('dt', {}, t('overdue')), h('dd', { id: 'sl-overdue' }, String(b.overdue))),
    h('h4', {}, t('sl_oldest')),
    waiting);
}

function agents(list) {
  if (!list.length) return h('p', { class: 'muted', id: 'sl-agents' }, t('empty'));
  return h('table', { id: 'sl-agents' },
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, t('login')), h('th', { scope: 'col' }, t('attempts')),
      h('th', { scope: 'col' }, t('outcome_reached')), h('th', { scope: 'col' }, label('s_', 'completed')))),
    h('tbody', {}, list.map((a) => h('tr', { 'data-login': a.login },
      h('td', { 'data-label': t('login') }, a.login),
      h('td', { 'data-label': t('attempts') }, String(a.attempts)),
      h('td', { 'data-label': t('outcome_reached') }, String(a.reached)),
      h('td', { 'data-label': label('s_', 'completed') }, String(a.completed))))));
}

function downloads(stats) {
  const path = `/api/v1/stats/records.csv?from=${stats.from}&to=${stats.to}`;
  return h('p', { class: 'actions' },
    h('a', { href: path, download: '', id: 'sl-csv' }, t('sl_csv')),
    isAdmin() ? h('a', { href: `${path}&whole_numbers=true`, download: '', id: 'sl-csv-whole' }, t('sl_csv_whole')) : null);
}

function render(view, range, stats) {
  const tablist = h('div', { role: 'tablist', 'aria-label': t('sl_title') },
    RANGES.map(([name, , key]) => h('button', {
      type: 'button', role: 'tab', id: `sl-tab-${name}`, 'aria-selected': String(name === range),
      onclick: () => { location.hash = `#/stats/${name}`; },
    }, t(key))));
  view.rerender(
    h('h2', {}, t('sl_title')),
    tablist,
    h('div', { role: 'tabpanel', 'aria-labelledby': `sl-tab-${range}` },
      h('p', { class: 'muted', id: 'sl-period' }, t('sl_period', stats.from, stats.to, stats.time_zone)),
      totals(stats.totals),
      chart(stats),
      dayTable(stats),
      backlog(stats.backlog),
      h('h3', {}, t('sl_agents')),
      agents(stats.agents),
      downloads(stats)));
}

/** The view for `range` (today, week or month; anything else: week). */
export async function showStats(range) {
  const chosen = RANGES.find(([name]) => name === range) || RANGES[1];
  const [name, days, , reload] = chosen;
  const view = show(t('sl_title'), h('p', {}, t('loading')));
  const load = async () => {
    const { from, to } = period(days);
    try {
      const stats = await api('GET', `/api/v1/stats?from=${from}&to=${to}`);
      render(view, name, stats);
    } catch (err) {
      if (err.status !== 401) view.render(h('h2', {}, t('sl_title')), h('p', { class: 'error' }, explain(err)));
    }
  };
  await load();
  if (view.live) document.getElementById(`sl-tab-${name}`)?.focus();
  view.every(reload, load);
}
