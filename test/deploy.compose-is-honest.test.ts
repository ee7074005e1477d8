// The Dockerfile and docker-compose.yml only run what exists. There is no Docker
// engine on CI, so nothing here starts a container: the files are read as text, and
// every command they run is checked against the CLI's own `--help`, every variable
// they set against src/cli/env.ts, and the image's HEALTHCHECK is run, as written,
// against a real `buildServer()`.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../src/cli/env.ts';
import { connect, type Db } from '../src/db/connect.ts';
import { freePort } from '../src/db/embedded-postgres.ts';
import { buildServer, type Server } from '../src/http/server.ts';
import { createLogger } from '../src/logger.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const configKeys = new Set(Object.keys(configSchema.shape));

// ---- The CLI's commands, from its own help ----------------------------------------

let cliCommands: string[] = [];

beforeAll(() => {
  const help = spawnSync(process.execPath, [join(root, 'bin/mailroom.js'), '--help'], { encoding: 'utf8', env: { ...process.env, COLUMNS: '200' } });
  expect(help.status, help.stderr).toBe(0);
  cliCommands = parseHelpCommands(help.stdout);
});

/** Command names from commander's help: the lines of the `Commands:` block that start with two spaces and a word. */
function parseHelpCommands(help: string): string[] {
  const lines = help.split('\n');
  const start = lines.findIndex((l) => l.trim() === 'Commands:');
  if (start < 0) throw new Error(`no "Commands:" block in the help:\n${help}`);
  const names: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '') break;
    const m = /^ {2}([a-z][a-z0-9-]*)\b/.exec(line);
    if (m) names.push(m[1]!);
  }
  return names;
}

// ---- Dockerfile --------------------------------------------------------------------

interface Instruction {
  stage: number;
  keyword: string;
  args: string;
  line: number;
}

/** Instructions with their continuation lines joined; comments and blank lines dropped. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  let stage = -1;
  for (let i = 0; i < lines.length; i++) {
    const first = i;
    let line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    while (/\\\s*$/.test(line) && i + 1 < lines.length) line = line.replace(/\\\s*$/, ' ') + lines[++i]!.trim();
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`Dockerfile line ${first + 1} is not an instruction: ${line}`);
    const keyword = m[1]!.toUpperCase();
    if (keyword === 'FROM') stage++;
    out.push({ stage, keyword, args: m[2]!.trim(), line: first + 1 });
  }
  return out;
}

/** Exec form only (a JSON array): the shell form would hide what runs behind `sh -c`. */
function execForm(instruction: Instruction, args = instruction.args): string[] {
  try {
    const parsed: unknown = JSON.parse(args);
    if (Array.isArray(parsed) && parsed.every((p) => typeof p === 'string')) return parsed;
  } catch {}
  throw new Error(`Dockerfile line ${instruction.line}: ${instruction.keyword} must use the exec form ["…"], got ${args}`);
}

const dockerfile = parseDockerfile(read('Dockerfile'));
const finalStage = Math.max(...dockerfile.map((i) => i.stage));
const runStage = dockerfile.filter((i) => i.stage === finalStage);
const last = (keyword: string) => runStage.filter((i) => i.keyword === keyword).at(-1);

