// The HTTP server's settings from the environment, for `serve`, `dev` and a worker's
// probe server: spread into buildServer()'s options.
import type { ServerOptions } from '../http/server.ts';
import type { Config } from './env.ts';

export type HttpOptions = Required<Pick<ServerOptions, 'requestTimeoutMs' | 'adminLoginRateLimit'>> & Pick<ServerOptions, 'trustProxy'>;

/** TRUST_PROXY, HTTP_REQUEST_TIMEOUT_MS and ADMIN_LOGIN_RATE_LIMIT as buildServer() options. */
export function httpOptionsFromEnv(config: Config): HttpOptions {
  return {
    trustProxy: config.TRUST_PROXY,
    requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
    adminLoginRateLimit: config.ADMIN_LOGIN_RATE_LIMIT,
  };
}
