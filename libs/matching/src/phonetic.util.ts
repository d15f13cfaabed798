/**
 * NYSIIS phonetic code (New York State Identification and Intelligence System; R. L. Taft, "Name
 * Search Techniques", New York State Special Report No. 1, 1970), the original algorithm without the
 * 6-character truncation. Input is any folded Latin name; non-letters are ignored.
 */
export function nysiis(name: string): string {
  let s = name.toUpperCase().replace(/[^A-Z]/g, '');
  if (s === '') return '';
  // Step 1: prefixes
  if (s.startsWith('MAC')) s = 'MCC' + s.slice(3);
  else if (s.startsWith('KN')) s = 'NN' + s.slice(2);
  else if (s.startsWith('K')) s = 'C' + s.slice(1);
  else if (s.startsWith('PH') || s.startsWith('PF')) s = 'FF' + s.slice(2);
  else if (s.startsWith('SCH')) s = 'SSS' + s.slice(3);
  // Step 2: suffixes
  if (s.endsWith('EE') || s.endsWith('IE')) s = s.slice(0, -2) + 'Y';
  else if (/(DT|RT|RD|NT|ND)$/.test(s)) s = s.slice(0, -2) + 'D';
  // Step 3: first character of the key is the first character of the name
  let key = s[0];
  const chars = s.split('');
  const vowel = (c: string | undefined): boolean => c !== undefined && 'AEIOU'.includes(c);
  // Step 4: translate the rest
  for (let i = 1; i < chars.length; i++) {
    const c = chars[i];
    let out: string;
    if (c === 'E' && chars[i + 1] === 'V') {
      chars[i + 1] = 'F';
      out = 'A';
    } else if (vowel(c)) out = 'A';
    else if (c === 'Q') out = 'G';
    else if (c === 'Z') out = 'S';
    else if (c === 'M') out = 'N';
    else if (c === 'K') out = chars[i + 1] === 'N' ? 'N' : 'C';
    else if (c === 'S' && chars[i + 1] === 'C' && chars[i + 2] === 'H') {
      chars[i + 1] = 'S';
      chars[i + 2] = 'S';
      out = 'S';
    } else if (c === 'P' && chars[i + 1] === 'H') {
      chars[i + 1] = 'F';
      out = 'F';
    } else if (c === 'H' && (!vowel(chars[i - 1]) || !vowel(chars[i + 1]))) out = chars[i - 1]!;
    else if (c === 'W' && vowel(chars[i - 1])) out = chars[i - 1]!;
    else out = c;
    chars[i] = out;
    if (out !== key[key.length - 1]) key += out;
  }
  // Steps 5-7: trailing S, AY → Y, trailing A
  if (key.length > 1 && key.endsWith('S')) key = key.slice(0, -1);
  if (key.endsWith('AY')) key = key.slice(0, -2) + 'Y';
  if (key.length > 1 && key.endsWith('A')) key = key.slice(0, -1);
  return key;
}
