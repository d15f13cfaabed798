import type { Hl7EncodingCharacters } from '../message';

/** The encoding characters HL7 v2.x recommends (Chapter 2 §2.5.4): `|^~\&`. */
export const DEFAULT_ENCODING_CHARACTERS: Hl7EncodingCharacters = Object.freeze({
  field: '|',
  component: '^',
  repetition: '~',
  escape: '\\',
  subComponent: '&',
});

/**
 * Escapes a plain value so it can be placed in one field / component / sub-component
 * (HL7 v2.x Chapter 2 §2.7.1): \F\ field, \S\ component, \T\ sub-component, \R\ repetition,
 * \E\ escape, \P\ truncation (v2.7+, only when the message declares a truncation character).
 * Line breaks become \.br\ (§2.7.6, formatted text) so that `unescapeHl7(escapeHl7(v)) === v`
 * for values using "\n"; a bare CR is normalized to a line break as well, because CR is the
 * segment terminator and cannot appear literally.
 */
export function escapeHl7(value: string, encoding: Hl7EncodingCharacters = DEFAULT_ENCODING_CHARACTERS): string {
  const { escape: e } = encoding;
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === e) out += `${e}E${e}`;
    else if (ch === encoding.field) out += `${e}F${e}`;
    else if (ch === encoding.component) out += `${e}S${e}`;
    else if (ch === encoding.subComponent) out += `${e}T${e}`;
    else if (ch === encoding.repetition) out += `${e}R${e}`;
    else if (encoding.truncation !== undefined && ch === encoding.truncation) out += `${e}P${e}`;
    else if (ch === '\r') {
      out += `${e}.br${e}`;
      if (value[i + 1] === '\n') i++;
    } else if (ch === '\n') out += `${e}.br${e}`;
    else out += ch;
  }
  return out;
}

/**
 * Resolves the escape sequences of ONE leaf value (a sub-component, already split on the
 * delimiters), per HL7 v2.x Chapter 2 §2.7:
 *  - \F\ \S\ \T\ \R\ \E\ → the delimiter; \P\ → truncation character (v2.7 §2.7.1)
 *  - \H\ \N\ (start/end highlighting, §2.7.2) → removed
 *  - \Xhhhh…\ (hexadecimal data, §2.7.4) → the bytes, read as UTF-8 when they form valid UTF-8,
 *    else as ISO 8859-1 (the message's own charset is already decoded at this point, so the
 *    bytes cannot be re-interpreted in it; senders use \X..\ almost only for ASCII controls)
 *  - \Cxxyy\ \Mxxyyzz\ (ISO 2022 character-set switches, §2.7.3) and \Zxxxx\ (locally defined,
 *    §2.7.5) → removed; we decode whole messages in one charset instead
 *  - formatted text (§2.7.6): \.br\ → "\n"; \.sp\ / \.sp<n>\ → n line breaks (default 1);
 *    \.fi\ \.nf\ \.in<n>\ \.ti<n>\ \.sk<n>\ \.ce\ → removed
 *  - anything else, or an escape character without a closing one, is kept literally
 *    (lenient receiving, Chapter 2 §2.10 rules for receiving).
 */
export function unescapeHl7(value: string, encoding: Hl7EncodingCharacters = DEFAULT_ENCODING_CHARACTERS): string {
  const e = encoding.escape;
  if (e === '' || !value.includes(e)) return value;
  let out = '';
  let i = 0;
  while (i < value.length) {
    const start = value.indexOf(e, i);
    if (start < 0) {
      out += value.slice(i);
      break;
    }
    out += value.slice(i, start);
    const end = value.indexOf(e, start + 1);
    if (end < 0) {
      out += value.slice(start);
      break;
    }
    const body = value.slice(start + 1, end);
    const resolved = resolveEscape(body, encoding);
    if (resolved === undefined) {
      // Not an escape sequence we know: keep the escape character literally and rescan from the
      // next character, so "a\b\F\" still resolves its \F\.
      out += e;
      i = start + 1;
    } else {
      out += resolved;
      i = end + 1;
    }
  }
  return out;
}

function resolveEscape(body: string, encoding: Hl7EncodingCharacters): string | undefined {
  switch (body) {
    case 'F':
      return encoding.field;
    case 'S':
      return encoding.component;
    case 'T':
      return encoding.subComponent;
    case 'R':
      return encoding.repetition;
    case 'E':
      return encoding.escape;
    case 'P':
      return encoding.truncation ?? undefined;
    case 'H':
    case 'N':
      return '';
    case '.br':
      return '\n';
    case '.fi':
    case '.nf':
    case '.ce':
      return '';
    default:
      break;
  }
  if (/^X(?:[0-9A-Fa-f]{2})+$/.test(body)) return decodeHexData(body.slice(1));
  if (/^C[0-9A-Fa-f]{4}$/.test(body) || /^M[0-9A-Fa-f]{4}(?:[0-9A-Fa-f]{2})?$/.test(body)) return '';
  if (/^Z[^\r\n]*$/.test(body) && body.length > 1) return '';
  const sp = /^\.sp([+-]?\d+)?$/.exec(body);
  if (sp) return '\n'.repeat(Math.max(1, Math.min(Number(sp[1] ?? '1'), 100)));
  if (/^\.(?:in|ti|sk)[+-]?\d+$/.test(body)) return '';
  return undefined;
}

function decodeHexData(hex: string): string {
  const bytes = Buffer.from(hex, 'hex');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}
