// Real `mailroom worker` processes for the benchmarks that need several of them, or
// their memory: each is a child running the CLI, as in production.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { BENCH_WORKER_ENV } from './env.ts';

const CLI = fileURLToPath(new URL('../../bin/mailroom.js', import.meta.url));

export interface WorkerProcess {
  child: ChildProcess;
  /** Peak resident set size so far, in MiB (the kernel's VmHWM). */
  peakRssMiB(): Promise<number>;
  stop(): Promise<void>;
}

export async function startWorkerProcess(env: Record<string, string>): Promise<WorkerProcess> {
  // BENCH_WORKER_NODE_FLAGS: Node/V8 flags for the workers only (e.g. heap sizes), not the bench.
  const flags = (process.env.BENCH_WORKER_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
  const child = spawn(process.execPath, [...flags, CLI, 'worker'], {
    env: { ...process.env, ...BENCH_WORKER_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  if (process.env.BENCH_WORKER_OUTPUT) child.stdout!.pipe(process.stderr);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Started once it logs so (LOG_LEVEL=info is forced for that line to appear).
  const deadline = Date.now() + 30_000;
  while (!output.includes('worker started')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`worker did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    async peakRssMiB() {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
      const kib = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN);
      return Math.round((kib / 1024) * 10) / 10;
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
