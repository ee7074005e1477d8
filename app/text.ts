// What the API accepts as text a user types and the app stores or mails: names of
// people, circles and children, and media captions. Control characters are refused
// at the door with a 400 naming the field: a NUL used to reach PostgreSQL (which
// cannot store it) and answer 500, an ESC to reach terminals that print the text.
// Stricter than the emails' displayName (one line), so a name the API takes renders.

/**
 * Characters no typed name needs, as a regular-expression class body: C0 and C1
 * controls and DEL (NUL, ESC, BEL, CR, LF...), the line and paragraph separators,
 * and the bidi embeddings, overrides and isolates (they make text read in another
 * order than it is stored).
 */
const NOT_IN_NAMES = '\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069';

/** One line, not blank, no control characters. */
const NAME = `^[^${NOT_IN_NAMES}]*[^\\s${NOT_IN_NAMES}][^${NOT_IN_NAMES}]*$`;

/** A caption may span lines and hold tabs (CR, LF, TAB); nothing else of the controls. */
const CAPTION = `^[^${NOT_IN_NAMES.replace('\\u0000-\\u001f', '\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f')}]*$`;

export const textSchemas = {
  name: { type: 'string', minLength: 1, maxLength: 100, pattern: NAME },
  caption: { type: 'string', maxLength: 500, pattern: CAPTION },
} as const;

/** What a failed pattern means, in words, for the error message (else ajv shows the expression). */
export const PATTERN_MESSAGES: Record<string, string> = {
  [NAME]: 'must be one line of text, not blank, without control characters',
  [CAPTION]: 'must not contain control characters other than line breaks and tabs',
};
