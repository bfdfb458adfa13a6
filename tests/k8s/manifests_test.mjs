// Offline validation of deploy/k8s (no cluster can run on these machines): every kustomization
// renders with kubectl, every document is valid against the Kubernetes schema, the project's
// rules (rules.mjs) hold, and broken copies are refused, one per rule. Run: node --test tests/k8s/
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { render, schemaErrors } from "./render.mjs";
import { RULES, rules } from "./rules.mjs";

const K8S = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../deploy/k8s");
const EXAMPLE = ["overlays/example", "overlays/example/cohort-shards", "overlays/example/cohort-merge"];
const SERVICES = ["ingest", "alerts", "twin", "simulation", "clinician-api", "feeds"];

// The architecture's edges in the example overlay (README.md, "Network policies").
function exampleEdges() {
  const e = new Set();
  const all = [...SERVICES, "migrate", "cohort-shards", "cohort-merge"];
  for (const w of all) for (const p of ["53/UDP", "53/TCP"]) e.add(`${w}->dns:${p}`);
  for (const w of [...SERVICES, "migrate"]) e.add(`${w}->database:5432/TCP`);
  for (const w of ["ingest", "alerts", "twin", "simulation"]) e.add(`clinician-api->${w}:7443/TCP`);
  e.add("outside:10.20.0.0/16->ingest:7443/TCP");
  e.add("outside:10.30.0.0/16->simulation:7443/TCP");
  for (const p of [7443, 8443, 9443]) e.add(`outside:10.30.0.0/16->clinician-api:${p}/TCP`);
  for (const p of [2575, 443]) e.add(`feeds->outside:10.40.1.0/24:${p}/TCP`);
  return e;
}

const renderAll = (root, dirs) => dirs.flatMap((d) => render(path.join(root, d)));
const example = () => renderAll(K8S, EXAMPLE);
const OPTIONS = { pinnedImages: true, edges: exampleEdges() };

test("every kustomization renders and every document is schema-valid", () => {
  for (const dir of ["base", "cohort/shards", "cohort/merge", ...EXAMPLE]) {
    const docs = render(path.join(K8S, dir));
    assert.ok(docs.length > 0, dir);
    assert.deepEqual(schemaErrors(docs), [], dir);
  }
});

test("the example has each service, the migration, the cohort jobs and nothing else", () => {
  const docs = example();
  const names = (kind) => docs.filter((d) => d.kind === kind).map((d) => d.metadata.name).sort();
  assert.deepEqual(names("Deployment"), ["alerts", "clinician-api", "feeds", "ingest", "simulation"]);
  assert.deepEqual(names("StatefulSet"), ["twin"]);
  assert.deepEqual(names("Job"), ["cohort-merge", "cohort-shards", "migrate"]);
  assert.deepEqual(names("Service"), [...SERVICES].sort());
  assert.deepEqual(names("PodDisruptionBudget"), [...SERVICES].sort());
  assert.ok(docs.every((d) => d.metadata.namespace === "healthtwin"), "all in namespace healthtwin");
  assert.deepEqual(docs.find((d) => d.kind === "StatefulSet").spec.replicas, 4);
});

test("the example deployment follows every rule", () => {
  assert.deepEqual(rules(example(), OPTIONS), []);
});

test("the base and the cohort templates follow every rule but the overlay's", () => {
  for (const dir of ["base", "cohort/shards", "cohort/merge"]) {
    assert.deepEqual(rules(render(path.join(K8S, dir))), [], dir);
  }
});

test("the schema check refuses a wrong type, a missing required field and an unknown kind", () => {
  const docs = example();
  const sts = structuredClone(docs.find((d) => d.kind === "StatefulSet"));
  sts.spec.replicas = "four";
  assert.match(schemaErrors([sts]).join(), /replicas must be integer/);
  const svc = structuredClone(docs.find((d) => d.kind === "Service"));
  svc.spec.ports[0].port = undefined;
  delete svc.spec.ports[0].port;
  assert.match(schemaErrors([svc]).join(), /must have required property '?port'?/);
  assert.match(schemaErrors([{ apiVersion: "v1", kind: "Pod", metadata: { name: "p" } }]).join(), /not a kind/);
});

