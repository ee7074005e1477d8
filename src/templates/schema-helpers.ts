import { z } from 'zod';

/** A string that may be placed in a mail header (the subject): one line, no CR or LF. */
export const headerText = z.string().regex(/^[^\r\n]*$/, 'must not contain a line break (CR or LF)');
