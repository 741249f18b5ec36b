// IMO ship identification numbers (SOLAS XI-1/3): the permanent hull number a vessel keeps through
// renames and reflagging, used to join AIS, port-call and manifest events.

const FORMAT_REASON = 'must be 7 digits, e.g. 9074729';

/**
 * Validates an IMO ship number; returns undefined when valid, else a short reason.
 *
 * Only the bare 7 digits are accepted, not "IMO 9074729" or "IMO9074729": the prefix is display text and
 * stripping it belongs to the adapter that reads the source feed, so every stored number has one form.
 * The last digit is the check digit: the first six digits weighted 7,6,5,4,3,2, summed, modulo 10.
 * Some published example payloads carry numbers that fail this (e.g. 9456789); they are rejected.
 */
export function checkImoNumber(value: string): string | undefined {
  if (value.length !== 7) {
    return value.startsWith('IMO') ? 'must be the 7 digits without the "IMO" prefix' : FORMAT_REASON;
  }
  let sum = 0;
  let allZero = true;
  for (let i = 0; i < 7; i++) {
    const digit = value.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return FORMAT_REASON;
    if (digit !== 0) allZero = false;
    if (i < 6) sum += digit * (7 - i);
  }
  // AIS static reports carry 0 when the ship has no IMO number; it passes the checksum, so catch it here.
  if (allZero) return '0000000 is the "no IMO number" placeholder';
  const expected = sum % 10;
  if (value.charCodeAt(6) - 48 !== expected) return `check digit should be ${expected}`;
  return undefined;
}
