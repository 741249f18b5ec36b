// Bearer tokens for a runnable: AUTH_TOKENS_FILE for services; `up` creates a file of random per-install tokens
// under the data folder when none is configured, and prints them.
import path from 'node:path';
import { ensureDevTokens, TokenAuthenticator } from '../core/auth/tokens.js';
import type { Runtime } from './runtime.js';

export async function authForService(rt: Runtime): Promise<TokenAuthenticator> {
  const file = rt.config.AUTH_TOKENS_FILE;
  if (file === undefined) {
    throw new Error('AUTH_TOKENS_FILE is required: every caller authenticates (see README, "Access")');
  }
  return TokenAuthenticator.fromFile(file);
}

export async function authForUp(rt: Runtime): Promise<{
  auth: TokenAuthenticator;
  printable: { name: string; role: string; token: string }[];
  file: string;
}> {
  const file = rt.config.AUTH_TOKENS_FILE ?? path.resolve(rt.config.PORTSTREAM_DATA_DIR, 'tokens.json');
  const printable = rt.config.AUTH_TOKENS_FILE === undefined ? await ensureDevTokens(file) : [];
  return { auth: await TokenAuthenticator.fromFile(file), printable, file };
}
