// Shared by the dashboard's pages: JSON fetches with errors that name the field, the session
// (who am I, CSRF token), and how priorities and ages read. No inline script anywhere (CSP).
'use strict';

const ht = {};

ht.fetchJson = async function (url, options) {
  const res = await fetch(url, Object.assign({ credentials: 'same-origin', cache: 'no-store' }, options || {}));
  let body = null;
  try {
    body = await res.json();
  } catch (e) {
    body = null;
  }
  if (!res.ok) {
    const err = new Error(body && body.error ? body.error.message : 'HTTP ' + res.status);
    err.status = res.status;
    throw err;
  }
  return body;
};

ht.session = null;
ht.loadSession = async function () {
  ht.session = await ht.fetchJson('/api/session');
  const who = document.getElementById('whoami');
  if (who) who.textContent = ht.session.subject + ' (' + ht.session.role + ')';
  return ht.session;
};

// Priority as text and a shape icon, never colour alone.
ht.PRIORITIES = {
  PRIORITY_HIGH: { icon: '▲', text: 'High', cls: 'priority-high', rank: 3 },
  PRIORITY_MEDIUM: { icon: '◆', text: 'Medium', cls: 'priority-medium', rank: 2 },
  PRIORITY_LOW: { icon: '●', text: 'Low', cls: 'priority-low', rank: 1 },
  PRIORITY_UNSPECIFIED: { icon: '○', text: 'Unspecified', cls: 'priority-low', rank: 0 },
};

ht.priorityBadge = function (priority, count) {
  const p = ht.PRIORITIES[priority] || ht.PRIORITIES.PRIORITY_UNSPECIFIED;
  const span = document.createElement('span');
  span.className = 'priority ' + p.cls;
  span.textContent = p.icon + ' ' + p.text + (count === undefined ? '' : ' ×' + count);
  return span;
};

ht.age = function (seconds) {
  if (seconds < 90) return seconds + ' s ago';
  if (seconds < 90 * 60) return Math.round(seconds / 60) + ' min ago';
  if (seconds < 36 * 3600) return Math.round(seconds / 3600) + ' h ago';
  return Math.round(seconds / 86400) + ' d ago';
};

ht.setStatus = function (text, isError) {
  const s = document.getElementById('status');
  s.textContent = text;
  s.classList.toggle('error', !!isError);
};

// Live updates: server-sent events of /api/events (dashboard_live.h). `handlers` maps event
// names ("alert", "vitals", "end") to functions of the parsed data. The browser reconnects
// after a dropped connection by itself; an "end" from the server closes the stream for good.
// document.body.dataset.live says where the stream is: connecting, on, reconnecting, ended.
ht.live = function (query, handlers) {
  const source = new EventSource('/api/events' + (query ? '?' + query : ''));
  const indicator = document.getElementById('live');
  const show = (state, text) => {
    document.body.dataset.live = state;
    if (indicator) indicator.textContent = text;
  };
  show('connecting', 'Live updates: connecting…');
  source.addEventListener('ready', () => show('on', 'Live updates: on'));
  source.addEventListener('error', () => {
    if (source.readyState !== EventSource.CLOSED) show('reconnecting', 'Live updates: reconnecting…');
    else show('ended', 'Live updates: off (reload the page)');
  });
  source.addEventListener('end', (ev) => {
    source.close();
    const data = JSON.parse(ev.data);
    show('ended', 'Live updates: off (' + data.message + ')');
    if (handlers.end) handlers.end(data);
  });
  for (const name of ['alert', 'vitals']) {
    if (handlers[name]) source.addEventListener(name, (ev) => handlers[name](JSON.parse(ev.data)));
  }
  return source;
};
