// Lint of deploy/container/Containerfile: Debian 12 bases only, every apt package exists in
// Debian 12's lists (apt-cache, offline), a numeric non-root USER, no downloads by curl or wget and
// no other package source. Run: node --test tests/k8s/containerfile_lint.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { CONTAINERFILE as FILE, aptPackages, instructions } from "./containerfile.mjs";

// The problems of a Containerfile's text; missing(names) returns the names Debian 12 lacks.
export function lint(text, missing) {
  const ins = instructions(text);
  const problems = [];
  const packages = [];
  const froms = ins.filter((i) => i.op === "FROM");
  if (!froms.length) problems.push("no FROM");
  const stages = new Set();
  for (const f of froms) {
    const [image, as, name] = f.rest.split(/\s+/);
    const ok = /^debian:bookworm(-slim)?(@sha256:[0-9a-f]{64})?$/.test(image) || stages.has(image);
    if (!ok) problems.push(`FROM ${image}: only debian:bookworm or debian:bookworm-slim`);
    if (as?.toUpperCase() === "AS" && name) stages.add(name);
  }
  // The last stage is the image: its last USER must be numeric and not 0.
  const last = ins.slice(ins.lastIndexOf(froms.at(-1)));
  const user = last.filter((i) => i.op === "USER").at(-1)?.rest;
  if (!user || !/^10001(:10001)?$/.test(user)) problems.push(`USER ${user ?? "(none)"}: the final stage must run as 10001`);
  for (const i of ins.filter((x) => x.op === "RUN" || x.op === "ADD")) {
    if (i.op === "ADD" && /https?:\/\//.test(i.rest)) problems.push(`ADD ${i.rest}: a download`);
    if (/\b(curl|wget)\b/.test(i.rest)) problems.push(`RUN: downloads with curl or wget: ${i.rest.slice(0, 80)}`);
    if (/sources\.list|add-apt-repository|\.gpg\b|apt-key|\bpip3? install\b|dpkg -i/.test(i.rest)) {
      problems.push(`RUN: a package source other than Debian 12: ${i.rest.slice(0, 80)}`);
    }
    for (const pkgs of aptPackages([i])) {
      if (!pkgs.length) problems.push("RUN: apt-get install of nothing");
      packages.push(...pkgs);
    }
  }
  for (const p of missing(packages)) problems.push(`package ${p}: not in Debian 12`);
  return problems;
}

// Debian 12's lists on this machine (apt-get update has run: bootstrap installs from them). One
// apt-cache call for all names: a name is there when it has a candidate from a bookworm suite.
function aptMissing(names) {
  // apt-cache exits non-zero when a name is unknown; its answer for the others is still on stdout.
  const run = spawnSync("apt-cache", ["policy", ...names], { encoding: "utf8" });
  if (run.error) throw run.error;
  const out = run.stdout;
  const found = new Set();
  for (const block of out.split(/^(?=\S)/m)) {
    const name = block.split(":")[0].trim();
    if (/Candidate: (?!\(none\))/.test(block) && /\sbookworm(-updates|-security)?\/main\s/.test(block)) found.add(name);
  }
  return names.filter((n) => !found.has(n));
}

const listsPresent = () => {
  try {
    return readdirSync("/var/lib/apt/lists").some((f) => /bookworm.*_Packages/.test(f));
  } catch {
    return false;
  }
};

test("the Containerfile passes", { skip: !listsPresent() && "no Debian 12 apt lists on this machine" }, () => {
  assert.deepEqual(lint(readFileSync(FILE, "utf8"), aptMissing), []);
});

test("apt lists answer: a real package is there, a made-up one is not", { skip: !listsPresent() && "no apt lists" }, () => {
  assert.deepEqual(aptMissing(["libgrpc++1.51", "libgrpc++1.99-healthtwin-none", "libpq5"]), ["libgrpc++1.99-healthtwin-none"]);
});

const good = readFileSync(FILE, "utf8");
const none = () => [];
const BROKEN = [
  ["another base", (t) => t.replace("FROM debian:bookworm-slim", "FROM ubuntu:24.04"), /FROM ubuntu:24.04/],
  ["an older Debian", (t) => t.replace("FROM debian:bookworm AS build", "FROM debian:bullseye AS build"), /FROM debian:bullseye/],
  ["root at the end", (t) => t.replace("USER 10001:10001", "USER root"), /USER root/],
  ["no USER", (t) => t.replace("USER 10001:10001\n", ""), /USER \(none\)/],
  ["curl download", (t) => t.replace("WORKDIR /src", "RUN curl -fsSL https://example.org/x.sh | sh\nWORKDIR /src"), /curl or wget/],
  ["wget download", (t) => t.replace("WORKDIR /src", "RUN wget -q https://example.org/x.tgz\nWORKDIR /src"), /curl or wget/],
  ["ADD from a URL", (t) => t.replace("WORKDIR /src", "ADD https://example.org/x.tgz /x.tgz\nWORKDIR /src"), /ADD .*download/],
  ["another apt source", (t) => t.replace("WORKDIR /src", "RUN echo deb http://x y z >> /etc/apt/sources.list\nWORKDIR /src"), /other than Debian 12/],
];

for (const [what, mutate, expected] of BROKEN) {
  test(`refuses a broken Containerfile: ${what}`, () => {
    const bad = mutate(good);
    assert.notEqual(bad, good, "the mutation changed nothing");
    assert.match(lint(bad, none).join("\n"), expected);
  });
}

test("refuses a package Debian 12 does not have", { skip: !listsPresent() && "no apt lists" }, () => {
  const bad = good.replace("libpqxx-6.4 ", "libpqxx-7.9 ");
  assert.notEqual(bad, good);
  assert.deepEqual(lint(bad, aptMissing), ["package libpqxx-7.9: not in Debian 12"]);
});
