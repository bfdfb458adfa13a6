// Reading deploy/container/Containerfile: its instructions and the packages each stage installs.
import path from "node:path";
import { fileURLToPath } from "node:url";

export const CONTAINERFILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../deploy/container/Containerfile");

// Instructions with their continuation lines joined, comments dropped.
export function instructions(text) {
  const out = [];
  let cur = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!cur && (line === "" || line.startsWith("#"))) continue;
    cur += (cur ? " " : "") + line.replace(/\\$/, "").trim();
    if (!line.endsWith("\\")) {
      out.push(cur);
      cur = "";
    }
  }
  if (cur) out.push(cur);
  return out.map((l) => ({ op: l.split(/\s+/)[0].toUpperCase(), rest: l.slice(l.split(/\s+/)[0].length).trim() }));
}

// The apt packages of each `apt-get install` in the instructions `ins`.
export function aptPackages(ins) {
  return ins
    .filter((i) => i.op === "RUN")
    .flatMap((i) => [...i.rest.matchAll(/apt-get install ((?:[^&;|]|&(?!&))*)/g)])
    .map((m) => m[1].split(/\s+/).filter((w) => w && !w.startsWith("-")));
}

// The packages the final stage (the image) installs.
export function imagePackages(text) {
  const ins = instructions(text);
  const lastFrom = ins.map((i) => i.op).lastIndexOf("FROM");
  return aptPackages(ins.slice(lastFrom)).flat();
}
