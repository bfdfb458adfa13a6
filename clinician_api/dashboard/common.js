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
