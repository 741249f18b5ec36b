// Harmonized System commodity codes as declared to customs: the 6-digit WCO code or a national
// extension of it (8-digit AHTN tariff lines in Viet Nam, 10-digit lines elsewhere).

/**
 * Validates an HS code; returns undefined when valid, else a short reason.
 * Accepts 6, 8 or 10 digits and nothing else (no dots or spaces: "8471.30" is a display form). The
 * chapter must be 01-97 and not 77, which the WCO keeps reserved; 98 and 99 are national-use chapters
 * with no international meaning, so they are rejected too.
 */
export function checkHsCode(value: string): string | undefined {
  const length = value.length;
  if (length !== 6 && length !== 8 && length !== 10) return 'must be 6, 8 or 10 digits, e.g. 847130';
  for (let i = 0; i < length; i++) {
    const code = value.charCodeAt(i);
    if (code < 48 || code > 57) return 'must contain digits only';
  }
  const chapter = hsChapter(value);
  if (chapter === 0 || chapter > 97) return 'chapter must be 01-97';
  if (chapter === 77) return 'chapter 77 is reserved';
  return undefined;
}

/** The chapter (first two digits) as a number, e.g. 84 for 847130; NaN unless the code starts with 2 digits. */
export function hsChapter(code: string): number {
  const tens = code.charCodeAt(0) - 48;
  const units = code.charCodeAt(1) - 48;
  if (!(tens >= 0 && tens <= 9 && units >= 0 && units <= 9)) return Number.NaN;
  return tens * 10 + units;
}

/** The heading (first four digits), e.g. "8471" for 847130; meaningful after checkHsCode passed. */
export function hsHeading(code: string): string {
  return code.slice(0, 4);
}
