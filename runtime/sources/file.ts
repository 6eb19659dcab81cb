// A secret in a file: a mounted Kubernetes secret, a Docker secret, a file a rotation receiver writes
// by atomic rename. Watched (directory events) and polled by the secret: the kubelet swaps a `..data`
// symlink inside the mount, and that swap does not always reach a watch on the file (see
// docs/runtime.md, "Files and Kubernetes").
import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { jsonField, type SecretSourceObject, sourceError } from './types.js';

export interface FileSourceOptions {
  /** Strip surrounding whitespace (a file written by `echo` ends with a newline). @defaultValue true */
  trim?: boolean;
  /** The file holds a JSON object; take this field. */
  field?: string;
  /** Watch the file's directory for changes in addition to polling. @defaultValue true */
  watch?: boolean;
}

export function fileSource(path: string, opts: FileSourceOptions = {}): SecretSourceObject {
  const file = resolve(path);
  const self = { kind: 'file', location: file };
  return {
    ...self,
    async fetch(signal) {
      let text: string;
      try {
        text = await readFile(file, { encoding: 'utf8', signal });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? (err as Error).name;
        throw sourceError(self, `cannot read (${code})`);
      }
      if (opts.field !== undefined) text = jsonField(self, text, opts.field);
      return opts.trim === false ? text : text.trim();
    },
    watch:
      opts.watch === false
        ? undefined
        : (onChange) => {
            let watcher: FSWatcher | null = null;
            try {
              // The directory, not the file: a rename over the file or a `..data` symlink swap replaces
              // the inode a file watch would follow. Any event is a hint; the secret reads and compares.
              watcher = watch(dirname(file), { persistent: false }, () => onChange());
              watcher.on('error', () => {
                watcher?.close();
                watcher = null; // polling carries on alone
              });
            } catch {
              watcher = null; // no directory yet, or no inotify: polling alone
            }
            return () => watcher?.close();
          },
  };
}
