// The ClickHouse layer's public surface: the client factory, migrations and the API's read helpers.
export { createClickHouse, embeddedPath, type ClickHouse, type ClickHouseConfig } from './client.js';
export { loadMigrations, migrationsDir, runMigrations, type MigrationResult } from './migrate.js';
export * from './queries.js';
export * from './customs-queries.js';
export * from './yard-queries.js';
