// Where scanned content came from: one discriminated union on `kind` (Nosey Parker's `Provenance`),
// carried by every occurrence of a finding. A leaf of the model: it imports nothing of ours.
import { z } from 'zod';

/**
 * A file of a scanned tree. `path` is relative to the scanned root, `/`-separated.
 */
export const FileProvenance = z.object({ kind: z.literal('file'), path: z.string() }).strict();
export type FileProvenance = z.infer<typeof FileProvenance>;

/** A byte stream read from stdin (its report path is `-`). */
export const StdinProvenance = z.object({ kind: z.literal('stdin') }).strict();
export type StdinProvenance = z.infer<typeof StdinProvenance>;

/**
 * Where in a commit's metadata a secret was found (absent: in the blob at `path`): `message` (the
 * whole commit message, lines counted from its subject), `author` (the text `Name <email>`), `ref` (a
 * branch or tag name pointing at the commit, in `ref`).
 */
export const GitLocation = z.enum(['message', 'author', 'ref']);
export type GitLocation = z.infer<typeof GitLocation>;

/**
 * A blob at `path` in `commit`, or with `location`, the commit's own metadata (then `path` is empty).
 * `repo` names the repository (see `targetOf` in scanner/target.ts) when the scan records it (service
 * jobs); a CLI scan of the repository at hand leaves it out. Commit metadata is scanned content: the
 * `author`, `email`, `message` and `ref` carried here are redacted of every secret found in that
 * commit's metadata before any finding is made (scanner/scan-git.ts), so none is stored or reported.
 */
export const GitProvenance = z
  .object({
    kind: z.literal('git'),
    repo: z.string().optional(),
    commit: z.string(),
    path: z.string(),
    author: z.string(),
    email: z.string(),
    /** Author date, ISO 8601. */
    date: z.string(),
    /** Subject line (redacted). */
    message: z.string(),
    location: GitLocation.optional(),
    /** For `location: 'ref'`: the ref's full name (`refs/heads/...`), redacted. */
    ref: z.string().optional(),
  })
  .strict();
export type GitProvenance = z.infer<typeof GitProvenance>;

/**
 * A crash dump or other binary: `offset` is the byte offset of the secret in the input (for gzip:
 * in the decompressed stream). `path` is absent for a dump that came without a name.
 */
export const DumpProvenance = z
  .object({ kind: z.literal('dump'), path: z.string().optional(), offset: z.number().int().min(0) })
  .strict();
export type DumpProvenance = z.infer<typeof DumpProvenance>;

/**
 * A log stream. Span lines count in the stream when its position is known, else from the batch's first
 * line; the two optional fields say which, and so place an occurrence exactly once:
 * `run`: the run of the stream the lines count in (`redact --record` restarts at line 1 each run);
 * `batch`: a digest of the batch's bytes, when lines count from the batch (a re-sent batch is the same
 * occurrence, a different batch is not). `time`: when the batch was shipped or received (ISO).
 */
export const LogProvenance = z
  .object({
    kind: z.literal('log'),
    stream: z.string(),
    time: z.string().optional(),
    run: z.string().optional(),
    batch: z.string().optional(),
  })
  .strict();
export type LogProvenance = z.infer<typeof LogProvenance>;

/**
 * A GitHub secret scanning alert (`POST /v1/github/webhook`): the secret GitHub found, at one of the
 * alert's locations. `repo` names the repository as the store does (`https://github.com/<owner>/<repo>`, see
 * `targetOf`); `location` is GitHub's location type (`commit`, `issue_comment`, `pull_request_body`,
 * ...): a `commit` location has `commit` and `path` (and the span's lines), the others only `url`.
 */
export const GitHubAlertProvenance = z
  .object({
    kind: z.literal('github-alert'),
    repo: z.string(),
    /** The alert's number in its repository. */
    alert: z.number().int().min(1),
    /** The alert's page. */
    url: z.string(),
    location: z.string(),
    commit: z.string().optional(),
    path: z.string().optional(),
    /** The location's own page (a blob, an issue comment), when GitHub gives one. */
    locationUrl: z.string().optional(),
  })
  .strict();
export type GitHubAlertProvenance = z.infer<typeof GitHubAlertProvenance>;

export const Provenance = z.discriminatedUnion('kind', [
  FileProvenance,
  StdinProvenance,
  GitProvenance,
  DumpProvenance,
  LogProvenance,
  GitHubAlertProvenance,
]);
export type Provenance = z.infer<typeof Provenance>;
export type ProvenanceKind = Provenance['kind'];
