// Identifiers on Vietnamese customs declarations: VNACCS declaration numbers, enterprise tax codes
// (mã số thuế) of importers, exporters and brokers, and ISO 4217 currency codes of invoice values.

const CHAR_0 = 48;

function isDigit(code: number): boolean {
  return code >= CHAR_0 && code <= CHAR_0 + 9;
}

/**
 * Validates a VNACCS customs declaration number (số tờ khai); returns undefined when valid, else a reason.
 *
 * Structure, as it appears in VNACCS output and in brokers' software (no public specification found):
 * 12 digits; the first says the direction (1 = import, e.g. 108625440120; 3 = export); the first 11
 * identify the declaration and the 12th counts amendments, so 108399733040 amended becomes 108399733041.
 * There is no check digit. Only the length, digits and a non-zero first digit are enforced: a leading 0
 * is what spreadsheet round-trips leave behind, while other first digits may belong to declaration kinds
 * not seen here, so they pass (declarationDirection then returns undefined).
 */
export function checkDeclarationNumber(value: string): string | undefined {
  if (value.length !== 12) return 'must be 12 digits, e.g. 108625440120';
  for (let i = 0; i < 12; i++) {
    if (!isDigit(value.charCodeAt(i))) return 'must be 12 digits, e.g. 108625440120';
  }
  if (value.charCodeAt(0) === CHAR_0) return 'must not start with 0';
  return undefined;
}

export type DeclarationDirection = 'import' | 'export';

/** Import or export, from the first digit of a declaration number that passed checkDeclarationNumber. */
export function declarationDirection(value: string): DeclarationDirection | undefined {
  const first = value.charCodeAt(0);
  if (first === CHAR_0 + 1) return 'import';
  if (first === CHAR_0 + 3) return 'export';
  return undefined;
}

const TAX_WEIGHTS = [31, 29, 23, 19, 17, 13, 7, 5, 3] as const;

/**
 * Check digit (10th digit) of a Vietnamese enterprise tax code from its first nine digits: the digits
 * weighted 31,29,23,19,17,13,7,5,3, summed, then 10 - (sum mod 11). A remainder of 10 gives 0. A
 * remainder of 0 would need a check digit of 10, so the tax authority never issues such a prefix:
 * undefined is returned for it, as for input that is not 9 digits.
 *
 * Sources: python-stdnum's stdnum.vn.mst (same formula, 150+ published codes in its tests, none with
 * remainder 0, about 1 in 7 with check digit 0) and the vn-ident package ("000000000" has no check digit).
 * The "11 - (sum mod 11)" variant published by some online validators fails every real code tried
 * (0100109106 Viettel, 0100107518 Vietnam Airlines, 0300588569 Vinamilk), so it is not used.
 */
export function taxCodeCheckDigit(first9: string): number | undefined {
  if (first9.length !== 9) return undefined;
  for (let i = 0; i < 9; i++) {
    if (!isDigit(first9.charCodeAt(i))) return undefined;
  }
  return checkDigitOfPrefix(first9);
}

// Caller guarantees that the first nine characters of `value` are digits.
function checkDigitOfPrefix(value: string): number | undefined {
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += (value.charCodeAt(i) - CHAR_0) * (TAX_WEIGHTS[i] ?? 0);
  const remainder = sum % 11;
  return remainder === 0 ? undefined : 10 - remainder;
}

const TAX_FORMAT_REASON = 'must be 10 digits, or 10 digits + "-" + 3-digit branch, e.g. 0100109106-001';

/**
 * Validates an enterprise tax code (mã số thuế): 10 digits (2-digit province of first registration,
 * 7-digit sequence, check digit), or for a branch or dependent unit the parent's 10 digits, "-" and a
 * 3-digit branch number 001-999, e.g. 0100109106-001. Returns undefined when valid, else a reason.
 * The 13 digits run together (0100109106001) are rejected with a hint: one stored form keeps joins
 * exact. Individuals' 12-digit personal identification numbers, used as tax codes since July 2025, are
 * not enterprise codes and are rejected.
 */
export function checkTaxCode(value: string): string | undefined {
  const length = value.length;
  if (length !== 10 && length !== 13 && length !== 14) return TAX_FORMAT_REASON;
  for (let i = 0; i < 10; i++) {
    if (!isDigit(value.charCodeAt(i))) return TAX_FORMAT_REASON;
  }
  if (length === 13) {
    for (let i = 10; i < 13; i++) {
      if (!isDigit(value.charCodeAt(i))) return TAX_FORMAT_REASON;
    }
    return 'write the branch number after a "-", e.g. 0100109106-001';
  }
  if (length === 14) {
    if (value.charCodeAt(10) !== 45) return TAX_FORMAT_REASON;
    let branch = 0;
    for (let i = 11; i < 14; i++) {
      const code = value.charCodeAt(i);
      if (!isDigit(code)) return TAX_FORMAT_REASON;
      branch = branch * 10 + code - CHAR_0;
    }
    if (branch === 0) return 'branch number must be 001-999';
  }
  let sequenceIsZero = true;
  for (let i = 2; i < 9; i++) {
    if (value.charCodeAt(i) !== CHAR_0) sequenceIsZero = false;
  }
  if (sequenceIsZero) return 'sequence number 0000000 is never issued';
  const expected = checkDigitOfPrefix(value);
  if (expected === undefined) return 'no valid tax code starts with these 9 digits';
  if (value.charCodeAt(9) - CHAR_0 !== expected) return `check digit should be ${expected}`;
  return undefined;
}

// ISO 4217 List One alphabetic codes: Debian iso-codes 4.15.0 (2023) with later amendments applied, HRK
// removed (Croatia adopted the euro on 2023-01-01), ZWG (2024) and XCG (2025) added. Codes in a
// changeover that old documents still quote (ANG, BGN, SLL, ZWL, CUC) stay until formally withdrawn.
// Fund and precious-metal codes (XAU, XDR, BOV...) are part of the list, so they are valid too.
const CURRENCY_CODES: ReadonlySet<string> = new Set(
  (
    'AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN ' +
    'BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD ' +
    'FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR ' +
    'KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV ' +
    'MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG ' +
    'SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN ' +
    'UYI UYU UYW UZS VED VES VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XTS ' +
    'XUA XXX YER ZAR ZMW ZWG ZWL'
  ).split(' '),
);

/** Validates an ISO 4217 alphabetic currency code such as VND or USD; undefined when valid, else a reason. */
export function checkCurrencyCode(value: string): string | undefined {
  if (CURRENCY_CODES.has(value)) return undefined;
  if (value.length !== 3) return 'must be 3 upper-case letters, e.g. VND';
  return CURRENCY_CODES.has(value.toUpperCase())
    ? 'must be upper case'
    : 'not an active ISO 4217 currency code';
}
