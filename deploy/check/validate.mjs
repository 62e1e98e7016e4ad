// Validates rendered Kustomize overlays (multi-document YAML): every object
// against the Kubernetes OpenAPI schemas (kubernetes-models, unknown fields
// included), then Sift's deployment rules (README.md in this folder's parent).
// Run by scripts/check-deploy.sh:
//
//   node validate.mjs --modules DIR --containerfile FILE [--self-test] NAME=FILE...
//
// DIR is the node_modules folder holding the pinned packages of package.json.
// Each NAME=FILE is one overlay's `kubectl kustomize` output. --self-test also
// breaks copies of the last overlay in known ways and fails unless every
// breakage is caught. Exit status: 0 when all hold, 1 otherwise, 2 on misuse.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const STORAGE = "sift-storage";
const INGEST = "sift-ingest";
const QUERY = "sift-query";
const ETCD = "sift-etcd";
const NAME_LABEL = "app.kubernetes.io/name";
const SHARD_LABEL = "sift/shard";
// failureThreshold x periodSeconds of the storage startupProbe: recovery time.
const MIN_STARTUP_SECONDS = 600;

function usage(message) {
  console.error(`validate.mjs: ${message}`);
  console.error("usage: node validate.mjs --modules DIR --containerfile FILE [--self-test] NAME=FILE...");
  process.exit(2);
}

const args = process.argv.slice(2);
let modulesDir = "";
let containerfile = "";
let selfTest = false;
const inputs = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--modules") modulesDir = args[++i] ?? "";
  else if (args[i] === "--containerfile") containerfile = args[++i] ?? "";
  else if (args[i] === "--self-test") selfTest = true;
  else if (/^[\w.-]+=/.test(args[i])) {
    const eq = args[i].indexOf("=");
    inputs.push({ name: args[i].slice(0, eq), file: args[i].slice(eq + 1) });
  } else usage(`unexpected argument ${JSON.stringify(args[i])}`);
}
if (!modulesDir || !containerfile || inputs.length === 0) usage("missing arguments");

const require = createRequire(path.join(path.resolve(modulesDir), "index.js"));
const YAML = require("yaml");
const modelsRoot = path.dirname(require.resolve("kubernetes-models/package.json"));

// ---------------------------------------------------------------------------
// Helpers.

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const clone = (v) => JSON.parse(JSON.stringify(v));
const objName = (o) =>
  `${o?.kind ?? "?"} ${o?.metadata?.namespace ? o.metadata.namespace + "/" : ""}${o?.metadata?.name ?? "?"}`;

// Kubernetes label selector semantics (matchLabels and matchExpressions).
function selectorMatches(selector, labels) {
  if (!isObject(selector)) return false;
  labels = labels ?? {};
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[k] !== v) return false;
  }
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const values = e.values ?? [];
    switch (e.operator) {
      case "In": if (!has || !values.includes(labels[e.key])) return false; break;
      case "NotIn": if (has && values.includes(labels[e.key])) return false; break;
      case "Exists": if (!has) return false; break;
      case "DoesNotExist": if (has) return false; break;
      default: return false;
    }
  }
  return true;
}

const POD_TEMPLATE_KINDS = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"]);

function podTemplateOf(o) {
  if (POD_TEMPLATE_KINDS.has(o.kind)) return o.spec?.template;
  if (o.kind === "CronJob") return o.spec?.jobTemplate?.spec?.template;
  if (o.kind === "Pod") return { metadata: o.metadata, spec: o.spec };
  return undefined;
}

// The value of --flag=VALUE in a container's command and args (the last one
// wins, as with Abseil flags), searching inside "sh -c" scripts too.
function flagValue(container, flag) {
  const words = [...(container.command ?? []), ...(container.args ?? [])]
    .flatMap((a) => String(a).split(/\s+/));
  let value;
  for (const w of words) {
    const m = w.match(new RegExp(`^--${flag}=(.*)$`));
    if (m) value = m[1].replace(/^"(.*)"$/, "$1");
  }
  return value;
}

