#!/usr/bin/env node
// The CLI is TypeScript (templates are .tsx); tsx compiles it on the fly so that
// `npx mailroom` works straight after `npm ci`, with no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
