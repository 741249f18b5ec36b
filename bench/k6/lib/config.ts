// Settings shared by the k6 scripts, from k6's environment (`k6 run -e NAME=value`), and the test data file
// written by bench/k6-data.ts. open() works only in k6's init context, so the data is read at module load.

export function env(name: string, fallback: string): string {
  const v = __ENV[name];
  return v === undefined || v === '' ? fallback : v;
}

export function envNumber(name: string, fallback: number): number {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a number >= 0, got ${raw}`);
  return n;
}

/** The bearer token in `name`; every portstream call needs one (`portstream up` prints them). */
export function token(name: string): string {
  const t = __ENV[name];
  if (t === undefined || t === '') throw new Error(`set ${name} (k6 run -e ${name}=...): a bearer token`);
  return t;
}

export const INGEST_ADDR = env('INGEST_ADDR', '127.0.0.1:50051');
export const API_GRPC_ADDR = env('API_GRPC_ADDR', '127.0.0.1:50052');
export const API_HTTP_URL = env('API_HTTP_URL', 'http://127.0.0.1:8080');
export const DURATION = env('DURATION', '60s');

export interface TestData {
  generated: string;
  /** Declarations in protobuf JSON (lowerCamelCase names, enum names), each with a fresh number. */
  declarations: object[];
  /** Container numbers with valid check digits. */
  containers: string[];
}

/** Relative paths are resolved from the script's folder. */
export function loadData(): TestData {
  return JSON.parse(open(env('DATA', './data.json'))) as TestData;
}

export function bearer(t: string): { authorization: string } {
  return { authorization: `Bearer ${t}` };
}
