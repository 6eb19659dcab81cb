// The tool version reported in JSON and SARIF reports, the CLI and the API document, read once from
// package.json. A leaf (node:fs only), so every part may import it.
import { readFileSync } from 'node:fs';

function readVersion(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'keywarden' && pkg.version) return pkg.version;
    } catch {
      // try the next location: sources (config/) and compiled output (dist/config/) sit at different depths
    }
  }
  return '0.0.0';
}

export const VERSION = readVersion();
