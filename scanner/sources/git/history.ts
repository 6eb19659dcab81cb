// The git history source (Nosey Parker's shape): `git log --raw` (log.ts) names the blob each commit
// introduced at each path; each unique blob is read once from `git cat-file --batch` (cat-file.ts,
// started while the log still runs) and yielded once as a chunk, whose provenance is the first place
// the log showed it. Every other (commit, path) that introduced the same blob is kept, compactly, for
// `appearances`: a consumer scans each blob once and places its findings at all of them.
import type { GitProvenance } from '../../../model/provenance.js';
import type { SourceEvent } from '../types.js';
import { openBlobSource } from './cat-file.js';
import { type CommitMeta, type CommitRecord, type LogRange, readLog } from './log.js';
import type { GitRepo } from './repo.js';

/** Where a blob was introduced: git provenance, and the commit's log position (higher is older). */
export interface Appearance {
  /** The blob id (the chunk's `id`). */
  id: string;
  provenance: GitProvenance;
  order: number;
}

export interface HistoryOptions {
  /** Blobs larger than this (bytes) are `tooLarge` skips, never read into memory. */
  maxFileSize: number;
  /**
   * Called once per commit as the log reaches it, before any of its blobs is placed, with the commit's
   * whole message and its log position: the caller scans the metadata and returns the metadata to
   * keep (redacted). Only the returned metadata is kept; the message body is dropped.
   */
  onCommit?: (commit: CommitRecord, order: number) => CommitMeta;
}

export class HistorySource implements AsyncIterable<SourceEvent> {
  private readonly metas: CommitMeta[] = [];
  private readonly blobIds = new Map<string, number>();
  private readonly shas: string[] = [];
  private readonly paths: string[] = [];
  private readonly pathIds = new Map<string, number>();
  // Appearances as flat triples (blob, commit, path): ~12 bytes each, the only per-change state kept.
  private app = new Int32Array(3 << 16);
  private appN = 0;
  private walked = 0;
  /** The consumer stopped iterating: the log walk stops too. */
  private stopped = false;

  constructor(
    private readonly repo: GitRepo,
    private readonly range: LogRange,
    private readonly opts: HistoryOptions,
  ) {}

  /** Commits the log walked (complete once the iteration has ended). */
  get commits(): number {
    return this.walked;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<SourceEvent> {
    const blobs = openBlobSource(this.repo, this.opts.maxFileSize);
    const walking = this.walk(blobs.request.bind(blobs)).finally(() => blobs.finish());
    // Handled at once: the log can fail while the blob reader is still draining, before the awaits
    // below are reached (a broken object), and that must not surface as an unhandled rejection.
    walking.catch(() => {});
    try {
      yield* blobs;
    } catch (err) {
      // A failing log usually takes cat-file down with it: the log's error is the one to report.
      await walking;
      throw err;
    } finally {
      this.stopped = true; // only matters when the consumer left early
    }
    await walking;
  }

  /** Every (commit, path) that introduced one of the blobs `ids`, in log order. Call after the iteration. */
  *appearances(ids: ReadonlySet<string>): Iterable<Appearance> {
    if (ids.size === 0) return;
    const wanted = new Set<number>();
    for (const sha of ids) {
      const id = this.blobIds.get(sha);
      if (id !== undefined) wanted.add(id);
    }
    const { app } = this;
    for (let a = 0; a < this.appN; a++) {
      const blob = app[a * 3]!;
      if (!wanted.has(blob)) continue;
      const order = app[a * 3 + 1]!;
      yield { id: this.shas[blob]!, provenance: place(this.metas[order]!, this.paths[app[a * 3 + 2]!]!), order };
    }
  }

  /**
   * Appearances at a path that `opens` accepts of blobs first seen (and so scanned) at a path it
   * rejects: a file renamed or copied into a credential path (`release.keystore`) whose content the
   * path-gated rules never saw. Call after the iteration; `opens` is asked once per path.
   */
  *regated(opens: (path: string) => boolean): Iterable<Appearance> {
    const first = new Int32Array(this.shas.length).fill(-1);
    const verdict = new Int8Array(this.paths.length); // 0 unknown, 1 opens, 2 shut
    const at = (pid: number) => {
      if (verdict[pid] === 0) verdict[pid] = opens(this.paths[pid]!) ? 1 : 2;
      return verdict[pid] === 1;
    };
    const { app } = this;
    for (let a = 0; a < this.appN; a++) {
      const blob = app[a * 3]!;
      const pid = app[a * 3 + 2]!;
      if (first[blob] === -1) {
        first[blob] = pid;
        continue;
      }
      if (pid === first[blob] || !at(pid) || at(first[blob]!)) continue;
      const order = app[a * 3 + 1]!;
      yield { id: this.shas[blob]!, provenance: place(this.metas[order]!, this.paths[pid]!), order };
    }
  }

  /** The kept (redacted) metadata of a walked commit, by sha. Call after the iteration. */
  commitMeta(sha: string): CommitMeta | undefined {
    return this.metas.find((m) => m.sha === sha);
  }

  private async walk(request: (sha: string, provenance: GitProvenance) => void): Promise<void> {
    let commitIdx = -1;
    for await (const e of readLog(this.repo, this.range)) {
      if (this.stopped) return;
      if (e.kind === 'commit') {
        const { body: _body, ...meta } = e.meta;
        this.metas.push(this.opts.onCommit ? this.opts.onCommit(e.meta, commitIdx + 1) : meta);
        commitIdx++;
        this.walked++;
        continue;
      }
      let pid = this.pathIds.get(e.path);
      if (pid === undefined) {
        pid = this.paths.length;
        this.paths.push(e.path);
        this.pathIds.set(e.path, pid);
      }
      let id = this.blobIds.get(e.sha);
      if (id === undefined) {
        id = this.shas.length;
        this.blobIds.set(e.sha, id);
        this.shas.push(e.sha);
        request(e.sha, place(this.metas[commitIdx]!, e.path));
      }
      if (this.appN * 3 + 3 > this.app.length) {
        const grown = new Int32Array(this.app.length * 2);
        grown.set(this.app);
        this.app = grown;
      }
      this.app[this.appN * 3] = id;
      this.app[this.appN * 3 + 1] = commitIdx;
      this.app[this.appN * 3 + 2] = pid;
      this.appN++;
    }
  }
}

/** A commit's git provenance at `path`. */
export function place(meta: CommitMeta, path: string): GitProvenance {
  return { kind: 'git', commit: meta.sha, path, author: meta.author, email: meta.email, date: meta.date, message: meta.message };
}
