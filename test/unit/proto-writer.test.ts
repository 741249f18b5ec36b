// core/proto/writer.ts: encoding through the reused writer gives the bytes a new writer gives, whatever was
// encoded before it (a larger message, a write that threw, a nested call), and several messages written one
// after another decode as their merge.
import type { BinaryWriter } from '@bufbuild/protobuf/wire';
import { describe, expect, it } from 'vitest';
import { encodeWith } from '../../core/proto/writer.js';
import { decodeContainerRecord, encodeContainerRecord } from '../../core/state/container.js';
import { ContainerBookkeeping } from '../../proto/gen/portstream/v1/records.js';
import { ContainerStatus } from '../../proto/gen/portstream/v1/tracking.js';

const status = (n: string, blocker = ''): ContainerStatus =>
  ContainerStatus.fromPartial({
    containerNumber: n,
    releaseBlocker: blocker,
    seals: [{ number: 'S1' }, { number: 'S2' }],
  });
const fresh = (s: ContainerStatus): Uint8Array => ContainerStatus.encode(s).finish();
const reused = (s: ContainerStatus): Uint8Array => encodeWith((w) => ContainerStatus.encode(s, w));

describe('encodeWith', () => {
  it('gives the bytes of a new writer, after a larger message too', () => {
    const big = status('MSCU1234565', 'x'.repeat(5000));
    const small = status('TGHU1234561');
    expect(reused(big)).toEqual(fresh(big));
    const bytes = reused(small);
    expect(bytes).toEqual(fresh(small));
    expect(bytes.length).toBeLessThan(100);
    // The result is a copy: the next encoding does not change it.
    reused(big);
    expect(ContainerStatus.decode(bytes).containerNumber).toBe('TGHU1234561');
  });

  it('writes several messages one after another, which decode as their merge', () => {
    const record = {
      status: status('MSCU1234565'),
      bookkeeping: ContainerBookkeeping.fromPartial({ recentEventIds: ['a/1', 'a/2'] }),
    };
    const bytes = encodeContainerRecord(record);
    const concatenated = Buffer.concat([
      fresh(record.status),
      ContainerBookkeeping.encode(record.bookkeeping).finish(),
    ]);
    expect(Buffer.from(bytes).equals(concatenated)).toBe(true);
    const back = decodeContainerRecord(bytes);
    expect(back.status.containerNumber).toBe('MSCU1234565');
    expect(back.bookkeeping.recentEventIds).toEqual(['a/1', 'a/2']);
  });

  it('starts clean after a write that threw half-way', () => {
    expect(() =>
      encodeWith((w) => {
        ContainerStatus.encode(status('MSCU1234565'), w);
        w.fork();
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(reused(status('TGHU1234561'))).toEqual(fresh(status('TGHU1234561')));
  });

  it('serves a nested call with a writer of its own', () => {
    let inner: Uint8Array = new Uint8Array();
    const outer = encodeWith((w: BinaryWriter) => {
      ContainerStatus.encode(status('MSCU1234565'), w);
      inner = reused(status('TGHU1234561'));
    });
    expect(outer).toEqual(fresh(status('MSCU1234565')));
    expect(inner).toEqual(fresh(status('TGHU1234561')));
  });

  it('encodes correctly after a message larger than the buffer it keeps', () => {
    const huge = status('MSCU1234565', 'y'.repeat(2 * 1024 * 1024));
    // Buffer.equals: a deep comparison of two 2 MiB arrays element by element takes vitest seconds.
    expect(Buffer.from(reused(huge)).equals(fresh(huge))).toBe(true);
    expect(reused(status('TGHU1234561'))).toEqual(fresh(status('TGHU1234561')));
  });
});
