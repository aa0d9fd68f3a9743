import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { AutocannonRun, FloorRun, OursRun } from './client-bench-report.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('npm run bench:client -- --quick', () => {
  it('runs end to end at c=1 (ours over HTTP and gRPC, autocannon, the floors) and writes the record', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inferbench-client-bench-test-'));
    try {
      const out = join(dir, 'client');
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'test/bench/client.bench.ts', '--quick', '--concurrency', '1', '--out', out],
        { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let output = '';
      child.stdout.on('data', (d: Buffer) => {
        output += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        output += d.toString();
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      clearTimeout(timer);
      assert.equal(code, 0, output);

      const record = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as {
        runs: {
          ours: OursRun[];
          autocannon: AutocannonRun[];
          rawFloor: FloorRun[];
          rawGrpcFloor: FloorRun[];
        };
        targetsMet: { overhead: boolean; rateRatio: boolean; autocannonValid: boolean };
      };
      const { ours, autocannon, rawFloor, rawGrpcFloor } = record.runs;
      assert.deepEqual(ours.map((r) => r.protocol).sort(), ['grpc', 'http']);
      for (const r of ours) {
        assert.equal(r.errors, 0);
        assert.ok(r.ratePerSec > 0 && r.clientMeanUs > 0 && r.serverMeanUs > 0, JSON.stringify(r));
        // The server's time is part of what the client measured.
        assert.ok(r.clientMeanUs > r.serverMeanUs, JSON.stringify(r));
      }
      assert.equal(autocannon.length, 1);
      assert.ok((autocannon[0]?.ok2xx ?? 0) > 0);
      assert.equal(rawFloor.length, 1);
      assert.equal(rawGrpcFloor.length, 1);
      assert.equal(rawGrpcFloor[0]?.non2xx, 0);
      assert.ok((rawGrpcFloor[0]?.ratePerSec ?? 0) > 0);
      assert.equal(record.targetsMet.autocannonValid, true);
      const md = readFileSync(`${out}.md`, 'utf8');
      assert.match(md, /\| HTTP binary \|/);
      assert.match(md, /\| gRPC \|/);
      assert.match(md, /\| bare node:http2 floor, gRPC \(reference\) \|/);
      assert.match(md, /\*\*(NOT )?MET\*\*/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
