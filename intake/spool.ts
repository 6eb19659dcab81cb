// The intake's durable queue: one file per accepted batch, named by a zero-padded sequence number so
// that directory order is delivery order. A batch is fsynced (file and directory) before the shipper
// is told 200, so a crash or restart loses nothing that was acknowledged.
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';

export type BatchKind = 'ndjson' | 'json';

const NAME = /^(\d{16})\.(ndjson|json)$/;

export interface SpoolEntry {
  name: string;
  kind: BatchKind;
  size: number;
}

export class Spool {
  private readonly entries: SpoolEntry[] = [];
  private nextSeq = 1;
  private bytesHeld = 0;
  /** Puts run one at a time: acceptance order is file order, and file order is delivery order. */
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly dir: string,
    private readonly fsync: boolean,
  ) {}

  /** Opens (creating) the directory, drops half-written `.tmp` files, and lists what is left to deliver. */
  static async open(dir: string, opts: { fsync?: boolean } = {}): Promise<Spool> {
    const s = new Spool(dir, opts.fsync ?? true);
    await mkdir(join(dir, 'dead'), { recursive: true });
    const names = (await readdir(dir)).sort();
    for (const name of names) {
      if (name.endsWith('.tmp')) {
        // Never acknowledged: the process died between write and rename.
        await unlink(join(dir, name));
        continue;
      }
      const m = NAME.exec(name);
      if (!m) continue;
      const size = (await stat(join(dir, name))).size;
      s.entries.push({ name, kind: m[2] as BatchKind, size });
      s.bytesHeld += size;
      s.nextSeq = Math.max(s.nextSeq, Number(m[1]) + 1);
    }
    return s;
  }

  get length(): number {
    return this.entries.length;
  }

  /** Bytes waiting for delivery. */
  get bytes(): number {
    return this.bytesHeld;
  }

  first(): SpoolEntry | undefined {
    return this.entries[0];
  }

  /** Durably appends a batch; resolves only once it would survive a crash. */
  put(body: Buffer, kind: BatchKind): Promise<SpoolEntry> {
    const run = this.chain.then(() => this.write(body, kind));
    this.chain = run.catch(() => {});
    return run;
  }

  private async write(body: Buffer, kind: BatchKind): Promise<SpoolEntry> {
    const name = `${String(this.nextSeq++).padStart(16, '0')}.${kind}`;
    const tmp = join(this.dir, `${name}.tmp`);
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(body);
      if (this.fsync) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(this.dir, name));
    if (this.fsync) await syncDir(this.dir);
    const entry = { name, kind, size: body.length };
    this.entries.push(entry);
    this.bytesHeld += body.length;
    return entry;
  }

  read(e: SpoolEntry): Promise<Buffer> {
    return readFile(join(this.dir, e.name));
  }

  /** Delivered: forget it. */
  async remove(e: SpoolEntry): Promise<void> {
    await rm(join(this.dir, e.name), { force: true });
    this.drop(e);
  }

  /** Rejected for good by downstream (a 4xx): kept aside in `dead/` so it never blocks the queue. */
  async bury(e: SpoolEntry): Promise<void> {
    await rename(join(this.dir, e.name), join(this.dir, 'dead', e.name));
    this.drop(e);
  }

  private drop(e: SpoolEntry): void {
    const i = this.entries.indexOf(e);
    if (i !== -1) this.entries.splice(i, 1);
    this.bytesHeld -= e.size;
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
