// The API names the services' durables it reports lag for (services never import each other): they must be
// the names the services use.
import { describe, expect, it } from 'vitest';
import { WATCHED_CONSUMERS } from '../../api/tracking/lag.js';
import { STREAM_CUSTOMS, STREAM_DECISIONS, STREAM_EVENTS } from '../../core/nats/topology.js';
import { CUSTOMS_CONSUMER } from '../../processor/customs/projector.js';
import { SINK_CONSUMER } from '../../sink/index.js';
import { STATE_CONSUMER } from '../../processor/state/consumer.js';

describe('consumer lag', () => {
  it('watches the durables the processor and the sink create', () => {
    expect(WATCHED_CONSUMERS).toEqual([
      { stream: STREAM_EVENTS, consumer: STATE_CONSUMER },
      { stream: STREAM_EVENTS, consumer: SINK_CONSUMER },
      { stream: STREAM_CUSTOMS, consumer: CUSTOMS_CONSUMER },
      { stream: STREAM_CUSTOMS, consumer: SINK_CONSUMER },
      { stream: STREAM_DECISIONS, consumer: SINK_CONSUMER },
    ]);
  });
});
