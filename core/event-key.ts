// Event ids are chosen by the clients, so they are unique per source (the authenticated caller that sent the
// event, EventGroup.source), not across the port: two operators may both send an event "E-1". Everything that
// deduplicates events (the gateway's cache and Nats-Msg-Id, the processor's applied ids, the ClickHouse keys)
// keys on the source-qualified id; what clients see (results, status, history) stays their own event id.

/**
 * "<source>/<event_id>". Event ids never contain "/" (validation allows A-Za-z0-9._:-), so the last "/"
 * separates the parts and no two (source, id) pairs give the same key.
 */
export function sourcedEventId(source: string, eventId: string): string {
  return `${source}/${eventId}`;
}

/** The client's event id inside a sourced id (the whole string when it has no source). */
export function clientEventId(sourced: string): string {
  return sourced.slice(sourced.lastIndexOf('/') + 1);
}
