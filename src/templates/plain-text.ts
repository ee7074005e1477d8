// The plain-text part, from the rendered HTML. react-email's toPlainText(html)
// calls html-to-text's convert(), which compiles its options (merges the defaults,
// builds the selector decision tree) again on every call: most of the 0.66 ms the
// text part cost per email in the issue #7 profile. Compiled once with the very
// options toPlainText passes, it gives the same text (test/templates.plain-text.test.ts).
import { compile } from 'html-to-text';
import { plainTextSelectors } from 'react-email';

export const toPlainText: (html: string) => string = compile({ wordwrap: false, selectors: plainTextSelectors });
