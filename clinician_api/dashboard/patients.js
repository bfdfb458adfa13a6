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

  async function load() {
    try {
      await ht.loadSession();
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
        tr.append(th, alertCell(row));
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

  document.addEventListener('DOMContentLoaded', load);
})();