// Broken variants: each mutates the rendered example and must be refused by the named rule.
const find = (docs, kind, name) => docs.find((d) => d.kind === kind && d.metadata.name === name);
const main = (docs, kind, name) => find(docs, kind, name).spec.template.spec.containers[0];
const setArg = (c, flag, value) => { c.args = c.args.map((a) => (a.startsWith(`${flag}=`) ? `${flag}=${value}` : a)); };
const BROKEN = [
  ["non-root", "pod runs as root", (d) => { find(d, "Deployment", "ingest").spec.template.spec.securityContext.runAsUser = 0; }],
  ["non-root", "container back to root", (d) => { main(d, "Deployment", "feeds").securityContext.runAsUser = 0; }],
  ["non-root", "privileged container", (d) => { main(d, "Job", "migrate").securityContext.privileged = true; }],
  ["read-only-root", "writable root", (d) => { main(d, "StatefulSet", "twin").securityContext.readOnlyRootFilesystem = false; }],
  ["read-only-root", "init container writable", (d) => {
    find(d, "Deployment", "ingest").spec.template.spec.initContainers[0].securityContext.readOnlyRootFilesystem = false;
  }],
  ["no-privilege-escalation", "escalation allowed", (d) => { main(d, "Deployment", "alerts").securityContext.allowPrivilegeEscalation = true; }],
  ["drop-all-capabilities", "a capability added", (d) => { main(d, "Deployment", "simulation").securityContext.capabilities.add = ["NET_ADMIN"]; }],
  ["drop-all-capabilities", "nothing dropped", (d) => { main(d, "Job", "cohort-shards").securityContext.capabilities.drop = []; }],
  ["seccomp", "unconfined", (d) => { find(d, "Job", "cohort-merge").spec.template.spec.securityContext.seccompProfile.type = "Unconfined"; }],
  ["host-isolation", "hostPath", (d) => {
    find(d, "Deployment", "feeds").spec.template.spec.volumes.push({ name: "h", hostPath: { path: "/var/run" } });
  }],
  ["host-isolation", "hostNetwork", (d) => { find(d, "Deployment", "clinician-api").spec.template.spec.hostNetwork = true; }],
  ["host-isolation", "service account token", (d) => { delete find(d, "StatefulSet", "twin").spec.template.spec.automountServiceAccountToken; }],
  ["resources", "no memory limit", (d) => { delete main(d, "Deployment", "ingest").resources.limits.memory; }],
  ["resources", "init container without requests", (d) => { delete find(d, "Deployment", "ingest").spec.template.spec.initContainers[0].resources; }],
  ["secrets", "a Secret in the manifests", (d) => { d.push({ apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, data: {} }); }],
  ["secrets", "secret mode 0644", (d) => { find(d, "Deployment", "alerts").spec.template.spec.volumes[0].secret.defaultMode = 0o644; }],
  ["secrets", "no fsGroup", (d) => { delete find(d, "Deployment", "alerts").spec.template.spec.securityContext.fsGroup; }],
  ["secrets", "password in an environment variable", (d) => { main(d, "Job", "migrate").env.push({ name: "PGPASSWORD", value: "x" }); }],
  ["files-from-secrets", "conninfo in a flag", (d) => { setArg(main(d, "Deployment", "feeds"), "--db", "host=db user=healthtwin_feeds"); }],
  ["files-from-secrets", "key outside a Secret", (d) => { setArg(main(d, "Deployment", "ingest"), "--tls-key", "/tmp/tls.key"); }],
  ["probes", "readiness with another certificate", (d) => {
    const c = main(d, "Deployment", "alerts");
    c.readinessProbe.exec.command = c.readinessProbe.exec.command.map((a) => (a.endsWith("tls.crt") ? "/tmp/other.crt" : a));
  }],
  ["probes", "kubelet gRPC readiness", (d) => { main(d, "Deployment", "ingest").readinessProbe = { grpc: { port: 7443 } }; }],
  ["probes", "no liveness", (d) => { delete main(d, "StatefulSet", "twin").livenessProbe; }],
  ["services-and-budgets", "Service with a cluster IP", (d) => { find(d, "Service", "alerts").spec.clusterIP = "10.0.0.9"; }],
  ["services-and-budgets", "no budget", (d) => { d.splice(d.indexOf(find(d, "PodDisruptionBudget", "feeds")), 1); }],
  ["client-addresses", "plain host:port", (d) => { setArg(main(d, "Deployment", "clinician-api"), "--twin-addr", "twin:7443"); }],
  ["client-addresses", "a port the Service lacks", (d) => { setArg(main(d, "Deployment", "clinician-api"), "--alerts-addr", "dns:///alerts:7444"); }],
  ["defined-variables", "undefined variable", (d) => { main(d, "StatefulSet", "twin").env = main(d, "StatefulSet", "twin").env.filter((e) => e.name !== "SHARD_INDEX"); }],
  ["twin-shards", "replicas without SHARD_COUNT", (d) => { find(d, "StatefulSet", "twin").spec.replicas = 5; }],
  ["twin-shards", "clinician-api unaware of the shards", (d) => {
    main(d, "Deployment", "clinician-api").env.find((e) => e.name === "TWIN_SHARDS").value = "1";
  }],
  ["twin-shards", "one twin address for every shard", (d) => { setArg(main(d, "Deployment", "clinician-api"), "--twin-addr", "dns:///twin:7443"); }],
  ["client-addresses", "a shard address through a Service of another set", (d) => {
    setArg(main(d, "Deployment", "clinician-api"), "--twin-addr", "dns:///twin-{shard}.alerts:7443");
  }],
  ["twin-shards", "shard index from elsewhere", (d) => {
    main(d, "StatefulSet", "twin").env.find((e) => e.name === "SHARD_INDEX").valueFrom.fieldRef.fieldPath = "metadata.name";
  }],
  ["cohort-shards", "completions unlike SHARD_COUNT", (d) => { find(d, "Job", "cohort-shards").spec.completions = 3; }],
  ["cohort-shards", "every shard writes one file", (d) => { setArg(main(d, "Job", "cohort-shards"), "--out", "/work/cohort/part.json"); }],
  ["keyrings", "clinician-api gets the KEK Secret", (d) => {
    find(d, "Deployment", "clinician-api").spec.template.spec.volumes.find((v) => v.name === "keyring-secret").secret.secretName = "healthtwin-keyring";
  }],
  ["keyrings", "twin gets the clinician keys (a pseudonym key it does not need)", (d) => {
    find(d, "StatefulSet", "twin").spec.template.spec.volumes.find((v) => v.name === "keyring-secret").secret.secretName = "healthtwin-clinician-keys";
  }],
  ["keyrings", "alerts without --keyring", (d) => {
    const c = main(d, "Deployment", "alerts");
    c.args = c.args.filter((a) => !a.startsWith("--keyring="));
  }],
  ["keyrings", "feeds' keyring filled by no init container", (d) => { delete find(d, "Deployment", "feeds").spec.template.spec.initContainers; }],
  ["keyrings", "simulation's keyring outside the emptyDir", (d) => { setArg(main(d, "Deployment", "simulation"), "--keyring", "/tmp/keys"); }],
  ["keyrings", "the migration mounts the KEK Secret", (d) => {
    find(d, "Job", "migrate").spec.template.spec.volumes.push({ name: "k", secret: { secretName: "healthtwin-keyring", defaultMode: 0o400 } });
  }],
  ["keyrings", "a cohort shard reads a KEK Secret through a projected volume", (d) => {
    find(d, "Job", "cohort-shards").spec.template.spec.volumes.push({ name: "k", projected: { sources: [{ secret: { name: "healthtwin-keyring" } }] } });
  }],
  ["keyrings", "clinician-api gets a KEK Secret in its environment", (d) => {
    main(d, "Deployment", "clinician-api").env.push({ name: "K", valueFrom: { secretKeyRef: { name: "healthtwin-keyring", key: "kek-1.key" } } });
  }],
  ["pinned-images", "latest", (d) => { main(d, "Deployment", "feeds").image = "registry.example.org/healthtwin:latest"; }],
  ["pinned-images", "no tag", (d) => { main(d, "Job", "migrate").image = "registry.example.org:5000/healthtwin"; }],
  ["network", "no default deny", (d) => { d.splice(d.indexOf(find(d, "NetworkPolicy", "default-deny")), 1); }],
  ["network", "alerts open to ingest", (d) => {
    find(d, "NetworkPolicy", "alerts").spec.ingress[0].from.push({ podSelector: { matchLabels: { "app.kubernetes.io/name": "ingest" } } });
    find(d, "NetworkPolicy", "database").spec.egress.push({
      to: [{ podSelector: { matchLabels: { "app.kubernetes.io/name": "alerts" } } }], ports: [{ protocol: "TCP", port: 7443 }],
    });
  }],
  ["network", "a rule without ports", (d) => { delete find(d, "NetworkPolicy", "twin").spec.ingress[0].ports; }],
  ["network", "cohort shards reach the database", (d) => {
    find(d, "Job", "cohort-shards").spec.template.metadata.labels["healthtwin/database"] = "true";
  }],
  ["network", "clinician-api cannot reach simulation", (d) => { find(d, "NetworkPolicy", "clinician-api").spec.egress[0].to.pop(); }],
  ["network", "simulation does not admit clinician-api", (d) => { find(d, "NetworkPolicy", "simulation").spec.ingress[0].from.shift(); }],
];

