// Operators act on their own terminal: an operator's equipment event for a container that is held (in the yard
// or at the gate) at another terminal is refused at field `facility`, before anything is persisted. The state
// comes from the ps_containers bucket the processor writes: one read per distinct container of the batch, all
// at once. Admin and operators allowed on every terminal of the event's port ("<UN/LOCODE>:*") are not checked,
// so their batches cost no read. The processor applies the same rule (a check here can race with a move in
// flight), so this is the answer to the client, not the only guard.
import { Role, type Principal } from '../../core/auth/principal.js';
import { ErrorCode, PortstreamError } from '../../core/errors.js';
import type { CasBucket } from '../../core/nats/pipelined.js';
import { facilityName, heldAtOtherTerminal } from '../../core/state/container.js';
import type { Event } from '../../proto/gen/portstream/v1/events.js';
import { ContainerStatus } from '../../proto/gen/portstream/v1/tracking.js';

/** The current status of a container, or undefined when it is unknown. */
export type ContainerLookup = (containerNumber: string) => Promise<ContainerStatus | undefined>;

/**
 * Reads a container's status from the ps_containers bucket (status first in the value, see core/state), over
 * pipelined direct gets: a batch's reads leave in a few socket writes, where the KV client's per-request
 * machinery cut a single-terminal operator's throughput to a fraction.
 */
export function kvContainerLookup(bucket: CasBucket): ContainerLookup {
  return async (n) => {
    const e = await bucket.get(n);
    if (e === null || e.operation !== 'PUT' || e.value.length === 0) return undefined;
    return ContainerStatus.decode(e.value);
  };
}

function needsCheck(p: Principal, ev: Event): string | undefined {
  if (p.role !== Role.Operator || ev.payload?.$case !== 'equipment') return undefined;
  if (p.terminals.has(`${ev.facility?.unLocode ?? ''}:*`)) return undefined;
  return ev.payload.value.containerNumber;
}

/**
 * The events (by index into `events`, among `candidates`) refused because their container is at another
 * terminal, each with its reason. Throws a retryable UNAVAILABLE when the state cannot be read.
 */
export async function otherTerminalRefusals(
  lookup: ContainerLookup,
  principal: Principal,
  events: readonly Event[],
  candidates: readonly number[],
): Promise<Map<number, string>> {
  const refused = new Map<number, string>();
  const checked: { index: number; container: string }[] = [];
  for (const i of candidates) {
    const n = needsCheck(principal, events[i] as Event);
    if (n !== undefined) checked.push({ index: i, container: n });
  }
  if (checked.length === 0) return refused;
  const distinct = [...new Set(checked.map((c) => c.container))];
  let statuses: (ContainerStatus | undefined)[];
  try {
    statuses = await Promise.all(distinct.map(lookup));
  } catch (err) {
    throw new PortstreamError(
      ErrorCode.Unavailable,
      'container state unavailable; retry with the same event ids',
      { cause: err },
    );
  }
  const byNumber = new Map(distinct.map((n, i) => [n, statuses[i]]));
  for (const { index, container } of checked) {
    const s = byNumber.get(container);
    const at = (events[index] as Event).facility;
    const held = s === undefined ? undefined : heldAtOtherTerminal(s, at);
    if (held === undefined) continue;
    refused.set(
      index,
      `container ${container} is at ${facilityName(held)}; an event at ${facilityName(at)} needs it to leave ` +
        `${held.terminalCode} first (gate-out or load)`,
    );
  }
  return refused;
}