// ---------------------------------------------------------------------------
// Schema validation with kubernetes-models.

const groupModule = (apiVersion) => `kubernetes-models/${apiVersion}`; // "v1", "apps/v1", ...
const moduleCache = new Map();
function loadModule(id) {
  if (!moduleCache.has(id)) {
    try { moduleCache.set(id, require(id)); } catch { moduleCache.set(id, null); }
  }
  return moduleCache.get(id);
}

// The compiled schema of a kind, e.g. apps/v1 StatefulSet ->
// _schemas/IoK8sApiAppsV1StatefulSet.js, to find unknown fields.
function schemaValidator(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["core", apiVersion];
  const cap = (s) => s.charAt(0).toUpperCase() + s.slice(1);
  const file = path.join(modelsRoot, "_schemas", `IoK8sApi${cap(group.split(".")[0])}${cap(version)}${kind}.js`);
  if (!fs.existsSync(file)) return undefined;
  return loadModule(file)?.validate;
}

// The schemas name every field they know; validators read each known field
// by name and enumerate the keys of maps. A proxy records what they read:
// any key never read, in an object never enumerated, is unknown to the API
// server (which drops it, or rejects it under strict field validation).
function trackReads(node, at, found) {
  if (Array.isArray(node)) return node.map((v, i) => trackReads(v, `${at}/${i}`, found));
  if (!isObject(node)) return node;
  const read = new Set();
  let enumerated = false;
  const copy = {};
  for (const [k, v] of Object.entries(node)) copy[k] = trackReads(v, `${at}/${k}`, found);
  found.push(() => (enumerated ? [] : Object.keys(copy).filter((k) => !read.has(k)).map((k) => `${at}/${k}`)));
  return new Proxy(copy, {
    get(t, k, r) { if (typeof k === "string") read.add(k); return Reflect.get(t, k, r); },
    has(t, k) { if (typeof k === "string") read.add(k); return Reflect.has(t, k); },
    getOwnPropertyDescriptor(t, k) { if (typeof k === "string") read.add(k); return Reflect.getOwnPropertyDescriptor(t, k); },
    ownKeys(t) { enumerated = true; return Reflect.ownKeys(t); },
  });
}

function checkSchema(o, fail) {
  if (!o.apiVersion || !o.kind) return fail(o, "schema", "apiVersion and kind are required");
  const cls = loadModule(groupModule(o.apiVersion))?.[o.kind];
  if (typeof cls !== "function") {
    return fail(o, "schema", `kubernetes-models has no schema for ${o.apiVersion} ${o.kind}`);
  }
  try {
    new cls(o).validate();
  } catch (e) {
    const details = (e.errors ?? []).map((d) => `${d.instancePath || "/"} ${d.message ?? d.keyword}`);
    fail(o, "schema", details.length ? details.join("; ") : String(e.message ?? e));
    return;
  }
  const validate = schemaValidator(o.apiVersion, o.kind);
  if (validate) {
    const found = [];
    validate(trackReads(o, "", found));
    for (const p of found.flatMap((f) => f())) fail(o, "schema", `unknown field ${p}`);
  }
}

// ---------------------------------------------------------------------------
// The image's user: the USER of every stage of the Containerfile.

function imageUser(file) {
  const users = fs.readFileSync(file, "utf8").split("\n")
    .map((l) => l.match(/^\s*USER\s+(\S+)/i)?.[1]).filter(Boolean);
  if (users.length === 0) return { error: `${file}: no USER line` };
  const distinct = [...new Set(users)];
  const m = distinct.length === 1 && distinct[0].match(/^(\d+):(\d+)$/);
  if (!m) return { error: `${file}: every stage must end with the same numeric USER uid:gid, found ${distinct.join(", ")}` };
  const uid = Number(m[1]);
  const gid = Number(m[2]);
  if (uid === 0 || gid === 0) return { error: `${file}: USER ${distinct[0]} is root` };
  return { uid, gid };
}

// ---------------------------------------------------------------------------
// Sift's rules over one rendered overlay.

