// Dump scanning end to end in-process: synthetic minidump, heap snapshot and hprof files with secrets
// in UTF-8 and UTF-16LE, gzip, chunk boundaries, and a truncated gzip. Offsets are checked against
// the file bytes. Secrets are generated at test time.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Finding } from '../../../model/finding.js';
import { builtinRules } from '../../../rules/builtin.js';
import { expandTemplate, seededRng } from '../../../rules/examples.js';
import { type CompiledPack, compilePack } from '../../../scanner/engine/compile.js';
import { scanChunk } from '../../../scanner/pipeline.js';
import { scanDumpFile } from '../../../scanner/scan-dump.js';

const rng = seededRng(4242);
const ghp = () => expandTemplate('«ghp_{base62:30}{checksum}»', { rng, checksum: 'github-crc32' }).secret!;
const noise = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rng() * 256)));
const key = Buffer.from('test-fingerprint-key-0123456789');
const opts = { fingerprintKey: key, showSecrets: true };

let pack: CompiledPack;
let dir: string;
beforeAll(async () => {
  pack = compilePack(await builtinRules());
  dir = mkdtempSync(join(tmpdir(), 'kw-dump-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}
function u32be(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/**
 * The secret's one finding has one occurrence, whose dump provenance names `path` and whose offset
 * points at the secret's bytes in `file` (ASCII, or UTF-16LE when `wide`).
 */
function expectAt(file: Buffer, findings: Finding[], secret: string, wide: boolean, path: string) {
  const enc = Buffer.from(secret, wide ? 'utf16le' : 'latin1');
  const hits = findings.filter((f) => f.secret === secret && f.ruleId === 'github-pat');
  expect(hits).toHaveLength(1);
  const f = hits[0]!;
  expect(f.occurrences).toHaveLength(1);
  const p = f.occurrences[0]!.provenance;
  expect(p.kind === 'dump' && p.path).toBe(path);
  const offset = p.kind === 'dump' ? p.offset : -1;
  expect(file.subarray(offset, offset + enc.length).equals(enc)).toBe(true);
  expect(Finding.parse(f)).toEqual(f);
  return offset;
}

describe('dump scanning', () => {
  it('finds a UTF-16LE environment secret in a synthetic minidump at its byte offset', async () => {
    const secret = ghp();
    // MINIDUMP_HEADER: 'MDMP', version, stream count, directory RVA, checksum, timestamp, flags.
    const header = Buffer.concat([Buffer.from('MDMP'), u32(0xa793), u32(3), u32(32), u32(0), u32(0x5f000000), u32(0), u32(0)]);
    const env = Buffer.from(`PATH=C:\\Windows\0GITHUB_TOKEN=${secret}\0\0`, 'utf16le');
    const file = Buffer.concat([header, noise(5000), env, noise(3000)]);
    writeFileSync(join(dir, 'app.dmp'), file);
    const r = await scanDumpFile(pack, join(dir, 'app.dmp'), 'app.dmp', opts);
    expect(r.error).toBeUndefined();
    expect(r.stats).toMatchObject({ files: 1, bytes: file.length, errors: [] });
    const at = expectAt(file, r.findings, secret, true, 'app.dmp');
    expect(at).toBe(32 + 5000 + Buffer.byteLength(`PATH=C:\\Windows\0GITHUB_TOKEN=`, 'utf16le'));
  });

  it('finds secrets in a V8 heap snapshot strings array (UTF-8) and in UTF-16 heap data', async () => {
    const a = ghp();
    const b = ghp();
    const snap = JSON.stringify({
      snapshot: { meta: { node_fields: ['type', 'name'] }, node_count: 2 },
      nodes: [0, 1, 0, 2],
      strings: ['(root)', 'system / Context', `Bearer ${a}`, 'done'],
    });
    const file = Buffer.concat([
      Buffer.from(snap.replace('"nodes"', '\n"nodes"')),
      noise(100),
      Buffer.from(`token=${b}`, 'utf16le'),
    ]);
    writeFileSync(join(dir, 'x.heapsnapshot'), file);
    const r = await scanDumpFile(pack, join(dir, 'x.heapsnapshot'), 'x.heapsnapshot', opts);
    const offA = expectAt(file, r.findings, a, false, 'x.heapsnapshot');
    expectAt(file, r.findings, b, true, 'x.heapsnapshot');
    // The snapshot has lines: the finding's line and byte column follow them.
    const fa = r.findings.find((f) => f.secret === a)!.occurrences[0]!.span;
    const before = file.subarray(0, offA).toString('latin1');
    expect(fa.line).toBe(before.split('\n').length);
    expect(fa.column).toBe(offA - before.lastIndexOf('\n'));
  });

  it('finds a secret in an hprof UTF-8 record', async () => {
    const secret = ghp();
    const text = Buffer.from(`https://x-access-token:${secret}@github.com/org/repo.git`);
    // Header, identifier size 8, timestamp; then a HPROF_UTF8 record (tag 0x01, time, length, id, bytes).
    const file = Buffer.concat([
      Buffer.from('JAVA PROFILE 1.0.2\0'),
      u32be(8),
      Buffer.alloc(8),
      Buffer.from([0x01]),
      u32be(0),
      u32be(8 + text.length),
      Buffer.from([0, 0, 0, 0, 0, 0, 0x12, 0x34]),
      text,
      noise(2000),
    ]);
    writeFileSync(join(dir, 'heap.hprof'), file);
    const r = await scanDumpFile(pack, join(dir, 'heap.hprof'), 'heap.hprof', opts);
    expectAt(file, r.findings, secret, false, 'heap.hprof');
  });

  it('reads gzip transparently; offsets are in the decompressed stream', async () => {
    const secret = ghp();
    const raw = Buffer.concat([noise(200_000), Buffer.from(`\0GITHUB_TOKEN=${secret}\0`), noise(100_000)]);
    writeFileSync(join(dir, 'core.gz'), gzipSync(raw));
    const r = await scanDumpFile(pack, join(dir, 'core.gz'), 'core.gz', { ...opts, chunkSize: 64 * 1024 });
    expect(r.error).toBeUndefined();
    expect(r.stats.bytes).toBe(raw.length);
    expectAt(raw, r.findings, secret, false, 'core.gz');
  });

  it('reports a truncated gzip as KW_DUMP_CORRUPT, with findings from the part that was read', async () => {
    const secret = ghp();
    const raw = Buffer.concat([Buffer.from(`GITHUB_TOKEN=${secret}\0`), noise(400_000)]);
    const gz = gzipSync(raw);
    writeFileSync(join(dir, 'cut.gz'), gz.subarray(0, gz.length >> 1));
    const r = await scanDumpFile(pack, join(dir, 'cut.gz'), 'cut.gz', { ...opts, chunkSize: 16 * 1024 });
    expect(r.error?.code).toBe('KW_DUMP_CORRUPT');
    expect(r.findings.filter((f) => f.ruleId === 'github-pat').map((f) => f.secret)).toEqual([secret]);
    // Counted as an error of that file, not as a scanned file.
    expect(r.stats.files).toBe(0);
    expect(r.stats.errors).toEqual([{ path: 'cut.gz', code: 'KW_DUMP_CORRUPT', message: r.error!.message }]);
  });

  it('finds each secret exactly once across chunk boundaries, ASCII and UTF-16LE', async () => {
    const secrets: Array<{ secret: string; wide: boolean }> = [];
    const parts: Buffer[] = [];
    // Many secrets at irregular spacing around a small chunk size, so boundaries cut through
    // secrets, keywords and runs at every phase.
    for (let k = 0; k < 60; k++) {
      parts.push(noise(200 + Math.floor(rng() * 3000)));
      const secret = ghp();
      const wide = k % 3 === 0;
      secrets.push({ secret, wide });
      parts.push(Buffer.from(`\0export GITHUB_TOKEN=${secret}\0`, wide ? 'utf16le' : 'latin1'));
    }
    const file = Buffer.concat(parts);
    writeFileSync(join(dir, 'chunks.bin'), file);
    for (const chunkSize of [997, 4096, 1 << 20]) {
      const r = await scanDumpFile(pack, join(dir, 'chunks.bin'), 'chunks.bin', { ...opts, chunkSize });
      const gh = r.findings.filter((f) => f.ruleId === 'github-pat');
      expect(gh).toHaveLength(secrets.length);
      for (const s of secrets) expectAt(file, gh, s.secret, s.wide, 'chunks.bin');
    }
  });

  it('scans a binary already in memory the same way (the tree scanner path)', () => {
    const secret = ghp();
    const file = Buffer.concat([
      Buffer.from('\x7fELF\x02\x01\x01\0'),
      noise(1000),
      Buffer.from(`GITHUB_TOKEN=${secret}\0`),
      noise(100),
    ]);
    const r = scanChunk(
      pack,
      { bytes: file, provenance: { kind: 'file', path: 'core' }, offset: 0, startLine: 1 },
      {
        ...opts,
        binary: 'strings',
      },
    );
    expect(r.kind).toBe('scanned');
    expectAt(file, r.kind === 'scanned' ? r.findings : [], secret, false, 'core');
  });

  it('fails to read a missing file with KW_SOURCE_READ, nothing scanned and the OS error kept as the cause', async () => {
    const r = await scanDumpFile(pack, join(dir, 'nope'), 'nope', opts);
    expect(r.error?.code).toBe('KW_SOURCE_READ');
    expect(r.error?.message).toContain('nope');
    expect((r.error?.cause as NodeJS.ErrnoException | undefined)?.code).toBe('ENOENT');
    expect(r.findings).toEqual([]);
    expect(r.stats).toMatchObject({ files: 0, bytes: 0 });
  });
});
