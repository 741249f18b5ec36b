// Table-driven tests for core/identifiers: real published identifiers where they exist, and near-misses
// that differ from a valid value by one mistake each. Every check digit below was computed by hand with
// the algorithm the module documents, not taken from the module under test.
import { describe, expect, it } from 'vitest';

import {
  checkContainerNumber,
  checkCountryCode,
  checkCurrencyCode,
  checkDeclarationNumber,
  checkHsCode,
  checkImoNumber,
  checkSizeTypeCode,
  checkTaxCode,
  checkUnLocode,
  containerCheckDigit,
  declarationDirection,
  hsChapter,
  hsHeading,
  isCountryCode,
  taxCodeCheckDigit,
} from '../../core/identifiers/index.js';

describe('ISO 6346 container numbers', () => {
  it.each([
    ['CSQU3054383', 'the worked example of ISO 6346 Annex A'],
    ['TCNU7200794', 'published real container'],
    ['TOLU4734787', 'published real container'],
    ['GYOU4047990', 'published real container whose remainder is 10, written 0'],
    ['MSCU1234566', 'MSC owner code'],
    ['MAEU1234567', 'Maersk owner code'],
    ['CMAU1234564', 'CMA CGM owner code'],
    ['TGHU1234567', 'Textainer owner code'],
    ['HLXU1234561', 'Hapag-Lloyd owner code'],
    ['OOLU1234567', 'OOCL owner code'],
    ['EGHU1234562', 'Evergreen owner code'],
    ['COSU1234560', 'COSCO owner code, remainder 0'],
    ['HLXU8675430', 'remainder 10, written 0'],
    ['ABCJ1234563', 'category J (detachable equipment)'],
    ['ABCZ1234564', 'category Z (trailer or chassis)'],
  ])('accepts %s (%s)', (value) => {
    expect(checkContainerNumber(value)).toBeUndefined();
  });

  it.each([
    ['MSCU1234565', 'check digit should be 6'],
    ['CSQU3054384', 'check digit should be 3'],
    ['GYOU4047991', 'check digit should be 0'],
    ['HLXU8675431', 'check digit should be 0'],
    ['csqu3054383', 'must be upper case'],
    ['CSQu3054383', 'must be upper case'],
    ['CSQX3054383', 'category letter must be U, J or Z'],
    ['CSQA3054383', 'category letter must be U, J or Z'],
    ['CSQU305438', '4 letters + 7 digits'],
    ['CSQU30543833', '4 letters + 7 digits'],
    ['CSQU 3054383', '4 letters + 7 digits'],
    ['CSQU30O4383', '4 letters + 7 digits'],
    ['CSQUA054383', '4 letters + 7 digits'],
    ['CS1U3054383', '4 letters + 7 digits'],
    ['', '4 letters + 7 digits'],
  ])('rejects %s: %s', (value, reason) => {
    expect(checkContainerNumber(value)).toContain(reason);
  });

  it.each([
    ['CSQU305438', 3],
    ['GYOU404799', 0],
    ['HLXU867543', 0],
    ['MSCU123456', 6],
    ['ABCZ123456', 4],
  ])('computes the check digit of %s as %i', (first10, digit) => {
    expect(containerCheckDigit(first10)).toBe(digit);
  });

  it.each(['csqu305438', 'CSQU30543', 'CSQU3054383', 'CSQU30543X'])(
    'containerCheckDigit(%j) throws',
    (bad) => {
      expect(() => containerCheckDigit(bad)).toThrow(RangeError);
    },
  );
});

describe('ISO 6346 size-type codes', () => {
  it.each([
    ['22G1', "20' general purpose"],
    ['42G1', "40' general purpose"],
    ['45G1', "40' high cube"],
    ['L5G1', "45' high cube"],
    ['45R1', "40' high-cube reefer"],
    ['22R1', "20' reefer"],
    ['22U1', "20' open top"],
    ['42U1', "40' open top"],
    ['22T6', "20' tank, dangerous liquids"],
    ['22P1', "20' flat rack"],
    ['42P3', "40' collapsible flat rack"],
    ['20G0', "20' x 8' high"],
    ['22V2', 'ventilated'],
    ['22B1', 'dry bulk'],
    ['22S1', 'car carrier'],
    ['22H5', 'insulated'],
    ['42A0', 'air/surface'],
    ['22K2', 'K tank family'],
    ['22R8', 'spare digit in an assigned block'],
    ['M5G1', "48' high cube"],
    ['2EG1', 'width 2438-2500 mm'],
    ['22GP', 'group code, general purpose'],
    ['45RT', 'group code, refrigerated and heated'],
    ['22TN', 'group code, tank for non-dangerous liquids'],
  ])('accepts %s (%s)', (value) => {
    expect(checkSizeTypeCode(value)).toBeUndefined();
  });

  it.each([
    ['22G', 'must be 4 characters'],
    ['22G1 ', 'must be 4 characters'],
    ['', 'must be 4 characters'],
    ['52G1', 'unknown length code'],
    ['R2G1', 'unknown length code'],
    ['l5G1', 'unknown length code'],
    ['21G1', 'unknown height/width code'],
    ['2XG1', 'unknown height/width code'],
    ['2210', 'unknown type code'],
    ['22X1', 'unknown type code'],
    ['22GA', 'unknown type code'],
    ['22g1', 'unknown type code'],
    ['22ZZ', 'unknown type code'],
  ])('rejects %j: %s', (value, reason) => {
    expect(checkSizeTypeCode(value)).toContain(reason);
  });
});

