// html-to-text 10 ships no types; mailroom uses only compile() (src/templates/plain-text.ts).
declare module 'html-to-text' {
  export function compile(options?: Record<string, unknown>): (html: string) => string;
}
