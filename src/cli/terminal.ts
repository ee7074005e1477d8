// Text from the database (a subject built from a signup name, a provider's error,
// an address from a webhook) printed for people. A terminal acts on control
// characters: ESC starts sequences that recolour, move the cursor, retitle the
// window or, in some terminals, write to the clipboard. The human-readable output
// of the CLI shows them escaped instead; `--json` is JSON and escapes on its own.

/**
 * What a terminal may act on or that hides what is printed: C0 controls, DEL, C1
 * controls (U+0080-U+009F; some terminals take U+009B as CSI), the line and
 * paragraph separators U+2028/U+2029, and the bidirectional overrides and isolates
 * (U+202A-U+202E, U+2066-U+2069) that can make text read in another order.
 */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;
const UNPRINTABLE_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

/** The short forms JSON uses, so a value reads the same here as inside `--json` output or a JSON cell. */
const SHORT: Record<string, string> = { '\b': '\\b', '\t': '\\t', '\n': '\\n', '\f': '\\f', '\r': '\\r' };

const escape = (char: string) => SHORT[char] ?? `\\u${char.codePointAt(0)!.toString(16).padStart(4, '0')}`;

/**
 * `text` safe to print to a terminal: each control character as its JSON escape
 * (`\u001b`, `\n`, `\u009b`, `\u2028`); everything else, non-ASCII letters included,
 * unchanged. By default a value stays on one line (a line feed shows as `\n`);
 * `{ multiline: true }` keeps line feeds for a value meant to span lines.
 * A backslash is left as it is: this is for reading, not a reversible encoding.
 */
export function printable(text: string, options: { multiline?: boolean } = {}): string {
  return text.replace(options.multiline ? UNPRINTABLE_BUT_NEWLINE : UNPRINTABLE, escape);
}

