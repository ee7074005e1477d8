// The props size limit, one definition for both enqueue paths: the bytes of the
// props in PostgreSQL's jsonb text form, what mailroom.enqueue() in SQL measures
// with octet_length(props::text). JSON.stringify's text is shorter by a space
// after every ':' and ',' and writes very large and very small numbers with an
// exponent where jsonb writes every digit, so its length alone would let the two
// paths disagree near the limit (a 64 KiB payload accepted by one, refused by the other).
export const MAX_PROPS_BYTES = 64 * 1024;

/**
 * The bytes `octet_length(json::jsonb::text)` gives for `json`, a JSON.stringify()
 * output (one pass over it, no parse). Strings are written alike by both (same
 * escapes, UTF-8); only the separators and exponent numbers differ.
 */
export function jsonbTextBytes(json: string): number {
  let extra = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x2c /* , */ || c === 0x3a /* : */) {
      extra++;
    } else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      let end = i + 1;
      while (end < json.length && isNumberChar(json.charCodeAt(end))) end++;
      const token = json.slice(i, end);
      if (token.includes('e')) extra += plainDecimal(token).length - token.length;
      i = end - 1;
    }
  }
  return Buffer.byteLength(json) + extra;
}

const isNumberChar = (c: number) => (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d;

/** 1.5e-7 → 0.00000015 and 1e+21 → 1000000000000000000000, as PostgreSQL's numeric prints them. */
function plainDecimal(token: string): string {
  const sign = token.startsWith('-') ? '-' : '';
  const [mantissa, exponentText] = token.slice(sign.length).toLowerCase().split('e') as [string, string];
  const point = mantissa.indexOf('.');
  const digits = mantissa.replace('.', '');
  const newPoint = (point === -1 ? mantissa.length : point) + Number(exponentText);
  if (newPoint <= 0) return `${sign}0.${'0'.repeat(-newPoint)}${digits}`;
  if (newPoint >= digits.length) return `${sign}${digits}${'0'.repeat(newPoint - digits.length)}`;
  return `${sign}${digits.slice(0, newPoint)}.${digits.slice(newPoint)}`;
}