function checkOverlay(objects, image, fail) {
  const byKind = (k) => objects.filter((o) => o.kind === k);
  const workloads = objects.filter((o) => podTemplateOf(o));
  const appOf = (w) => podTemplateOf(w)?.metadata?.labels?.[NAME_LABEL];
  const storage = workloads.filter((w) => w.kind === "StatefulSet" && appOf(w) === STORAGE);
  const etcd = workloads.filter((w) => w.kind === "StatefulSet" && appOf(w) === ETCD);
  const ns = (o) => o.metadata?.namespace;

  // One namespace for everything namespaced.
  const namespaces = new Set(objects.filter((o) => o.kind !== "Namespace").map(ns));
  if (namespaces.size !== 1 || namespaces.has(undefined)) {
    fail(null, "namespace", `every object needs the same metadata.namespace, found ${[...namespaces].join(", ")}`);
  }

  // --- Every pod: security context and resources.
  for (const w of workloads) {
    const spec = podTemplateOf(w).spec ?? {};
    const psc = spec.securityContext ?? {};
    for (const flag of ["hostNetwork", "hostPID", "hostIPC"]) {
      if (spec[flag]) fail(w, "pod security", `${flag} must not be set`);
    }
    if (psc.fsGroup !== undefined && psc.fsGroup !== image.gid) {
      fail(w, "pod security", `fsGroup ${psc.fsGroup} differs from the image's group ${image.gid}`);
    }
    const containers = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
    if (containers.length === 0) fail(w, "pod", "no containers");
    for (const c of containers) {
      const csc = c.securityContext ?? {};
      const where = `container "${c.name}"`;
      const eff = (k) => csc[k] ?? psc[k];
      if (eff("runAsNonRoot") !== true) fail(w, "runAsNonRoot", `${where}: runAsNonRoot must be true`);
      if (eff("runAsUser") !== image.uid) {
        fail(w, "runAsUser", `${where}: runAsUser must be the image's user ${image.uid}, found ${eff("runAsUser")}`);
      }
      if (eff("runAsGroup") !== image.gid) {
        fail(w, "runAsGroup", `${where}: runAsGroup must be the image's group ${image.gid}, found ${eff("runAsGroup")}`);
      }
      if (eff("seccompProfile")?.type !== "RuntimeDefault") {
        fail(w, "seccompProfile", `${where}: seccompProfile.type must be RuntimeDefault`);
      }
      if (csc.allowPrivilegeEscalation !== false) {
        fail(w, "allowPrivilegeEscalation", `${where}: allowPrivilegeEscalation must be false`);
      }
      if (csc.privileged) fail(w, "privileged", `${where}: privileged must not be set`);
      if (csc.readOnlyRootFilesystem !== true) {
        fail(w, "readOnlyRootFilesystem", `${where}: readOnlyRootFilesystem must be true`);
      }
      if (!(csc.capabilities?.drop ?? []).includes("ALL")) {
        fail(w, "capabilities", `${where}: capabilities.drop must include ALL`);
      }
      if ((csc.capabilities?.add ?? []).length > 0) {
        fail(w, "capabilities", `${where}: capabilities.add must be empty`);
      }
      const r = c.resources ?? {};
      for (const [part, key] of [["requests", "cpu"], ["requests", "memory"], ["limits", "memory"]]) {
        if (r[part]?.[key] === undefined) fail(w, "resources", `${where}: resources.${part}.${key} is missing`);
      }
    }
    if (w.kind === "StatefulSet" && (w.spec.volumeClaimTemplates ?? []).length > 0 && psc.fsGroup === undefined) {
      fail(w, "fsGroup", "a pod with persistent volumes needs securityContext.fsGroup to write them");
    }
  }

  // --- Services: each StatefulSet's headless Service, each Deployment's Service.
  const services = byKind("Service");
  for (const w of workloads) {
    const labels = podTemplateOf(w).metadata?.labels ?? {};
    if (w.kind === "StatefulSet") {
      const svc = services.find((s) => s.metadata.name === w.spec.serviceName);
      if (!svc) fail(w, "headless Service", `serviceName ${w.spec.serviceName} names no Service`);
      else if (svc.spec?.clusterIP !== "None") fail(w, "headless Service", `Service ${svc.metadata.name} must be headless (clusterIP: None)`);
      else if (!selectorMatches({ matchLabels: svc.spec.selector }, labels)) {
        fail(w, "headless Service", `Service ${svc.metadata.name} does not select its pods`);
      }
    } else if (w.kind === "Deployment") {
      if (!services.some((s) => s.spec?.selector && selectorMatches({ matchLabels: s.spec.selector }, labels))) {
        fail(w, "Service", "no Service selects its pods");
      }
    }
  }

  // --- Disruption budgets: at most one per pod (the eviction API refuses
  // more), and one for every storage and etcd pod, allowing one pod away.
  const pdbs = byKind("PodDisruptionBudget");
  for (const w of workloads) {
    const labels = podTemplateOf(w).metadata?.labels ?? {};
    const covering = pdbs.filter((p) => selectorMatches(p.spec?.selector, labels));
    if (covering.length > 1) {
      fail(w, "PodDisruptionBudget", `covered by ${covering.length} budgets (${covering.map((p) => p.metadata.name).join(", ")}): evictions would fail`);
    }
    if ([STORAGE, ETCD].includes(appOf(w))) {
      const ok = covering.some((p) => p.spec.maxUnavailable === 1 ||
        (typeof p.spec.minAvailable === "number" && p.spec.minAvailable >= (w.spec.replicas ?? 1) - 1));
      if (!ok) fail(w, "PodDisruptionBudget", "needs a PodDisruptionBudget with maxUnavailable: 1 over its pods");
    }
  }

  // --- The cluster's shape: the sift-shards and sift-cluster ConfigMaps.
  const configMap = (prefix) => byKind("ConfigMap").find((c) => c.metadata.name === prefix ||
    c.metadata.name.startsWith(`${prefix}-`));
  const shardsCm = configMap("sift-shards");
  const clusterCm = configMap("sift-cluster");
  const shards = Number(shardsCm?.data?.shards);
  const copies = Number(clusterCm?.data?.copies);
  const etcdEndpoints = (clusterCm?.data?.etcd ?? "").split(",").filter(Boolean);
  if (!Number.isInteger(shards) || shards < 1) fail(shardsCm ?? null, "shape", "sift-shards needs data.shards, a positive integer");
  if (!Number.isInteger(copies) || copies < 1) fail(clusterCm ?? null, "shape", "sift-cluster needs data.copies, a positive integer");
  if (etcdEndpoints.length === 0 && copies !== 1) {
    fail(clusterCm, "shape", `copies is ${copies} but there is no etcd: without etcd there is no replication (copies must be 1)`);
  }
  if (storage.length !== shards) {
    fail(null, "shape", `${storage.length} storage StatefulSets for shards=${shards}: there must be one per shard`);
  }
  const seenShards = new Set();
  for (const s of storage) {
    const tmpl = podTemplateOf(s);
    const shard = tmpl.metadata?.labels?.[SHARD_LABEL];
    if (!/^\d+$/.test(shard ?? "") || Number(shard) >= shards) {
      fail(s, "shape", `pod label ${SHARD_LABEL}=${shard} must be a shard number below ${shards}`);
    } else if (seenShards.has(shard)) {
      fail(s, "shape", `shard ${shard} has more than one StatefulSet`);
    }
    seenShards.add(shard);
    if (s.spec.replicas !== copies) {
      fail(s, "shape", `replicas ${JSON.stringify(s.spec.replicas)} differs from copies=${copies}`);
    }
    if (!selectorMatches(s.spec.selector, { [NAME_LABEL]: STORAGE, [SHARD_LABEL]: shard }) ||
        selectorMatches(s.spec.selector, { ...tmpl.metadata.labels, [SHARD_LABEL]: "other" })) {
      fail(s, "selector", `spec.selector must select exactly the pods of shard ${shard}`);
    }
  }

  // --- Storage pods.
  for (const s of storage) {
    const spec = podTemplateOf(s).spec ?? {};
    const labels = podTemplateOf(s).metadata?.labels ?? {};
    const c = (spec.containers ?? []).find((x) => flagValue(x, "listen") !== undefined) ?? spec.containers?.[0];
    if (!c) continue;
    for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
      if (!c[probe]) fail(s, probe, `container "${c.name}" needs a ${probe}`);
      else if (!c[probe].grpc) fail(s, probe, `container "${c.name}": the ${probe} must use gRPC health (grpc:)`);
    }
    const sp = c.startupProbe;
    if (sp) {
      const seconds = (sp.initialDelaySeconds ?? 0) + (sp.failureThreshold ?? 3) * (sp.periodSeconds ?? 10);
      if (seconds < MIN_STARTUP_SECONDS) {
        fail(s, "startupProbe", `container "${c.name}": startupProbe allows ${seconds} s, recovery needs at least ${MIN_STARTUP_SECONDS} s (failureThreshold x periodSeconds)`);
      }
    }
    const drain = Number(flagValue(c, "drain_seconds") ?? 10);
    const grace = spec.terminationGracePeriodSeconds ?? 30;
    if (!(grace > drain)) {
      fail(s, "drain", `terminationGracePeriodSeconds ${grace} must exceed --drain_seconds=${drain}, or SIGKILL cuts the drain short`);
    }
    const dataDir = flagValue(c, "data_dir");
    const claims = (s.spec.volumeClaimTemplates ?? []).map((v) => v.metadata?.name);
    if (claims.length === 0) fail(s, "volumeClaimTemplates", "storage needs volumeClaimTemplates");
    const mount = (c.volumeMounts ?? []).find((m) => m.mountPath === dataDir);
    if (!dataDir || !mount || !claims.includes(mount.name)) {
      fail(s, "volumeClaimTemplates", `--data_dir=${dataDir} must be a volume from volumeClaimTemplates`);
    }
    // Copies of one shard on different nodes: a required anti-affinity term
    // or a DoNotSchedule spread over nodes, on a selector that picks this
    // shard's pods and no other shard's.
    const otherShard = { ...labels, [SHARD_LABEL]: `${labels[SHARD_LABEL]}x` };
    const sameShard = (sel, keys) => selectorMatches(sel, labels) &&
      (!selectorMatches(sel, otherShard) || (keys ?? []).includes(SHARD_LABEL));
    const byNode = (k) => k === "kubernetes.io/hostname";
    const anti = (spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [])
      .some((t) => byNode(t.topologyKey) && sameShard(t.labelSelector, t.matchLabelKeys));
    const spread = (spec.topologySpreadConstraints ?? []).some((t) => byNode(t.topologyKey) &&
      t.whenUnsatisfiable === "DoNotSchedule" && t.maxSkew === 1 && sameShard(t.labelSelector, t.matchLabelKeys));
    if (!anti && !spread) {
      fail(s, "anti-affinity", `copies of shard ${labels[SHARD_LABEL]} may share a node: add a required podAntiAffinity on kubernetes.io/hostname whose selector includes ${SHARD_LABEL}`);
    }
  }

  // --- Ingest, query and storage: flags for the mode (etcd or static).
  for (const w of workloads.filter((x) => [INGEST, QUERY, STORAGE].includes(appOf(x)))) {
    for (const c of podTemplateOf(w).spec?.containers ?? []) {
      const text = [...(c.command ?? []), ...(c.args ?? [])].join(" ");
      if (etcdEndpoints.length > 0) {
        if (!/--etcd=\S/.test(text)) fail(w, "mode", `container "${c.name}": etcd is set, so it must be started with --etcd`);
        if (appOf(w) === STORAGE) {
          for (const f of ["advertise", "shard", "shards", "copies", "member"]) {
            if (flagValue(c, f) === undefined) fail(w, "mode", `container "${c.name}": a replicated storage member needs --${f}`);
          }
        }
      } else if (appOf(w) !== STORAGE && !/--shards=/.test(text)) {
        fail(w, "mode", `container "${c.name}": without etcd it needs the static --shards list`);
      }
    }
  }

  // --- etcd in the cluster: an odd quorum and one endpoint per member.
  for (const e of etcd) {
    const n = e.spec.replicas ?? 1;
    if (n < 3 || n % 2 === 0) fail(e, "etcd", `replicas ${n}: use an odd number, 3 or more`);
    const expected = Array.from({ length: n }, (_, i) => `${e.metadata.name}-${i}.${e.spec.serviceName}:2379`);
    if (JSON.stringify(etcdEndpoints) !== JSON.stringify(expected)) {
      fail(clusterCm, "etcd", `data.etcd must list the ${n} members, ${expected.join(",")}; found ${etcdEndpoints.join(",")}`);
    }
  }
  if (etcdEndpoints.length > 0 && etcd.length === 0 && etcdEndpoints.some((h) => h.startsWith(`${ETCD}-`))) {
    fail(clusterCm, "etcd", "data.etcd names in-cluster members but there is no etcd StatefulSet");
  }

  checkNetworkPolicies(objects, workloads, appOf, fail);
}

