// The product's config with the reference app's routes mounted with given options,
// as mailroom.config.ts mounts them with the settings from the environment.
import { appPlugin, type AppOptions } from '../../app/index.ts';
import { defineConfig } from '../../src/index.ts';
import { config } from './product.ts';

/** The product's config with the app's routes mounted with these options (as mailroom.config.ts mounts them from the environment). */
export function appConfig(options: Omit<AppOptions, 'pool'> = {}) {
  return defineConfig({
    ...config,
    routes: async (server, { pool }) => {
      await server.register(appPlugin, { ...options, pool });
    },
  });
}
