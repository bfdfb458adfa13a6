// Drives Debian's Chromium against a running healthtwin-clinician-api dashboard for one scenario
// of tests/browser/dashboard_browser_test.cc, which starts PostgreSQL, the services and the
// binary, seeds the data, and checks the database afterwards. This script checks what only the
// browser sees, saves a screenshot of each view, and prints one JSON line of findings on stdout.
// Any failed expectation throws: exit code 1 with the reason on stderr.
//
//   node dashboard_e2e.mjs <scenario>
//     patients   dr-alice's "My patients" (Playwright client-certificate proxy)
//     patient    dr-alice's patient page, plot points vs the API, CSRF refusal, Acknowledge
//                (Chromium's own TLS stack: NSS database in a private HOME, auto-selected cert)
//     live       dr-alice has the patient page open (native TLS); the test raises an alert and
//                stores a heart-rate sample once "$HT_WORK/live-ready" exists; both appear
//                without a reload, she acknowledges the alert; also the twin section
//     twin       dr-alice's patient page with a calibrated twin: overlay and parameters vs the API
//     forbidden  dr-bob opens dr-alice's patient: 403 page
//     refused    no certificate (native TLS) and a foreign-CA certificate (proxy): no page
//     cohorts    researcher-rita lands on / and gets her cohort jobs; once "$HT_WORK/live-ready"
//                exists the test starts a cohort runner and her job HT_JOB reaches done in the
//                page; per-arm plot, a table per arm (with HT_JOB_NO_PLACEBO's too), CSV download;
//                dr-alice gets 403 on the researcher endpoints
//     bench      the patient page's render time, 1 day vs 30 days of minute heart rate, median of
//                HT_BENCH_RUNS (not a test: dashboard_browser_test's DISABLED_RenderBenchmark)
//
// Environment: HT_DASH_PORT, HT_PKI (healthtwin dev PKI), HT_FOREIGN_PKI, HT_SHOTS (screenshot
// directory), HT_PATIENT, HT_FROM/HT_TO (RFC 3339 range of the seeded vitals), HT_WORK (scratch).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const PORT = env('HT_DASH_PORT');
const PKI = env('HT_PKI');
const SHOTS = env('HT_SHOTS');
const WORK = env('HT_WORK');
const CHROMIUM = '/usr/bin/chromium';
// Running as root needs --no-sandbox; the server certificate names "clinician_api".
const ARGS = ['--no-sandbox', '--host-resolver-rules=MAP clinician_api 127.0.0.1'];
const NATIVE_ORIGIN = `https://clinician_api:${PORT}`;
// Playwright's proxy resolves the name itself (no host-resolver rule) and does not check the
// server name: the proxy scenarios use localhost and ignore the server certificate's name.
const PROXY_ORIGIN = `https://localhost:${PORT}`;

function expect(cond, message) {
  if (!cond) throw new Error(message);
}

async function proxyContext(browser, identity, pki = PKI) {
  return browser.newContext({
    ignoreHTTPSErrors: true,
    clientCertificates: [{ origin: PROXY_ORIGIN, certPath: path.join(pki, `${identity}.pem`),
                           keyPath: path.join(pki, `${identity}.key`) }],
  });
}