describe('IMO ship numbers', () => {
  it.each(['9074729', '9811000', '9321483', '9454436'])('accepts %s', (value) => {
    expect(checkImoNumber(value)).toBeUndefined();
  });

  it.each([
    ['9456789', 'check digit should be 3'],
    ['9811001', 'check digit should be 0'],
    ['9074728', 'check digit should be 9'],
    ['IMO9074729', 'without the "IMO" prefix'],
    ['IMO 9074729', 'without the "IMO" prefix'],
    ['907472', 'must be 7 digits'],
    ['90747290', 'must be 7 digits'],
    ['907472A', 'must be 7 digits'],
    [' 9074729', 'must be 7 digits'],
    ['0000000', 'placeholder'],
  ])('rejects %j: %s', (value, reason) => {
    expect(checkImoNumber(value)).toContain(reason);
  });
});

describe('ISO 3166-1 country codes', () => {
  it.each(['VN', 'CN', 'GB', 'US', 'JP', 'SS', 'BQ', 'CW', 'SX', 'AX'])('accepts %s', (value) => {
    expect(isCountryCode(value)).toBe(true);
    expect(checkCountryCode(value)).toBeUndefined();
  });

  it.each([
    ['UK', 'not an assigned'],
    ['EU', 'not an assigned'],
    ['XK', 'not an assigned'],
    ['AA', 'not an assigned'],
    ['vn', '2 upper-case letters'],
    ['VNM', '2 upper-case letters'],
    ['V', '2 upper-case letters'],
    ['', '2 upper-case letters'],
    ['V1', '2 upper-case letters'],
  ])('rejects %j: %s', (value, reason) => {
    expect(isCountryCode(value)).toBe(false);
    expect(checkCountryCode(value)).toContain(reason);
  });
});

describe('UN/LOCODE', () => {
  it.each([
    ['VNHPH', 'Hai Phong'],
    ['VNSGN', 'Ho Chi Minh City'],
    ['VNDAD', 'Da Nang'],
    ['SGSIN', 'Singapore'],
    ['CNSHA', 'Shanghai'],
    ['NLRTM', 'Rotterdam'],
    ['USLAX', 'Los Angeles'],
    ['VNH2P', 'digits 2-9 are allowed in the location part'],
  ])('accepts %s (%s)', (value) => {
    expect(checkUnLocode(value)).toBeUndefined();
  });

  it.each([
    ['XXHPH', 'unknown country code'],
    ['UKLON', 'unknown country code'],
    ['XKPRN', 'unknown country code'],
    ['vnhph', 'country part must be 2 upper-case letters'],
    ['V1HPH', 'country part must be 2 upper-case letters'],
    ['VNhph', 'location part'],
    ['VNH0P', 'location part'],
    ['VNH1P', 'location part'],
    ['VN-HP', 'location part'],
    ['VN HPH', 'must be 5 characters'],
    ['VNHP', 'must be 5 characters'],
    ['', 'must be 5 characters'],
  ])('rejects %j: %s', (value, reason) => {
    expect(checkUnLocode(value)).toContain(reason);
  });
});

describe('HS codes', () => {
  it.each([
    ['847130', 'WCO 6-digit subheading'],
    ['84713020', 'Vietnamese AHTN 8-digit tariff line'],
    ['8471302000', '10-digit national line'],
    ['010121', 'chapter 01'],
    ['970121', 'chapter 97'],
    ['760110', 'chapter 76, next to the reserved 77'],
  ])('accepts %s (%s)', (value) => {
    expect(checkHsCode(value)).toBeUndefined();
  });

  it.each([
    ['000000', 'chapter must be 01-97'],
    ['980000', 'chapter must be 01-97'],
    ['99010000', 'chapter must be 01-97'],
    ['770100', 'chapter 77 is reserved'],
    ['8471.30', 'must be 6, 8 or 10 digits'],
    ['84713', 'must be 6, 8 or 10 digits'],
    ['8471302', 'must be 6, 8 or 10 digits'],
    ['847130200', 'must be 6, 8 or 10 digits'],
    ['84713020001', 'must be 6, 8 or 10 digits'],
    ['', 'must be 6, 8 or 10 digits'],
    ['84713A', 'digits only'],
    ['8471 302', 'digits only'],
  ])('rejects %j: %s', (value, reason) => {
    expect(checkHsCode(value)).toContain(reason);
  });

  it.each([
    ['847130', 84, '8471'],
    ['84713020', 84, '8471'],
    ['010121', 1, '0101'],
    ['9701210000', 97, '9701'],
  ])('splits %s into chapter %i and heading %s', (code, chapter, heading) => {
    expect(hsChapter(code)).toBe(chapter);
    expect(hsHeading(code)).toBe(heading);
  });

  it('hsChapter is NaN for input that does not start with two digits', () => {
    expect(hsChapter('A47130')).toBeNaN();
    expect(hsChapter('')).toBeNaN();
  });
});

