// "Patient": heart rate and blood pressure over the chosen range (uPlot; raw samples, or the
// bucketed min/max/mean shown as a band for long ranges) and the alert list with Acknowledge.
'use strict';

(function () {
  const patientId = decodeURIComponent(location.pathname.split('/')[2] || '');
  const ACKABLE = new Set(['ALERT_STATE_OPEN', 'ALERT_STATE_ESCALATED', 'ALERT_STATE_LATCHED']);
  const plots = {};

  function toInput(ms) {
    return new Date(ms).toISOString().slice(0, 16);
  }
  function fromInput(value) {
    return new Date(value + ':00Z').toISOString();
  }

  // The range from the URL (?from=&to=, RFC 3339) or the last 24 h.
  function initialRange() {
    const q = new URLSearchParams(location.search);
    const to = q.get('to') ? Date.parse(q.get('to')) : Date.now();
    const from = q.get('from') ? Date.parse(q.get('from')) : to - 24 * 3600 * 1000;
    return { from: from, to: to };
  }

  // uPlot's columns from one type's samples or buckets.
  function columns(data, type) {
    if (data.mode === 'raw') {
      const rows = data.samples.filter((s) => s.type === type);
      return { bucketed: false, cols: [rows.map((s) => Date.parse(s.measuredAt) / 1000), rows.map((s) => s.value)] };
    }
    const rows = data.buckets.filter((b) => b.type === type);
    return {
      bucketed: true,
      cols: [
        rows.map((b) => Date.parse(b.bucketStart) / 1000),
        rows.map((b) => b.mean),
        rows.map((b) => b.min),
        rows.map((b) => b.max),
      ],
    };
  }

  function draw(key, elementId, series) {
    const el = document.getElementById(elementId);
    if (plots[key]) plots[key].destroy();
    el.replaceChildren();
    const data = [series[0].cols[0]];
    const spec = [{}];
    const bands = [];
    for (const s of series) {
      const base = data.length;
      data.push(s.cols[1]);
      spec.push({ label: s.label + (s.bucketed ? ' (mean)' : ''), stroke: s.stroke, width: 1.5,
                  points: { show: !s.bucketed && s.cols[0].length < 500 } });
      if (s.bucketed) {
        data.push(s.cols[2], s.cols[3]);
        spec.push({ label: s.label + ' min', stroke: s.stroke, width: 0.5, dash: [4, 4] });
        spec.push({ label: s.label + ' max', stroke: s.stroke, width: 0.5, dash: [4, 4] });
        bands.push({ series: [base + 2, base + 1], fill: s.band });
      }
    }
    const width = Math.max(320, el.clientWidth || 900);
    plots[key] = new uPlot({ width: width, height: 300, series: spec, bands: bands,
                             scales: { x: { time: true } }, cursor: { drag: { x: true, y: false } } }, data, el);
    el.dataset.points = String(data[0].length);
    el.setAttribute('aria-label', series.map((s) => s.label).join(' and ') + ' plot, ' + data[0].length + ' points');
  }

  async function loadVitals(range) {
    // ?bucket_s= in the page's URL (0: raw) overrides the server's automatic choice.
    const bucket = new URLSearchParams(location.search).get('bucket_s');
    const q = 'from=' + encodeURIComponent(new Date(range.from).toISOString()) +
              '&to=' + encodeURIComponent(new Date(range.to).toISOString()) +
              (bucket === null ? '' : '&bucket_s=' + encodeURIComponent(bucket));
    const base = '/api/patients/' + encodeURIComponent(patientId) + '/vitals?' + q;
    const [hr, bp] = await Promise.all([
      ht.fetchJson(base + '&type=heart_rate'),
      ht.fetchJson(base + '&type=systolic_bp,diastolic_bp'),
    ]);
    const mode = (d) => d.mode === 'raw' ? 'Raw samples' + (d.truncated ? ' (truncated: choose a shorter range)' : '')
                                         : 'Min/max band and mean per ' + d.bucketS + ' s';
    document.getElementById('hr-mode').textContent = mode(hr);
    document.getElementById('bp-mode').textContent = mode(bp);
    draw('hr', 'hr-plot', [Object.assign(columns(hr, 'VITAL_TYPE_HEART_RATE'),
                                         { label: 'Heart rate', stroke: '#1f6fb2', band: 'rgba(31,111,178,0.2)' })]);
    draw('bp', 'bp-plot', [
      Object.assign(columns(bp, 'VITAL_TYPE_SYSTOLIC_BP'), { label: 'Systolic', stroke: '#b35900', band: 'rgba(179,89,0,0.2)' }),
      Object.assign(columns(bp, 'VITAL_TYPE_DIASTOLIC_BP'), { label: 'Diastolic', stroke: '#000', band: 'rgba(0,0,0,0.15)' }),
    ]);
  }

  function stateText(state) {
    return state.replace('ALERT_STATE_', '').toLowerCase();
  }

  function alertRow(a) {
    const tr = document.createElement('tr');
    tr.dataset.alertId = a.alertId;
    const cells = [document.createElement('td'), document.createElement('td'), document.createElement('td'),
                   document.createElement('td'), document.createElement('td')];
    cells[0].append(ht.priorityBadge(a.priority));
    cells[1].className = 'state';
    cells[1].textContent = stateText(a.state);
    cells[2].textContent = a.summary;
    cells[3].textContent = a.raisedAt ? a.raisedAt.replace('T', ' ').replace(/\..*|Z$/, '') : '';
    if (ACKABLE.has(a.state)) {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = 'Acknowledge';
      b.setAttribute('aria-label', 'Acknowledge ' + ht.PRIORITIES[a.priority].text + ' alert: ' + a.summary);
      b.addEventListener('click', () => acknowledge(a, tr, b));
      cells[4].append(b);
    }
    tr.append(...cells);
    return tr;
  }

  async function acknowledge(a, tr, button) {
    button.disabled = true;
    try {
      const updated = await ht.fetchJson('/api/alerts/' + encodeURIComponent(a.alertId) + '/acknowledge', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': ht.session.csrfToken },
        body: JSON.stringify({ note: 'acknowledged in the dashboard' }),
      });
      tr.replaceWith(alertRow(updated));
      ht.setStatus('Alert acknowledged: ' + updated.summary);
    } catch (e) {
      button.disabled = false;
      ht.setStatus('Could not acknowledge: ' + e.message, true);
    }
  }

  async function loadAlerts() {
    const data = await ht.fetchJson('/api/patients/' + encodeURIComponent(patientId) + '/alerts');
    const tbody = document.querySelector('#alerts tbody');
    tbody.replaceChildren();
    const alerts = data.alerts.slice().sort((x, y) => Date.parse(y.raisedAt) - Date.parse(x.raisedAt));
    for (const a of alerts) tbody.append(alertRow(a));
    if (alerts.length === 0) {
      const tr = document.createElement('tr');
      const td = document.createElement('td');
      td.colSpan = 5;
      td.textContent = 'No alerts';
      tr.append(td);
      tbody.append(tr);
    }
  }

  async function show(range) {
    document.body.dataset.ready = 'loading';
    document.getElementById('from').value = toInput(range.from);
    document.getElementById('to').value = toInput(range.to);
    try {
      await Promise.all([loadVitals(range), loadAlerts()]);
      ht.setStatus('Showing ' + new Date(range.from).toISOString() + ' to ' + new Date(range.to).toISOString());
      document.body.dataset.ready = 'true';
    } catch (e) {
      ht.setStatus('Could not load this patient: ' + e.message, true);
      document.body.dataset.ready = 'error';
    }
  }

  document.addEventListener('DOMContentLoaded', async () => {
    document.getElementById('patient-id').textContent = patientId;
    document.title = 'Patient ' + patientId + ' - healthtwin';
    const form = document.getElementById('range');
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      show({ from: Date.parse(fromInput(form.from.value)), to: Date.parse(fromInput(form.to.value)) });
    });
    for (const b of form.querySelectorAll('button[data-hours]')) {
      b.addEventListener('click', () => {
        const to = Date.now();
        show({ from: to - Number(b.dataset.hours) * 3600 * 1000, to: to });
      });
    }
    try {
      await ht.loadSession();
    } catch (e) {
      ht.setStatus('Could not load the session: ' + e.message, true);
      return;
    }
    show(initialRange());
  });
})();
