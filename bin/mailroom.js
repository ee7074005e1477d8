#!/usr/bin/env node
// mailroom is a server: React renders emails with its production build unless told
// otherwise (the development build measured 2-3x slower per email).
process.env.NODE_ENV ??= 'production';

// An installed package runs its compiled CLI (dist/) with plain node. In this
// repository's checkout (src/ is there, tsx is installed) it runs the TypeScript
// source instead, with the `mailroom-source` condition so that the repository's
// own product, which imports 'mailroom' like any app, gets the same source modules.
import { existsSync } from 'node:fs';
import { registerHooks } from 'node:module';

const source = new URL('../src/cli/main.ts', import.meta.url);
let tsx;
if (existsSync(source)) tsx = await import('tsx/esm/api').catch(() => undefined);
if (tsx) {
  tsx.register();
  registerHooks({ resolve: (specifier, context, next) => next(specifier, { ...context, conditions: [...context.conditions, 'mailroom-source'] }) });
  await import(source.href);
} else {
  await import('../dist/cli/main.js');
}
