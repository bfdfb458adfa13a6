// "Patient": heart rate and blood pressure over the chosen range (uPlot; raw samples, or the
// bucketed min/max/mean shown as a band for long ranges), the twin's expected values with 90 %
// intervals over the observations and its parameters, and the alert list with Acknowledge.
// Alerts and, while the range ends now, vitals update live (server-sent events, ht.live).
'use strict';

(function () {
  const patientId = decodeURIComponent(location.pathname.split('/')[2] || '');
  const ACKABLE = new Set(['ALERT_STATE_OPEN', 'ALERT_STATE_ESCALATED', 'ALERT_STATE_LATCHED']);
  // Shelving (IEC 60601-1-8: a deliberate, timed silence with a reason) applies to a present alert.
  const SHELVABLE = new Set(['ALERT_STATE_OPEN', 'ALERT_STATE_ACKNOWLEDGED', 'ALERT_STATE_ESCALATED']);
  const plots = {};
  // The vitals and twin last loaded, for the twin overlay and live appends.
  const loaded = { hr: null, bp: null, twin: null, range: null };
  let liveAlerts = 0;
  let liveSamples = 0;

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
    // data-drawn-ms: when uPlot first drew this plot, in ms from the navigation's start (the
    // render benchmark's marker).
    delete el.dataset.drawnMs;
    const drawn = () => {
      if (!el.dataset.drawnMs) el.dataset.drawnMs = String(Math.round(performance.now()));
    };
    plots[key] = new uPlot({ width: width, height: 300, series: spec, bands: bands,
                             scales: { x: { time: true } }, cursor: { drag: { x: true, y: false } },
                             hooks: { draw: [drawn] } }, data, el);
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
    loaded.hr = hr;
    loaded.bp = bp;
    drawVitals();
  }

  function drawVitals() {
    const hr = loaded.hr;
    const bp = loaded.bp;
    draw('hr', 'hr-plot', [Object.assign(columns(hr, 'VITAL_TYPE_HEART_RATE'),
                                         { label: 'Heart rate', stroke: '#1f6fb2', band: 'rgba(31,111,178,0.2)' })]);
    draw('bp', 'bp-plot', [
      Object.assign(columns(bp, 'VITAL_TYPE_SYSTOLIC_BP'), { label: 'Systolic', stroke: '#b35900', band: 'rgba(179,89,0,0.2)' }),
      Object.assign(columns(bp, 'VITAL_TYPE_DIASTOLIC_BP'), { label: 'Diastolic', stroke: '#000', band: 'rgba(0,0,0,0.15)' }),
    ]);
    drawTwin();
  }

  // One plot of a vital: the observations (raw, or bucket means) and the twin's expected value
  // with its 90 % interval as a band, on the union of their times.
  function drawOverlay(key, elementId, data, type, label, stroke, band) {
    const el = document.getElementById(elementId);
    const obs = columns(data, type).cols;
    const pred = loaded.twin.prediction.points.filter((p) => p.type === type);
    if (pred.length === 0) {
      el.replaceChildren();
      return 0;
    }
    const byTime = new Map();
    const slot = (t) => {
      if (!byTime.has(t)) byTime.set(t, [null, null, null, null]);
      return byTime.get(t);
    };
    obs[0].forEach((t, i) => { slot(t)[0] = obs[1][i]; });
    for (const p of pred) {
      const row = slot(Date.parse(p.at) / 1000);
      row[1] = p.mean;
      row[2] = p.lower;
      row[3] = p.upper;
    }
    const xs = Array.from(byTime.keys()).sort((a, b) => a - b);
    const cols = [xs, [], [], [], []];
    for (const t of xs) {
      const r = byTime.get(t);
      for (let i = 0; i < 4; i++) cols[i + 1].push(r[i]);
    }
    if (plots[key]) plots[key].destroy();
    el.replaceChildren();
    const width = Math.max(320, el.clientWidth || 900);
    plots[key] = new uPlot({
      width: width, height: 260, scales: { x: { time: true } }, cursor: { drag: { x: true, y: false } },
      series: [{}, { label: label + ' observed', stroke: stroke, width: 1, spanGaps: true },
               { label: 'Twin expected', stroke: '#000', width: 2, dash: [8, 4], spanGaps: true },
               { label: 'Twin 90 % lower', stroke: '#555', width: 0.5, spanGaps: true },
               { label: 'Twin 90 % upper', stroke: '#555', width: 0.5, spanGaps: true }],
      bands: [{ series: [4, 3], fill: band }],
    }, cols, el);
    el.dataset.predicted = String(pred.length);
    el.dataset.points = String(obs[0].length);
    el.setAttribute('aria-description', obs[0].length + ' observations and ' + pred.length +
                    ' expected values of the twin with 90 % intervals');
    return pred.length;
  }

  function drawTwin() {
    const t = loaded.twin;
    if (!t || !loaded.hr) return;
    const status = document.getElementById('twin-status');
    const tbody = document.querySelector('#twin-params tbody');
    tbody.replaceChildren();
    for (const id of ['twin-hr-plot', 'twin-bp-plot', 'twin-hr-title', 'twin-bp-title']) {
      document.getElementById(id).hidden = !(t.twin && t.prediction);
    }
    if (!t.twin) {
      status.textContent = 'No twin yet: ' + (t.message || 'the twin has no data yet');
      document.body.dataset.twin = 'none';
      return;
    }
    const snap = t.twin;
    status.textContent = (snap.calibrated ? 'Calibrated' : 'Not calibrated yet (population prior)') + ', version ' +
      snap.version + ', updated ' + snap.createdAt + (t.prediction ? '. Expected values ' + t.horizonH +
      ' h ahead of the twin\'s newest data, hourly.' : '. No prediction: ' + t.predictionError);
    for (const p of snap.parameters) {
      const tr = document.createElement('tr');
      const cells = [p.name, p.value.toPrecision(4), p.lower90.toPrecision(4) + ' to ' + p.upper90.toPrecision(4),
                     p.fixedAtPrior ? 'population prior' : 'this patient'];
      cells.forEach((c, i) => {
        const cell = document.createElement(i === 0 ? 'th' : 'td');
        if (i === 0) cell.scope = 'row';
        cell.textContent = c;
        tr.append(cell);
      });
      tbody.append(tr);
    }
    let predicted = 0;
    if (t.prediction) {
      predicted += drawOverlay('twinHr', 'twin-hr-plot', loaded.hr, 'VITAL_TYPE_HEART_RATE', 'Heart rate', '#1f6fb2',
                               'rgba(0,0,0,0.12)');
      predicted += drawOverlay('twinBp', 'twin-bp-plot', loaded.bp, 'VITAL_TYPE_SYSTOLIC_BP', 'Systolic', '#b35900',
                               'rgba(0,0,0,0.12)');
    }
    document.body.dataset.twin = snap.calibrated ? 'calibrated' : 'uncalibrated';
    document.body.dataset.twinPredicted = String(predicted);
  }

  async function loadTwin() {
    try {
      loaded.twin = await ht.fetchJson('/api/patients/' + encodeURIComponent(patientId) + '/twin');
    } catch (e) {
      document.getElementById('twin-status').textContent = 'Could not load the twin: ' + e.message;
      document.body.dataset.twin = 'error';
      return;
    }
    drawTwin();
  }

  // A live alert event: its row replaced, or added on top.
  function onAlert(ev) {
    const a = ev.alert;
    const tbody = document.querySelector('#alerts tbody');
    const row = alertRow(a);
    const old = tbody.querySelector('tr[data-alert-id="' + CSS.escape(a.alertId) + '"]');
    if (old) {
      old.replaceWith(row);
    } else {
      for (const empty of tbody.querySelectorAll('tr:not([data-alert-id])')) empty.remove();
      tbody.prepend(row);
    }
    liveAlerts++;
    document.body.dataset.liveAlerts = String(liveAlerts);
    ht.setStatus('Alert ' + ev.kind.replace('KIND_', '').toLowerCase() + ': ' + a.summary);
  }

  // New samples: appended to raw plots whose range ends now (a past range stays as loaded).
  function onVitals(data) {
    const r = loaded.range;
    if (!r || !r.live || !loaded.hr || loaded.hr.mode !== 'raw' || loaded.bp.mode !== 'raw') return;
    for (const s of data.samples) {
      if (s.type === 'VITAL_TYPE_HEART_RATE') loaded.hr.samples.push(s);
      if (s.type === 'VITAL_TYPE_SYSTOLIC_BP' || s.type === 'VITAL_TYPE_DIASTOLIC_BP') loaded.bp.samples.push(s);
    }
    liveSamples += data.samples.length;
    document.body.dataset.liveSamples = String(liveSamples);
    drawVitals();
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
    const shelved = a.shelvedUntil && Date.parse(a.shelvedUntil) > Date.now();
    cells[1].textContent = stateText(a.state) +
        (shelved ? ', shelved until ' + a.shelvedUntil.replace('T', ' ').replace(/\..*|Z$/, '') : '');
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
    if (SHELVABLE.has(a.state) && !shelved) {
      const reason = document.createElement('input');
      reason.type = 'text';
      reason.className = 'shelve-reason';
      reason.placeholder = 'reason';
      reason.setAttribute('aria-label', 'Reason to shelve the alert: ' + a.summary);
      const s = document.createElement('button');
      s.type = 'button';
      s.className = 'shelve';
      s.textContent = 'Shelve 30 min';
      s.setAttribute('aria-label', 'Shelve for 30 minutes ' + ht.PRIORITIES[a.priority].text + ' alert: ' + a.summary);
      s.addEventListener('click', () => shelve(a, tr, s, reason));
      cells[4].append(' ', reason, s);
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

  async function shelve(a, tr, button, reason) {
    button.disabled = true;
    try {
      const updated = await ht.fetchJson('/api/alerts/' + encodeURIComponent(a.alertId) + '/shelve', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': ht.session.csrfToken },
        body: JSON.stringify({ minutes: 30, reason: reason.value.trim() }),
      });
      tr.replaceWith(alertRow(updated));
      ht.setStatus('Alert shelved for 30 minutes: ' + updated.summary);
    } catch (e) {
      button.disabled = false;
      ht.setStatus('Could not shelve: ' + e.message, true);
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

  // `session`: the session being loaded, when the page has just opened (ready waits for it).
  async function show(range, session) {
    document.body.dataset.ready = 'loading';
    // A range that ends within the last 5 minutes follows live vitals.
    range.live = range.to >= Date.now() - 5 * 60 * 1000;
    loaded.range = range;
    document.getElementById('from').value = toInput(range.from);
    document.getElementById('to').value = toInput(range.to);
    try {
      await Promise.all([loadVitals(range), loadAlerts(), session]);
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
    // The data does not wait for the session (only the alert controls need its CSRF token): both
    // are asked for at once, and the page is ready once both are in.
    const session = ht.loadSession();
    const range = initialRange();
    const data = Promise.all([show(range, session), loadTwin()]);
    try {
      await session;
    } catch (e) {
      ht.setStatus('Could not load the session: ' + e.message, true);
      return;
    }
    await data;
    // Vitals from where the page's data ends (at most an hour back; the server's limit).
    const since = Math.max(range.to, Date.now() - 55 * 60 * 1000);
    ht.live('patient=' + encodeURIComponent(patientId) +
            (range.live ? '&since=' + encodeURIComponent(new Date(Math.min(since, Date.now())).toISOString()) : ''),
            { alert: onAlert, vitals: onVitals });
  });
})();
