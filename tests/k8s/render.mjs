// Renders a kustomization with `kubectl kustomize` and validates every document against the
// Kubernetes schema (kubernetes-models: types, required fields, enums; not unknown field names).
import { execFileSync } from "node:child_process";
import yaml from "js-yaml";
import { ConfigMap, PersistentVolumeClaim, Service } from "kubernetes-models/v1";
import { Deployment, StatefulSet } from "kubernetes-models/apps/v1";
import { Job } from "kubernetes-models/batch/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";

const MODELS = {
  "v1/ConfigMap": ConfigMap,
  "v1/PersistentVolumeClaim": PersistentVolumeClaim,
  "v1/Service": Service,
  "apps/v1/Deployment": Deployment,
  "apps/v1/StatefulSet": StatefulSet,
  "batch/v1/Job": Job,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
};

export const KUBECTL = process.env.KUBECTL || "kubectl";

// The documents of `kubectl kustomize dir`; throws with kubectl's message when it fails.
export function render(dir) {
  let out;
  try {
    out = execFileSync(KUBECTL, ["kustomize", dir], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    throw new Error(`kubectl kustomize ${dir} failed: ${e.stderr || e.message}`);
  }
  return yaml.loadAll(out).filter((d) => d !== null && d !== undefined);
}

// One message per document that is not a valid object of a kind we expect.
export function schemaErrors(docs) {
  const errors = [];
  for (const doc of docs) {
    const key = `${doc.apiVersion}/${doc.kind}`;
    const where = `${key} ${doc.metadata?.name}`;
    const Model = MODELS[key];
    if (!Model) {
      errors.push(`${where}: not a kind these manifests use (${Object.keys(MODELS).join(", ")})`);
      continue;
    }
    try {
      new Model(doc).validate();
    } catch (e) {
      errors.push(`${where}: ${e.message}`);
    }
  }
  return errors;
}