describe('Dockerfile', () => {
  it('has an ENTRYPOINT that is the mailroom CLI, and a CMD that is one of its commands', () => {
    const entrypoint = execForm(last('ENTRYPOINT')!);
    expect(entrypoint).toEqual(['node', 'bin/mailroom.js']);
    expect(existsSync(join(root, entrypoint[1]!))).toBe(true);
    const cmd = execForm(last('CMD')!);
    expect(cliCommands).toContain(cmd[0]);
  });

  it('runs every CMD of every stage as a CLI command (none other than the final one expected)', () => {
    for (const instruction of dockerfile.filter((i) => i.keyword === 'CMD')) {
      expect(cliCommands, `line ${instruction.line}`).toContain(execForm(instruction)[0]);
    }
  });

  it('is multi-stage: a build stage that installs dev dependencies and typechecks, a Node 24 slim run stage with production dependencies', () => {
    expect(finalStage).toBeGreaterThanOrEqual(1);
    const from = (stage: number) => dockerfile.find((i) => i.stage === stage && i.keyword === 'FROM')!.args;
    const arg = dockerfile.find((i) => i.stage === -1 && i.keyword === 'ARG' && i.args.startsWith('NODE_IMAGE='));
    const image = (stageFrom: string) => stageFrom.split(/\s+/)[0]!.replace('${NODE_IMAGE}', arg ? arg.args.split('=')[1]! : '');
    expect(image(from(finalStage))).toBe('node:24-slim');
    const runs = dockerfile.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    expect(runs.some((r) => /\bnpm ci\b(?!.*--omit=dev)/.test(r))).toBe(true);
    expect(runs.some((r) => /\btsc --noEmit\b/.test(r))).toBe(true);
    // The run stage installs nothing itself: its node_modules come from an --omit=dev install.
    expect(runStage.filter((i) => i.keyword === 'RUN').some((i) => /\bnpm (ci|install)\b/.test(i.args))).toBe(false);
    const copiedModules = runStage.find((i) => i.keyword === 'COPY' && /node_modules/.test(i.args))!;
    const fromStage = /--from=(\S+)/.exec(copiedModules.args)![1]!;
    const prodStage = dockerfile.find((i) => i.keyword === 'FROM' && new RegExp(`\\bAS\\s+${fromStage}\\b`, 'i').test(i.args))!.stage;
    expect(dockerfile.filter((i) => i.stage === prodStage && i.keyword === 'RUN').some((i) => /npm ci --omit=dev/.test(i.args))).toBe(true);
  });

  it('runs as a non-root user, and sets only variables mailroom reads', () => {
    const user = last('USER');
    expect(user?.args).toBeDefined();
    expect(user!.args).not.toMatch(/^(root|0)(:|$)/);
    const env = runStage.filter((i) => i.keyword === 'ENV').flatMap((i) => [...i.args.matchAll(/([A-Z_][A-Z0-9_]*)=/g)].map((m) => m[1]!));
    expect(env.filter((k) => !configKeys.has(k) && k !== 'NODE_ENV')).toEqual([]);
  });

  it('copies into the image every folder the CLI loads at run time', () => {
    const copied = runStage.filter((i) => i.keyword === 'COPY').map((i) => i.args).join('\n');
    // The library and the product it runs: mailroom.config.ts wires emails/ and app/.
    for (const needed of ['bin', 'src', 'emails', 'app', 'mailroom.config.ts', 'migrations', 'package.json', 'tsconfig.json', 'node_modules']) expect(copied).toContain(needed);
  });
});

describe("the image's HEALTHCHECK, run as written", () => {
  let db: Db;
  let server: Server;
  let port: number;
  let script: string[];

  beforeAll(async () => {
    const healthcheck = last('HEALTHCHECK')!;
    const cmd = /\bCMD\s+(\[.*\])\s*$/.exec(healthcheck.args);
    expect(cmd, 'HEALTHCHECK … CMD [exec form]').not.toBeNull();
    script = execForm(healthcheck, cmd![1]!);
    expect(script[0]).toBe('node'); // no curl in a slim image
    expect(script.join(' ')).toContain('/healthz');
    // /healthz needs no database: point the server at one nobody listens for.
    db = connect(`postgres://postgres@127.0.0.1:${await freePort()}/nowhere`, { max: 1 });
    server = buildServer({ db, logger: createLogger({ level: 'silent' }) });
    await server.listen({ port: 0, host: '127.0.0.1' });
    port = (server.server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await server?.close();
    await db?.close();
  });

  const run = (env: Record<string, string>) =>
    new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, script.slice(1), { env: { ...process.env, ...env }, stdio: 'ignore' });
      child.on('exit', (code) => resolve(code));
    });

  it('exits 0 while `mailroom serve` answers on PORT', async () => {
    expect(await run({ PORT: String(port) })).toBe(0);
  });

  it('exits 1 when nothing answers', async () => {
    expect(await run({ PORT: String(await freePort()) })).toBe(1);
  });
});

// ---- docker-compose.yml ------------------------------------------------------------

interface Block {
  /** The text after `key:` on its own line. */
  value: string;
  /** The indented lines below it. */
  body: string[];
}

