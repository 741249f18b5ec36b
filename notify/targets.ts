// Where webhooks may be delivered. An endpoint is a URL the subscriber chooses, so without a check the notify
// service would POST from inside the deployment to whatever it names: the cloud metadata service
// (169.254.169.254), NATS, ClickHouse, an admin port on loopback (server-side request forgery). Unless the
// deployment allows it (NOTIFY_ALLOW_PRIVATE_TARGETS), an endpoint is refused when its host is, or resolves to,
// any non-public address: checked at registration and again at every delivery on the addresses the connection
// will use (the lookup below hands the socket only checked addresses, so a name that re-resolves to loopback
// between the check and the connect cannot slip through). Redirects are never followed.
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { invalidArgument } from '../core/errors.js';

const BLOCKED = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this" network
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  BLOCKED.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 96], // unspecified, loopback (::1) and IPv4-compatible
  ['64:ff9b::', 96], // NAT64 (may embed any IPv4 address)
  ['64:ff9b:1::', 48],
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4 (embeds an IPv4 address)
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local
  ['ff00::', 8], // multicast
] as const) {
  BLOCKED.addSubnet(net, prefix, 'ipv6');
}

/** The 8 hextets of an IPv6 address (dotted IPv4 tail allowed); undefined when it is not one. */
function hextets(addr: string): number[] | undefined {
  const a = addr.replace(/%.*$/, '');
  if (isIP(a) !== 6) return undefined;
  let text = a;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (dotted?.[1]) {
    const o = dotted[1].split('.').map(Number);
    text = `${a.slice(0, -dotted[1].length)}${(((o[0] ?? 0) << 8) | (o[1] ?? 0)).toString(16)}:${(((o[2] ?? 0) << 8) | (o[3] ?? 0)).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? [] : Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((x) => parseInt(x, 16));
}

/** Whether an IP address (v4 or v6, including IPv4-mapped v6) is one webhooks may not reach by default. */
export function isNonPublicAddress(address: string): boolean {
  const v = isIP(address);
  if (v === 4) return BLOCKED.check(address, 'ipv4');
  const h = hextets(address);
  if (!h) return true;
  // ::ffff:a.b.c.d (IPv4-mapped): what counts is the IPv4 address.
  if (h.slice(0, 5).every((x) => x === 0) && h[5] === 0xffff) {
    const v4 = [(h[6] ?? 0) >> 8, (h[6] ?? 0) & 255, (h[7] ?? 0) >> 8, (h[7] ?? 0) & 255].join('.');
    return BLOCKED.check(v4, 'ipv4');
  }
  return BLOCKED.check(h.map((x) => x.toString(16)).join(':'), 'ipv6');
}

export interface TargetPolicy {
  /** NOTIFY_ALLOW_PRIVATE_TARGETS */
  allowPrivate: boolean;
  /** NOTIFY_ALLOW_HTTP */
  allowHttp: boolean;
}

export class TargetRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetRefusedError';
  }
}

/** The URL's host as an address or name: without IPv6 brackets. */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

const isLocalName = (host: string): boolean =>
  host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.local') || !host.includes('.');

/**
 * Checks an endpoint as given (scheme, no credentials, a host that is not a non-public literal or local name);
 * INVALID_ARGUMENT at field `url` otherwise. The WHATWG parser normalises numeric hosts (2130706433, 0x7f.1) to
 * dotted IPv4, so those are caught as literals.
 */
export function checkUrl(raw: string, policy: TargetPolicy): URL {
  if (raw.length === 0) throw invalidArgument('url', 'required');
  if (raw.length > 2048) throw invalidArgument('url', 'longer than 2048 characters');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalidArgument('url', 'not an absolute URL');
  }
  if (url.protocol !== 'https:' && !(policy.allowHttp && url.protocol === 'http:')) {
    throw invalidArgument('url', policy.allowHttp ? 'must be https:// or http://' : 'must be https://');
  }
  if (url.username !== '' || url.password !== '') throw invalidArgument('url', 'must not carry credentials');
  if (url.hash !== '') throw invalidArgument('url', 'must not have a fragment');
  const host = hostOf(url);
  if (!policy.allowPrivate) {
    if (isIP(host) !== 0 && isNonPublicAddress(host)) {
      throw invalidArgument('url', `${host} is not a public address`);
    }
    if (isIP(host) === 0 && isLocalName(host.toLowerCase())) {
      throw invalidArgument('url', `${host} is not a public host name`);
    }
  }
  return url;
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `lookup` for http(s).request that resolves the name and refuses (TargetRefusedError) when any of its
 * addresses is non-public, so the connection only ever goes to addresses that were checked.
 */
export function guardedLookup(policy: TargetPolicy) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) {
        callback(err, []);
        return;
      }
      const bad = addresses.find((a) => isNonPublicAddress(a.address));
      if (bad && !policy.allowPrivate) {
        callback(
          Object.assign(
            new TargetRefusedError(`${hostname} resolves to ${bad.address}, not a public address`),
            {
              code: 'EREFUSEDTARGET',
            },
          ),
          [],
        );
        return;
      }
      if (options.all === true) callback(null, addresses);
      else {
        const first = addresses[0];
        if (!first) callback(Object.assign(new Error(`${hostname}: no address`), { code: 'ENOTFOUND' }), []);
        else callback(null, first.address, first.family);
      }
    });
  };
}

/** Resolves the endpoint's host now and refuses it (INVALID_ARGUMENT at `url`) when it is not public. */
export async function checkResolvedUrl(url: URL, policy: TargetPolicy): Promise<void> {
  const host = hostOf(url);
  if (policy.allowPrivate || isIP(host) !== 0) return;
  const lookup = guardedLookup(policy);
  await new Promise<void>((resolve, reject) => {
    lookup(host, { all: true }, (err) => {
      if (err instanceof TargetRefusedError) reject(invalidArgument('url', err.message));
      else if (err) reject(invalidArgument('url', `${host} does not resolve`));
      else resolve();
    });
  });
}
