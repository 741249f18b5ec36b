// Pure validators for the domain identifiers carried by port and customs events; each check returns
// undefined when the value is valid, else a short human-readable reason.

export { checkContainerNumber, checkSizeTypeCode, containerCheckDigit } from './iso6346.js';
export { checkImoNumber } from './imo.js';
export { checkCountryCode, checkUnLocode, isCountryCode } from './unlocode.js';
export { checkHsCode, hsChapter, hsHeading } from './hs.js';
export {
  checkCurrencyCode,
  checkDeclarationNumber,
  checkTaxCode,
  declarationDirection,
  taxCodeCheckDigit,
} from './vn-customs.js';
export type { DeclarationDirection } from './vn-customs.js';
