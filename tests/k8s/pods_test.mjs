// k8s_pods: each pod of the example overlay run as its manifest says, without a cluster: the
// migration Job's container, ingest's init container, then every service's container with its
// command, arguments and environment ($(VAR) expanded as the kubelet does), its Secret volumes as
// files and its emptyDirs as directories, against a real private PostgreSQL and the dev PKI. Each
// readiness probe (the exec of `healthtwin health` with the pod's own certificate) must pass and
// each liveness port accept a connection; SIGTERM must stop each service cleanly.
// Run as root (as `make test` is), every pod process runs as uid and gid 10001, with the files as
// the kubelet leaves them for fsGroup 10001: Secret files root:10001 with group read added to
// their mode, emptyDirs root:10001 mode 2777.
// What differs from a cluster, and only that: mount paths become directories under a private
// root, ports become free ones on 127.0.0.1 (the pods would share this machine's 7443),
// dns:///NAME:PORT names localhost at NAME's port, and the root filesystem is this machine's.
// HT_BINS: "binary=path,..." for /usr/local/bin/<binary>; HT_PG_HARNESS, HT_PKI_SCRIPT.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { render } from "./render.mjs";
import { CONTAINERFILE, imagePackages } from "./containerfile.mjs";
import { KEYRING_SECRETS } from "./keyrings.mjs";

const K8S = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../deploy/k8s");
const BINS = Object.fromEntries((process.env.HT_BINS ?? "").split(",").filter(Boolean).map((kv) => kv.split("=")));
const UID = 10001;
const AS_ROOT = process.getuid() === 0;
// The pods' user, when this test may change user.
const POD_USER = AS_ROOT ? { uid: UID, gid: UID } : {};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// A deadline that does not keep the process alive once the race is won.
const deadline = (ms, value) => new Promise((r) => setTimeout(() => r(value), ms).unref());

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 120000, ...options });
  if (r.error) throw r.error;
  return r;
}

async function freePort() {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

const connects = (port) =>
  new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1", () => { s.destroy(); resolve(true); });
    s.on("error", () => resolve(false));
  });

// The files of the Secrets these pods mount, from the dev PKI and the private cluster.
function secretFiles(name, pki, pg) {
  const role = (w) => (w === "migrate" ? "migrator" : w.replaceAll("-", "_"));
  let m = /^healthtwin-tls-(.+)$/.exec(name);
  if (m) {
    const cert = m[1].replaceAll("-", "_");
    return { "ca.crt": `${pki}/ca.pem`, "tls.crt": `${pki}/${cert}.pem`, "tls.key": `${pki}/${cert}.key` };
  }
  m = /^healthtwin-db-(.+)$/.exec(name);
  if (m) {
    return { "pg_service.conf": `[healthtwin]\nhost=${pg.host}\nport=${pg.port}\ndbname=healthtwin\nuser=healthtwin_${role(m[1])}\n` };
  }
  // Each keyring Secret holds only its own files of the dev PKI's keyring (a clinician-api
  // keyring without KEKs, a signing keyring with nothing but audit-signing.key).
  if (KEYRING_SECRETS[name]) {
    return Object.fromEntries(KEYRING_SECRETS[name].map((f) => [f, `${pki}/keyring/${f}`]));
  }
  throw new Error(`no test content for Secret ${name}`);
}

// A pod's volumes as directories under root: Secrets filled (mode 0400), emptyDirs empty.
function materialise(doc, root, pki, pg) {
  const dirs = {};
  for (const v of doc.spec.template.spec.volumes ?? []) {
    const dir = path.join(root, v.name);
    mkdirSync(dir, { recursive: true });
    if (v.secret) {
      for (const [file, src] of Object.entries(secretFiles(v.secret.secretName, pki, pg))) {
        const to = path.join(dir, file);
        if (src.startsWith("/")) copyFileSync(src, to);
        else writeFileSync(to, src);
        chmodSync(to, v.secret.defaultMode);
        if (AS_ROOT) {
          chownSync(to, 0, UID);
          chmodSync(to, v.secret.defaultMode | 0o440);
        }
      }
      if (AS_ROOT) chownSync(dir, 0, UID);
      chmodSync(dir, 0o2755);
    } else if (v.emptyDir) {
      if (AS_ROOT) chownSync(dir, 0, UID);
      chmodSync(dir, 0o2777);
    } else {
      throw new Error(`${doc.metadata.name}: volume ${v.name} is neither a Secret nor an emptyDir`);
    }
    dirs[v.name] = dir;
  }
  return dirs;
}

