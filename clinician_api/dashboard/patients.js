// "My patients": one row per care-team patient, in the server's acuity order.
'use strict';

(function () {
  const COLUMNS = [
    ['VITAL_TYPE_HEART_RATE'],
    ['VITAL_TYPE_SYSTOLIC_BP', 'VITAL_TYPE_DIASTOLIC_BP'],
    ['VITAL_TYPE_SPO2'],
    ['VITAL_TYPE_BODY_TEMPERATURE'],
    ['VITAL_TYPE_BODY_WEIGHT'],
  ];

  function vitalCell(row, types) {
    const td = document.createElement('td');
    const found = types.map((t) => row.latest.find((b) => b.type === t));
    if (found.some((b) => !b)) {
      td.textContent = '—';
      td.setAttribute('aria-label', 'no recent value');
      return td;
    }
    const value = found.map((b) => (Math.round(b.mean * 10) / 10).toString()).join('/');
    td.append(value + ' ' + found[0].ucumUnit + ' ');
    const age = document.createElement('span');
    age.className = 'age';
    age.textContent = '(' + ht.age(Math.max(...found.map((b) => Number(b.ageS)))) + ')';
    td.append(age);
    return td;
  }

  function alertCell(row) {
    const td = document.createElement('td');
    const open = row.openAlerts;
    const parts = [['PRIORITY_HIGH', open.high], ['PRIORITY_MEDIUM', open.medium], ['PRIORITY_LOW', open.low]];
    let any = false;
    for (const [p, n] of parts) {
      if (n > 0) {
        td.append(ht.priorityBadge(p, n), ' ');
        any = true;
      }
    }
    if (!any) td.textContent = 'None';
    return td;
  }

  function news2Cell(row) {
    const td = document.createElement('td');
    td.className = 'news2';
    const n = row.news2;
    if (!n) {
      td.textContent = '—';
      td.setAttribute('aria-label', 'NEWS2: no fresh vital signs');
      return td;
    }
    // "≥" and the word "partial" say it is a lower bound; the risk band is written out.
    td.append((n.partial ? '≥' : '') + n.score + ' (' + n.risk + (n.partial ? ', partial' : '') + ')');
    if (n.partial) {
      td.title = 'Missing: ' + n.missing.join(', ');
      td.setAttribute('aria-label', 'NEWS2 at least ' + n.score + ', ' + n.risk + ' risk, partial; missing ' +
                      n.missing.join(', '));
    }
    return td;
  }

  function twinCell(row) {
    const td = document.createElement('td');
    td.className = 'twin';
    const t = row.twin;
    const text = {
      calibrated: 'Calibrated',
      uncalibrated: 'Not calibrated yet',
      none: 'No twin yet',
      error: 'Unavailable',
    }[t.state] || t.state;
    td.append(text);
    if (t.updatedAt) {
      const when = document.createElement('span');
      when.className = 'age';
      when.textContent = ' (v' + t.version + ', ' + t.updatedAt.replace('T', ' ').replace(/\..*|Z$/, '') + ' UTC)';
      td.append(when);
    }
    if (t.driftEvents > 0) {
      td.append(document.createElement('br'), '⚠ Drift events: ' + t.driftEvents);
    }
    if (t.lastCalibrationError) td.title = 'Last calibration failed: ' + t.lastCalibrationError;
    return td;
  }

  async function load() {
    try {
      if (!ht.session) await ht.loadSession();
      const data = await ht.fetchJson('/api/patients');
      const tbody = document.querySelector('#patients tbody');
      tbody.replaceChildren();
      for (const row of data.patients) {
        const id = row.patient.patientId;
        const tr = document.createElement('tr');
        tr.dataset.patientId = id;
        const th = document.createElement('th');
        th.scope = 'row';
        const a = document.createElement('a');
        a.href = '/patients/' + encodeURIComponent(id);
        a.textContent = id;
        th.append(a);
        tr.append(th, alertCell(row), news2Cell(row), twinCell(row));
        for (const types of COLUMNS) tr.append(vitalCell(row, types));
        tbody.append(tr);
      }
      ht.setStatus(data.patients.length + ' patient' + (data.patients.length === 1 ? '' : 's') + ' on your care team');
      document.body.dataset.ready = 'true';
    } catch (e) {
      ht.setStatus('Could not load your patients: ' + e.message, true);
      document.body.dataset.ready = 'error';
    }
  }

  // An alert event changes counts and order: reload the list (at most once a second).
  let reloadTimer = null;
  function reloadSoon() {
    if (reloadTimer) return;
    reloadTimer = setTimeout(() => {
      reloadTimer = null;
      load();
    }, 1000);
  }

  document.addEventListener('DOMContentLoaded', async () => {
    await load();
    ht.live('', { alert: reloadSoon });
  });
})();