// Who may open connections to whom, from the NetworkPolicies: with a
// default deny, a pod takes only what some policy selecting it allows.
function checkNetworkPolicies(objects, workloads, appOf, fail) {
  const policies = objects.filter((o) => o.kind === "NetworkPolicy");
  const ingressPolicy = (p) => (p.spec?.policyTypes ?? ["Ingress"]).includes("Ingress");
  const defaultDeny = policies.find((p) => ingressPolicy(p) &&
    Object.keys(p.spec?.podSelector ?? {}).length === 0 && (p.spec?.ingress ?? []).length === 0);
  if (!defaultDeny) {
    fail(null, "NetworkPolicy", "no default-deny-ingress policy (podSelector: {}, policyTypes: [Ingress], no ingress rules)");
  }
  const ANY = "anyone";
  const sift = new Set([INGEST, QUERY, STORAGE, ETCD]);
  // Sources that may reach each workload, as "source:port" ("*" for any port).
  const reach = (w) => {
    const labels = podTemplateOf(w).metadata?.labels ?? {};
    const ports = (podTemplateOf(w).spec?.containers ?? []).flatMap((c) => c.ports ?? []);
    const portOf = (p) => (typeof p === "string" ? ports.find((x) => x.name === p)?.containerPort ?? p : p);
    const out = new Set();
    for (const p of policies.filter((x) => ingressPolicy(x) && selectorMatches(x.spec.podSelector, labels))) {
      for (const rule of p.spec.ingress ?? []) {
        const rulePorts = (rule.ports ?? []).length ? rule.ports.map((x) => portOf(x.port)) : ["*"];
        const froms = (rule.from ?? []).length ? rule.from : [null];
        for (const peer of froms) {
          let sources;
          if (peer === null || peer.ipBlock || peer.namespaceSelector) sources = [ANY];
          else {
            sources = workloads.filter((x) => selectorMatches(peer.podSelector, podTemplateOf(x).metadata?.labels))
              .map((x) => appOf(x) ?? x.metadata.name);
          }
          for (const src of sources) for (const port of rulePorts) out.add(`${src}:${port}`);
        }
      }
    }
    return out;
  };
  const allows = (set, src, port) => [src, ANY].some((s) => set.has(`${s}:${port}`) || set.has(`${s}:*`));
  const requirements = {
    [STORAGE]: { port: [7710], from: [INGEST, QUERY, STORAGE] },
    [ETCD]: { port: [2379], from: [INGEST, QUERY, STORAGE, ETCD], peer: 2380 },
  };
  for (const w of workloads) {
    const app = appOf(w);
    const got = reach(w);
    const req = requirements[app];
    if (req) {
      for (const entry of got) {
        const src = entry.slice(0, entry.lastIndexOf(":"));
        if (!req.from.includes(src)) {
          fail(w, "NetworkPolicy", `${src === ANY ? "any source" : src} may connect to ${app}; only ${req.from.join(", ")} may`);
        }
      }
      for (const src of req.from) {
        for (const port of req.port) {
          if (!allows(got, src, port)) fail(w, "NetworkPolicy", `${src} cannot reach ${app} on port ${port}`);
        }
      }
      if (req.peer && !allows(got, app, req.peer)) {
        fail(w, "NetworkPolicy", `${app} members cannot reach each other on port ${req.peer}`);
      }
      if (app === ETCD) {
        for (const entry of got) {
          const [src, port] = [entry.slice(0, entry.lastIndexOf(":")), entry.slice(entry.lastIndexOf(":") + 1)];
          if (src !== ETCD && String(port) === String(req.peer)) fail(w, "NetworkPolicy", `${src} may reach etcd's peer port ${port}`);
        }
      }
    } else if ([INGEST, QUERY].includes(app)) {
      const port = (podTemplateOf(w).spec?.containers?.[0]?.ports ?? [])[0]?.containerPort;
      if (!allows(got, ANY, port)) fail(w, "NetworkPolicy", `clients cannot reach ${app} on port ${port}`);
    } else if (app && !sift.has(app) && defaultDeny && got.size === 0) {
      fail(w, "NetworkPolicy", "nothing may reach it");
    }
  }
}

