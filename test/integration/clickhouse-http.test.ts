// The project's ClickHouse HTTP path (CLICKHOUSE_URL, @clickhouse/client over HTTP) against the real engine
// behind test/helpers/clickhouse-http.ts: migrations, parameterised reads, inserts with a deduplication token,
// and the server going away and coming back with its data.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse, type ClickHouse } from '../../core/clickhouse/client.js';
import { loadMigrations, runMigrations } from '../../core/clickhouse/migrate.js';
import { silentLogger } from '../../core/logger.js';
import { startClickHouseHttp, type ClickHouseHttpServer } from '../helpers/clickhouse-http.js';
import { uniqueName } from '../../test-kit/poll.js';
import { countRows } from './sink-fixture.js';

describe('ClickHouse over HTTP (real engine behind the HTTP interface)', () => {
  let server: ClickHouseHttpServer;
  let ch: ClickHouse;
  const config = (url: string, password = 'secret') => ({
    CLICKHOUSE_URL: url,
    CLICKHOUSE_USER: 'default',
    CLICKHOUSE_PASSWORD: password,
    CLICKHOUSE_DATABASE: uniqueName('ps'),
    CLICKHOUSE_REQUEST_TIMEOUT_MS: 5000,
    PORTSTREAM_DATA_DIR: '/nonexistent',
  });

  beforeAll(async () => {
    server = await startClickHouseHttp({ password: 'secret' });
    ch = createClickHouse(config(server.url), silentLogger());
  });
  afterAll(async () => {
    await ch.close();
    await server.close();
  });

  it('migrates an empty database, then finds it migrated', async () => {
    const versions = loadMigrations(ch.database).map((m) => m.version);
    expect(await runMigrations(ch, silentLogger())).toEqual({ applied: versions, alreadyApplied: [] });
    expect(await runMigrations(ch, silentLogger())).toEqual({ applied: [], alreadyApplied: versions });
    expect(await countRows(ch, 'schema_migrations')).toBe(versions.length);
  });

  it('binds parameters on the server, quotes included, and keeps settings to their query', async () => {
    const odd = `it's a "test"\\ with\ttab and\nnewline`;
    const rows = await ch.query<{ s: string; a: string[]; n: number; big: number }>(
      'SELECT {s:String} AS s, {a:Array(String)} AS a, {n:UInt32} AS n, toUInt64(5) AS big',
      { s: odd, a: ['x', odd], n: 42 },
    );
    // output_format_json_quote_64bit_integers=0 (the client's setting) reached the engine: 64-bit as a number.
    expect(rows).toEqual([{ s: odd, a: ['x', odd], n: 42, big: 5 }]);
    const quoted = await ch.client.query({
      query: 'SELECT toUInt64(5) AS big',
      format: 'JSONEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
    });
    expect(await quoted.json()).toEqual([{ big: '5' }]);
    // A query without the parameter it names fails: nothing stayed bound from the one before.
    await expect(ch.query('SELECT {s:String} AS s')).rejects.toMatchObject({
      type: 'UNKNOWN_QUERY_PARAMETER',
    });
  });

  it('drops a repeated insert with the same deduplication token, keeps one with another', async () => {
    const rows = [
      { kind: 'event', key: 'a' },
      { kind: 'event', key: 'b' },
    ];
    await ch.insert('sink_keys', rows, 'test:ab');
    await ch.insert('sink_keys', rows, 'test:ab');
    expect(await countRows(ch, 'sink_keys', "key IN ('a', 'b')")).toBe(2);
    await ch.insert('sink_keys', rows, 'test:ab-again');
    expect(await countRows(ch, 'sink_keys', "key IN ('a', 'b')")).toBe(4);
    // The token was a setting of that INSERT only: a plain insert afterwards is not deduplicated against it.
    await ch.client.insert({
      table: `${ch.database}.sink_keys`,
      values: [{ kind: 'event', key: 'c' }],
      format: 'JSONEachRow',
    });
    expect(await countRows(ch, 'sink_keys', "key = 'c'")).toBe(1);
  });

  it('refuses a wrong password with AUTHENTICATION_FAILED', async () => {
    const wrong = createClickHouse(config(server.url, 'nope'), silentLogger());
    await expect(wrong.query('SELECT 1 AS one')).rejects.toMatchObject({ type: 'AUTHENTICATION_FAILED' });
    await wrong.close();
  });

  it('goes away (connections refused, ping fails) and comes back on the same port with its data', async () => {
    const port = server.port;
    expect((await ch.client.ping()).success).toBe(true);
    await server.stop();
    expect((await ch.client.ping()).success).toBe(false);
    await expect(ch.query('SELECT 1 AS one')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await server.start();
    expect(server.port).toBe(port);
    expect((await ch.client.ping()).success).toBe(true);
    expect(await countRows(ch, 'sink_keys', "key IN ('a', 'b', 'c')")).toBe(5);
  });
});
