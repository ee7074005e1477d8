// Finds and loads the app's mailroom config for the CLI: --config FILE, else
// MAILROOM_CONFIG, else mailroom.config.{ts,mts,mjs,js} in the working directory.
// Any failure is one line naming the file (ConfigFileError).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { defineConfig, type MailroomConfig } from '../define-config.ts';

/** The variable that names the config file when --config is not given. */
export const CONFIG_VARIABLE = 'MAILROOM_CONFIG';

export const CONFIG_FILE_NAMES = ['mailroom.config.ts', 'mailroom.config.mts', 'mailroom.config.mjs', 'mailroom.config.js'] as const;

export class ConfigFileError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConfigFileError';
  }
}

export interface LoadedConfig {
  config: MailroomConfig<any>;
  /** The absolute path it came from. */
  path: string;
}

/** Where the config is: the flag, the variable, or the first default name present in `cwd`. */
export function findConfigFile(flag: string | undefined, env: Record<string, string | undefined> = process.env, cwd = process.cwd()): string {
  const given = flag ?? (env[CONFIG_VARIABLE] || undefined);
  if (given !== undefined) {
    const path = resolve(cwd, given);
    if (!existsSync(path)) throw new ConfigFileError(`config file ${path} does not exist (from ${flag !== undefined ? '--config' : 'MAILROOM_CONFIG'})`);
    return path;
  }
  for (const name of CONFIG_FILE_NAMES) {
    const path = resolve(cwd, name);
    if (existsSync(path)) return path;
  }
  throw new ConfigFileError(`no mailroom.config.{ts,mts,mjs,js} in ${cwd}: pass --config FILE or set MAILROOM_CONFIG`);
}

export async function loadConfigFile(flag?: string, env: Record<string, string | undefined> = process.env, cwd = process.cwd()): Promise<LoadedConfig> {
  const path = findConfigFile(flag, env, cwd);
  if (/\.[mc]?tsx?$/.test(path)) await registerTypeScriptLoader(path);
  let module: { default?: unknown; config?: unknown };
  try {
    module = await import(pathToFileURL(path).href);
  } catch (error) {
    throw new ConfigFileError(`cannot load config ${path}: ${oneLine(error)}${typeScriptHint(path, error)}`, { cause: error });
  }
  const exported = module.default ?? module.config;
  if (!exported || typeof exported !== 'object') {
    throw new ConfigFileError(`config ${path} must export a config as default (export default defineConfig({ templates: {...} }))`);
  }
  try {
    // A plain object is checked the same way defineConfig() checks one.
    return { config: defineConfig(exported as MailroomConfig<any>), path };
  } catch (error) {
    throw new ConfigFileError(`config ${path}: ${oneLine(error)}`, { cause: error });
  }
}

/**
 * Node 24 runs type-only TypeScript by itself; `.tsx` (JSX) needs a loader. When
 * the app has tsx installed, use it, so a config that imports .tsx templates works.
 */
async function registerTypeScriptLoader(path: string): Promise<void> {
  let api: string;
  try {
    api = createRequire(path).resolve('tsx/esm/api');
  } catch {
    return; // no tsx: Node's own type stripping it is
  }
  const { register } = (await import(pathToFileURL(api).href)) as { register: () => unknown };
  if (!registered) register();
  registered = true;
}
let registered = false;

function typeScriptHint(path: string, error: unknown): string {
  const code = (error as { code?: string } | null)?.code;
  if (code === 'ERR_UNKNOWN_FILE_EXTENSION' || code === 'ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING' || /\.tsx/.test(oneLine(error))) {
    return ` (Node runs type-only TypeScript itself, but not JSX: install tsx next to ${path}, or compile the config to .js)`;
  }
  return '';
}

function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!;
}
