// Readiness checks of the dependencies a service needs: a NATS connection answers a ping (a connection that is
// reconnecting does not), ClickHouse answers a query. Each is a ReadyCheck for the ops endpoint.
import type { NatsConnection } from '@nats-io/nats-core';
import type { ClickHouse } from '../clickhouse/client.js';
import type { ReadyCheck } from './server.js';

/** Resolves when the server answers a PING on this connection; the ops endpoint bounds the wait. */
export function natsCheck(nc: NatsConnection): ReadyCheck {
  return async () => {
    if (nc.isClosed()) throw new Error('NATS connection closed');
    await nc.rtt();
  };
}

export function clickhouseCheck(ch: ClickHouse): ReadyCheck {
  return () => ch.query('SELECT 1');
}
