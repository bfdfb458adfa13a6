// Which connections the NetworkPolicies of a rendered deployment allow, as a set of edges
// "SRC->DST:PORT/PROTO". SRC and DST are workloads (their app.kubernetes.io/name), "dns" (cluster
// DNS), "database" (the CloudNativePG cluster) or "outside:CIDR" (an ipBlock). A connection needs
// the source's egress and, between our own pods, the destination's ingress (Kubernetes' rule).

const WORKLOAD_KINDS = new Set(["Deployment", "StatefulSet", "Job"]);

// Pods the policies may talk to outside our namespace; the names are the ones the README sets.
const EXTERNAL = [
  { name: "dns", namespace: "kube-system", labels: { "k8s-app": "kube-dns" }, ports: ["53/UDP", "53/TCP"] },
  { name: "database", namespace: "healthtwin-db", labels: { "cnpg.io/cluster": "healthtwin-db" }, ports: ["5432/TCP"] },
];

export function workloads(docs) {
  return docs
    .filter((d) => WORKLOAD_KINDS.has(d.kind))
    .map((d) => ({
      name: d.metadata.labels?.["app.kubernetes.io/name"] ?? d.metadata.name,
      namespace: d.metadata.namespace ?? "default",
      labels: d.spec.template.metadata?.labels ?? {},
      ports: (d.spec.template.spec.containers ?? []).flatMap((c) =>
        (c.ports ?? []).map((p) => `${p.containerPort}/${p.protocol ?? "TCP"}`),
      ),
    }));
}

function selects(selector, labels) {
  if (!selector) return false;
  const ml = selector.matchLabels ?? {};
  if (selector.matchExpressions?.length) throw new Error("matchExpressions are not used here; extend netpol.mjs");
  return Object.entries(ml).every(([k, v]) => labels[k] === v);
}

function peerMatches(peer, policyNs, target) {
  if (peer.ipBlock) return false;
  if (peer.namespaceSelector) {
    const nsLabels = { "kubernetes.io/metadata.name": target.namespace };
    if (!selects(peer.namespaceSelector, nsLabels)) return false;
    return peer.podSelector ? selects(peer.podSelector, target.labels) : true;
  }
  return target.namespace === policyNs && selects(peer.podSelector, target.labels);
}

function portMatches(rulePorts, port) {
  if (!rulePorts) return true;  // no ports: every port (rules() refuses this)
  const [num, proto] = port.split("/");
  return rulePorts.some((p) => String(p.port) === num && (p.protocol ?? "TCP") === proto);
}

function policiesFor(docs, pod, type) {
  return docs.filter(
    (d) =>
      d.kind === "NetworkPolicy" &&
      (d.metadata.namespace ?? "default") === pod.namespace &&
      (d.spec.policyTypes ?? ["Ingress"]).includes(type) &&
      (Object.keys(d.spec.podSelector ?? {}).length === 0 || selects(d.spec.podSelector, pod.labels)),
  );
}

function allows(docs, pod, type, peerTest, port) {
  const list = type === "Egress" ? "egress" : "ingress";
  const side = type === "Egress" ? "to" : "from";
  const policies = policiesFor(docs, pod, type);
  if (policies.length === 0) return true;  // not isolated (rules() refuses a deployment without default deny)
  return policies.some((p) =>
    (p.spec[list] ?? []).some(
      (r) => (r[side] === undefined || r[side].some((peer) => peerTest(peer, p.metadata.namespace ?? "default"))) &&
        portMatches(r.ports, port),
    ),
  );
}

export function allowedEdges(docs) {
  const pods = workloads(docs);
  const edges = new Set();
  for (const src of pods) {
    for (const dst of pods) {
      for (const port of dst.ports) {
        const out = allows(docs, src, "Egress", (peer, ns) => peerMatches(peer, ns, dst), port);
        const inn = allows(docs, dst, "Ingress", (peer, ns) => peerMatches(peer, ns, src), port);
        if (out && inn) edges.add(`${src.name}->${dst.name}:${port}`);
      }
    }
    for (const ext of EXTERNAL) {
      for (const port of ext.ports) {
        if (allows(docs, src, "Egress", (peer, ns) => peerMatches(peer, ns, ext), port)) {
          edges.add(`${src.name}->${ext.name}:${port}`);
        }
      }
    }
  }
  // ipBlocks: every CIDR and port a rule names, in either direction.
  for (const p of docs.filter((d) => d.kind === "NetworkPolicy")) {
    for (const [list, side, type] of [["ingress", "from", "Ingress"], ["egress", "to", "Egress"]]) {
      const selected = pods.filter((pod) => policiesFor([p], pod, type).length > 0);
      for (const r of p.spec[list] ?? []) {
        for (const peer of (r[side] ?? []).filter((x) => x.ipBlock)) {
          for (const rp of r.ports ?? [{ port: "*" }]) {
            const port = `${rp.port}/${rp.protocol ?? "TCP"}`;
            for (const pod of selected) {
              const ext = `outside:${peer.ipBlock.cidr}`;
              edges.add(list === "ingress" ? `${ext}->${pod.name}:${port}` : `${pod.name}->${ext}:${port}`);
            }
          }
        }
      }
    }
  }
  return edges;
}
