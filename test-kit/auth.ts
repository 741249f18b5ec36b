// Tokens for every role, and gRPC clients that send one on every call.
import {
  credentials,
  InterceptingCall,
  type Interceptor,
  type ChannelCredentials,
  type ChannelOptions,
  type Client,
} from '@grpc/grpc-js';
import { DEV_CARRIER_CODES, TokenAuthenticator } from '../core/auth/tokens.js';

export const TOKENS = {
  admin: 'test-admin-token-0123456789',
  customs: 'test-customs-token-0123456789',
  operator: 'test-operator-token-0123456789',
  otherOperator: 'test-operator2-token-0123456789',
  firm: 'test-firm-token-0123456789',
  otherFirm: 'test-firm2-token-0123456789',
  broker: 'test-broker-token-0123456789',
  carrier: 'test-carrier-token-0123456789',
  otherCarrier: 'test-carrier2-token-0123456789',
  /** A shipping agency for every carrier the simulator plays (as `up`'s carrier token). */
  portCarriers: 'test-port-carriers-token-0123456789',
} as const;

export const testAuth = new TokenAuthenticator({
  tokens: [
    { name: 'admin', role: 'admin', token: TOKENS.admin },
    { name: 'customs', role: 'customs', token: TOKENS.customs },
    { name: 'hict-operator', role: 'operator', token: TOKENS.operator, terminals: ['VNHPH:HICT'] },
    { name: 'tvct-operator', role: 'operator', token: TOKENS.otherOperator, terminals: ['VNHPH:TVCT'] },
    { name: 'viettel-logistics', role: 'firm', token: TOKENS.firm, tax_codes: ['0100109106'] },
    { name: 'saigon-trading', role: 'firm', token: TOKENS.otherFirm, tax_codes: ['0300588569'] },
    // A customs broker registered to act for the first firm.
    {
      name: 'hp-broker',
      role: 'firm',
      token: TOKENS.broker,
      tax_codes: ['0101243150'],
      acts_for: ['0100109106'],
    },
    { name: 'hapag-agency', role: 'carrier', token: TOKENS.carrier, carriers: ['HLCU'] },
    { name: 'maersk-agency', role: 'carrier', token: TOKENS.otherCarrier, carriers: ['MAEU'] },
    { name: 'port-carriers', role: 'carrier', token: TOKENS.portCarriers, carriers: DEV_CARRIER_CODES },
  ],
});

/** Adds "authorization: Bearer <token>" to every call (no token: nothing added). */
export function bearerInterceptor(token: string | undefined): Interceptor {
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
        next(metadata, listener);
      },
    });
}

type ClientCtor<C> = new (
  address: string,
  creds: ChannelCredentials,
  options?: ChannelOptions & { interceptors?: Interceptor[] },
) => C;

export function clientAs<C extends Client>(
  Ctor: ClientCtor<C>,
  address: string,
  token: string | undefined,
  creds: ChannelCredentials = credentials.createInsecure(),
): C {
  return new Ctor(address, creds, { interceptors: [bearerInterceptor(token)] });
}