// ---------------------------------------------------------------------------

function parse(file) {
  const text = fs.readFileSync(file, "utf8");
  const docs = YAML.parseAllDocuments(text);
  const objects = [];
  for (const d of docs) {
    if (d.errors.length) throw new Error(`${file}: ${d.errors[0].message}`);
    const o = d.toJS();
    if (o !== null && o !== undefined) objects.push(o);
  }
  return objects;
}

function run(objects, image) {
  const errors = [];
  const fail = (o, rule, message) => errors.push(`${o ? objName(o) : "(overlay)"}: [${rule}] ${message}`);
  for (const o of objects) checkSchema(o, fail);
  checkOverlay(objects, image, fail);
  return errors;
}

// Known breakages, each of which the checks must catch: [what, expected rule
// in a message, mutation of the objects].
const find = (objs, kind, name) => objs.find((o) => o.kind === kind && o.metadata.name === name);
const container = (o, i = 0) => podTemplateOf(o).spec.containers[i];
const storageSet = (objs, n) => find(objs, "StatefulSet", `${STORAGE}-${n}`);
const BREAKAGES = [
  ["query writes its root filesystem", "readOnlyRootFilesystem",
    (o) => { delete container(find(o, "Deployment", QUERY)).securityContext.readOnlyRootFilesystem; }],
  ["ingest keeps its capabilities", "capabilities",
    (o) => { delete container(find(o, "Deployment", INGEST)).securityContext.capabilities; }],
  ["storage runs as root", "runAsUser",
    (o) => { podTemplateOf(storageSet(o, 0)).spec.securityContext.runAsUser = 0; }],
  ["storage may escalate privileges", "allowPrivilegeEscalation",
    (o) => { container(storageSet(o, 0)).securityContext.allowPrivilegeEscalation = true; }],
  ["no seccomp profile", "seccompProfile",
    (o) => { delete podTemplateOf(find(o, "Deployment", QUERY)).spec.securityContext.seccompProfile; }],
  ["no resources", "resources",
    (o) => { delete container(find(o, "Deployment", INGEST)).resources; }],
  ["no startupProbe on a shard", "startupProbe",
    (o) => { delete container(storageSet(o, 1)).startupProbe; }],
  ["a short startupProbe", "startupProbe",
    (o) => { container(storageSet(o, 1)).startupProbe.failureThreshold = 3; }],
  ["SIGKILL before the drain ends", "drain",
    (o) => { podTemplateOf(storageSet(o, 0)).spec.terminationGracePeriodSeconds = 5; }],
  ["no fsGroup", "fsGroup",
    (o) => { delete podTemplateOf(storageSet(o, 0)).spec.securityContext.fsGroup; }],
  ["copies may share a node", "anti-affinity",
    (o) => { delete podTemplateOf(storageSet(o, 2)).spec.affinity; }],
  ["anti-affinity across shards instead of within one", "anti-affinity",
    (o) => {
      const t = podTemplateOf(storageSet(o, 2)).spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0];
      delete t.labelSelector.matchLabels[SHARD_LABEL];
    }],
  ["no disruption budget", "PodDisruptionBudget",
    (o) => { o.splice(o.indexOf(find(o, "PodDisruptionBudget", `${STORAGE}-0`)), 1); }],
  ["two budgets over one pod", "PodDisruptionBudget",
    (o) => { o.push({ ...clone(find(o, "PodDisruptionBudget", `${STORAGE}-0`)), metadata: { name: "extra", namespace: "sift" } }); }],
  ["replicas set by hand", "shape",
    (o) => { storageSet(o, 1).spec.replicas = 2; }],
  ["a shard missing", "shape",
    (o) => { o.splice(o.indexOf(storageSet(o, 2)), 1); }],
  ["no default deny", "NetworkPolicy",
    (o) => { o.splice(o.indexOf(find(o, "NetworkPolicy", "default-deny-ingress")), 1); }],
  ["anyone may reach storage", "NetworkPolicy",
    (o) => { delete find(o, "NetworkPolicy", STORAGE).spec.ingress[0].from; }],
  ["query cannot reach storage", "NetworkPolicy",
    (o) => { find(o, "NetworkPolicy", STORAGE).spec.ingress[0].from[0].podSelector.matchExpressions[0].values = [INGEST, STORAGE]; }],
  ["a misspelt field", "schema",
    (o) => { podTemplateOf(storageSet(o, 0)).spec.securityContext.fsgroup = 10001; }],
  ["a string where the schema wants an integer", "schema",
    (o) => { find(o, "Deployment", QUERY).spec.replicas = "2"; }],
];
const ETCD_BREAKAGES = [
  ["an even etcd", "etcd", (o) => { find(o, "StatefulSet", ETCD).spec.replicas = 4; }],
  ["no etcd budget", "PodDisruptionBudget",
    (o) => { o.splice(o.indexOf(find(o, "PodDisruptionBudget", ETCD)), 1); }],
  ["anyone may reach etcd", "NetworkPolicy",
    (o) => { find(o, "NetworkPolicy", ETCD).spec.ingress[0].from = []; }],
];

