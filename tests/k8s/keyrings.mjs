// Which pod holds which keys (deploy/k8s/README.md, "Keyrings"; docs/security.md, "Who holds which
// key"): the Secrets a keyring is made from, the files each holds, and the rule that every pod
// that writes audit records has a keyring from the Secret with the fewest keys it needs and that
// no other pod gets a Secret holding KEKs.

// The files each keyring Secret holds (pods_test.mjs fills them from the dev PKI's keyring).
export const KEYRING_SECRETS = {
  "healthtwin-keyring": ["active-kek", "kek-1.key", "blind-index.key", "audit-signing.key"],
  "healthtwin-clinician-keys": ["pseudonym.key", "audit-signing.key"],
  "healthtwin-audit-signing": ["audit-signing.key"],
};
const holdsKeks = (secret) => (KEYRING_SECRETS[secret] ?? []).some((f) => /^kek-\d+\.key$/.test(f));

// Workload -> the Secret its keyring is made from.
export const POD_KEYRINGS = {
  "ingest": "healthtwin-keyring",  // the registry's data keys
  "clinician-api": "healthtwin-clinician-keys",  // research pseudonyms
  "alerts": "healthtwin-audit-signing",
  "twin": "healthtwin-audit-signing",
  "simulation": "healthtwin-audit-signing",
  "feeds": "healthtwin-audit-signing",
};

const POD_KINDS = new Set(["Deployment", "StatefulSet", "Job"]);
const podSpec = (d) => d.spec.template.spec;
const label = (d) => `${d.kind}/${d.metadata.name}`;
const args = (c) => [...(c.command ?? []), ...(c.args ?? [])];
const under = (p, dir) => p === dir || p.startsWith(`${dir}/`);

// Every Secret a pod refers to: volumes (plain and projected) and environment.
function secretsOf(d) {
  const names = [];
  for (const v of podSpec(d).volumes ?? []) {
    if (v.secret) names.push(v.secret.secretName);
    for (const s of v.projected?.sources ?? []) if (s.secret) names.push(s.secret.name);
  }
  for (const c of [...(podSpec(d).initContainers ?? []), ...podSpec(d).containers]) {
    for (const e of c.env ?? []) if (e.valueFrom?.secretKeyRef) names.push(e.valueFrom.secretKeyRef.name);
    for (const e of c.envFrom ?? []) if (e.secretRef) names.push(e.secretRef.name);
  }
  return names;
}

// The problems of pod `d`'s keyring: --keyring DIR in an emptyDir that an init container fills
// from a Secret volume, that Secret being `want`.
function keyringProblems(d, want) {
  const spec = podSpec(d);
  const c = spec.containers[0];
  const dir = args(c).find((a) => a.startsWith("--keyring="))?.slice("--keyring=".length);
  if (!dir) return [`${label(d)}: no --keyring (it writes audit records and must sign checkpoints)`];
  const volume = (name) => (spec.volumes ?? []).find((v) => v.name === name);
  const mount = (c.volumeMounts ?? []).find((m) => under(dir, m.mountPath) && volume(m.name)?.emptyDir);
  if (!mount) return [`${label(d)}: --keyring ${dir} is not in an emptyDir volume`];
  const fills = (spec.initContainers ?? []).filter((ic) => {
    const mounts = ic.volumeMounts ?? [];
    const into = mounts.find((m) => m.name === mount.name);
    const from = mounts.find((m) => volume(m.name)?.secret);
    const script = args(ic).join(" ");
    return into && from && script.includes(`${from.mountPath}/`) &&
      script.includes(into.mountPath + dir.slice(mount.mountPath.length));
  });
  if (!fills.length) return [`${label(d)}: no init container copies a Secret into the keyring ${dir}`];
  const got = fills.flatMap((ic) => (ic.volumeMounts ?? []).map((m) => volume(m.name)?.secret?.secretName).filter(Boolean));
  if (got.length !== 1 || got[0] !== want) {
    return [`${label(d)}: keyring from Secret ${got.join(", ")}; it must be ${want} (${KEYRING_SECRETS[want].join(", ")})`];
  }
  return [];
}

export function keyrings(docs) {
  const out = [];
  const pods = docs.filter((d) => POD_KINDS.has(d.kind));
  for (const d of pods) {
    const want = POD_KEYRINGS[d.metadata.name];
    if (want && d.kind !== "Job") out.push(...keyringProblems(d, want));
    for (const s of secretsOf(d)) {
      if (holdsKeks(s) && !(want && holdsKeks(want))) out.push(`${label(d)}: gets Secret ${s}, which holds KEKs`);
    }
  }
  return out;
}
