// Docker cannot run in the test environment: these checks read docker-compose.yml and the Dockerfile
// as data and hold them to what the deployment promises (persistence, no eviction, scalable workers).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = new URL('../../', import.meta.url);
// Compose reads YAML merge keys (`<<: *service-env`); the yaml package needs asking.
const compose = parse(readFileSync(new URL('docker-compose.yml', root), 'utf8'), { merge: true }) as {
  services: Record<
    string,
    Record<string, unknown> & { command?: string[]; environment?: Record<string, string>; ports?: string[] }
  >;
  volumes?: Record<string, unknown>;
};

describe('docker-compose.yml', () => {
  it('has redis, worker and api services', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['api', 'redis', 'worker']);
  });

  it('runs Redis with AOF persistence on a volume and noeviction', () => {
    const redis = compose.services.redis!;
    const cmd = redis.command ?? [];
    expect(cmd[cmd.indexOf('--appendonly') + 1]).toBe('yes');
    expect(cmd[cmd.indexOf('--maxmemory-policy') + 1]).toBe('noeviction');
    expect(redis.volumes).toContain('redis-data:/data');
    expect(compose.volumes).toHaveProperty('redis-data');
  });

  it('runs workers that can be scaled out: replicas, no fixed name, no host port', () => {
    const w = compose.services.worker!;
    expect(w.command?.[0]).toBe('worker');
    expect((w.deploy as { replicas: number }).replicas).toBeGreaterThanOrEqual(2);
    expect(w).not.toHaveProperty('container_name');
    expect(w).not.toHaveProperty('ports');
    expect(w.environment?.REDIS_URL).toBe('redis://redis:6379');
    expect(w.environment?.KEYWARDEN_FINGERPRINT_KEY).toMatch(/^\$\{KEYWARDEN_FINGERPRINT_KEY:\?/);
    expect(w.depends_on).toEqual({ redis: { condition: 'service_healthy' } });
  });

  it('runs the API with a required token, published on the host loopback only', () => {
    const api = compose.services.api!;
    expect(api.command?.slice(0, 3)).toEqual(['serve', '--host', '0.0.0.0']);
    expect(api.environment?.KEYWARDEN_API_TOKEN).toMatch(/^\$\{KEYWARDEN_API_TOKEN:\?/);
    expect(api.environment?.REDIS_URL).toBe('redis://redis:6379');
    // Published at all (else the loop below would hold nothing), and only on the loopback.
    expect(api.ports?.length).toBeGreaterThan(0);
    for (const p of api.ports ?? []) expect(p).toMatch(/^127\.0\.0\.1:/);
  });
});

describe('Dockerfile', () => {
  const text = readFileSync(new URL('Dockerfile', root), 'utf8');
  it('builds on node:20-bookworm-slim with npm ci and the build script, and runs as a non-root user', () => {
    const froms = [...text.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]);
    expect(froms.length).toBeGreaterThan(0);
    for (const f of froms) expect(f).toBe('node:20-bookworm-slim');
    expect(text).toMatch(/^RUN npm ci\b/m);
    expect(text).toMatch(/npm run build/);
    expect(text).toMatch(/^USER node$/m);
  });
});
