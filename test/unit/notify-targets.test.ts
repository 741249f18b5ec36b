// Which webhook endpoints the notify service refuses (server-side request forgery): non-public literals in every
// spelling the URL parser accepts, local names, and names that resolve to a non-public address, checked on the
// resolved addresses at delivery too.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { PortstreamError } from '../../core/errors.js';
import { postWebhook } from '../../notify/send.js';
import { checkResolvedUrl, checkUrl, isNonPublicAddress } from '../../notify/targets.js';
import { makeDevCa } from '../helpers/tls.js';

const OFF = { allowPrivate: false, allowHttp: false };
const field = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return err instanceof PortstreamError ? err.field : 'not a PortstreamError';
  }
  return undefined;
};

describe('webhook targets', () => {
  it.each([
    '127.0.0.1',
    '127.255.0.9',
    '10.0.0.1',
    '172.16.5.4',
    '192.168.0.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::1',
    '::',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:a9fe:a9fe',
    'fe80::1',
    'fd00::1',
    'ff02::1',
    '64:ff9b::a00:1',
  ])('%s is not public', (a) => {
    expect(isNonPublicAddress(a)).toBe(true);
  });

  it.each(['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('%s is public', (a) => {
    expect(isNonPublicAddress(a)).toBe(false);
  });

  it.each([
    'https://127.0.0.1/x',
    'https://2130706433/x',
    'https://0x7f.1/x',
    'https://[::1]/x',
    'https://[::ffff:127.0.0.1]/x',
    'https://[fe80::1]/x',
    'https://169.254.169.254/latest/meta-data/',
    'https://10.1.1.1/x',
    'https://localhost/x',
    'https://api.localhost/x',
    'https://intranet/x',
    'http://example.com/x',
    'https://user:pw@example.com/x',
    'ftp://example.com/x',
    'not a url',
  ])('refuses %s (field url)', (url) => {
    expect(field(() => checkUrl(url, OFF))).toBe('url');
  });

  it('takes a public https URL, and loopback over http when the deployment allows both', () => {
    expect(checkUrl('https://hooks.example.com/portstream', OFF).hostname).toBe('hooks.example.com');
    expect(checkUrl('http://127.0.0.1:8080/x', { allowPrivate: true, allowHttp: true }).port).toBe('8080');
  });

  it('refuses a name that resolves to loopback, at registration and at delivery (nothing is sent)', async () => {
    let hits = 0;
    const server = createServer((_req, res) => {
      hits++;
      res.writeHead(204).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      // A name (here one the hosts file resolves to loopback): refused on the address it resolves to, not on
      // its spelling (checkUrl refuses "localhost" by name as well; these checks do not rely on that).
      const url = new URL(`http://localhost:${port}/x`);
      await expect(checkResolvedUrl(url, { allowPrivate: false, allowHttp: true })).rejects.toThrow(/url/);
      const refused = await postWebhook(
        url,
        '{}',
        {},
        {
          timeoutMs: 2000,
          policy: { allowPrivate: false, allowHttp: true },
        },
      );
      expect(refused).toMatchObject({ ok: false, refused: true });
      const literal = await postWebhook(
        new URL(`http://127.0.0.1:${port}/x`),
        '{}',
        {},
        {
          timeoutMs: 2000,
          policy: { allowPrivate: false, allowHttp: true },
        },
      );
      expect(literal).toMatchObject({ ok: false, refused: true });
      expect(hits).toBe(0);
      // Allowed: it is delivered.
      const allowed = await postWebhook(
        url,
        '{}',
        {},
        {
          timeoutMs: 2000,
          policy: { allowPrivate: true, allowHttp: true },
        },
      );
      expect(allowed).toMatchObject({ ok: true, statusCode: 204 });
      expect(hits).toBe(1);
    } finally {
      server.close();
      server.closeAllConnections();
    }
  });

  it('verifies the endpoint certificate: one from a CA the system does not trust gets nothing sent', async () => {
    const ca = await makeDevCa();
    let hits = 0;
    const server = createHttpsServer(
      { cert: await readFile(ca.serverCert), key: await readFile(ca.serverKey) },
      (_req, res) => {
        hits++;
        res.writeHead(204).end();
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const r = await postWebhook(
        new URL(`https://localhost:${port}/x`),
        '{}',
        {},
        {
          timeoutMs: 2000,
          policy: { allowPrivate: true, allowHttp: false },
        },
      );
      expect(r).toMatchObject({ ok: false, refused: false, statusCode: 0 });
      expect(r.error).toMatch(/certificate/i);
      expect(hits).toBe(0);
    } finally {
      server.close();
      server.closeAllConnections();
      await ca.cleanup();
    }
  });
});
