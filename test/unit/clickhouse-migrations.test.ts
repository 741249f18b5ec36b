// Splitting migration files into statements: one per request, comments dropped, semicolons inside lines kept.
import { describe, expect, it } from 'vitest';
import { splitStatements } from '../../core/clickhouse/migrate.js';

describe('splitStatements', () => {
  it('splits at semicolons that end a line and drops comment lines', () => {
    const sql = [
      '-- header; with a semicolon',
      "CREATE TABLE a (x String DEFAULT 'a;b')",
      'ENGINE = Memory;',
      '',
      '-- second',
      'CREATE VIEW v AS SELECT 1;  ',
      '-- trailing comment only',
    ].join('\n');
    expect(splitStatements(sql)).toEqual([
      "CREATE TABLE a (x String DEFAULT 'a;b')\nENGINE = Memory",
      'CREATE VIEW v AS SELECT 1',
    ]);
  });
});
