#!/usr/bin/env node
// mailroom is a server: React renders emails with its production build unless told
// otherwise (the development build measured 2-3x slower per email).
process.env.NODE_ENV ??= 'production';

// The CLI is TypeScript (templates are .tsx); tsx compiles it on the fly so that
// `npx mailroom` works straight after `npm ci`, with no build step.
const { register } = await import('tsx/esm/api');
register();
await import('../src/cli/main.ts');
