// Building blocks for template props schemas, shared so every email checks the
// same things the same way.
import { z } from 'zod';

/** A string that may be placed in a mail header (the subject): one line, no CR or LF. */
export const headerText = z.string().regex(/^[^\r\n]*$/, 'must not contain a line break (CR or LF)');

/**
 * A person's or a circle's name as shown in an email (never in a subject: those are
 * fixed strings). One line all the same; the app's API also refuses control
 * characters in names (app/text.ts).
 */
export const displayName = headerText.trim().min(1).max(100);

/** A token for a confirmation link: URL-safe, so it survives copy and paste. */
export const token = z.string().regex(/^[A-Za-z0-9_-]{16,256}$/, 'must be 16-256 URL-safe characters');

/** An instant, as ISO 8601 with an offset (what JSON.stringify gives a Date). */
export const instant = z.iso.datetime({ offset: true });

/** An id that goes into a link path. */
export const pathId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 URL-safe characters');
