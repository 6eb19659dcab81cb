// Worker-thread entry: compiles the pack once, then reads and scans batches of files.
import { parentPort, workerData } from 'node:worker_threads';
import { compilePack } from '../engine/compile.js';
import type { BatchRequest, BatchResponse, WorkerInit } from './protocol.js';
import { readAndScan } from './read-and-scan.js';

const init = workerData as WorkerInit;
const pack = compilePack(init.rules, init.globalAllow);
const opts = {
  fingerprintKey: Buffer.from(init.fingerprintKey),
  showSecrets: init.showSecrets,
  skipBinary: init.skipBinary,
  maxFileSize: init.maxFileSize,
};

parentPort!.on('message', (req: BatchRequest) => {
  const results = [];
  let cleanFiles = 0;
  let cleanBytes = 0;
  for (const f of req.files) {
    const r = readAndScan(pack, f, opts);
    if (r.status === 'scanned' && r.findings.length === 0) {
      cleanFiles++;
      cleanBytes += r.bytes;
    } else {
      results.push(r);
    }
  }
  parentPort!.postMessage({ id: req.id, results, cleanFiles, cleanBytes } satisfies BatchResponse);
});
