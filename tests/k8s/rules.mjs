// The project's own rules for deploy/k8s (README.md there says why each exists). rules(docs)
// returns one message per violation, each starting with the rule's name.
import { allowedEdges } from "./netpol.mjs";
import { keyrings } from "./keyrings.mjs";

const POD_KINDS = new Set(["Deployment", "StatefulSet", "Job"]);
const SERVING_KINDS = new Set(["Deployment", "StatefulSet"]);
const UID = 10001;

const podSpec = (d) => d.spec.template.spec;
const allContainers = (d) => [...(podSpec(d).initContainers ?? []), ...podSpec(d).containers];
const label = (d) => `${d.kind}/${d.metadata.name}`;
const args = (c) => [...(c.command ?? []), ...(c.args ?? [])];
const argValue = (c, flag) => args(c).find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1);

// Each rule: (docs, options) => array of problems (strings).
export const RULES = {
  "non-root": (docs) =>
    docs.filter((d) => POD_KINDS.has(d.kind)).flatMap((d) => {
      const s = podSpec(d).securityContext ?? {};
      const out = [];
      if (s.runAsNonRoot !== true || s.runAsUser !== UID || s.runAsGroup !== UID) {
        out.push(`${label(d)}: pod must set runAsNonRoot, runAsUser ${UID} and runAsGroup ${UID}`);
      }
      for (const c of allContainers(d)) {
        const cs = c.securityContext ?? {};
        if (cs.runAsNonRoot === false || (cs.runAsUser !== undefined && cs.runAsUser !== UID) || cs.privileged) {
          out.push(`${label(d)} container ${c.name}: overrides the non-root user or is privileged`);
        }
      }
      return out;
    }),
  "read-only-root": (docs) =>
    docs.filter((d) => POD_KINDS.has(d.kind)).flatMap((d) =>
      allContainers(d)
        .filter((c) => c.securityContext?.readOnlyRootFilesystem !== true)
        .map((c) => `${label(d)} container ${c.name}: readOnlyRootFilesystem must be true`),
    ),
  "no-privilege-escalation": (docs) =>
    docs.filter((d) => POD_KINDS.has(d.kind)).flatMap((d) =>
      allContainers(d)
        .filter((c) => c.securityContext?.allowPrivilegeEscalation !== false)
        .map((c) => `${label(d)} container ${c.name}: allowPrivilegeEscalation must be false`),
    ),
  "drop-all-capabilities": (docs) =>
    docs.filter((d) => POD_KINDS.has(d.kind)).flatMap((d) =>
      allContainers(d)
        .filter((c) => !(c.securityContext?.capabilities?.drop ?? []).includes("ALL") ||
          (c.securityContext?.capabilities?.add ?? []).length > 0)
        .map((c) => `${label(d)} container ${c.name}: must drop ALL capabilities and add none`),
    ),
  "seccomp": (docs) =>
    docs.filter((d) => POD_KINDS.has(d.kind) && podSpec(d).securityContext?.seccompProfile?.type !== "RuntimeDefault")
      .map((d) => `${label(d)}: seccompProfile must be RuntimeDefault`),
  "host-isolation": (docs) =>
    docs.filter((d) => POD_KINDS.has(d.kind)).flatMap((d) => {
      const s = podSpec(d);
      const out = [];
      if (s.hostNetwork || s.hostPID || s.hostIPC) out.push(`${label(d)}: shares a host namespace`);
      for (const v of s.volumes ?? []) if (v.hostPath) out.push(`${label(d)}: hostPath volume ${v.name}`);
      if (s.automountServiceAccountToken !== false) out.push(`${label(d)}: automountServiceAccountToken must be false`);
      for (const c of allContainers(d)) {
        if ((c.ports ?? []).some((p) => p.hostPort)) out.push(`${label(d)} container ${c.name}: hostPort`);
      }
      return out;
    }),
  "resources": (docs) =>
    docs.filter((d) => POD_KINDS.has(d.kind)).flatMap((d) =>
      allContainers(d)
        .filter((c) => !(c.resources?.requests?.cpu && c.resources?.requests?.memory &&
          c.resources?.limits?.cpu && c.resources?.limits?.memory))
        .map((c) => `${label(d)} container ${c.name}: needs cpu and memory requests and limits`),
    ),
  // Secrets: never in the manifests; mounted 0400 with fsGroup so that uid 10001 reads them.
  "secrets": (docs) => [
    ...docs.filter((d) => d.kind === "Secret").map((d) => `Secret/${d.metadata.name}: secret material in the manifests`),
    ...docs.filter((d) => POD_KINDS.has(d.kind)).flatMap((d) => {
      const out = [];
      const secrets = (podSpec(d).volumes ?? []).filter((v) => v.secret);
      for (const v of secrets) {
        if (v.secret.defaultMode !== 0o400) out.push(`${label(d)}: secret volume ${v.name} must have defaultMode 0400`);
        if ((v.secret.items ?? []).some((i) => i.mode !== undefined && i.mode !== 0o400)) {
          out.push(`${label(d)}: secret volume ${v.name} has an item not 0400`);
        }
      }
      if (secrets.length && podSpec(d).securityContext?.fsGroup !== UID) {
        out.push(`${label(d)}: secret volumes need fsGroup ${UID} (else uid ${UID} cannot read them)`);
      }
      for (const c of allContainers(d)) {
        if ((c.env ?? []).some((e) => /^PGPASSWORD$/.test(e.name)) || args(c).some((a) => /password=/i.test(a))) {
          out.push(`${label(d)} container ${c.name}: a database password outside the service file`);
        }
      }
      return out;
    }),
  ],
  // Database and TLS files come from mounted Secrets; conninfo is the libpq service file.
  "files-from-secrets": (docs) =>
    docs.filter((d) => POD_KINDS.has(d.kind)).flatMap((d) => {
      const secretVols = new Set((podSpec(d).volumes ?? []).filter((v) => v.secret).map((v) => v.name));
      const out = [];
      for (const c of podSpec(d).containers) {
        const mounts = (c.volumeMounts ?? []).filter((m) => secretVols.has(m.name));
        const inSecret = (path) => mounts.some((m) => path.startsWith(`${m.mountPath}/`));
        const db = argValue(c, "--db");
        if (db !== undefined) {
          const file = (c.env ?? []).find((e) => e.name === "PGSERVICEFILE")?.value;
          if (db !== "service=healthtwin" || !file || !inSecret(file)) {
            out.push(`${label(d)} container ${c.name}: --db must be service=healthtwin with PGSERVICEFILE in a Secret`);
          }
        }
        for (const flag of ["--tls-ca", "--tls-cert", "--tls-key"]) {
          const v = argValue(c, flag);
          if (v !== undefined && !inSecret(v)) out.push(`${label(d)} container ${c.name}: ${flag} ${v} not in a Secret`);
        }
        if (SERVING_KINDS.has(d.kind) && argValue(c, "--tls-key") === undefined) {
          out.push(`${label(d)} container ${c.name}: a service without --tls-key`);
        }
      }
      return out;
    }),
  // Readiness asks the service's health over mutual TLS with the pod's own certificate; liveness is
  // a TCP check of the gRPC port.
  "probes": (docs) =>
    docs.filter((d) => SERVING_KINDS.has(d.kind)).flatMap((d) =>
      podSpec(d).containers.flatMap((c) => {
        const out = [];
        const cmd = c.readinessProbe?.exec?.command ?? [];
        const after = (f) => cmd[cmd.indexOf(f) + 1];
        const ok = cmd[0]?.endsWith("/healthtwin") && cmd.includes("health") &&
          after("--cert") === argValue(c, "--tls-cert") && after("--key") === argValue(c, "--tls-key") &&
          after("--ca") === argValue(c, "--tls-ca") && after("--service") && after("--addr") === "localhost:7443";
        if (!ok) out.push(`${label(d)} container ${c.name}: readiness must exec healthtwin health with the pod's own certificate`);
        const port = c.livenessProbe?.tcpSocket?.port;
        if (port !== "grpc" && port !== 7443) out.push(`${label(d)} container ${c.name}: liveness must be a TCP check of the gRPC port`);
        if (!argValue(c, "--listen")?.endsWith(":7443")) out.push(`${label(d)} container ${c.name}: must listen on 7443`);
        return out;
      }),
    ),
  // Every workload has a headless Service of its own name and a PodDisruptionBudget.
  "services-and-budgets": (docs) =>
    docs.filter((d) => SERVING_KINDS.has(d.kind)).flatMap((d) => {
      const labels = d.spec.template.metadata.labels;
      const matches = (sel) => sel && Object.entries(sel).every(([k, v]) => labels[k] === v);
      const svc = docs.find((s) => s.kind === "Service" && s.metadata.name === d.metadata.name);
      const out = [];
      if (!svc || svc.spec.clusterIP !== "None" || !matches(svc.spec.selector)) {
        out.push(`${label(d)}: needs a headless Service ${d.metadata.name} selecting its pods`);
      }
      if (d.kind === "StatefulSet" && d.spec.serviceName !== d.metadata.name) {
        out.push(`${label(d)}: serviceName must be its headless Service`);
      }
      if (!docs.some((p) => p.kind === "PodDisruptionBudget" && matches(p.spec.selector?.matchLabels))) {
        out.push(`${label(d)}: needs a PodDisruptionBudget`);
      }
      return out;
    }),
  // Clients resolve every pod (dns:///NAME:PORT) of a Service that exists.
  "client-addresses": (docs) =>
    docs.filter((d) => POD_KINDS.has(d.kind)).flatMap((d) =>
      allContainers(d).flatMap((c) =>
        args(c).filter((a) => /^--[a-z-]+-addr=/.test(a)).flatMap((a) => {
          // dns:///SERVICE:PORT, or dns:///SET-{shard}.SERVICE:PORT: one pod of StatefulSet SET
          // through its headless Service (clinician-api's channel per twin shard).
          const m = /^--[a-z-]+-addr=dns:\/\/\/(?:([a-z0-9-]+)-\{shard\}\.)?([a-z0-9-]+):(\d+)$/.exec(a);
          const svc = m && docs.find((s) => s.kind === "Service" && s.metadata.name === m[2]);
          if (!svc || !svc.spec.ports.some((p) => String(p.port) === m[3])) {
            return [`${label(d)} container ${c.name}: ${a} must be dns:///SERVICE:PORT of a Service here`];
          }
          if (m[1] !== undefined) {
            const set = docs.find((s) => s.kind === "StatefulSet" && s.metadata.name === m[1]);
            if (!set || set.spec.serviceName !== m[2] || svc.spec.clusterIP !== "None") {
              return [`${label(d)} container ${c.name}: ${a} must name a StatefulSet's pods through its headless Service`];
            }
          }
          return [];
        }),
      ),
    ),
  // $(VAR) in a command line must be a variable the container defines (else Kubernetes passes it on
  // literally).
  "defined-variables": (docs) =>
    docs.filter((d) => POD_KINDS.has(d.kind)).flatMap((d) =>
      allContainers(d).flatMap((c) => {
        const env = new Set((c.env ?? []).map((e) => e.name));
        return args(c).flatMap((a) => [...a.matchAll(/\$\(([A-Z_]+)\)/g)])
          .filter((m) => !env.has(m[1]))
          .map((m) => `${label(d)} container ${c.name}: $(${m[1]}) is not defined`);
      }),
    ),
  // The twin: shard index from the pod ordinal, shard count equal to replicas.
  "twin-shards": (docs) => {
    const sts = docs.filter((d) => d.kind === "StatefulSet" && d.metadata.name === "twin");
    if (!docs.some((d) => SERVING_KINDS.has(d.kind))) return [];
    if (sts.length !== 1) return ["StatefulSet/twin: missing"];
    const d = sts[0];
    const c = podSpec(d).containers.find((x) => x.name === "twin");
    const env = Object.fromEntries((c?.env ?? []).map((e) => [e.name, e]));
    const out = [];
    if (env.SHARD_INDEX?.valueFrom?.fieldRef?.fieldPath !== "metadata.labels['apps.kubernetes.io/pod-index']") {
      out.push("StatefulSet/twin: SHARD_INDEX must come from the pod-index label");
    }
    if (env.SHARD_COUNT?.value !== String(d.spec.replicas)) {
      out.push(`StatefulSet/twin: SHARD_COUNT ${env.SHARD_COUNT?.value} is not replicas ${d.spec.replicas}`);
    }
    if (argValue(c, "--shard-index") !== "$(SHARD_INDEX)" || argValue(c, "--shard-count") !== "$(SHARD_COUNT)") {
      out.push("StatefulSet/twin: --shard-index/--shard-count must be $(SHARD_INDEX)/$(SHARD_COUNT)");
    }
    // clinician-api routes each twin call to its patient's shard: one address per pod.
    const api = docs.find((x) => x.kind === "Deployment" && x.metadata.name === "clinician-api");
    const ac = api && podSpec(api).containers.find((x) => x.name === "clinician-api");
    if (ac) {
      const apiEnv = Object.fromEntries((ac.env ?? []).map((e) => [e.name, e]));
      if (argValue(ac, "--twin-shards") !== "$(TWIN_SHARDS)" || apiEnv.TWIN_SHARDS?.value !== String(d.spec.replicas)) {
        out.push(`Deployment/clinician-api: --twin-shards must be $(TWIN_SHARDS) = replicas ${d.spec.replicas}, ` +
                 `is ${argValue(ac, "--twin-shards")} with TWIN_SHARDS ${apiEnv.TWIN_SHARDS?.value}`);
      }
      if (!(argValue(ac, "--twin-addr") ?? "").includes("{shard}")) {
        out.push("Deployment/clinician-api: --twin-addr must name each shard's pod ({shard})");
      }
    }
    return out;
  },
  // Cohort shards: one pod an index, N everywhere the same; parts where the merge reads them.
  "cohort-shards": (docs) =>
    docs.filter((d) => d.kind === "Job" && d.spec.completionMode === "Indexed").flatMap((d) => {
      const c = podSpec(d).containers[0];
      const n = (c.env ?? []).find((e) => e.name === "SHARD_COUNT")?.value;
      const out = [];
      if (d.spec.completions === undefined || String(d.spec.completions) !== n || d.spec.parallelism > d.spec.completions) {
        out.push(`${label(d)}: completions ${d.spec.completions} must equal SHARD_COUNT ${n}`);
      }
      if (argValue(c, "--shard") !== "$(JOB_COMPLETION_INDEX)/$(SHARD_COUNT)") {
        out.push(`${label(d)}: --shard must be $(JOB_COMPLETION_INDEX)/$(SHARD_COUNT)`);
      }
      if (!/\/part-\$\(JOB_COMPLETION_INDEX\)\.json$/.test(argValue(c, "--out") ?? "")) {
        out.push(`${label(d)}: --out must be DIR/part-$(JOB_COMPLETION_INDEX).json`);
      }
      return out;
    }),
  // Each pod that writes audit records has a keyring from the Secret with the fewest keys it needs;
  // only ingest gets the KEKs (keyrings.mjs).
  "keyrings": keyrings,
  // Image: pinned by tag (not latest) or digest; options.pinnedImages for overlays.
  "pinned-images": (docs, options = {}) =>
    !options.pinnedImages ? [] : docs.filter((d) => POD_KINDS.has(d.kind)).flatMap((d) =>
      allContainers(d)
        .filter((c) => !/@sha256:[0-9a-f]{64}$/.test(c.image) && !/:[\w][\w.-]*$/.test(c.image.split("/").pop()) ||
          c.image.endsWith(":latest"))
        .map((c) => `${label(d)} container ${c.name}: image ${c.image} is not pinned`),
    ),
  // Network: a default deny for the namespace, and exactly the architecture's edges
  // (options.edges; no rule without ports).
  "network": (docs, options = {}) => {
    if (!options.edges) return [];
    const out = [];
    const deny = docs.find((d) => d.kind === "NetworkPolicy" && Object.keys(d.spec.podSelector ?? {}).length === 0 &&
      (d.spec.policyTypes ?? []).includes("Ingress") && (d.spec.policyTypes ?? []).includes("Egress") &&
      !(d.spec.ingress ?? []).length && !(d.spec.egress ?? []).length);
    if (!deny) out.push("NetworkPolicy: no default deny (empty podSelector, Ingress and Egress, no rules)");
    for (const p of docs.filter((d) => d.kind === "NetworkPolicy")) {
      for (const r of [...(p.spec.ingress ?? []), ...(p.spec.egress ?? [])]) {
        if (!r.ports?.length) out.push(`NetworkPolicy/${p.metadata.name}: a rule without ports`);
        if (!(r.from ?? r.to)?.length) out.push(`NetworkPolicy/${p.metadata.name}: a rule open to every peer`);
      }
    }
    const got = allowedEdges(docs);
    for (const e of got) if (!options.edges.has(e)) out.push(`network: unexpected edge ${e}`);
    for (const e of options.edges) if (!got.has(e)) out.push(`network: missing edge ${e}`);
    return out;
  },
};

export function rules(docs, options = {}) {
  return Object.values(RULES).flatMap((rule) => rule(docs, options));
}
