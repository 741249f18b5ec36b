// Tools for fuzz tests: a seeded PRNG (the seed is printed and can be set with FUZZ_SEED, so a failure
// reproduces), protobuf wire-format mutations that keep or break framing on purpose, and a raw grpc-js client
// that sends arbitrary bytes to any method (identity serializers) and reports the final status.
import { Client, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';

/** The seed of this run: FUZZ_SEED when set, else random. */
export function fuzzSeed(): number {
  const env = process.env.FUZZ_SEED;
  const seed = env !== undefined && env !== '' ? Number(env) >>> 0 : Math.floor(Math.random() * 2 ** 32);
  process.stderr.write(`fuzz seed ${seed} (re-run with FUZZ_SEED=${seed})\n`);
  return seed;
}

/** mulberry32: tiny, fast, good enough to spread cases, and fully determined by the seed. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
  digits(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += String(this.int(10));
    return s;
  }
}

// ---- protobuf wire format ----

export function varint(n: number | bigint): Buffer {
  let v = BigInt(n);
  if (v < 0n) v += 1n << 64n;
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return Buffer.from(out);
}

export const tag = (field: number, wire: number): Buffer => varint((field << 3) | wire);
export const lenField = (field: number, body: Buffer): Buffer =>
  Buffer.concat([tag(field, 2), varint(body.length), body]);

interface FieldSpan {
  start: number;
  end: number;
}

/** Top-level fields of a well-formed message (stops at the first thing it cannot frame). */
export function topLevelFields(buf: Buffer): FieldSpan[] {
  const spans: FieldSpan[] = [];
  let pos = 0;
  const readVarint = (): number | undefined => {
    let shift = 0;
    let v = 0;
    while (pos < buf.length && shift < 64) {
      const b = buf[pos++] as number;
      v += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return v;
      shift += 7;
    }
    return undefined;
  };
  while (pos < buf.length) {
    const start = pos;
    const t = readVarint();
    if (t === undefined) break;
    const wire = t % 8;
    if (wire === 0) {
      if (readVarint() === undefined) break;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const len = readVarint();
      if (len === undefined) break;
      pos += len;
    } else break;
    if (pos > buf.length) break;
    spans.push({ start, end: pos });
  }
  return spans;
}

/** Groups nested `depth` deep (the protobufjs nested-group crash class); unterminated when `close` is false. */
export function nestedGroups(depth: number, field = 15, close = true): Buffer {
  const open = tag(field, 3);
  const end = tag(field, 4);
  return Buffer.concat([
    Buffer.concat(Array.from({ length: depth }, () => open)),
    close ? Buffer.concat(Array.from({ length: depth }, () => end)) : Buffer.alloc(0),
  ]);
}

/** A length-delimited field nested in itself `depth` times. */
export function nestedMessages(depth: number, field: number): Buffer {
  let b: Buffer = Buffer.alloc(0);
  for (let i = 0; i < depth; i++) b = lenField(field, b);
  return b;
}

export type Mutation = (rng: Rng, valid: Buffer) => Buffer;

export const MUTATIONS: Record<string, Mutation> = {
  bitFlips: (rng, v) => {
    const b = Buffer.from(v);
    const flips = 1 + rng.int(8);
    for (let i = 0; i < flips && b.length > 0; i++) {
      const at = rng.int(b.length);
      b[at] = (b[at] as number) ^ (1 << rng.int(8));
    }
    return b;
  },
  truncated: (rng, v) => v.subarray(0, rng.int(Math.max(1, v.length))),
  duplicatedField: (rng, v) => {
    const f = topLevelFields(v);
    if (f.length === 0) return v;
    const s = rng.pick(f);
    return Buffer.concat([v, v.subarray(s.start, s.end)]);
  },
  unknownFields: (rng, v) => {
    const field = 1000 + rng.int(100_000);
    const extra = [
      Buffer.concat([tag(field, 0), varint(rng.int(2 ** 31))]),
      Buffer.concat([tag(field, 1), rng.bytes(8)]),
      Buffer.concat([tag(field, 5), rng.bytes(4)]),
      lenField(field, rng.bytes(rng.int(64))),
      Buffer.concat([tag(field, 3), tag(field + 1, 0), varint(1), tag(field, 4)]),
    ];
    return Buffer.concat([v, rng.pick(extra)]);
  },
  wrongWireType: (rng, v) => {
    const f = topLevelFields(v);
    if (f.length === 0) return v;
    const s = rng.pick(f);
    const b = Buffer.from(v);
    // The low three bits of the tag's first byte are the wire type; 6 and 7 do not exist.
    b[s.start] = ((b[s.start] as number) & ~7) | rng.pick([0, 1, 2, 3, 4, 5, 6, 7]);
    return b;
  },
  hugeLength: (rng, v) => Buffer.concat([v, tag(1 + rng.int(20), 2), varint(2 ** 31 - 1 + rng.int(1000))]),
  nestedGroupBomb: (rng, v) => Buffer.concat([v, nestedGroups(200 + rng.int(20_000), 1 + rng.int(30))]),
  unterminatedGroups: (rng, v) => Buffer.concat([v, nestedGroups(50 + rng.int(5000), 15, false)]),
  nestedMessageBomb: (rng, v) => Buffer.concat([v, nestedMessages(100 + rng.int(2000), 999)]),
  negativeVarints: (rng, v) => Buffer.concat([v, tag(1 + rng.int(10), 0), varint(-1n - BigInt(rng.int(9)))]),
  int64Overflow: (rng, v) => Buffer.concat([v, tag(1 + rng.int(10), 0), varint((1n << 63n) + 1n)]),
};

/** Replaces every occurrence of the ASCII marker by invalid UTF-8 of the same length (framing kept). */
export function withInvalidUtf8(encoded: Buffer, marker: string): Buffer {
  const bad = Buffer.from([0xff, 0xc3, 0x28, 0xfe, 0xed, 0xa0, 0x80, 0xf8]);
  const m = Buffer.from(marker, 'ascii');
  const b = Buffer.from(encoded);
  let at = b.indexOf(m);
  while (at >= 0) {
    for (let i = 0; i < m.length; i++) b[at + i] = bad[i % bad.length] as number;
    at = b.indexOf(m, at + m.length);
  }
  return b;
}

// ---- raw gRPC calls ----

export interface RawOutcome {
  code: status;
  details: string;
  metadata: Metadata;
  responses: Buffer[];
}

const identity = (b: Buffer): Buffer => b;

export function rawClient(address: string): Client {
  return new Client(address, credentials.createInsecure(), {
    'grpc.max_send_message_length': -1,
    'grpc.max_receive_message_length': -1,
  });
}

export function authMetadata(token: string | undefined): Metadata {
  const md = new Metadata();
  if (token !== undefined) md.set('authorization', `Bearer ${token}`);
  return md;
}

export function rawUnary(
  client: Client,
  path: string,
  body: Buffer,
  md: Metadata,
  timeoutMs = 10_000,
): Promise<RawOutcome> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      path,
      identity,
      identity,
      body,
      md,
      { deadline: Date.now() + timeoutMs },
      (err: ServiceError | null, res?: Buffer) => {
        resolve(
          err
            ? { code: err.code, details: err.details, metadata: err.metadata, responses: [] }
            : { code: status.OK, details: '', metadata: new Metadata(), responses: res ? [res] : [] },
        );
      },
    );
  });
}

