// UN/LOCODE location codes (e.g. VNHPH, Hai Phong) and the ISO 3166-1 alpha-2 country codes they start
// with, which goods-origin fields use on their own.

// ISO 3166-1 alpha-2 officially assigned codes (249), as in Debian iso-codes 4.15.0; unchanged since SS
// was assigned in 2011. User-assigned codes such as XK (Kosovo) or XZ (international waters in
// UN/LOCODE) and reserved ones such as UK or EU are deliberately absent.
const ASSIGNED_COUNTRY_CODES =
  'AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV ' +
  'BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ' +
  'ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE ' +
  'IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY ' +
  'MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU ' +
  'NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM ' +
  'SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE ' +
  'VG VI VN VU WF WS YE YT ZA ZM ZW';

const CHAR_A = 65;
const CHAR_Z = 90;

// One byte per possible letter pair, so a lookup in the middle of a UN/LOCODE needs no substring.
const COUNTRY_TABLE: Uint8Array = (() => {
  const table = new Uint8Array(26 * 26);
  for (const code of ASSIGNED_COUNTRY_CODES.split(' ')) {
    table[(code.charCodeAt(0) - CHAR_A) * 26 + (code.charCodeAt(1) - CHAR_A)] = 1;
  }
  return table;
})();

function isUpper(code: number): boolean {
  return code >= CHAR_A && code <= CHAR_Z;
}

function isAssignedPair(value: string): boolean {
  const first = value.charCodeAt(0);
  const second = value.charCodeAt(1);
  if (!isUpper(first) || !isUpper(second)) return false;
  return COUNTRY_TABLE[(first - CHAR_A) * 26 + (second - CHAR_A)] === 1;
}

/** True when `value` is exactly an officially assigned ISO 3166-1 alpha-2 code, upper case. */
export function isCountryCode(value: string): boolean {
  return value.length === 2 && isAssignedPair(value);
}

/** Validates an ISO 3166-1 alpha-2 country code; returns undefined when valid, else a short reason. */
export function checkCountryCode(value: string): string | undefined {
  if (value.length !== 2 || !isUpper(value.charCodeAt(0)) || !isUpper(value.charCodeAt(1))) {
    return 'must be 2 upper-case letters, e.g. VN';
  }
  return isAssignedPair(value) ? undefined : 'not an assigned ISO 3166-1 country code';
}

/**
 * Validates a 5-character UN/LOCODE such as VNHPH; returns undefined when valid, else a short reason.
 * The country part must be an assigned ISO 3166-1 code; the location part is 3 characters of A-Z or 2-9
 * (UN/LOCODE never uses 0 and 1, which read as O and I). The form with a space ("VN HPH") is rejected so
 * that stored codes compare byte for byte.
 */
export function checkUnLocode(value: string): string | undefined {
  if (value.length !== 5) return 'must be 5 characters, e.g. VNHPH';
  if (!isUpper(value.charCodeAt(0)) || !isUpper(value.charCodeAt(1))) {
    return 'country part must be 2 upper-case letters';
  }
  for (let i = 2; i < 5; i++) {
    const code = value.charCodeAt(i);
    if (!isUpper(code) && (code < 50 || code > 57)) return 'location part must be 3 characters of A-Z or 2-9';
  }
  return isAssignedPair(value) ? undefined : 'unknown country code';
}
