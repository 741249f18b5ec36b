// Protobuf encoding through one reused BinaryWriter per process. A new writer starts with an empty buffer and
// doubles it as it writes (128 bytes, 256, ...), so every message of a few kilobytes (a container's record with
// its recent event ids, a batch of events) cost a handful of allocations and copies before its own result, and
// the state processor spent a fifth of its time collecting them (bench/README, "Encoding without garbage").
// The reused writer keeps its grown buffer; `finish()` copies the bytes out and resets it.
import { BinaryWriter } from '@bufbuild/protobuf/wire';

/** A writer whose buffer grew past this is dropped after use, so one huge message does not pin its memory. */
const KEEP_MAX_BYTES = 1024 * 1024;

let shared = new BinaryWriter();
let busy = false;

/**
 * The bytes `write` puts into a writer: one message (`(w) => M.encode(m, w)`) or several one after another (a
 * protobuf concatenation, which decodes as their merge). `write` must not keep the writer.
 */
export function encodeWith(write: (w: BinaryWriter) => unknown): Uint8Array {
  if (busy) {
    // Only if a write itself encodes through here; never with the generated code, which forks the same writer.
    const own = new BinaryWriter();
    write(own);
    return own.finish();
  }
  busy = true;
  try {
    write(shared);
    const bytes = shared.finish();
    if (bytes.length > KEEP_MAX_BYTES) shared = new BinaryWriter();
    return bytes;
  } catch (err) {
    // A write that threw left its bytes and forks behind.
    shared = new BinaryWriter();
    throw err;
  } finally {
    busy = false;
  }
}
