// `mailroom captured`: the latest messages the capture transport wrote, newest
// first, with the headers a developer looks for and the path to open. A subject
// holds what a user typed (a signup name): printed through printable().
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadConfig } from '../env.ts';
import { printable } from '../terminal.ts';
import { ValidationError } from '../../errors.ts';

export interface CapturedMessage {
  path: string;
  to: string;
  subject: string;
  date: string;
}

/** Header values of a raw .eml (unfolded); enough for a listing, not a MIME parser. */
function header(raw: string, name: string): string {
  const head = raw.split(/\r?\n\r?\n/, 1)[0] ?? '';
  const match = new RegExp(`^${name}:[ \\t]*(.*(?:\\r?\\n[ \\t].*)*)`, 'im').exec(head);
  return match ? match[1]!.replace(/\r?\n[ \t]+/g, ' ').trim() : '';
}

export async function listCaptured(dir: string, limit: number): Promise<CapturedMessage[]> {
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.eml'));
  // Names start with an ISO timestamp: sorting them sorts by capture time.
  const latest = files.sort().reverse().slice(0, limit);
  return Promise.all(
    latest.map(async (file) => {
      const path = join(dir, file);
      const raw = await readFile(path, 'utf8');
      return { path, to: header(raw, 'To'), subject: decodeSubject(header(raw, 'Subject')), date: (await stat(path)).mtime.toISOString() };
    }),
  );
}

/** RFC 2047 encoded words (=?UTF-8?Q?...?= / ?B?), as nodemailer writes non-ASCII subjects. */
function decodeSubject(value: string): string {
  return value.replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=\s*/g, (_all, _charset: string, encoding: string, text: string) =>
    encoding.toUpperCase() === 'B'
      ? Buffer.from(text, 'base64').toString('utf8')
      : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1').toString('utf8'),
  );
}

export async function capturedCommand(flags: { limit?: string; json?: boolean }): Promise<void> {
  const limit = flags.limit === undefined ? 20 : Number(flags.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new ValidationError('--limit', 'must be an integer from 1 to 1000');
  const dir = resolve(loadConfig().CAPTURE_DIR);
  const messages = await listCaptured(dir, limit);
  if (flags.json) return void process.stdout.write(`${JSON.stringify(messages)}\n`);
  if (messages.length === 0) return void process.stdout.write(`no captured mail in ${printable(dir)}\n`);
  for (const m of messages) process.stdout.write(`${m.date}  ${printable(m.to)}  ${printable(m.subject)}\n    ${printable(m.path)}\n`);
}
