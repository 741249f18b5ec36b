// Hostile requests for the WebhookService (notify): endpoints that are no URL, not https, carry credentials or
// invalid UTF-8; filters asking for nothing, naming invalid containers, bills, declarations or unknown event
// types, or too many of them; unknown formats; webhook ids that are paths, huge, or someone else's.
import {
  CreateWebhookRequest,
  DeleteWebhookRequest,
  EnableWebhookRequest,
  GetWebhookRequest,
  ListWebhookDeliveriesRequest,
  ListWebhooksRequest,
  RotateWebhookSecretRequest,
  WebhookPayloadFormat,
  type WebhookFilter,
} from '../../../proto/gen/portstream/v1/notify.js';
import type { Rng } from '../../helpers/fuzz.js';
import { buf, INPUT, MARK, S, type Case, type MethodCases } from './case-kit.js';

/** Deliveries to it go nowhere (the fuzzed service allows loopback and http, as tests do). */
const URL_OK = 'http://127.0.0.1:9/hook';

const filter = (over: Partial<WebhookFilter> = {}): WebhookFilter => ({
  containerEvents: false,
  decisions: true,
  containerNumbers: [],
  billNumbers: [],
  eventTypes: [],
  // A declaration nobody submits: nothing is ever delivered.
  declarationNumbers: ['108699999999'],
  ...over,
});

const create = (over: Partial<CreateWebhookRequest> = {}): Buffer =>
  buf(
    CreateWebhookRequest.encode({
      url: URL_OK,
      filter: filter(),
      format: WebhookPayloadFormat.PORTSTREAM,
      description: 'fuzz',
      ...over,
    }).finish(),
  );

const invalid = (cls: string, messages: Buffer[]): Case => ({ cls, messages, expect: S.INVALID_ARGUMENT });
const randomId = (rng: Rng): string =>
  `wh_${Array.from({ length: 24 }, () => rng.int(16).toString(16)).join('')}`;
const BAD_IDS = [
  '',
  '../../etc/passwd',
  'wh_',
  'WH_000000000000000000000000',
  '*',
  '>',
  'A'.repeat(10_000),
  MARK,
];

const byId = (encode: (id: string) => Uint8Array): Pick<MethodCases, 'allowed' | 'valid' | 'hostile'> => ({
  allowed: [...INPUT, S.NOT_FOUND],
  valid: (rng) => buf(encode(randomId(rng))),
  hostile: () => BAD_IDS.map((id) => ({ cls: 'badId', messages: [buf(encode(id))], expect: S.NOT_FOUND })),
});

export const WEBHOOK_CASES: Record<string, MethodCases> = {
  '/portstream.v1.WebhookService/CreateWebhook': {
    allowed: INPUT,
    valid: () => create(),
    hostile: () => [
      ...[
        '',
        'not a url',
        'ftp://hooks.example.com/x',
        'javascript:alert(1)',
        'https://user:pw@hooks.example.com/x',
        'https://hooks.example.com/x#frag',
        `https://${'a'.repeat(3000)}.example.com/`,
      ].map((url) => invalid('badUrl', [create({ url })])),
      // Decoded with U+FFFD in the path, which the URL then percent-encodes: any allowed answer.
      { cls: 'invalidUtf8:url', messages: [create({ url: `https://hooks.example.com/${MARK}` })] },
      invalid('noFilter', [create({ filter: undefined })]),
      invalid('filterAsksNothing', [create({ filter: filter({ decisions: false }) })]),
      ...['', 'MSCU1234567', '../x', MARK].map((c) =>
        invalid('badContainer', [
          create({ filter: filter({ containerEvents: true, containerNumbers: [c] }) }),
        ]),
      ),
      ...['', 'ab', 'HLCU-1', 'A'.repeat(40)].map((b) =>
        invalid('badBill', [create({ filter: filter({ billNumbers: [b] }) })]),
      ),
      ...['', '12', '10860000000x', '1086000000001'].map((d) =>
        invalid('badDeclaration', [create({ filter: filter({ declarationNumbers: [d] }) })]),
      ),
      ...[0, 99, -1].map((t) =>
        invalid('unknownEnum:eventTypes', [
          create({ filter: filter({ containerEvents: true, eventTypes: [t] }) }),
        ]),
      ),
      invalid('hugeRepeated:declarationNumbers', [
        create({ filter: filter({ declarationNumbers: Array.from({ length: 101 }, () => '108699999999') }) }),
      ]),
      ...[3, 99, -5].map((format) => invalid('unknownEnum:format', [create({ format })])),
      invalid('dcsaWithDecisions', [create({ format: WebhookPayloadFormat.DCSA_TNT_3 })]),
      invalid('longDescription', [create({ description: 'd'.repeat(500) })]),
    ],
  },
  '/portstream.v1.WebhookService/GetWebhook': byId((id) => GetWebhookRequest.encode({ id }).finish()),
  '/portstream.v1.WebhookService/DeleteWebhook': byId((id) => DeleteWebhookRequest.encode({ id }).finish()),
  '/portstream.v1.WebhookService/RotateWebhookSecret': byId((id) =>
    RotateWebhookSecretRequest.encode({ id }).finish(),
  ),
  '/portstream.v1.WebhookService/EnableWebhook': byId((id) => EnableWebhookRequest.encode({ id }).finish()),
  '/portstream.v1.WebhookService/ListWebhooks': {
    allowed: INPUT,
    valid: () => buf(ListWebhooksRequest.encode({}).finish()),
    hostile: () => [],
  },
  '/portstream.v1.WebhookService/ListWebhookDeliveries': byId((webhookId) =>
    ListWebhookDeliveriesRequest.encode({ webhookId, pageSize: 600, pageToken: "1' OR 1=1" }).finish(),
  ),
};
