// No cluster and no kubeconform here: the manifests under deploy/kubernetes/ are parsed as data and
// held to what docs/kubernetes.md promises (a mounted secret read by fileSource and kept fresh by an
// ExternalSecret, Redis with AOF and noeviction, workers that scale, a receiver only keywarden reaches).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const root = fileURLToPath(new URL('../../', import.meta.url));
const base = join(root, 'deploy/kubernetes');

// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped data; each check names the fields it reads
type Obj = Record<string, any>;

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? yamlFiles(p) : p.endsWith('.yaml') ? [p] : [];
  });
}

const files = yamlFiles(base);
const objects: Array<Obj & { file: string }> = files.flatMap((file) =>
  parseAllDocuments(readFileSync(file, 'utf8')).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
    return { ...(doc.toJS() as Obj), file: relative(base, file) };
  }),
);
const resources = objects.filter((o) => o.kind !== 'Kustomization');

function find(kind: string, name: string, namespace?: string): Obj {
  const o = resources.find(
    (r) => r.kind === kind && r.metadata?.name === name && (namespace === undefined || r.metadata?.namespace === namespace),
  );
  if (o === undefined) throw new Error(`no ${kind} ${namespace ?? '*'}/${name}`);
  return o;
}
const containers = (w: Obj): Obj[] => w.spec.template.spec.containers;
const envOf = (c: Obj): Record<string, Obj> => Object.fromEntries((c.env ?? []).map((e: Obj) => [e.name, e]));
const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

