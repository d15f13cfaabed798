import type { Hl7EncodingCharacters } from '../message';
import { DEFAULT_ENCODING_CHARACTERS, escapeHl7, unescapeHl7 } from './hl7-escape.codec';

const custom: Hl7EncodingCharacters = { field: '#', component: '!', repetition: '*', escape: '$', subComponent: '%', truncation: '@' };

describe('escapeHl7 / unescapeHl7 (Chapter 2 §2.7)', () => {
  it('escapes each delimiter', () => {
    expect(escapeHl7('|^&~\\')).toBe('\\F\\\\S\\\\T\\\\R\\\\E\\');
    expect(escapeHl7('a#b', DEFAULT_ENCODING_CHARACTERS)).toBe('a#b');
    expect(escapeHl7('a#b!c*d$e%f@g', custom)).toBe('a$F$b$S$c$R$d$E$e$T$f$P$g');
    expect(escapeHl7('x\r\ny\rz')).toBe('x\\.br\\y\\.br\\z');
  });

  it('round-trips arbitrary strings', () => {
    const samples = ['', 'plain', '\\', '\\\\F\\', 'a|b^c&d~e\\f', '\\X41\\', '\\.br\\', '张伟 Zoë', 'end\\'];
    for (const s of samples) {
      expect(unescapeHl7(escapeHl7(s))).toBe(s);
      expect(unescapeHl7(escapeHl7(s, custom), custom)).toBe(s);
    }
  });

  it('resolves formatting, hex and charset escapes', () => {
    expect(unescapeHl7('\\H\\B\\N\\')).toBe('B');
    expect(unescapeHl7('a\\.sp\\b\\.sp3\\c')).toBe('a\nb\n\n\nc');
    expect(unescapeHl7('\\.fi\\\\.nf\\\\.ce\\\\.in+2\\\\.ti-1\\\\.sk4\\x')).toBe('x');
    expect(unescapeHl7('\\X0D0A\\')).toBe('\r\n');
    expect(unescapeHl7('\\XE5BCA0\\')).toBe('张');
    expect(unescapeHl7('\\XE9\\')).toBe('é'); // not UTF-8 → ISO 8859-1
    expect(unescapeHl7('\\C2842\\x\\M2442\\')).toBe('x');
    expect(unescapeHl7('\\Zlocal\\y')).toBe('y');
  });

  it('keeps unknown and unterminated sequences literally', () => {
    expect(unescapeHl7('\\Q\\')).toBe('\\Q\\');
    expect(unescapeHl7('\\X4\\')).toBe('\\X4\\');
    expect(unescapeHl7('50\\')).toBe('50\\');
    expect(unescapeHl7('a\\b\\F\\')).toBe('a\\b|');
    expect(unescapeHl7('\\P\\')).toBe('\\P\\'); // no truncation character declared
    expect(unescapeHl7('$P$', custom)).toBe('@');
  });
});
