/**
 * An `STSClient` stand-in for `aws: { client }` (keyless only calls `send()` and `config.region()`):
 * each `GetWebIdentityToken` gets a real signed JWT in AWS's layout, minted at the (possibly fake)
 * current time, so tests drive the production path of core's JWT provider without HTTP.
 */
import type { STSClient } from '@aws-sdk/client-sts';
import { makeAwsJwt } from '../../support/aws.js';

interface Input {
  Audience?: string[];
  SigningAlgorithm?: 'RS256' | 'ES384';
  DurationSeconds?: number;
}

export interface FakeSts {
  client: STSClient;
  /** JWTs handed out, in order. */
  issued: string[];
  /** Seconds to add to the `iat` of the next JWTs (an STS clock ahead or behind this machine's). */
  skewSeconds: number;
  /** When set, every call fails with this (what the AWS SDK throws). */
  failure: unknown;
  /** Calls made, failed ones included. */
  calls: number;
}

/** What the AWS SDK throws for an STS 503 (an awsQuery `ServiceUnavailable` error). */
export function stsUnavailable(): Error {
  return Object.assign(new Error('Service is unavailable'), {
    name: 'ServiceUnavailable',
    Code: 'ServiceUnavailable',
    $fault: 'server',
    $metadata: { httpStatusCode: 503 },
  });
}

export function fakeSts(): FakeSts {
  const state: FakeSts = {
    client: undefined as unknown as STSClient,
    issued: [],
    skewSeconds: 0,
    failure: undefined,
    calls: 0,
  };
  state.client = {
    config: { region: async () => 'us-east-1' },
    send: async (command: { input: Input }) => {
      state.calls++;
      if (state.failure !== undefined) throw state.failure;
      const { Audience, SigningAlgorithm, DurationSeconds } = command.input;
      const lifetime = DurationSeconds ?? 300;
      const iat = Math.floor(Date.now() / 1000) + state.skewSeconds;
      const token = await makeAwsJwt({
        audience: Audience?.length === 1 ? Audience[0] : Audience,
        alg: SigningAlgorithm ?? 'RS256',
        lifetime,
        iat,
      });
      state.issued.push(token);
      return {
        WebIdentityToken: token,
        Expiration: new Date((iat + lifetime) * 1000),
        $metadata: { httpStatusCode: 200 },
      };
    },
  } as unknown as STSClient;
  return state;
}