// The container's command line and environment as this machine runs them.
function localise(c, dirs, ports, servicePorts) {
  const mounts = (c.volumeMounts ?? []).map((m) => [m.mountPath, dirs[m.name]]).sort((a, b) => b[0].length - a[0].length);
  const escape = (x) => x.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const mountPattern = new RegExp(`(${mounts.map(([from]) => escape(from)).join("|")})(?![\\w.-])`, "g");
  const env = {};
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath === "metadata.labels['apps.kubernetes.io/pod-index']") env[e.name] = "0";
    else throw new Error(`${c.name}: env ${e.name} has no value here`);
  }
  const fix = (s) => {
    // One pass, longest mount first, so a replaced path (under $TMPDIR) is not replaced again.
    if (mounts.length) s = s.replace(mountPattern, (m) => mounts.find(([from]) => from === m)[1]);
    s = s.replace(/\$\(([A-Z_]+)\)/g, (all, v) => env[v] ?? all);
    s = s.replace(/dns:\/\/\/([a-z-]+):(\d+)/, (_, svc, p) => `dns:///localhost:${servicePorts[svc][p]}`);
    s = s.replace(/^(--listen=)0\.0\.0\.0:(\d+)$/, (_, f, p) => `${f}127.0.0.1:${ports[p]}`);
    s = s.replace(/^localhost:(\d+)$/, (_, p) => `localhost:${ports[p]}`);
    s = s.replace(/^(--(?:https|dashboard)-port=)(\d+)$/, (_, f, p) => `${f}${ports[p]}`);
    return s.startsWith("/usr/local/bin/") ? BINS[path.basename(s)] ?? assert.fail(`no binary for ${s}`) : s;
  };
  for (const k of Object.keys(env)) env[k] = fix(env[k]);
  const argv = [...(c.command ?? []), ...(c.args ?? [])].map(fix);
  const probe = c.readinessProbe?.exec?.command.map(fix);
  // This machine's PATH and the sanitizer settings of the asan test preset, then the pod's own.
  const host = Object.fromEntries(
    ["PATH", "ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS"].filter((k) => process.env[k]).map((k) => [k, process.env[k]]),
  );
  return { argv, env: { ...host, ...env }, probe };
}

test("every pod of the example runs as its manifest says, and its probes pass", { timeout: 280000 }, async (t) => {
  const docs = render(path.join(K8S, "overlays/example"));
  const root = mkdtempSync(path.join(tmpdir(), "healthtwin-k8s-pods-"));
  // Its own directory under $TMPDIR: as root, the harness hands it to the postgres user, who could
  // not enter root's private one.
  const pgDir = mkdtempSync(path.join(tmpdir(), "healthtwin-k8s-pg-"));
  const started = [];
  try {
    // PostgreSQL, the database, the roles (as the superuser), and the dev PKI.
    const tSetup = Date.now();
    const start = run(process.env.HT_PG_HARNESS, ["start", "--dir", pgDir]);
    assert.equal(start.status, 0, start.stderr);
    // The pods' user may enter the socket directory (only that: its files stay the server's).
    chmodSync(pgDir, 0o711);
    chmodSync(root, 0o755);
    const pg = Object.fromEntries(start.stdout.trim().split(/\s+/).map((kv) => kv.split("=")));
    assert.equal(run(process.env.HT_PG_HARNESS, ["createdb", "--dir", pgDir, "healthtwin"]).status, 0);
    const roles = run(BINS["healthtwin-migrate"], ["--bootstrap-roles", "--db", `host=${pg.host} port=${pg.port} dbname=healthtwin user=${pg.user}`]);
    assert.equal(roles.status, 0, roles.stderr);
    const pki = path.join(root, "pki");
    const pkiRun = run("bash", [process.env.HT_PKI_SCRIPT, pki]);
    assert.equal(pkiRun.status, 0, pkiRun.stderr);

    // Ports: each pod's own, and each Service's for the clients.
    const workloads = docs.filter((d) => d.kind === "Deployment" || d.kind === "StatefulSet");
    const portsOf = {};
    for (const d of workloads) {
      portsOf[d.metadata.name] = {};
      for (const p of d.spec.template.spec.containers[0].ports) portsOf[d.metadata.name][p.containerPort] = await freePort();
    }

    // The migration Job's container.
    const job = docs.find((d) => d.kind === "Job" && d.metadata.name === "migrate");
    const jobDirs = materialise(job, path.join(root, "migrate"), pki, pg);
    const mig = localise(job.spec.template.spec.containers[0], jobDirs, {}, portsOf);
    const migRun = run(mig.argv[0], mig.argv.slice(1), { env: mig.env, ...POD_USER });
    assert.equal(migRun.status, 0, `migrate: ${migRun.stderr}`);
    t.diagnostic(`PostgreSQL, roles, PKI and the migration Job: ${(Date.now() - tSetup) / 1000} s`);

    // Every service: init containers to completion, then the container.
    const pods = [];
    for (const d of workloads) {
      const name = d.metadata.name;
      const dirs = materialise(d, path.join(root, name), pki, pg);
      for (const ic of d.spec.template.spec.initContainers ?? []) {
        const l = localise(ic, dirs, portsOf[name], portsOf);
        const r = run(l.argv[0], l.argv.slice(1), { env: l.env, ...POD_USER });
        assert.equal(r.status, 0, `${name} init ${ic.name}: ${r.stderr}`);
      }
      const c = d.spec.template.spec.containers[0];
      const l = localise(c, dirs, portsOf[name], portsOf);
      const child = spawn(l.argv[0], l.argv.slice(1), { env: l.env, stdio: ["ignore", "ignore", "pipe"], ...POD_USER });
      let stderr = "";
      let head = "";  // the start-up log, kept whole
      child.stderr.on("data", (b) => {
        stderr = (stderr + b).slice(-4000);
        if (head.length < 64000) head += b;
      });
      const exited = new Promise((r) => child.on("exit", (code, signal) => r({ code, signal })));
      started.push(child);
      const keyring = l.argv.some((a) => a.startsWith("--keyring="));
      pods.push({ name, child, exited, probe: l.probe, grpcPort: portsOf[name][7443], stderr: () => stderr, head: () => head, keyring });
    }

    // Readiness (the exec) and liveness (TCP) of each, within a minute; each pod with a keyring signs.
    const t0 = Date.now();
    for (const p of pods) {
      const deadline = Date.now() + 60000;
      let last;
      while (Date.now() < deadline) {
        last = run(p.probe[0], p.probe.slice(1), POD_USER);
        if (last.status === 0) break;
        if (p.child.exitCode !== null) break;
        await sleep(500);
      }
      assert.equal(last.status, 0, `${p.name}: readiness ${p.probe.join(" ")}\n${last.stdout}${last.stderr}\nservice:\n${p.stderr()}`);
      assert.match(last.stdout, /SERVING/, p.name);
      assert.ok(await connects(p.grpcPort), `${p.name}: liveness port ${p.grpcPort}`);
      // A pod with a keyring found its audit-signing.key in it and signs checkpoints.
      if (p.keyring) assert.match(p.head(), /audit\.checkpoints_enabled/, `${p.name}: signs no checkpoints:\n${p.head()}`);
      t.diagnostic(`${p.name}: ${last.stdout.trim()} at ${(Date.now() - t0) / 1000} s`);
    }

    // The probe is not a formality: with another pod's name expected it fails.
    const ingest = pods.find((p) => p.name === "ingest");
    const wrong = ingest.probe.map((a, i) => (ingest.probe[i - 1] === "--service" ? "alerts" : a));
    assert.notEqual(run(wrong[0], wrong.slice(1), POD_USER).status, 0, "a probe expecting alerts at ingest's port passed");

    // SIGTERM: each drains and exits 0.
    const t1 = Date.now();
    for (const p of pods) p.child.kill("SIGTERM");
    for (const p of pods) {
      const r = await Promise.race([p.exited, deadline(40000, { code: "timeout" })]);
      assert.deepEqual(r, { code: 0, signal: null }, `${p.name} on SIGTERM:\n${p.stderr()}`);
      t.diagnostic(`${p.name}: exited 0 ${(Date.now() - t1) / 1000} s after SIGTERM`);
    }
  } finally {
    for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    run(process.env.HT_PG_HARNESS, ["stop", "--dir", pgDir]);
    rmSync(root, { recursive: true, force: true });
    rmSync(pgDir, { recursive: true, force: true });
  }
});