const GOOD = example();
for (const [rule, what, mutate] of BROKEN) {
  test(`rule ${rule} refuses a broken copy: ${what}`, () => {
    const docs = structuredClone(GOOD);
    mutate(docs);
    assert.ok(RULES[rule](docs, OPTIONS).length > 0, `${rule}: "${what}" was not refused`);
  });
}

test("every rule has a broken variant", () => {
  assert.deepEqual([...new Set(BROKEN.map(([rule]) => rule))].sort(), Object.keys(RULES).sort());
});

test("broken files are refused end to end: render, schema, rules", () => {
  const root = mkdtempSync(path.join(tmpdir(), "healthtwin-k8s-"));
  try {
    const edit = (file, from, to) => {
      const p = path.join(root, file);
      const text = readFileSync(p, "utf8");
      assert.ok(text.includes(from), `${file} lacks ${from}`);
      writeFileSync(p, text.replace(from, to));
    };
    const fresh = () => { rmSync(path.join(root, "k8s"), { recursive: true, force: true }); cpSync(K8S, path.join(root, "k8s"), { recursive: true }); };
    const check = (dirs) => {
      const docs = renderAll(path.join(root, "k8s"), dirs);
      return [...schemaErrors(docs), ...rules(docs, OPTIONS)];
    };
    fresh();
    assert.deepEqual(check(EXAMPLE), [], "an unchanged copy passes");
    // The overlay scales the twin without its shard count.
    edit("k8s/overlays/example/twin-shards.yaml", 'value: "4"', 'value: "3"');
    assert.match(check(EXAMPLE).join("\n"), /SHARD_COUNT 3 is not replicas 4/);
    fresh();
    // A type error in the base.
    edit("k8s/base/feeds.yaml", "replicas: 2", "replicas: two");
    assert.match(check(EXAMPLE).join("\n"), /Deployment feeds: .*replicas must be integer/);
    fresh();
    // A file kustomize cannot parse.
    edit("k8s/base/kustomization.yaml", "  - feeds.yaml", "  - feeds.yaml\n  - missing.yaml");
    assert.throws(() => check(EXAMPLE), /kubectl kustomize .* failed/);
    fresh();
    // The base gives clinician-api the data keys.
    edit("k8s/base/clinician-api.yaml", "secretName: healthtwin-clinician-keys", "secretName: healthtwin-keyring");
    assert.match(check(EXAMPLE).join("\n"), /Deployment\/clinician-api: gets Secret healthtwin-keyring, which holds KEKs/);
    fresh();
    // A workload left out of the keyring patch.
    edit("k8s/base/kustomization.yaml", "  - target: {group: apps, version: v1, kind: StatefulSet, name: twin}\n    path: keyring-init.yaml\n", "");
    assert.match(check(EXAMPLE).join("\n"), /StatefulSet\/twin: no --keyring/);
    fresh();
    // The overlay opens the database to every pod of the namespace.
    edit("k8s/base/networkpolicies.yaml", "      healthtwin/database: \"true\"\n", "");
    assert.match(check(EXAMPLE).join("\n"), /unexpected edge cohort-shards->database/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
