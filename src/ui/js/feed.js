// How audit records read in the console: one line per record.
import { h, time } from './ui.js';

export function describe(rec) {
  const d = rec.detail || {};
  const bits = [rec.action, rec.subject];
  if (d.vm) bits.push('vm ' + d.vm);
  if (d.reason) bits.push(d.reason);
  return bits.filter(Boolean).join(' · ');
}

export function eventItem(rec) {
  return h('li', { class: 'event ev-' + String(rec.action).replace(/\./g, '-') },
    h('span', { class: 'ev-time' }, time(rec.time)), ' ',
    h('span', { class: 'ev-action' }, rec.action), ' ',
    h('span', { class: 'ev-subject' }, rec.subject || ''), ' ',
    h('span', { class: 'ev-actor muted' }, 'by ' + rec.actor),
    rec.detail && rec.detail.reason ? h('span', { class: 'muted' }, ' — ' + rec.detail.reason) : null);
}
