// The researcher view (dashboard_api.h, /cohorts): the caller's cohort jobs with progress bars
// (polled while a job runs), one job's per-arm mean change with its 95 % CI as a uPlot chart
// (points with whiskers) and a table, a table per arm as a trial reports it (analysed patients,
// dropouts, mean change, SD of change, 95 % CI and the placebo-adjusted difference with its CI),
// and the per-patient CSV as a download.
// document.body.dataset.ready says when the list has loaded; #arms-plot's data-arms how many
// arms were drawn once uPlot has drawn them.
'use strict';

(function () {
  const TERMINAL = new Set(['JOB_STATE_SUCCEEDED', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED']);
  const STATE_TEXT = {
    JOB_STATE_QUEUED: 'Queued',
    JOB_STATE_RUNNING: 'Running',
    JOB_STATE_SUCCEEDED: 'Done',
    JOB_STATE_FAILED: 'Failed',
    JOB_STATE_CANCELLED: 'Cancelled',
  };
  // Blue, orange and black (with different markers and dashes): apart for red-green colour vision deficiency.
  const QUANTITIES = [
    { key: 'systolicMmhg', label: 'Systolic (mm[Hg])', stroke: '#1f6fb2', dash: [], offset: -0.15 },
    { key: 'diastolicMmhg', label: 'Diastolic (mm[Hg])', stroke: '#d95f02', dash: [6, 3], offset: 0 },
    { key: 'heartRateBpm', label: 'Heart rate (/min)', stroke: '#000000', dash: [2, 2], offset: 0.15 },
  ];
  const POLL_MS = 1000;  // while a job runs
  const IDLE_POLL_MS = 5000;  // for jobs submitted meanwhile
  let chart = null;
  let shown = null;

  function cell(tr, content) {
    const td = document.createElement('td');
    if (content instanceof Node) td.appendChild(content);
    else td.textContent = content;
    tr.appendChild(td);
    return td;
  }

  function fmt(x) {
    return (x >= 0 ? '+' : '') + Number(x || 0).toFixed(1);
  }

  function jobRow(job) {
    const tr = document.createElement('tr');
    tr.dataset.jobId = job.jobId;
    tr.dataset.state = job.state;
    cell(tr, job.jobId);
    cell(tr, job.submittedAt ? job.submittedAt.replace('T', ' ').replace(/\.\d+Z$|Z$/, '') : '');
    cell(tr, (STATE_TEXT[job.state] || job.state) + (job.error ? ': ' + job.error : ''));
    const fraction = Math.max(0, Math.min(1, (job.progress && job.progress.fractionDone) || 0));
    const bar = document.createElement('progress');
    bar.max = 1;
    bar.value = fraction;
    bar.setAttribute('aria-label', 'Progress of job ' + job.jobId);
    const td = cell(tr, bar);
    const pct = document.createElement('span');
    pct.className = 'pct';
    const stage = !TERMINAL.has(job.state) && job.progress && job.progress.stage ? ' ' + job.progress.stage : '';
    pct.textContent = ' ' + Math.round(fraction * 100) + ' %' + stage;
    td.appendChild(pct);
    if (job.state === 'JOB_STATE_SUCCEEDED') {
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = 'Show results';
      button.setAttribute('aria-label', 'Show the results of job ' + job.jobId);
      button.addEventListener('click', () => showResults(job.jobId));
      cell(tr, button);
    } else {
      cell(tr, '');
    }
    return tr;
  }

  async function refresh() {
    let body;
    try {
      body = await ht.fetchJson('/api/cohorts');
    } catch (e) {
      ht.setStatus('Could not list your cohort jobs: ' + e.message, true);
      document.body.dataset.ready = 'error';
      return;
    }
    const jobs = body.jobs || [];
    const tbody = document.querySelector('#jobs tbody');
    // Rows are replaced only when their job changed, so keyboard focus on a row's button stays put.
    const old = new Map(Array.from(tbody.querySelectorAll('tr[data-job-id]')).map((tr) => [tr.dataset.jobId, tr]));
    const rows = jobs.map((job) => {
      const key = JSON.stringify(job);
      const tr = old.get(job.jobId);
      if (tr && tr.dataset.key === key) return tr;
      const fresh = jobRow(job);
      fresh.dataset.key = key;
      if (tr) tr.replaceWith(fresh);
      return fresh;
    });
    for (const [id, tr] of old) if (!jobs.some((j) => j.jobId === id)) tr.remove();
    for (const tr of tbody.querySelectorAll('tr:not([data-job-id])')) tr.remove();
    rows.forEach((tr) => tbody.appendChild(tr));
    if (jobs.length === 0) {
      const tr = document.createElement('tr');
      cell(tr, 'No cohort jobs yet.').colSpan = 5;
      tbody.appendChild(tr);
    }
    const running = jobs.filter((j) => !TERMINAL.has(j.state)).length;
    ht.setStatus(jobs.length + ' job(s), ' + running + ' running');
    document.body.dataset.ready = 'true';
    setTimeout(refresh, running > 0 ? POLL_MS : IDLE_POLL_MS);
  }

  // Draws each arm's 95 % CI as a whisker (with caps) around its point.
  function whiskers(u, cis) {
    const ctx = u.ctx;
    QUANTITIES.forEach((q, qi) => {
      ctx.save();
      ctx.strokeStyle = q.stroke;
      ctx.lineWidth = 2 * devicePixelRatio;
      ctx.setLineDash(q.dash.map((d) => d * devicePixelRatio));
      cis[qi].forEach(([lo, hi], i) => {
        const x = u.valToPos(i + 1 + q.offset, 'x', true);
        const y0 = u.valToPos(lo, 'y', true);
        const y1 = u.valToPos(hi, 'y', true);
        const cap = 5 * devicePixelRatio;
        ctx.beginPath();
        ctx.moveTo(x, y0);
        ctx.lineTo(x, y1);
        ctx.moveTo(x - cap, y0);
        ctx.lineTo(x + cap, y0);
        ctx.moveTo(x - cap, y1);
        ctx.lineTo(x + cap, y1);
        ctx.stroke();
      });
      ctx.restore();
    });
  }

  function plotArms(arms) {
    const el = document.getElementById('arms-plot');
    if (chart) chart.destroy();
    el.replaceChildren();
    delete el.dataset.arms;
    const names = arms.map((a) => a.arm);
    const cis = QUANTITIES.map((q) => arms.map((a) => [(a[q.key] || {}).changeCi95Low || 0, (a[q.key] || {}).changeCi95High || 0]));
    // Each quantity's points on their own x (arm index plus a small offset), so whiskers do not overlap.
    const xs = [];
    QUANTITIES.forEach((q) => names.forEach((_, i) => xs.push(i + 1 + q.offset)));
    xs.sort((a, b) => a - b);
    const data = [xs];
    QUANTITIES.forEach((q) => {
      data.push(xs.map((x) => {
        const i = Math.round(x - q.offset) - 1;
        return Math.abs(i + 1 + q.offset - x) < 1e-9 && arms[i] ? (arms[i][q.key] || {}).meanChange || 0 : null;
      }));
    });
    const lows = cis.flat().map((c) => c[0]);
    const highs = cis.flat().map((c) => c[1]);
    const lo = Math.min(0, ...lows);
    const hi = Math.max(0, ...highs);
    const pad = (hi - lo) * 0.1 || 1;
    const opts = {
      width: Math.min(el.clientWidth || 900, 1000),
      height: 320,
      scales: { x: { time: false, range: [0.5, names.length + 0.5] }, y: { range: [lo - pad, hi + pad] } },
      axes: [
        { label: 'Arm', splits: () => names.map((_, i) => i + 1), values: (u, splits) => splits.map((s) => names[s - 1] || '') },
        { label: 'Mean change from baseline' },
      ],
      series: [{ label: 'Arm', value: (u, v) => (v === null ? '' : names[Math.round(v) - 1] || '') }].concat(
        QUANTITIES.map((q) => ({ label: q.label, stroke: q.stroke, fill: q.stroke, width: 0, paths: () => null,
                                 points: { show: true, size: 9, stroke: q.stroke, fill: q.stroke }, spanGaps: false }))),
      hooks: {
        draw: [
          (u) => {
            whiskers(u, cis);
            el.dataset.arms = String(names.length);
          },
        ],
      },
    };
    chart = new uPlot(opts, data, el);
  }

  function armRow(a) {
    const tr = document.createElement('tr');
    tr.dataset.arm = a.arm;
    cell(tr, a.arm);
    cell(tr, String(a.patients || 0));
    for (const q of QUANTITIES) {
      const m = a[q.key] || {};
      cell(tr, fmt(m.meanChange) + ' (' + fmt(m.changeCi95Low) + ' to ' + fmt(m.changeCi95High) + ')');
    }
    cell(tr, Math.round(100 * (a.targetAttainmentFraction || 0)) + ' %');
    return tr;
  }

  function headerCell(tr, text, scope) {
    const th = document.createElement('th');
    th.scope = scope;
    th.textContent = text;
    tr.appendChild(th);
    return th;
  }

  function ci(lo, hi) {
    return fmt(lo) + ' to ' + fmt(hi);
  }

  // The placebo-adjusted cells of one quantity's row: the difference and its CI, or why there is none.
  function adjustedCells(tr, a, q, placeboArm) {
    const d = a.placeboAdjusted && a.placeboAdjusted[q.key];
    let why = null;
    if (!placeboArm) why = 'no placebo arm';
    else if (a.arm === placeboArm) why = 'reference (placebo arm)';
    else if (!d) why = 'not computed (blood pressure only)';
    if (why) {
      const td = cell(tr, why);
      td.colSpan = 2;
      td.dataset.field = 'difference';
      return;
    }
    cell(tr, fmt(d.difference)).dataset.field = 'difference';
    cell(tr, ci(d.ci95Low, d.ci95High)).dataset.field = 'differenceCi';
  }

  // One arm's table: a row per quantity; analysed patients and dropouts in the caption.
  function armTable(a, placeboArm) {
    const table = document.createElement('table');
    table.className = 'arm-trial';
    table.dataset.arm = a.arm;
    const caption = document.createElement('caption');
    const analysed = document.createElement('span');
    analysed.dataset.field = 'analysed';
    analysed.textContent = String(a.analysed || 0);
    const dropouts = document.createElement('span');
    dropouts.dataset.field = 'dropouts';
    dropouts.textContent = String(a.dropouts || 0);
    caption.append('Arm ' + a.arm + ': ', analysed, ' of ' + (a.patients || 0) + ' patients analysed, ', dropouts,
                   ' dropout(s)');
    table.appendChild(caption);
    const head = document.createElement('thead');
    const hr = document.createElement('tr');
    ['Quantity', 'Mean change', 'SD of change', '95 % CI of change', 'Placebo-adjusted difference',
     '95 % CI of difference'].forEach((t) => headerCell(hr, t, 'col'));
    head.appendChild(hr);
    table.appendChild(head);
    const body = document.createElement('tbody');
    for (const q of QUANTITIES) {
      const m = a[q.key] || {};
      const tr = document.createElement('tr');
      tr.dataset.quantity = q.key;
      headerCell(tr, q.label, 'row');
      cell(tr, fmt(m.meanChange)).dataset.field = 'meanChange';
      cell(tr, Number(m.sdChange || 0).toFixed(1)).dataset.field = 'sdChange';
      cell(tr, ci(m.changeCi95Low, m.changeCi95High)).dataset.field = 'changeCi';
      adjustedCells(tr, a, q, placeboArm);
      body.appendChild(tr);
    }
    table.appendChild(body);
    return table;
  }

  async function showResults(jobId) {
    shown = jobId;
    const section = document.getElementById('results');
    let r;
    try {
      r = await ht.fetchJson('/api/cohorts/' + encodeURIComponent(jobId));
    } catch (e) {
      ht.setStatus('Could not load the results of job ' + jobId + ': ' + e.message, true);
      return;
    }
    if (shown !== jobId) return;
    section.hidden = false;
    document.getElementById('results-job').textContent = jobId;
    document.getElementById('results-meta').textContent =
      (r.arms || []).length + ' arm(s), ' + (r.perPatientTotal || 0) + ' per-patient row(s), ' + (r.days || 0) +
      ' day(s), seed ' + (r.seed || 0) + '. ' +
      (r.placeboArm ? 'Placebo arm: ' + r.placeboArm + '.' : 'No placebo arm: no placebo-adjusted differences.');
    document.querySelector('#arms tbody').replaceChildren(...(r.arms || []).map(armRow));
    document.getElementById('arm-tables').replaceChildren(...(r.arms || []).map((a) => armTable(a, r.placeboArm)));
    const link = document.getElementById('csv-link');
    link.href = r.csvUrl;
    link.setAttribute('download', 'cohort-' + jobId + '.csv');
    plotArms(r.arms || []);
    document.getElementById('results-title').focus();
  }

  document.addEventListener('DOMContentLoaded', async () => {
    document.getElementById('results-title').tabIndex = -1;
    try {
      await ht.loadSession();
    } catch (e) {
      ht.setStatus('Could not start: ' + e.message, true);
      return;
    }
    refresh();
  });
})();
