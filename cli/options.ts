// CLI flags are another way to set the same variables as the environment: each flag names its variable.
import type { Command } from 'commander';
import type { Env } from '../core/config.js';

/** flag -> environment variable it overrides */
export const COMMON_FLAGS: Record<string, [flag: string, variable: string, help: string]> = {
  natsUrl: ['--nats-url <url>', 'NATS_URL', 'NATS server(s), comma-separated'],
  dataDir: ['--data-dir <dir>', 'PORTSTREAM_DATA_DIR', 'folder for local state'],
  logLevel: ['--log-level <level>', 'LOG_LEVEL', 'fatal|error|warn|info|debug|trace|silent'],
  logFormat: ['--log-format <format>', 'LOG_FORMAT', 'auto|json|pretty'],
};

export const PROCESSOR_FLAGS: Record<string, [flag: string, variable: string, help: string]> = {
  roles: [
    '--roles <roles>',
    'PROCESSOR_ROLES',
    'customs,state (default both): run them as separate processes under load',
  ],
};

export const INGEST_FLAGS: Record<string, [string, string, string]> = {
  host: ['--host <address>', 'INGEST_HOST', 'address the gRPC server binds'],
  port: ['--port <port>', 'INGEST_PORT', 'gRPC port (0: any free port)'],
};

/** Only for `portstream ingest`: `up` and `cluster` need every service on their gateways. */
export const GATEWAY_FLAGS: Record<string, [string, string, string]> = {
  services: [
    '--services <services>',
    'INGEST_SERVICES',
    'events,manifests,customs (default all): under event load run customs apart',
  ],
};

export function addFlags(cmd: Command, ...sets: Record<string, [string, string, string]>[]): Command {
  for (const set of sets)
    for (const [flag, variable, help] of Object.values(set)) cmd.option(flag, `${help} [${variable}]`);
  return cmd;
}

/** Turns parsed flag values into overrides keyed by variable name. */
export function overridesFrom(
  opts: Record<string, unknown>,
  ...sets: Record<string, [string, string, string]>[]
): Env {
  const out: Record<string, string> = {};
  for (const set of sets) {
    for (const [key, [, variable]] of Object.entries(set)) {
      const v = opts[key];
      if (typeof v === 'string') out[variable] = v;
    }
  }
  return out;
}