function selfTestOn(name, objects, image) {
  const cases = [...BREAKAGES, ...(find(objects, "StatefulSet", ETCD) ? ETCD_BREAKAGES : [])];
  let missed = 0;
  for (const [what, rule, mutate] of cases) {
    const broken = clone(objects);
    try { mutate(broken); } catch (e) {
      console.error(`self-test ${name}: cannot break "${what}": ${e.message}`);
      missed++;
      continue;
    }
    const errors = run(broken, image);
    if (!errors.some((e) => e.includes(`[${rule}]`))) {
      console.error(`self-test ${name}: "${what}" was not caught by [${rule}]${errors.length ? `; got: ${errors.join(" | ")}` : ""}`);
      missed++;
    }
  }
  console.log(`self-test ${name}: ${cases.length - missed} of ${cases.length} breakages caught`);
  return missed;
}

const image = imageUser(containerfile);
if (image.error) {
  console.error(`FAIL ${image.error}`);
  process.exit(1);
}
let failures = 0;
let lastGood;
for (const { name, file } of inputs) {
  let objects;
  try { objects = parse(file); } catch (e) {
    console.error(`FAIL ${name}: ${e.message}`);
    failures++;
    continue;
  }
  const errors = run(objects, image);
  for (const e of errors) console.error(`FAIL ${name}: ${e}`);
  failures += errors.length;
  if (errors.length === 0) {
    console.log(`ok ${name}: ${objects.length} objects`);
    // The self-test breaks the largest overlay (it needs three shards).
    if (!lastGood || objects.length > lastGood.objects.length) lastGood = { name, objects };
  }
}
if (selfTest && failures === 0 && lastGood) failures += selfTestOn(lastGood.name, lastGood.objects, image);
process.exit(failures === 0 ? 0 : 1);