describe('deploy/kubernetes manifests', () => {
  it('every object has apiVersion, kind and a name, and kustomization lists every file', () => {
    for (const o of objects) {
      expect(o.apiVersion, o.file).toEqual(expect.any(String));
      expect(o.kind, o.file).toEqual(expect.any(String));
      if (o.kind !== 'Kustomization') expect(o.metadata?.name, o.file).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    }
    const kustomization = objects.find((o) => o.kind === 'Kustomization')!;
    const listed = new Set(kustomization.resources as string[]);
    for (const f of files.map((f) => relative(base, f)).filter((f) => f !== 'kustomization.yaml')) expect(listed, f).toContain(f);
  });

  it('workloads: selectors match their pod labels, Services select pods that exist, containers run as non-root with limits', () => {
    const workloads = resources.filter((r) => r.kind === 'Deployment' || r.kind === 'StatefulSet');
    expect(workloads.length).toBeGreaterThanOrEqual(5);
    for (const w of workloads) {
      expect(matches(w.spec.selector.matchLabels, w.spec.template.metadata.labels), w.metadata.name).toBe(true);
      expect(w.spec.template.spec.securityContext?.runAsNonRoot, w.metadata.name).toBe(true);
      for (const c of containers(w)) {
        expect(c.image, c.name).toMatch(/:[\w.-]+$/); // pinned tag, never :latest or none
        expect(c.image).not.toMatch(/:latest$/);
        expect(c.resources?.limits?.memory, c.name).toBeDefined();
        expect(c.securityContext?.allowPrivilegeEscalation, c.name).toBe(false);
      }
    }
    for (const svc of resources.filter((r) => r.kind === 'Service')) {
      const target = workloads.find(
        (w) => w.metadata.namespace === svc.metadata.namespace && matches(svc.spec.selector, w.spec.template.metadata.labels),
      );
      expect(target, `Service ${svc.metadata.name}`).toBeDefined();
      const portNames = containers(target!).flatMap((c) => (c.ports ?? []).map((p: Obj) => p.name));
      for (const p of svc.spec.ports) if (typeof p.targetPort === 'string') expect(portNames).toContain(p.targetPort);
    }
  });

  it('the agent reads its key from a mounted Secret (no subPath, no env var holding it) that an ExternalSecret refreshes', () => {
    const agent = find('Deployment', 'agent', 'agent');
    const pod = agent.spec.template.spec;
    const c = containers(agent)[0]!;
    const env = envOf(c);
    // A path for fileSource, not the key itself.
    const keyFile = env.LLM_KEY_FILE!.value as string;
    for (const e of c.env) expect(e.valueFrom?.secretKeyRef, `env ${e.name}`).toBeUndefined();
    const mount = (c.volumeMounts as Obj[]).find((m) => keyFile.startsWith(`${m.mountPath}/`))!;
    expect(mount).toBeDefined();
    expect(mount.readOnly).toBe(true);
    expect(mount.subPath).toBeUndefined(); // subPath mounts never receive updates
    const volume = (pod.volumes as Obj[]).find((v) => v.name === mount.name)!;
    const secretName = volume.secret.secretName as string;
    const fileName = keyFile.slice(mount.mountPath.length + 1);
    // Readable by the non-root user through the pod's fsGroup.
    expect(pod.securityContext.fsGroup).toBeDefined();
    expect(volume.secret.defaultMode & 0o040).toBe(0o040);

    const es = find('ExternalSecret', secretName, 'agent');
    expect(es.apiVersion).toBe('external-secrets.io/v1');
    expect(es.spec.target.name).toBe(secretName);
    expect(es.spec.refreshInterval).toMatch(/^\d+(s|m|h)$/);
    expect(es.spec.refreshInterval).not.toBe('0s');
    expect((es.spec.data as Obj[]).map((d) => d.secretKey)).toContain(fileName);
    const store = find(es.spec.secretStoreRef.kind, es.spec.secretStoreRef.name);
    expect(store.spec.provider).toBeDefined();
  });

  it('Redis keeps AOF on a persistent volume with noeviction, and only keywarden pods reach it', () => {
    const redis = find('StatefulSet', 'redis', 'keywarden');
    const args = containers(redis)[0]!.args as string[];
    expect(args[args.indexOf('--appendonly') + 1]).toBe('yes');
    expect(args[args.indexOf('--maxmemory-policy') + 1]).toBe('noeviction');
    const claim = redis.spec.volumeClaimTemplates[0];
    expect(containers(redis)[0]!.volumeMounts).toContainEqual({
      name: claim.metadata.name,
      mountPath: args[args.indexOf('--dir') + 1],
    });
    const np = find('NetworkPolicy', 'redis', 'keywarden');
    expect(np.spec.ingress[0].from[0].podSelector.matchLabels).toEqual({ 'app.kubernetes.io/part-of': 'keywarden' });
  });

  it('API and workers share Redis, the fingerprint key and the webhook secret; workers scale and drain', () => {
    const api = find('Deployment', 'keywarden-api', 'keywarden');
    const worker = find('Deployment', 'keywarden-worker', 'keywarden');
    const apiEnv = envOf(containers(api)[0]!);
    const workerEnv = envOf(containers(worker)[0]!);
    expect(containers(api)[0]!.args.slice(0, 3)).toEqual(['serve', '--host', '0.0.0.0']);
    expect(containers(api)[0]!.readinessProbe.httpGet.path).toBe('/readyz');
    expect(containers(worker)[0]!.args[0]).toBe('worker');
    expect(worker.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(worker.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(60);
    for (const name of [
      'REDIS_URL',
      'KEYWARDEN_FINGERPRINT_KEY',
      'KEYWARDEN_WEBHOOK_SECRET',
      'KEYWARDEN_SECRET_KEY',
      'KEYWARDEN_ROTATION_WEBHOOK_URL',
      'KEYWARDEN_PUBLIC_URL',
    ]) {
      expect(workerEnv[name], name).toEqual(apiEnv[name]);
    }
    expect(apiEnv.KEYWARDEN_API_TOKEN!.valueFrom.secretKeyRef).toEqual({ name: 'keywarden-service', key: 'api-token' });
    // The service's secrets come from a Secret, never inline.
    for (const name of ['KEYWARDEN_API_TOKEN', 'KEYWARDEN_FINGERPRINT_KEY', 'KEYWARDEN_WEBHOOK_SECRET', 'KEYWARDEN_SECRET_KEY']) {
      expect(apiEnv[name]!.value, name).toBeUndefined();
    }
    expect(apiEnv.REDIS_URL!.value).toBe('redis://redis.keywarden.svc.cluster.local:6379');
    expect(apiEnv.KEYWARDEN_PUBLIC_URL!.value).toBe('http://keywarden-api.keywarden.svc.cluster.local:8787');
  });

  it('the rotation webhook URL reaches the receiver Service, which only keywarden pods may call and which calls back only keywarden', () => {
    const worker = find('Deployment', 'keywarden-worker', 'keywarden');
    const url = new URL(envOf(containers(worker)[0]!).KEYWARDEN_ROTATION_WEBHOOK_URL!.value);
    const [svcName, ns] = url.hostname.split('.');
    const svc = find('Service', svcName!, ns);
    expect(svc.spec.ports.map((p: Obj) => p.port)).toContain(Number(url.port));
    const receiver = find('Deployment', 'rotation-receiver', 'agent');
    const env = envOf(containers(receiver)[0]!);
    expect(env.RECEIVER_PATH!.value).toBe(url.pathname);
    expect(env.KEYWARDEN_WEBHOOK_SECRET!.valueFrom.secretKeyRef).toBeDefined();
    expect(env.KEYWARDEN_PUBLIC_URL!.value).toBe(envOf(containers(worker)[0]!).KEYWARDEN_PUBLIC_URL!.value);
    expect(env.REVOKE_DELAY!.value).toMatch(/^\d+(s|m)$/);
    // One replica with a persistent idempotency file: a redelivery never rotates twice.
    expect(receiver.spec.replicas).toBe(1);
    expect(env.IDEMPOTENCY_FILE!.value.startsWith('/var/lib/receiver/')).toBe(true);
    const np = find('NetworkPolicy', 'rotation-receiver', 'agent');
    expect(matches(np.spec.podSelector.matchLabels, receiver.spec.template.metadata.labels)).toBe(true);
    expect(np.spec.ingress[0].from[0]).toEqual({
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'keywarden' } },
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'keywarden' } },
    });
  });
});