// A persistent Chromium profile whose HOME holds an NSS database trusting the healthtwin CA and,
// when `identity` is given, holding its PKCS#12 bundle, auto-selected for the dashboard's origin.
async function nativeContext(identity) {
  const home = fs.mkdtempSync(path.join(WORK, 'home-'));
  const db = `sql:${path.join(home, '.pki', 'nssdb')}`;
  fs.mkdirSync(path.join(home, '.pki', 'nssdb'), { recursive: true });
  execFileSync('certutil', ['-N', '-d', db, '--empty-password']);
  execFileSync('certutil', ['-A', '-d', db, '-n', 'healthtwin-dev-ca', '-t', 'CT,,', '-i', path.join(PKI, 'ca.pem')]);
  const profile = path.join(home, 'profile');
  fs.mkdirSync(path.join(profile, 'Default'), { recursive: true });
  if (identity) {
    // deploy/pki/make-dev-pki.sh: every bundle's password is "healthtwin-dev".
    execFileSync('pk12util', ['-i', path.join(PKI, `${identity}.p12`), '-d', db, '-W', 'healthtwin-dev']);
    const prefs = { profile: { content_settings: { exceptions: { auto_select_certificate: {
      [`${NATIVE_ORIGIN},*`]: { setting: { filters: [{ ISSUER: { CN: 'healthtwin development CA' } }] } },
    } } } } };
    fs.writeFileSync(path.join(profile, 'Default', 'Preferences'), JSON.stringify(prefs));
  }
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: ARGS, env: { ...process.env, HOME: home },
  });
}

async function shot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

async function ready(page, timeout = 30000) {
  await page.waitForSelector('body[data-ready="true"], body[data-ready="error"]', { timeout });
  const state = await page.getAttribute('body', 'data-ready');
  expect(state === 'true', `page did not load: ${await page.textContent('#status')}`);
}

// `identity`'s page of `patient` through Playwright's certificate proxy, loaded.
async function openPatient(browser, identity, patient) {
  const page = await (await proxyContext(browser, identity)).newPage();
  const res = await page.goto(`${PROXY_ORIGIN}/patients/${patient}`);
  expect(res.status() === 200, `patient status ${res.status()}`);
  await ready(page);
  return page;
}

// The researcher view's table per arm (#arm-tables) as the page shows it: the caption's analysed
// patients and dropouts, each row's header, and every cell's text by its data-field.
async function trialTables(page) {
  return page.$$eval('#arm-tables table.arm-trial', (tables) => tables.map((t) => ({
    arm: t.dataset.arm,
    analysed: t.querySelector('caption [data-field="analysed"]').textContent,
    dropouts: t.querySelector('caption [data-field="dropouts"]').textContent,
    columns: Array.from(t.querySelectorAll('thead th[scope="col"]')).map((th) => th.textContent),
    rows: Object.fromEntries(Array.from(t.querySelectorAll('tbody tr')).map((tr) => [tr.dataset.quantity, {
      header: tr.querySelector('th[scope="row"]').textContent,
      ...Object.fromEntries(Array.from(tr.querySelectorAll('td[data-field]')).map((td) => [td.dataset.field,
                                                                                               td.textContent])),
    }])),
  })));
}