// Packages of bookworm-slim itself (Priority: required) that the binaries link.
const IN_BASE_IMAGE = new Set(["libc6", "libgcc-s1", "zlib1g"]);

const SANITIZED = process.env.HT_SANITIZED === "1" && "sanitizer build: its binaries link libasan and libubsan, the image's do not";
test("the image installs the package of every shared library the pods' binaries need", { skip: SANITIZED }, () => {
  const installed = new Set(imagePackages(readFileSync(CONTAINERFILE, "utf8")));
  const missing = new Set();
  const owners = new Map();  // real path -> package (dpkg -S is slow; the binaries share most libraries)
  const ownerOf = (real) => {
    if (!owners.has(real)) {
      const r = [real, real.replace(/^\/usr\/lib\//, "/lib/")].map((p) => run("dpkg", ["-S", p])).find((x) => x.status === 0);
      owners.set(real, r?.stdout.split(":")[0]);
    }
    return owners.get(real);
  };
  for (const [name, bin] of Object.entries(BINS)) {
    const needed = [...run("readelf", ["-d", bin]).stdout.matchAll(/\(NEEDED\)\s+Shared library: \[(.+)\]/g)].map((m) => m[1]);
    assert.ok(needed.length > 0, `${name}: no NEEDED entries`);
    const where = Object.fromEntries(
      [...run("ldd", [bin]).stdout.matchAll(/^\s*(\S+) => (\S+)/gm)].map((m) => [m[1], m[2]]),
    );
    for (const lib of needed) {
      assert.ok(where[lib], `${name}: ldd does not resolve ${lib}`);
      const real = realpathSync(where[lib]);
      const pkg = ownerOf(real);
      assert.ok(pkg, `${name}: no package owns ${real}`);
      if (!installed.has(pkg) && !IN_BASE_IMAGE.has(pkg)) missing.add(`${pkg} (${lib}, ${name})`);
    }
  }
  assert.deepEqual([...missing], []);
});
