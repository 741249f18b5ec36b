// Generator-side identifier builders: valid ISO 6346 container numbers, IMO numbers, Vietnamese tax
// codes, VNACCS declaration numbers and Hai Phong truck plates. Check digits come from the shared
// validators' own functions where they exist, so generator and validator cannot drift apart.
import { containerCheckDigit, taxCodeCheckDigit } from '../../core/identifiers/index.js';
import type { Rng } from './prng.js';

const digits = (rng: Rng, n: number): string => {
  let s = '';
  for (let i = 0; i < n; i++) s += String(rng.int(0, 9));
  return s;
};

export function containerNumber(rng: Rng, ownerPrefix: string): string {
  const first10 = ownerPrefix + digits(rng, 6);
  return first10 + String(containerCheckDigit(first10) % 10);
}

// core/identifiers has no IMO generator: the IMO check digit is sum(d_i * (7 - i)) mod 10.
export function imoNumber(first6: string): string {
  let sum = 0;
  for (let i = 0; i < 6; i++) sum += Number(first6[i]) * (7 - i);
  return first6 + String(sum % 10);
}

export function taxCode(rng: Rng): string {
  for (;;) {
    // Hai Phong enterprises register under province prefix 02.
    const first9 = '02' + digits(rng, 7);
    const check = taxCodeCheckDigit(first9);
    if (check !== undefined) return first9 + String(check);
  }
}

/** 12 digits: 1 for import, 3 for export, then 10 serial digits and amendment count 0. */
export function declarationNumber(direction: 'import' | 'export', serial: number): string {
  return (direction === 'import' ? '10' : '30') + String(serial).padStart(9, '0') + '0';
}

/** Hai Phong plates: province code 15 or 16, series C (trucks) or R (trailers), e.g. 15C-123.45. */
export function truckPlate(rng: Rng): string {
  return `${rng.pick(['15', '16'])}${rng.pick(['C', 'R'])}-${digits(rng, 3)}.${digits(rng, 2)}`;
}
