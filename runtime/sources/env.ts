// A secret in an environment variable. The environment of a running process does not change from
// outside, so this source never rotates by itself: it suits local development and the emergency
// endpoint's override; mounted files (file.ts) are how Kubernetes delivers rotated values.
import { type SecretSourceObject, sourceError } from './types.js';

export function envSource(name: string, env: NodeJS.ProcessEnv = process.env): SecretSourceObject {
  const self = { kind: 'env', location: name };
  return {
    ...self,
    async fetch() {
      const v = env[name];
      if (v === undefined) throw sourceError(self, 'not set');
      return v;
    },
  };
}