const scenarios = {
  async cohorts() {
    const job = env('HT_JOB');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    try {
      const page = await (await proxyContext(browser, 'researcher-rita')).newPage();
      const res = await page.goto(`${PROXY_ORIGIN}/`);
      expect(res.status() === 200, `/ status ${res.status()}`);
      await ready(page);
      const title = await page.textContent('h1');
      const row = `#jobs tr[data-job-id="${job}"]`;
      await page.waitForSelector(row, { timeout: 10000 });
      const listed = await page.$$eval('#jobs tr[data-job-id]', (trs) => trs.map((tr) => tr.dataset.jobId));
      const stateBefore = await page.getAttribute(row, 'data-state');
      const progressBefore = await page.$eval(`${row} progress`, (el) => el.value);
      fs.writeFileSync(path.join(WORK, 'live-ready'), '');
      await page.waitForSelector(`${row}[data-state="JOB_STATE_SUCCEEDED"]`, { timeout: 120000 });
      const progressAfter = await page.$eval(`${row} progress`, (el) => el.value);
      const progressLabel = await page.getAttribute(`${row} progress`, 'aria-label');
      const listShot = await shot(page, 'cohorts');
      // Keyboard: focus the row's button and press Enter.
      await page.focus(`${row} button`);
      await page.keyboard.press('Enter');
      await page.waitForSelector('#arms-plot[data-arms]', { timeout: 20000 });
      const plot = await page.$eval('#arms-plot', (el) => ({ arms: Number(el.dataset.arms), canvases:
        el.querySelectorAll('canvas').length, legend: Array.from(el.querySelectorAll('.u-legend .u-series .u-label'))
        .map((l) => l.textContent) }));
      const armRows = await page.$$eval('#arms tbody tr', (trs) => trs.map((tr) => tr.dataset.arm));
      const trial = await trialTables(page);
      const resultsShot = await shot(page, 'cohort-results');
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#csv-link')]);
      const csv = fs.readFileSync(await download.path(), 'utf8');
      const csvLines = csv.split('\n').filter((l) => l.length > 0);
      const disposition = await page.evaluate(async (u) => (await fetch(u)).headers.get('content-disposition'),
                                              `/api/cohorts/${job}/csv`);
      // A job without a placebo arm (HT_JOB_NO_PLACEBO): its tables say so instead of a difference.
      const other = env('HT_JOB_NO_PLACEBO');
      const otherRow = `#jobs tr[data-job-id="${other}"]`;
      await page.waitForSelector(`${otherRow}[data-state="JOB_STATE_SUCCEEDED"]`, { timeout: 120000 });
      await page.click(`${otherRow} button`);
      await page.waitForFunction((j) => document.getElementById('results-job').textContent === j &&
                                   document.querySelector('#arm-tables table.arm-trial'), other, { timeout: 20000 });
      const trialNoPlacebo = await trialTables(page);
      const noPlaceboShot = await shot(page, 'cohort-results-no-placebo');
      // dr-alice is a clinician: every researcher endpoint is refused (403, audited).
      const alice = await (await proxyContext(browser, 'dr-alice')).newPage();
      await alice.goto(`${PROXY_ORIGIN}/`);
      await ready(alice);
      const aliceTitle = await alice.textContent('h1');
      const aliceStatus = await alice.evaluate(async (j) => {
        const out = [];
        for (const u of ['/api/cohorts', `/api/cohorts/${j}`, `/api/cohorts/${j}/csv`]) out.push((await fetch(u)).status);
        return out;
      }, job);
      return { title, listed, stateBefore, progressBefore, progressAfter, progressLabel, plot, armRows, trial,
               trialNoPlacebo, csvHeader: csvLines[0], csvRows: csvLines.length - 1, disposition,
               suggested: download.suggestedFilename(), aliceTitle, aliceStatus,
               screenshots: [listShot, resultsShot, noPlaceboShot] };
    } finally {
      await browser.close();
    }
  },

  // Not a test: time from navigation start to the heart-rate plot drawn (#hr-plot's
  // data-drawn-ms, set by uPlot's draw hook) for 1 day (raw minutes) and 30 days (the
  // server's bucketed min/max/mean), median of HT_BENCH_RUNS fresh page loads each.
  async bench() {
    const runs = Number(process.env.HT_BENCH_RUNS || 7);
    const patient = env('HT_PATIENT');
    const to = Date.parse(env('HT_TO'));
    const range = (days) => `from=${encodeURIComponent(new Date(to - days * 86400e3).toISOString())}` +
                            `&to=${encodeURIComponent(env('HT_TO'))}`;
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    try {
      const context = await proxyContext(browser, 'dr-alice');
      const out = {};
      for (const days of [1, 30]) {
        const ms = [];
        const phases = { sessionEnd: [], hrWait: [], hrEnd: [], draw: [] };
        let points = 0;
        let timings = [];
        for (let i = 0; i <= runs; i++) {
          const page = await context.newPage();
          await page.goto(`${PROXY_ORIGIN}/patients/${patient}?${range(days)}`);
          await ready(page, 60000);
          await page.waitForSelector('#hr-plot[data-drawn-ms]');
          // In ms from the navigation's start (performance.now()'s origin), set by uPlot's draw hook.
          const t = Number(await page.getAttribute('#hr-plot', 'data-drawn-ms'));
          points = Number(await page.getAttribute('#hr-plot', 'data-points'));
          // Where the time went (the last run's resource timings: start and end, ms from navigation).
          timings = await page.evaluate(() => performance.getEntriesByType('navigation').concat(
            performance.getEntriesByType('resource')).map((e) => `${e.name.replace(/^https:\/\/[^/]+/, '')} ` +
            `${Math.round(e.startTime)}-${Math.round(e.responseEnd)}`));
          // Phases: /api/session answered; the heart-rate request's wait for its first byte (the
          // server's time) and its end; then the page's own work until the plot is drawn.
          const p = await page.evaluate(() => {
            const r = performance.getEntriesByType('resource');
            const session = r.find((e) => e.name.includes('/api/session'));
            const hr = r.find((e) => e.name.includes('type=heart_rate'));
            return { sessionEnd: session ? session.responseEnd : 0, hrWait: hr ? hr.responseStart - hr.requestStart : 0,
                     hrEnd: hr ? hr.responseEnd : 0 };
          });
          if (i > 0) {  // the first load warms caches (server and browser): not counted
            ms.push(t);
            phases.sessionEnd.push(p.sessionEnd);
            phases.hrWait.push(p.hrWait);
            phases.hrEnd.push(p.hrEnd);
            phases.draw.push(t - p.hrEnd);
          }
          await page.close();
        }
        const medianPhases = Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, Math.round(median(v))]));
        out[`d${days}`] = { medianMs: Math.round(median(ms)), runsMs: ms.map(Math.round), points, phasesMs: medianPhases,
                            timings };
      }
      out.ratio = out.d30.medianMs / out.d1.medianMs;
      return out;
    } finally {
      await browser.close();
    }
  },

  // dr-alice runs a what-if on her patient: progress, one plot series (and band) per option in
  // each of the four plots, the ranking. Without the CSRF token: 403. dr-bob: 403 (audited).
  async whatif() {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    try {
      const patient = env('HT_PATIENT');
      const page = await openPatient(browser, 'dr-alice', patient);
      // A third option by free entry: lisinopril 10 mg twice daily, 80 % adherence.
      await page.fill('#wi-drug', 'lisinopril');
      await page.fill('#wi-dose', '10');
      await page.selectOption('#wi-schedule', '12');
      await page.selectOption('#wi-adherence', '0.8');
      await page.click('#wi-add');
      await page.fill('#wi-days', '7');
      await page.fill('#wi-ensemble', '12');
      await page.click('#wi-run');
      await page.waitForSelector('body[data-whatif="done"], body[data-whatif="error"]', { timeout: 180000 });
      const state = await page.getAttribute('body', 'data-whatif');
      expect(state === 'done', `what-if failed: ${await page.textContent('#wi-status')}`);
      const ranking = await page.$$eval('#wi-ranking tbody tr', (trs) => trs.map((tr) =>
        Array.from(tr.children).map((td) => td.textContent)));
      const plots = {};
      for (const id of ['wi-sbp-plot', 'wi-dbp-plot', 'wi-hr-plot', 'wi-weight-plot']) {
        plots[id] = await page.$eval(`#${id}`, (el) => ({ options: Number(el.dataset.options || 0),
          days: Number(el.dataset.days || 0), canvases: el.querySelectorAll('canvas').length,
          legend: Array.from(el.querySelectorAll('.u-legend .u-series .u-label')).map((l) => l.textContent) }));
      }
      const progressEvents = Number(await page.getAttribute('body', 'data-whatif-progress'));
      const progressValue = Number(await page.$eval('#wi-progress', (el) => el.value));
      const screenshot = await shot(page, 'whatif');
      // The same POST without the token: refused before anything runs.
      const noToken = await page.evaluate(async (p) => (await fetch(`/api/patients/${p}/whatif`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"options": [{"name": "x"}]}',
      })).status, patient);
      // A bad dose, checked by the simulation service: 400 naming the field.
      const badDose = await page.evaluate(async (p) => {
        const session = await (await fetch('/api/session')).json();
        const r = await fetch(`/api/patients/${p}/whatif`, {
          method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': session.csrfToken },
          body: JSON.stringify({ days: 7, ensembleSize: 4, options: [{ name: 'big', drugs: [
            { drug: 'amlodipine', doseMg: 500, intervalH: 24, adherenceFraction: 1 }] }] }),
        });
        return { status: r.status, body: await r.json() };
      }, patient);
      const bob = await (await proxyContext(browser, 'dr-bob')).newPage();
      await bob.goto(`${PROXY_ORIGIN}/patients`);
      // Refused whether the request is well formed or not (the care team is checked first).
      const bobStatus = await bob.evaluate(async (p) => {
        const session = await (await fetch('/api/session')).json();
        const post = async (body) => (await fetch(`/api/patients/${p}/whatif`, {
          method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': session.csrfToken }, body,
        })).status;
        return [await post(JSON.stringify({ days: 7, ensembleSize: 4, options: [{ name: 'no change' }] })),
                await post('not json')];
      }, patient);
      return { ranking, plots, progressEvents, progressValue, screenshot, noToken, badDose, bobStatus,
               assumptions: await page.textContent('#wi-assumptions') };
    } finally {
      await browser.close();
    }
  },

  async patients() {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    try {
      const page = await (await proxyContext(browser, 'dr-alice')).newPage();
      const res = await page.goto(`${PROXY_ORIGIN}/patients`);
      expect(res.status() === 200, `status ${res.status()}`);
      const headers = res.headers();
      await ready(page);
      const rows = await page.$$eval('#patients tbody tr', (trs) => trs.map((tr) => tr.dataset.patientId));
      const alertsText = await page.$$eval('#patients tbody tr td:nth-child(2)', (tds) => tds.map((t) => t.textContent));
      const news2Text = await page.$$eval('#patients tbody tr td.news2', (tds) => tds.map((t) => t.textContent));
      const news2Label = await page.$$eval('#patients tbody tr td.news2', (tds) => tds.map((t) => t.getAttribute('aria-label')));
      const twinText = await page.$$eval('#patients tbody tr td.twin', (tds) => tds.map((t) => t.textContent));
      await page.waitForSelector('body[data-live="on"]', { timeout: 30000 });
      // Keyboard: Tab reaches the first patient's link.
      let focused = '';
      for (let i = 0; i < 5 && !focused.startsWith('/patients/'); ++i) {
        await page.keyboard.press('Tab');
        focused = await page.evaluate(() => document.activeElement.getAttribute('href') || '');
      }
      const screenshot = await shot(page, 'my-patients');
      return { rows, alertsText, news2Text, news2Label, twinText, focused, csp: headers['content-security-policy'], hsts: headers['strict-transport-security'],
               nosniff: headers['x-content-type-options'], cache: headers['cache-control'], screenshot };
    } finally {
      await browser.close();
    }
  },

  async patient() {
    const context = await nativeContext('dr-alice');
    try {
      const page = context.pages()[0] || (await context.newPage());
      const patient = env('HT_PATIENT');
      const range = `from=${encodeURIComponent(env('HT_FROM'))}&to=${encodeURIComponent(env('HT_TO'))}`;
      // Several pages over Chromium's own TLS stack: reconnects resume the session (issue 14's pitfall).
      const list = await page.goto(`${NATIVE_ORIGIN}/patients`);
      expect(list.status() === 200, `patients status ${list.status()}`);
      await ready(page);
      const res = await page.goto(`${NATIVE_ORIGIN}/patients/${patient}?${range}`);
      expect(res.status() === 200, `patient status ${res.status()}`);
      await ready(page);
      const points = Number(await page.getAttribute('#hr-plot', 'data-points'));
      const bpPoints = Number(await page.getAttribute('#bp-plot', 'data-points'));
      const canvases = await page.$$eval('#hr-plot canvas', (c) => c.length);
      const api = await page.evaluate(async (url) => (await fetch(url)).json(),
                                      `/api/patients/${patient}/vitals?type=heart_rate&${range}`);
      const apiPoints = api.mode === 'raw' ? api.samples.length : api.buckets.length;
      const patientShot = await shot(page, 'patient');
      // A POST without the CSRF token is refused, and changes nothing on the page.
      const alertId = await page.getAttribute('#alerts tbody tr[data-alert-id]', 'data-alert-id');
      const noToken = await page.evaluate(async (id) => (await fetch(`/api/alerts/${id}/acknowledge`,
                                                                     { method: 'POST', body: '{}' })).status, alertId);
      const before = (await page.textContent(`tr[data-alert-id="${alertId}"] .state`)).trim();
      await page.click(`tr[data-alert-id="${alertId}"] button`);
      await page.waitForFunction((id) => document.querySelector(`tr[data-alert-id="${id}"] .state`)
                                   ?.textContent.trim() === 'acknowledged', alertId, { timeout: 10000 });
      const after = (await page.textContent(`tr[data-alert-id="${alertId}"] .state`)).trim();
      const ackShot = await shot(page, 'patient-acknowledged');
      // The long range is bucketed: the band plot still has one point per bucket the API returned.
      const to = Date.parse(env('HT_TO'));
      const longRange = `from=${encodeURIComponent(new Date(to - 30 * 86400e3).toISOString())}&to=${encodeURIComponent(env('HT_TO'))}`;
      // Time to a rendered page (navigation to data-ready: HTML, scripts, API calls, uPlot drawn):
      // reported, not asserted (the benchmark of issue 14; the machine's load varies).
      let t0 = Date.now();
      await page.goto(`${NATIVE_ORIGIN}/patients/${patient}?${longRange}`);
      await ready(page);
      const longMs = Date.now() - t0;
      const longPoints = Number(await page.getAttribute('#hr-plot', 'data-points'));
      const longApi = await page.evaluate(async (url) => (await fetch(url)).json(),
                                          `/api/patients/${patient}/vitals?type=heart_rate&${longRange}`);
      const longShot = await shot(page, 'patient-30-days');
      return { points, bpPoints, canvases, apiPoints, apiMode: api.mode, noToken, alertId, before, after,
               longPoints, longApiPoints: longApi.buckets.length, longMode: longApi.mode, longMs,
               screenshots: [patientShot, ackShot, longShot] };
    } finally {
      await context.close();
    }
  },

  // dr-alice shelves an alert from the alert timeline: without a reason the server names the
  // field; with one the row shows the shelf.
  async shelve() {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    try {
      const patient = env('HT_PATIENT');
      const page = await openPatient(browser, 'dr-alice', patient);
      const alertId = await page.getAttribute('#alerts tbody tr[data-alert-id]', 'data-alert-id');
      const row = `tr[data-alert-id="${alertId}"]`;
      const before = (await page.textContent(`${row} .state`)).trim();
      await page.click(`${row} button.shelve`);
      await page.waitForSelector('#status.error', { timeout: 10000 });
      const noReason = (await page.textContent('#status')).trim();
      await page.fill(`${row} input.shelve-reason`, 'on rounds, reviewing at 10:00');
      await page.click(`${row} button.shelve`);
      await page.waitForFunction((sel) => document.querySelector(sel)?.textContent.includes('shelved until'),
                                 `${row} .state`, { timeout: 10000 });
      const after = (await page.textContent(`${row} .state`)).trim();
      const buttons = await page.$$eval(`${row} button.shelve`, (bs) => bs.length);
      const screenshot = await shot(page, 'patient-shelved');
      return { alertId, before, noReason, after, buttons, screenshot };
    } finally {
      await browser.close();
    }
  },

  async live() {
    const context = await nativeContext('dr-alice');
    try {
      const page = context.pages()[0] || (await context.newPage());
      const patient = env('HT_PATIENT');
      const range = `from=${encodeURIComponent(env('HT_FROM'))}&to=${encodeURIComponent(env('HT_TO'))}`;
      const res = await page.goto(`${NATIVE_ORIGIN}/patients/${patient}?${range}`);
      expect(res.status() === 200, `patient status ${res.status()}`);
      await ready(page);
      await page.waitForSelector('body[data-live="on"]', { timeout: 30000 });
      await page.waitForSelector('body[data-twin]', { timeout: 30000 });
      const twin = await page.getAttribute('body', 'data-twin');
      const twinStatus = (await page.textContent('#twin-status')).trim();
      const twinParams = await page.$$eval('#twin-params tbody tr', (trs) => trs.length);
      const twinPredicted = Number((await page.getAttribute('body', 'data-twin-predicted')) || '0');
      const twinShot = await shot(page, 'patient-no-twin');
      const pointsBefore = Number(await page.getAttribute('#hr-plot', 'data-points'));
      const rowsBefore = await page.$$eval('#alerts tbody tr[data-alert-id]', (trs) => trs.map((tr) => tr.dataset.alertId));
      // The test raises the alert and stores the sample now; nothing reloads the page.
      fs.writeFileSync(path.join(WORK, 'live-ready'), '');
      await page.waitForFunction((known) => [...document.querySelectorAll('#alerts tbody tr[data-alert-id]')]
                                   .some((tr) => !known.includes(tr.dataset.alertId)), rowsBefore, { timeout: 60000 });
      const alertId = await page.evaluate((known) => [...document.querySelectorAll('#alerts tbody tr[data-alert-id]')]
                                            .find((tr) => !known.includes(tr.dataset.alertId)).dataset.alertId, rowsBefore);
      const summary = (await page.textContent(`tr[data-alert-id="${alertId}"] td:nth-child(3)`)).trim();
      const before = (await page.textContent(`tr[data-alert-id="${alertId}"] .state`)).trim();
      const priority = (await page.textContent(`tr[data-alert-id="${alertId}"] td:nth-child(1)`)).trim();
      const liveShot = await shot(page, 'patient-live-alert');
      await page.click(`tr[data-alert-id="${alertId}"] button`);
      await page.waitForFunction((id) => document.querySelector(`tr[data-alert-id="${id}"] .state`)
                                   ?.textContent.trim() === 'acknowledged', alertId, { timeout: 10000 });
      const after = (await page.textContent(`tr[data-alert-id="${alertId}"] .state`)).trim();
      // The new sample arrives within a vitals poll (5 s) and is drawn.
      await page.waitForSelector('body[data-live-samples]', { timeout: 30000 });
      const liveSamples = Number(await page.getAttribute('body', 'data-live-samples'));
      const pointsAfter = Number(await page.getAttribute('#hr-plot', 'data-points'));
      const navigations = await page.evaluate(() => performance.getEntriesByType('navigation').length);
      const ackShot = await shot(page, 'patient-live-acknowledged');
      return { twin, twinStatus, twinParams, twinPredicted, alertId, summary, priority, before, after, liveSamples,
               pointsBefore, pointsAfter, navigations, screenshots: [twinShot, liveShot, ackShot] };
    } finally {
      await context.close();
    }
  },

  async twin() {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    try {
      const page = await (await proxyContext(browser, 'dr-alice')).newPage();
      const patient = env('HT_PATIENT');
      const range = `from=${encodeURIComponent(env('HT_FROM'))}&to=${encodeURIComponent(env('HT_TO'))}`;
      const res = await page.goto(`${PROXY_ORIGIN}/patients/${patient}?${range}`);
      expect(res.status() === 200, `patient status ${res.status()}`);
      await ready(page);
      await page.waitForSelector('body[data-twin]', { timeout: 30000 });
      const twin = await page.getAttribute('body', 'data-twin');
      const twinStatus = (await page.textContent('#twin-status')).trim();
      const params = await page.$$eval('#twin-params tbody tr', (trs) => trs.map((tr) =>
        [...tr.children].map((c) => c.textContent)));
      const api = await page.evaluate(async (p) => (await fetch(`/api/patients/${p}/twin`)).json(), patient);
      const paramsOrdered = api.twin.parameters.every((p) => p.lower90 <= p.value && p.value <= p.upper90);
      const points = api.prediction ? api.prediction.points : [];
      const intervalsOrdered = points.length > 0 && points.every((p) => p.lower <= p.mean && p.mean <= p.upper);
      const count = (type) => points.filter((p) => p.type === type).length;
      const attr = async (sel, name) => Number((await page.getAttribute(sel, name)) || '0');
      await page.locator('#twin-title').scrollIntoViewIfNeeded();
      const screenshot = await shot(page, 'patient-twin');
      return { twin, twinStatus, twinParams: params.length, params, paramsOrdered, intervalsOrdered,
               intervalLevel: api.intervalLevel, predictionError: api.predictionError || '',
               hrPredicted: await attr('#twin-hr-plot', 'data-predicted'),
               hrObserved: await attr('#twin-hr-plot', 'data-points'),
               bpPredicted: await attr('#twin-bp-plot', 'data-predicted'),
               apiHrPredicted: count('VITAL_TYPE_HEART_RATE'), apiSbpPredicted: count('VITAL_TYPE_SYSTOLIC_BP'),
               screenshot };
    } finally {
      await browser.close();
    }
  },

  async forbidden() {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    try {
      const page = await (await proxyContext(browser, 'dr-bob')).newPage();
      const res = await page.goto(`${PROXY_ORIGIN}/patients/${env('HT_PATIENT')}`);
      const title = await page.textContent('h1');
      const screenshot = await shot(page, 'forbidden-403');
      const api = await page.evaluate(async (p) => (await fetch(`/api/patients/${p}/vitals`)).status, env('HT_PATIENT'));
      return { status: res.status(), title, api, screenshot };
    } finally {
      await browser.close();
    }
  },

  async refused() {
    // No certificate, Chromium's own TLS: the handshake fails, no page.
    const context = await nativeContext(null);
    let nocert = '';
    try {
      const page = context.pages()[0] || (await context.newPage());
      try {
        const res = await page.goto(`${NATIVE_ORIGIN}/patients`, { timeout: 15000 });
        nocert = `HTTP ${res.status()}`;
      } catch (e) {
        nocert = e.message.split('\n')[0];
      }
    } finally {
      await context.close();
    }
    // A certificate of another CA, through the proxy: its TLS failure comes back as a synthetic 503.
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    let foreign = '';
    let foreignBody = '';
    try {
      const page = await (await proxyContext(browser, 'intruder', env('HT_FOREIGN_PKI'))).newPage();
      try {
        const res = await page.goto(`${PROXY_ORIGIN}/patients`, { timeout: 15000 });
        foreign = `HTTP ${res.status()}`;
        foreignBody = (await page.content()).slice(0, 2000);
      } catch (e) {
        foreign = e.message.split('\n')[0];
      }
    } finally {
      await browser.close();
    }
    return { nocert, foreign, foreignShowsDashboard: foreignBody.includes('My patients') };
  },
};

const name = process.argv[2];
if (!scenarios[name]) {
  console.error(`usage: node dashboard_e2e.mjs ${Object.keys(scenarios).join('|')}`);
  process.exit(2);
}
try {
  const result = await scenarios[name]();
  console.log(JSON.stringify(result));
} catch (e) {
  console.error(`${name}: ${e.stack || e}`);
  process.exit(1);
}
