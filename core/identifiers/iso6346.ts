// ISO 6346 freight-container identifiers: container numbers (owner code, category, serial, check digit)
// and the four-character size-type codes printed under them.

const FORMAT_REASON = 'must be 4 letters + 7 digits, e.g. CSQU3054383';

const CHAR_0 = 48;
const CHAR_9 = 57;
const CHAR_A = 65;
const CHAR_Z = 90;
const CHAR_LOWER_A = 97;
const CHAR_LOWER_Z = 122;

function isUpper(code: number): boolean {
  return code >= CHAR_A && code <= CHAR_Z;
}

function isDigit(code: number): boolean {
  return code >= CHAR_0 && code <= CHAR_9;
}

// Letter values start at A=10 and skip 11, 22 and 33 (multiples of 11) so that no letter can alias a
// check-digit remainder; the three skips fall before B, L and V.
function letterValue(code: number): number {
  const index = code - CHAR_A;
  return index + 10 + (index >= 1 ? 1 : 0) + (index >= 11 ? 1 : 0) + (index >= 21 ? 1 : 0);
}

// Caller guarantees 4 upper-case letters then 6 digits; weights are 2^position, left to right.
function weightedSum(value: string): number {
  let sum = 0;
  for (let i = 0; i < 4; i++) sum += letterValue(value.charCodeAt(i)) << i;
  for (let i = 4; i < 10; i++) sum += (value.charCodeAt(i) - CHAR_0) << i;
  return sum;
}

/**
 * Check digit for the first 10 characters of a container number (owner code, category letter, 6-digit
 * serial). A remainder of 10 is written as 0, as ISO 6346 Annex A prescribes.
 * Throws RangeError when `first10` is not 4 upper-case letters followed by 6 digits: that is a caller bug,
 * not bad data (use checkContainerNumber for data).
 */
export function containerCheckDigit(first10: string): number {
  if (first10.length !== 10) throw new RangeError('containerCheckDigit expects 4 letters + 6 digits');
  for (let i = 0; i < 10; i++) {
    const code = first10.charCodeAt(i);
    if (i < 4 ? !isUpper(code) : !isDigit(code)) {
      throw new RangeError('containerCheckDigit expects 4 upper-case letters + 6 digits');
    }
  }
  return (weightedSum(first10) % 11) % 10;
}

/**
 * Validates an 11-character container number such as CSQU3054383; returns undefined when valid, else a
 * short reason. Only the canonical form is accepted (no spaces, upper case): normalising here would hide
 * upstream data-quality problems that customs matching depends on.
 */
export function checkContainerNumber(value: string): string | undefined {
  if (value.length !== 11) return FORMAT_REASON;
  let lowerCase = false;
  for (let i = 0; i < 4; i++) {
    const code = value.charCodeAt(i);
    if (isUpper(code)) continue;
    if (code >= CHAR_LOWER_A && code <= CHAR_LOWER_Z) lowerCase = true;
    else return FORMAT_REASON;
  }
  for (let i = 4; i < 11; i++) {
    if (!isDigit(value.charCodeAt(i))) return FORMAT_REASON;
  }
  if (lowerCase) return 'owner code and category letter must be upper case';
  const category = value.charCodeAt(3);
  // U: freight container, J: detachable container-related equipment, Z: trailer or chassis.
  if (category !== 85 && category !== 74 && category !== 90) return 'category letter must be U, J or Z';
  const expected = (weightedSum(value) % 11) % 10;
  if (value.charCodeAt(10) - CHAR_0 !== expected) return `check digit should be ${expected}`;
  return undefined;
}

// First character, ISO 6346:1995 Annex D table D.1: 1-4 are 10/20/30/40 ft; A-P the other assigned
// lengths (e.g. B = 24 ft, G = 41 ft, L = 45 ft, M = 48 ft, P = 53 ft). 5-9 and R are unassigned.
const LENGTH_CODES = '1234ABCDEFGHKLMNP';

// Second character, Annex D table D.2: 0/2/4/5/6 are 8 ft / 8'6" / 9 ft / 9'6" / >9'6" high at 8 ft
// width, 8 and 9 are low (4'3", <=4 ft); C-F and L-P are the same heights for widths 2438-2500 mm and
// over 2500 mm. 1, 3 and 7 are unassigned.
const HEIGHT_CODES = '0245689CDEFLMNP';

// Type group letters of Annex E: G general purpose, V ventilated, B dry bulk, S named cargo, R integral
// reefer, H removable-equipment thermal / insulated, U open top, P platform / flat rack, T tank,
// A air/surface. K is not in the 1995 Annex E, but tank operators mark pressurised tank families with
// it, so it is accepted rather than dropping real tank events.
const TYPE_LETTERS = 'GVBSRHUPTAK';

function pair(code: string): number {
  return (code.charCodeAt(0) << 8) | code.charCodeAt(1);
}

// Two-letter group codes, which Annex E says to use when the detailed characteristics are unknown
// (e.g. 22GP, 45RT): carrier EDI and booking data use them often.
const GROUP_CODES: ReadonlySet<number> = new Set(
  'GP VH BU BK SN RE RT RS HR HI UT PL PF PC PS TN TD TG AS'.split(' ').map(pair),
);

/**
 * Validates an ISO 6346 size-type code (e.g. 22G1, 42G1, 45G1, 45R1, L5G1, 22T6, 22GP).
 *
 * Accepted: a length code from Annex D table D.1, a height/width code from table D.2, then either a
 * type letter (G V B S R H U P T A K) followed by any digit, or one of the 19 two-letter group codes.
 * Any digit is allowed after the type letter because Annex E tells owners to use the highest unassigned
 * number in a block for characteristics it does not list, and terminal systems do emit such codes (22R8,
 * 22U6...). Not accepted: the reduced-strength variants of Amendment 3 (a letter in fourth position),
 * lower case, and the obsolete 1984 numeric codes (e.g. 2210).
 */
export function checkSizeTypeCode(value: string): string | undefined {
  if (value.length !== 4) return 'must be 4 characters, e.g. 22G1 or 45R1';
  if (!LENGTH_CODES.includes(value.charAt(0))) return 'unknown length code (first character)';
  if (!HEIGHT_CODES.includes(value.charAt(1))) return 'unknown height/width code (second character)';
  const third = value.charCodeAt(2);
  const fourth = value.charCodeAt(3);
  if (isDigit(fourth) && TYPE_LETTERS.includes(value.charAt(2))) return undefined;
  if (GROUP_CODES.has((third << 8) | fourth)) return undefined;
  return 'unknown type code (last two characters), e.g. G1, R1, U1, T6 or GP';
}
