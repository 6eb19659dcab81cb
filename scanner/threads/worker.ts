// Worker-thread entry: waits for its init message (rules and options), compiles the pack once, then
// reads and scans batches of files.
import { parentPort } from 'node:worker_threads';
import { type CompiledPack, compilePack } from '../engine/compile.js';
import type { BatchRequest, BatchResponse, InitRequest } from './protocol.js';
import { type FileScanOptions, readAndScan, treeBinaryPolicy } from './read-and-scan.js';

let pack: CompiledPack | null = null;
let opts: FileScanOptions | null = null;

parentPort!.on('message', (msg: InitRequest | BatchRequest) => {
  if (msg.kind === 'init') {
    const init = msg.init;
    pack = compilePack(init.rules, init.globalAllow);
    opts = {
      fingerprintKey: Buffer.from(init.fingerprintKey),
      showSecrets: init.showSecrets,
      binary: treeBinaryPolicy(init.skipBinary),
      maxFileSize: init.maxFileSize,
    };
    return;
  }
  // Messages arrive in order, so init has run; a batch before it is a coordinator bug.
  if (pack === null || opts === null) throw new Error('scan worker got a batch before its init message');
  const results = [];
  let cleanFiles = 0;
  let cleanBytes = 0;
  for (const f of msg.files) {
    const r = readAndScan(pack, f, opts);
    if (r.kind === 'scanned' && r.findings.length === 0) {
      cleanFiles++;
      cleanBytes += r.bytes;
    } else {
      results.push(r);
    }
  }
  parentPort!.postMessage({ id: msg.id, results, cleanFiles, cleanBytes } satisfies BatchResponse);
});
