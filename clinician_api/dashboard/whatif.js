// What-if on the patient page (issue 14): options from presets or free entry, run on the
// simulation service through POST /api/patients/{id}/whatif (NDJSON: progress, then the result),
// one uPlot per quantity with each option's mean and 90 % band, and the ranking.
'use strict';

(function () {
  const patientId = decodeURIComponent(location.pathname.split('/').pop());
  const PRESETS = [
    { name: 'No change', drugs: [] },
    { name: 'Amlodipine 5 mg daily', drug: 'amlodipine', dose: 5, interval: 24 },
    { name: 'Amlodipine 10 mg daily', drug: 'amlodipine', dose: 10, interval: 24 },
    { name: 'Lisinopril 20 mg daily', drug: 'lisinopril', dose: 20, interval: 24 },
    { name: 'Bisoprolol 10 mg daily', drug: 'bisoprolol', dose: 10, interval: 24 },
    { name: 'Hydrochlorothiazide 25 mg daily', drug: 'hydrochlorothiazide', dose: 25, interval: 24 },
    { name: 'Furosemide 40 mg twice daily', drug: 'furosemide', dose: 40, interval: 12 },
  ];
  const DRUGS = ['amlodipine', 'atenolol', 'bisoprolol', 'candesartan', 'carvedilol', 'chlorthalidone', 'enalapril',
                 'furosemide', 'hydrochlorothiazide', 'lisinopril', 'losartan', 'metoprolol', 'ramipril'];
  // Colour-blind-safe strokes (Okabe-Ito); each option also has its own dash pattern.
  const STROKES = ['#000000', '#0072b2', '#e69f00', '#009e73', '#cc79a7', '#56b4e9', '#d55e00', '#f0e442'];
  const DASHES = [[], [8, 4], [2, 3], [10, 3, 2, 3], [4, 4], [1, 2], [12, 6], [6, 2]];
  const PLOTS = [
    { id: 'wi-sbp-plot', quantity: 'trough_systolic_mmhg' },
    { id: 'wi-dbp-plot', quantity: 'trough_diastolic_mmhg' },
    { id: 'wi-hr-plot', quantity: 'trough_heart_rate_bpm' },
    { id: 'wi-weight-plot', quantity: 'trough_weight_kg' },
  ];
  const options = [];
  const plots = {};

  function status(text, isError) {
    const el = document.getElementById('wi-status');
    el.textContent = text;
    el.classList.toggle('error', !!isError);
  }

  function optionFromForm() {
    const drug = document.getElementById('wi-drug').value.trim();
    const dose = Number(document.getElementById('wi-dose').value);
    const interval = Number(document.getElementById('wi-schedule').value);
    const adherence = Number(document.getElementById('wi-adherence').value);
    if (drug === '') return { name: 'No change', drugs: [] };
    const schedule = document.getElementById('wi-schedule').selectedOptions[0].textContent;
    const name = drug + ' ' + dose + ' mg ' + schedule + (adherence < 1 ? ', ' + adherence * 100 + ' % taken' : '');
    // Free entry goes to the server as typed; the simulation service checks it.
    return { name: name, drugs: [{ drug: drug, doseMg: dose, intervalH: interval, adherenceFraction: adherence }] };
  }

  function renderOptions() {
    const tbody = document.querySelector('#wi-options tbody');
    tbody.replaceChildren();
    options.forEach((o, i) => {
      const tr = document.createElement('tr');
      const name = document.createElement('td');
      name.textContent = o.name;
      const regimen = document.createElement('td');
      regimen.textContent = o.drugs.length === 0 ? 'no drug' : o.drugs.map((d) =>
        d.drug + ' ' + d.doseMg + ' mg every ' + d.intervalH + ' h, adherence ' + d.adherenceFraction).join('; ');
      const action = document.createElement('td');
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = 'Remove';
      b.setAttribute('aria-label', 'Remove option ' + o.name);
      b.addEventListener('click', () => { options.splice(i, 1); renderOptions(); });
      action.append(b);
      tr.append(name, regimen, action);
      tbody.append(tr);
    });
  }

  function applyPreset(p) {
    document.getElementById('wi-drug').value = p.drug || '';
    document.getElementById('wi-dose').value = p.dose || '';
    document.getElementById('wi-schedule').value = String(p.interval || 24);
  }

  function flagText(flag) {
    return flag.replace('SAFETY_FLAG_', '').replace('_', ' ').toLowerCase();
  }

  function drawResult(result) {
    const tbody = document.querySelector('#wi-ranking tbody');
    tbody.replaceChildren();
    for (const o of result.options) {
      const tr = document.createElement('tr');
      const cells = [o.rank, o.name, Math.round(o.targetAttainmentFraction * 100) + ' %',
                     (o.safetyFlags || []).length ? '⚠ ' + o.safetyFlags.map(flagText).join(', ') : 'none'];
      for (const c of cells) {
        const td = document.createElement('td');
        td.textContent = String(c);
        tr.append(td);
      }
      tbody.append(tr);
    }
    document.getElementById('wi-assumptions').textContent =
        (result.twinVersion && result.twinVersion !== '0' ? 'Twin version ' + result.twinVersion + '. '
                                                           : 'No calibrated twin: the population prior was used. ') +
        (result.assumptions || []).join(' ');
    for (const p of PLOTS) {
      const el = document.getElementById(p.id);
      const series = [{ label: 'Day' }];
      const cols = [];
      const bands = [];
      result.options.forEach((o, i) => {
        const t = (o.trajectories || []).find((x) => x.quantity === p.quantity);
        if (!t) return;
        if (cols.length === 0) cols.push(t.days.map((d) => d.day || 0));
        const stroke = STROKES[i % STROKES.length];
        const base = cols.length;
        cols.push(t.days.map((d) => d.mean), t.days.map((d) => d.lower), t.days.map((d) => d.upper));
        series.push({ label: o.name, stroke: stroke, width: 2, dash: DASHES[i % DASHES.length] },
                    { label: o.name + ' 5 %', stroke: stroke, width: 0.5, points: { show: false } },
                    { label: o.name + ' 95 %', stroke: stroke, width: 0.5, points: { show: false } });
        bands.push({ series: [base + 2, base + 1], fill: stroke + '22' });
      });
      if (plots[p.id]) plots[p.id].destroy();
      el.replaceChildren();
      if (cols.length === 0) continue;
      plots[p.id] = new uPlot({
        width: Math.max(320, el.clientWidth || 900), height: 260, scales: { x: { time: false } },
        axes: [{ label: 'day', incrs: [1, 2, 5, 7, 14, 28, 56] }, {}], series: series, bands: bands,
      }, cols, el);
      el.dataset.options = String(bands.length);
      el.dataset.days = String(cols[0].length);
    }
  }

  async function run(ev) {
    ev.preventDefault();
    if (options.length === 0) return status('Add at least one option.', true);
    const button = document.getElementById('wi-run');
    const bar = document.getElementById('wi-progress');
    button.disabled = true;
    bar.value = 0;
    document.body.dataset.whatif = 'running';
    status('Starting…');
    const body = {
      options: options.map((o) => ({ name: o.name, drugs: o.drugs })),
      days: Number(document.getElementById('wi-days').value),
      ensembleSize: Number(document.getElementById('wi-ensemble').value),
      target: { systolicBelowMmhg: Number(document.getElementById('wi-sbp').value),
                diastolicBelowMmhg: Number(document.getElementById('wi-dbp').value) },
    };
    try {
      const res = await fetch('/api/patients/' + encodeURIComponent(patientId) + '/whatif', {
        method: 'POST', credentials: 'same-origin', cache: 'no-store',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': ht.session.csrfToken },
        body: JSON.stringify(body),
      });
      if (!res.ok) {
        let msg = 'HTTP ' + res.status;
        try { msg = (await res.json()).error.message; } catch (e) { /* keep the status */ }
        throw new Error(msg);
      }
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffered = '';
      let result = null;
      let progressEvents = 0;
      for (;;) {
        const { value, done } = await reader.read();
        if (value) buffered += decoder.decode(value, { stream: true });
        let nl;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = JSON.parse(buffered.slice(0, nl));
          buffered = buffered.slice(nl + 1);
          if (line.progress) {
            document.body.dataset.whatifProgress = String(++progressEvents);
            bar.value = line.progress.fractionDone || 0;
            status(Math.round((line.progress.fractionDone || 0) * 100) + ' %: ' + line.progress.stage);
          } else if (line.result) {
            result = line.result;
          } else if (line.error) {
            throw new Error(line.error.message);
          }
        }
        if (done) break;
      }
      if (!result) throw new Error('the comparison ended without a result');
      bar.value = 1;
      drawResult(result);
      status('Done: ' + result.options.length + ' options ranked.');
      document.body.dataset.whatif = 'done';
    } catch (e) {
      status('What-if failed: ' + e.message, true);
      document.body.dataset.whatif = 'error';
    } finally {
      button.disabled = false;
    }
  }

  document.addEventListener('DOMContentLoaded', () => {
    const preset = document.getElementById('wi-preset');
    PRESETS.forEach((p, i) => {
      const o = document.createElement('option');
      o.value = String(i);
      o.textContent = p.name;
      preset.append(o);
    });
    preset.addEventListener('change', () => applyPreset(PRESETS[Number(preset.value)]));
    const list = document.getElementById('wi-drugs');
    for (const d of DRUGS) {
      const o = document.createElement('option');
      o.value = d;
      list.append(o);
    }
    document.getElementById('wi-add').addEventListener('click', () => {
      options.push(optionFromForm());
      renderOptions();
    });
    document.getElementById('whatif-form').addEventListener('submit', run);
    // Two options to start with: no change and amlodipine 5 mg.
    for (const p of [PRESETS[0], PRESETS[1]]) {
      applyPreset(p);
      options.push(optionFromForm());
    }
    applyPreset(PRESETS[0]);
    renderOptions();
  });
})();
