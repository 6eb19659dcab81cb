// Messages between the scan coordinator and its worker threads (structured-clone safe).
import type { GlobalAllowlist } from '../engine/compile.js';
import type { FileScanResult } from '../scan-file.js';
import type { Rule } from '../../rules/schema.js';

export interface WorkerInit {
  rules: Rule[];
  globalAllow: GlobalAllowlist;
  fingerprintKey: Uint8Array;
  showSecrets: boolean;
  skipBinary: boolean;
  maxFileSize: number;
}

export interface BatchRequest {
  id: number;
  files: Array<{ path: string; absPath: string }>;
}

export interface BatchResponse {
  id: number;
  results: FileScanResult[];
}