describe('VNACCS declaration numbers', () => {
  it.each([
    ['108625440120', 'import'],
    ['108399733040', 'import'],
    ['108399733041', 'import'],
    ['107369176020', 'import'],
    ['300123456780', 'export'],
  ])('accepts %s (%s)', (value, direction) => {
    expect(checkDeclarationNumber(value)).toBeUndefined();
    expect(declarationDirection(value)).toBe(direction);
  });

  it('accepts an unseen first digit but gives no direction', () => {
    expect(checkDeclarationNumber('500123456780')).toBeUndefined();
    expect(declarationDirection('500123456780')).toBeUndefined();
  });

  it.each([
    ['10862544012', 'must be 12 digits'],
    ['1086254401200', 'must be 12 digits'],
    ['10862544012A', 'must be 12 digits'],
    ['10862544 012', 'must be 12 digits'],
    ['', 'must be 12 digits'],
    ['008625440120', 'must not start with 0'],
  ])('rejects %j: %s', (value, reason) => {
    expect(checkDeclarationNumber(value)).toContain(reason);
  });
});

describe('Vietnamese enterprise tax codes', () => {
  it.each([
    ['0100109106', 'Viettel'],
    ['0100107518', 'Vietnam Airlines'],
    ['0300588569', 'Vinamilk'],
    ['0100233488', 'python-stdnum documentation example'],
    ['0103326250', 'published code with check digit 0 (remainder 10)'],
    ['0100109106-001', 'branch of Viettel'],
    ['0314409058-002', 'published branch code'],
    ['0100109106-999', 'highest branch number'],
  ])('accepts %s (%s)', (value) => {
    expect(checkTaxCode(value)).toBeUndefined();
  });

  it.each([
    ['0100109107', 'check digit should be 6'],
    ['0300588560', 'check digit should be 9'],
    ['0103326251', 'check digit should be 0'],
    ['0100109107-001', 'check digit should be 6'],
    ['0101000060', 'no valid tax code starts with these 9 digits'],
    ['0100000008', 'sequence number 0000000'],
    ['0100109106001', 'write the branch number after a "-"'],
    ['0100109106-000', 'branch number must be 001-999'],
    ['0100109106_001', 'must be 10 digits'],
    ['0100109106-01', 'must be 10 digits'],
    ['0100109106-0A1', 'must be 10 digits'],
    ['010010910', 'must be 10 digits'],
    ['01001091066', 'must be 10 digits'],
    ['01001O9106', 'must be 10 digits'],
    ['', 'must be 10 digits'],
  ])('rejects %j: %s', (value, reason) => {
    expect(checkTaxCode(value)).toContain(reason);
  });

  it.each([
    ['010010910', 6],
    ['010010751', 8],
    ['030058856', 9],
    ['010332625', 0],
    ['010010911', 3],
  ])('computes the check digit of %s as %i', (first9, digit) => {
    expect(taxCodeCheckDigit(first9)).toBe(digit);
  });

  it.each([
    ['000000000', 'remainder 0: no single check digit exists'],
    ['010100006', 'remainder 0: no single check digit exists'],
    ['01001091', 'too short'],
    ['0100109106', 'too long'],
    ['01001091x', 'not digits'],
  ])('has no check digit for %j (%s)', (first9) => {
    expect(taxCodeCheckDigit(first9)).toBeUndefined();
  });
});

describe('ISO 4217 currency codes', () => {
  it.each(['VND', 'USD', 'EUR', 'JPY', 'CNY', 'SGD', 'KRW', 'XAU', 'XCG', 'ZWG'])('accepts %s', (value) => {
    expect(checkCurrencyCode(value)).toBeUndefined();
  });

  it.each([
    ['vnd', 'must be upper case'],
    ['Usd', 'must be upper case'],
    ['HRK', 'not an active ISO 4217 currency code'],
    ['ABC', 'not an active ISO 4217 currency code'],
    ['VNĐ', 'not an active ISO 4217 currency code'],
    ['US', 'must be 3 upper-case letters'],
    ['USDT', 'must be 3 upper-case letters'],
    ['', 'must be 3 upper-case letters'],
  ])('rejects %j: %s', (value, reason) => {
    expect(checkCurrencyCode(value)).toContain(reason);
  });
});
