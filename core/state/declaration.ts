// The per-declaration state kept in the ps_declarations KV bucket (key: declaration number), written by the
// processor and read by the customs API. JSON so operators can read it with `nats kv get`; the declaration
// and decisions inside are base64 protobuf so no field is lost in translation.
import { Declaration, Decision } from '../../proto/gen/portstream/v1/customs.js';
import { encodeWith } from '../proto/writer.js';

export interface DeclarationState {
  declaration: Declaration;
  /** 1 for the first submission, +1 per amendment. */
  revision: number;
  /** Command ids already applied: a redelivered command changes nothing. Bounded to the last 32. */
  appliedCommands: string[];
  /** Every decision, oldest first; the last is current. `position` is filled once the stream stored it. */
  decisions: Decision[];
}

interface Wire {
  v: number;
  declaration: string;
  revision: number;
  applied: string[];
  decisions: string[];
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const unb64 = (s: string): Uint8Array => Buffer.from(s, 'base64');

export function encodeDeclarationState(s: DeclarationState): Uint8Array {
  const wire: Wire = {
    v: 1,
    declaration: b64(encodeWith((w) => Declaration.encode(s.declaration, w))),
    revision: s.revision,
    applied: s.appliedCommands,
    decisions: s.decisions.map((d) => b64(encodeWith((w) => Decision.encode(d, w)))),
  };
  return new TextEncoder().encode(JSON.stringify(wire));
}

export function decodeDeclarationState(bytes: Uint8Array): DeclarationState {
  const wire = JSON.parse(new TextDecoder().decode(bytes)) as Wire;
  if (wire.v !== 1) throw new Error(`unknown declaration state version ${String(wire.v)}`);
  return {
    declaration: Declaration.decode(unb64(wire.declaration)),
    revision: wire.revision,
    appliedCommands: wire.applied,
    decisions: wire.decisions.map((d) => Decision.decode(unb64(d))),
  };
}
