// "No SQL is ever built from input text", checked statically: every .ts file that talks to ClickHouse
// (core/clickhouse, api/, sink/, and any other file importing core/clickhouse) is parsed with the
// TypeScript compiler, and a SQL text may interpolate only an allow-listed identifier (the validated database
// name); it may not be concatenated with +; and what reaches query()/command() must be such a text, except at
// the two allow-listed pass-through sites. Every value goes through server-side parameters ({name:Type}).
// The checker is tested on snippets too, so a weakened checker fails here as well.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** SQL keywords, upper case as the project writes SQL (English prose in messages is lower case). */
const SQL =
  /\b(SELECT|INSERT|CREATE|ALTER|DROP|DELETE|UPDATE|FROM|WHERE|JOIN|TRUNCATE|OPTIMIZE|RENAME|GRANT)\b/;

/** Expressions a SQL text may interpolate: the database name, validated as an identifier at start-up. */
const ALLOWED_INTERPOLATIONS = new Set(['ch.database', 'db', 'database', 'this.database']);

/**
 * Where a query()/command() argument may be a variable: the client wrapper forwarding its own `sql` parameter,
 * and the migration runner executing statements read from the migration files shipped with the code.
 */
const ALLOWED_PASS_THROUGH: Record<string, Set<string>> = {
  'core/clickhouse/client.ts': new Set(['sql']),
  'core/clickhouse/migrate.ts': new Set(['statement']),
};

const QUERY_METHODS = new Set(['query', 'command']);

function staticText(node: ts.Node): string {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (ts.isTemplateExpression(node)) {
    return node.head.text + node.templateSpans.map((s) => s.literal.text).join(' ');
  }
  return '';
}

/** Problems in one file's source, as "file:line: what". */
function sqlProblems(file: string, source: string): string[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true);
  const problems: string[] = [];
  const at = (n: ts.Node, what: string): void => {
    const line = sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
    problems.push(`${file}:${line}: ${what}`);
  };
  const passThrough = ALLOWED_PASS_THROUGH[file] ?? new Set<string>();

  /** A value handed to query()/command() as SQL. */
  const checkSqlArgument = (arg: ts.Expression): void => {
    if (ts.isStringLiteral(arg) || ts.isNoSubstitutionTemplateLiteral(arg) || ts.isTemplateExpression(arg)) {
      return; // template interpolations are checked where every template is
    }
    if (ts.isIdentifier(arg) && passThrough.has(arg.text)) return;
    at(arg, `query text is not a literal: ${arg.getText(sf)}`);
  };

  const visit = (n: ts.Node): void => {
    if (ts.isTemplateExpression(n) && SQL.test(staticText(n))) {
      for (const span of n.templateSpans) {
        const expr = span.expression.getText(sf);
        if (!ALLOWED_INTERPOLATIONS.has(expr)) at(span.expression, `SQL interpolates \${${expr}}`);
      }
    }
    if (
      ts.isBinaryExpression(n) &&
      (n.operatorToken.kind === ts.SyntaxKind.PlusToken ||
        n.operatorToken.kind === ts.SyntaxKind.PlusEqualsToken) &&
      (SQL.test(staticText(n.left)) || SQL.test(staticText(n.right)))
    ) {
      at(n, 'SQL built with +');
    }
    if (
      ts.isCallExpression(n) &&
      ts.isPropertyAccessExpression(n.expression) &&
      QUERY_METHODS.has(n.expression.name.text)
    ) {
      const arg = n.arguments[0];
      if (arg && ts.isObjectLiteralExpression(arg)) {
        // client.query({ query: ..., query_params }) of @clickhouse/client
        for (const p of arg.properties) {
          if (ts.isPropertyAssignment(p) && p.name.getText(sf) === 'query') checkSqlArgument(p.initializer);
          if (ts.isShorthandPropertyAssignment(p) && p.name.text === 'query') checkSqlArgument(p.name);
        }
      } else if (arg) {
        checkSqlArgument(arg);
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return problems;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return name === 'node_modules' ? [] : tsFiles(p);
    return name.endsWith('.ts') ? [p] : [];
  });
}

/** Every file in the ClickHouse layer and its callers. */
function clickHouseFiles(): string[] {
  const all = ['core', 'api', 'processor', 'sink', 'ingest', 'simulator', 'cli', 'bench', 'scripts'].flatMap(
    (d) => tsFiles(path.join(ROOT, d)),
  );
  return all
    .map((p) => path.relative(ROOT, p))
    .filter(
      (rel) =>
        rel.startsWith('core/clickhouse/') ||
        rel.startsWith('api/') ||
        rel.startsWith('sink/') ||
        /from '[./]*\/?(core\/)?clickhouse\//.test(readFileSync(path.join(ROOT, rel), 'utf8')),
    );
}

describe('no SQL is built from input text', () => {
  it('holds in every file that talks to ClickHouse', () => {
    const files = clickHouseFiles();
    // The layer itself, its API reader and the sink writer are all in scope.
    for (const f of ['core/clickhouse/queries.ts', 'core/clickhouse/client.ts', 'sink/writer.ts']) {
      expect(files).toContain(f);
    }
    const problems = files.flatMap((f) => sqlProblems(f, readFileSync(path.join(ROOT, f), 'utf8')));
    expect(problems).toEqual([]);
  });

  it('catches the regressions it is there for', () => {
    const bad: Record<string, string> = {
      interpolatedValue:
        "export const q = (ch, n) => ch.query(`SELECT * FROM ${ch.database}.events WHERE container_number = '${n}'`);",
      interpolatedTable: 'const t = input.table; ch.query(`SELECT 1 FROM ${ch.database}.${t}`);',
      concatenated: "ch.query('SELECT * FROM events WHERE id = ' + id);",
      appended: "let sql = 'SELECT * FROM events'; sql += ` WHERE id = ${id}`; ch.query(sql);",
      builtElsewhere: 'const sql = buildSql(req); await ch.command(sql);',
      clientObject: 'await client.query({ query: makeSql(x), format: "JSONEachRow" });',
      nestedCall: 'ch.query(`SELECT ${fmt(req.params.id)} FROM ${ch.database}.events`);',
    };
    for (const [name, src] of Object.entries(bad)) {
      expect(sqlProblems('sink/example.ts', src), name).not.toEqual([]);
    }
    const good = [
      'ch.query(`SELECT event_id FROM ${ch.database}.events WHERE container_number = {c:String}`, { c: n });',
      "ch.command('SYSTEM FLUSH LOGS');",
      'log.info(`read ${n} rows from ${table}`);',
    ];
    for (const src of good) expect(sqlProblems('sink/example.ts', src), src).toEqual([]);
    // A pass-through allowed in one file is not allowed in another.
    expect(sqlProblems('api/x.ts', 'await ch.command(statement);')).not.toEqual([]);
  });
});
