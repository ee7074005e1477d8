// Links into the product's front end. The base comes from FRONTEND_BASE_URL at
// render time, so the outbox row holds only the token, never a host name.
export const DEFAULT_BASE_URL = 'http://localhost:3000';

export function appLink(baseUrl: string | undefined, path: string, query: Record<string, string> = {}): string {
  const url = new URL(path.replace(/^\//, ''), `${(baseUrl ?? DEFAULT_BASE_URL).replace(/\/?$/, '/')}`);
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
  return url.toString();
}