/** Keys at `indent` spaces, each with its value and the deeper-indented lines below it. */
function blocks(lines: string[], indent: number): Map<string, Block> {
  const result = new Map<string, Block>();
  let current: Block | undefined;
  const keyLine = new RegExp(`^ {${indent}}([A-Za-z0-9_<.-]+):(?:\\s+(.*))?$`);
  for (const line of lines) {
    if (/^\s*(#.*)?$/.test(line)) continue;
    const m = keyLine.exec(line);
    if (m) {
      if (result.has(m[1]!)) throw new Error(`docker-compose.yml: ${m[1]} twice at indent ${indent}`);
      current = { value: (m[2] ?? '').replace(/\s+#.*$/, '').trim(), body: [] };
      result.set(m[1]!, current);
    } else if (line.startsWith(' '.repeat(indent + 1)) && current) {
      current.body.push(line);
    } else if (!/^ /.test(line) && indent > 0) {
      current = undefined;
    } else {
      throw new Error(`docker-compose.yml: cannot place line ${JSON.stringify(line)} (indent ${indent})`);
    }
  }
  return result;
}

/** `command:` as a flow list ["a", "b"], a plain string, or a block list. */
function commandOf(block: Block): string[] {
  if (block.value.startsWith('[')) return JSON.parse(block.value) as string[];
  if (block.value) return block.value.replace(/^["']|["']$/g, '').split(/\s+/);
  return block.body.map((l) => l.trim().replace(/^- /, '').replace(/^["']|["']$/g, ''));
}

/** Keys of a mapping block (`KEY: value` lines), following one `<<: *anchor` merge. */
function mappingKeys(block: Block | undefined, anchors: Map<string, Block>): string[] {
  if (!block) return [];
  const keys: string[] = [];
  for (const line of block.body) {
    const merge = /^\s+<<:\s*\*(\S+)/.exec(line);
    if (merge) {
      const anchored = anchors.get(merge[1]!);
      if (!anchored) throw new Error(`docker-compose.yml: unknown anchor *${merge[1]}`);
      keys.push(...mappingKeys(anchored, anchors));
      continue;
    }
    const m = /^\s+([A-Za-z_][A-Za-z0-9_]*):/.exec(line);
    if (m) keys.push(m[1]!);
  }
  return keys;
}

const composeText = read('docker-compose.yml');
const composeLines = composeText.split('\n');
const topLevel = blocks(composeLines, 0);
// Anchors defined on top-level extension fields: `x-name: &anchor`.
const anchors = new Map<string, Block>();
for (const [, block] of topLevel) {
  const m = /^&(\S+)$/.exec(block.value);
  if (m) anchors.set(m[1]!, block);
}
const services = blocks(topLevel.get('services')?.body ?? [], 2);

/** A service's keys at indent 4, with those merged in from `<<: *anchor`. */
function serviceKeys(name: string): Map<string, Block> {
  const own = blocks(services.get(name)!.body, 4);
  const merged = new Map<string, Block>();
  const merge = own.get('<<');
  if (merge) {
    const anchored = anchors.get(merge.value.replace(/^\*/, ''));
    if (!anchored) throw new Error(`docker-compose.yml: service ${name} merges unknown anchor ${merge.value}`);
    for (const [k, v] of blocks(anchored.body, 2)) merged.set(k, v);
  }
  for (const [k, v] of own) if (k !== '<<') merged.set(k, v);
  return merged;
}

const isMailroom = (name: string) => serviceKeys(name).get('build')?.value === '.';
const mailroomServices = [...services.keys()].filter(isMailroom);

describe('docker-compose.yml', () => {
  it('has the services of issue 8', () => {
    expect([...services.keys()].sort()).toEqual(['api', 'mailpit', 'migrate', 'postgres', 'prometheus', 'worker']);
    expect(mailroomServices.sort()).toEqual(['api', 'migrate', 'worker']);
  });

  it('runs only real CLI commands: every `command:` in the file is a mailroom service running a command of `mailroom --help`', () => {
    // Count the raw `command:` lines too, so a form this parser misses cannot slip through unchecked.
    const rawCommandLines = composeLines.filter((l) => /^\s+command:/.test(l)).length;
    let checked = 0;
    for (const name of services.keys()) {
      const command = serviceKeys(name).get('command');
      if (!command) continue;
      checked++;
      expect(isMailroom(name), `${name} runs a command but is not built from the Dockerfile`).toBe(true);
      expect(cliCommands, `service ${name}: command ${JSON.stringify(commandOf(command))}`).toContain(commandOf(command)[0]);
    }
    expect(checked).toBe(rawCommandLines);
    expect(checked).toBeGreaterThan(0);
  });

  it('gives each mailroom service its role: migrate once, api serves, two workers', () => {
    const command = (name: string) => commandOf(serviceKeys(name).get('command')!);
    expect(command('migrate')).toEqual(['migrate']);
    expect(command('api')).toEqual(['serve']);
    expect(command('worker')).toEqual(['worker']);
    expect(serviceKeys('worker').get('deploy')!.body.map((l) => l.trim())).toContain('replicas: 2');
    expect(serviceKeys('migrate').get('restart')?.value).toBe('"no"');
    for (const name of ['api', 'worker']) {
      const dependsOn = serviceKeys(name).get('depends_on')!.body.map((l) => l.trim()).join('\n');
      expect(dependsOn, name).toMatch(/migrate:\n\s*condition: service_completed_successfully/);
    }
  });

  it('sets only variables mailroom reads on the mailroom services', () => {
    for (const name of mailroomServices) {
      const keys = mappingKeys(serviceKeys(name).get('environment'), anchors);
      expect(keys.length, name).toBeGreaterThan(0);
      // Node's own NODE_OPTIONS (heap caps for the worker) is the one variable not ours.
      expect(keys.filter((k) => !configKeys.has(k) && k !== 'NODE_OPTIONS'), `service ${name}`).toEqual([]);
    }
    // The api listens on every interface of its container, on the port Prometheus scrapes.
    const api = mappingKeys(serviceKeys('api').get('environment'), anchors);
    expect(api).toContain('HOST');
    expect(composeText).toMatch(/^\s+HOST: 0\.0\.0\.0$/m);
    expect(read('deploy/prometheus.yml')).toContain("'api:3000'");
    expect(composeText).toMatch(/^\s+PORT: "3000"$/m);
  });

  it('depends only on services that exist', () => {
    for (const name of services.keys()) {
      const dependsOn = serviceKeys(name).get('depends_on');
      if (!dependsOn) continue;
      const targets = dependsOn.body.map((l) => /^\s+(?:- )?([a-z0-9_-]+):?\s*$/.exec(l)?.[1]).filter((t): t is string => !!t && t !== 'condition');
      for (const target of targets) expect([...services.keys()], `${name} depends on ${target}`).toContain(target);
    }
  });

  it('publishes every port on 127.0.0.1 only', () => {
    let published = 0;
    for (const name of services.keys()) {
      for (const line of serviceKeys(name).get('ports')?.body ?? []) {
        published++;
        expect(line.trim(), `service ${name}`).toMatch(/^- "127\.0\.0\.1:/);
      }
    }
    expect(published).toBeGreaterThan(0);
  });

  it("keeps the image's HTTP healthcheck for `serve`, checks a worker's own WORKER_PORT, and turns it off elsewhere", () => {
    for (const name of mailroomServices) {
      const command = commandOf(serviceKeys(name).get('command')!)[0];
      const healthcheck = serviceKeys(name).get('healthcheck');
      const lines = healthcheck?.body.map((l) => l.trim()) ?? [];
      if (command === 'serve') expect(healthcheck, name).toBeUndefined();
      else if (command === 'worker') {
        // The probe must hit the port the worker is told to serve on.
        const port = /WORKER_PORT: "(\d+)"/.exec(serviceKeys(name).get('environment')!.body.join('\n'))?.[1];
        expect(port, `${name}: WORKER_PORT`).toBeDefined();
        expect(lines.join(' '), name).toContain(`127.0.0.1:${port}/readyz`);
      } else expect(lines, name).toContain('disable: true');
    }
  });

  it('mounts a Prometheus config that exists, under the metrics profile', () => {
    const prometheus = serviceKeys('prometheus');
    expect(prometheus.get('profiles')?.value).toBe('["metrics"]');
    const mount = prometheus.get('volumes')!.body.map((l) => l.trim().replace(/^- /, ''))[0]!;
    expect(existsSync(join(root, mount.split(':')[0]!))).toBe(true);
  });
});

describe('the help parser', () => {
  it('reads command names, not wrapped description lines', () => {
    const help = 'Usage: x\n\nCommands:\n  migrate        does a thing\n                 that wraps\n  show [options] <id>  one row\n  help [command]  help\n';
    expect(parseHelpCommands(help)).toEqual(['migrate', 'show', 'help']);
  });
});
