// The processor's state the notify service decides visibility on, read as it is at delivery: container records
// (ps_containers) and declarations (ps_declarations). Point reads are direct gets over pipelined requests, as
// the tracking API does them.
import type { NatsConnection } from '@nats-io/nats-core';
import type { DeclarationSource } from '../core/access/containers.js';
import { BUCKET_CONTAINERS, BUCKET_DECLARATIONS } from '../core/nats/buckets.js';
import { CasBucket, PipelinedRequests, type CasEntry } from '../core/nats/pipelined.js';
import { decodeContainerRecord, type ContainerRecord } from '../core/state/container.js';
import { decodeDeclarationState } from '../core/state/declaration.js';
import type { Declaration } from '../proto/gen/portstream/v1/customs.js';

const KEY = /^[-_=.a-zA-Z0-9]{1,128}$/;

function decodeEntry<T>(e: CasEntry | null, decode: (b: Uint8Array) => T): T | undefined {
  return e && e.operation === 'PUT' && e.value.length > 0 ? decode(e.value) : undefined;
}

export class StateReader implements DeclarationSource {
  private readonly requests: PipelinedRequests;
  private readonly containers: CasBucket;
  private readonly declarations: CasBucket;

  constructor(nc: NatsConnection, prefix = '') {
    this.requests = new PipelinedRequests(nc);
    this.containers = new CasBucket(this.requests, `${prefix}${BUCKET_CONTAINERS}`);
    this.declarations = new CasBucket(this.requests, `${prefix}${BUCKET_DECLARATIONS}`);
  }

  async container(n: string): Promise<ContainerRecord | undefined> {
    return KEY.test(n) ? decodeEntry(await this.containers.get(n), decodeContainerRecord) : undefined;
  }

  async declaration(no: string): Promise<Declaration | undefined> {
    return KEY.test(no)
      ? decodeEntry(await this.declarations.get(no), (b) => decodeDeclarationState(b).declaration)
      : undefined;
  }

  close(): void {
    this.requests.close();
  }
}