/** A server stream: cancelled after its first message (an open watch never ends by itself). */
export function rawServerStream(
  client: Client,
  path: string,
  body: Buffer,
  md: Metadata,
  timeoutMs = 3000,
): Promise<RawOutcome> {
  return new Promise((resolve) => {
    const call = client.makeServerStreamRequest(path, identity, identity, body, md, {
      deadline: Date.now() + timeoutMs,
    });
    const responses: Buffer[] = [];
    call.on('data', (b: Buffer) => {
      responses.push(b);
      call.cancel();
    });
    call.on('error', () => undefined);
    call.on('status', (s: { code: status; details: string; metadata: Metadata }) => {
      resolve({ code: s.code, details: s.details, metadata: s.metadata, responses });
    });
  });
}

/**
 * A bidirectional stream that writes one message at a time and waits for its answer (or the end of the call)
 * before the next, so every answer can be matched to what was sent.
 */
export async function rawBidiInTurn(
  client: Client,
  path: string,
  messages: readonly Buffer[],
  md: Metadata,
  timeoutMs = 10_000,
): Promise<RawOutcome> {
  const call = client.makeBidiStreamRequest(path, identity, identity, md, {
    deadline: Date.now() + timeoutMs,
  });
  const responses: Buffer[] = [];
  let wake: (() => void) | undefined;
  const state = { ended: false };
  call.on('data', (b: Buffer) => {
    responses.push(b);
    wake?.();
  });
  call.on('error', () => undefined);
  const final = new Promise<RawOutcome>((resolve) => {
    call.on('status', (s: { code: status; details: string; metadata: Metadata }) => {
      state.ended = true;
      wake?.();
      resolve({ code: s.code, details: s.details, metadata: s.metadata, responses });
    });
  });
  for (const m of messages) {
    if (state.ended) break;
    const before = responses.length;
    await new Promise<void>((resolve) => {
      wake = resolve;
      call.write(m);
      if (responses.length > before || state.ended) resolve();
    });
    wake = undefined;
  }
  call.end();
  return final;
}
