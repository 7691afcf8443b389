/**
 * Fixtures for tests against mocked Google STS and IAM Credentials: real-shaped answers (PROTOCOLS §4.2,
 * §4.3) and request capture. nock 15 calls a reply function with one argument, the Fetch `Request`.
 */
import { randomBytes } from 'node:crypto';
import type { WebIdentityToken } from '@keyless/core';
import { decodeAwsWebIdentityClaims } from '@keyless/core';
import nock from 'nock';
import { makeAwsJwt, TEST_ROLE_ARN } from '../../../test/support/aws.js';
import { registerSecret } from '../../../test/support/secrets.js';

export const PROJECT_NUMBER = '123456789012';
export const POOL_ID = 'aws-pool';
export const PROVIDER_ID = 'aws-oidc';
export const PROVIDER_NAME = `//iam.googleapis.com/projects/${PROJECT_NUMBER}/locations/global/workloadIdentityPools/${POOL_ID}/providers/${PROVIDER_ID}`;
/** What keyless asks AWS for by default. */
export const AWS_AUDIENCE = `https:${PROVIDER_NAME}`;
export const SERVICE_ACCOUNT = 'reader@my-project.iam.gserviceaccount.com';
export const STS_ORIGIN = 'https://sts.googleapis.com';
export const IAM_ORIGIN = 'https://iamcredentials.googleapis.com';
export const IAM_PATH = `/v1/projects/-/serviceAccounts/${SERVICE_ACCOUNT}:generateAccessToken`;
export const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';
export const PRINCIPAL = `principal://iam.googleapis.com/projects/${PROJECT_NUMBER}/locations/global/workloadIdentityPools/${POOL_ID}/subject/${TEST_ROLE_ARN}`;

/** A Google access token shaped like the real ones (`ya29.` + a long opaque tail). */
export function googleAccessToken(kind: 'federated' | 'service-account'): string {
  return registerSecret(`ya29.${kind === 'federated' ? 'd' : 'c'}.${randomBytes(120).toString('base64url')}`);
}

export interface Captured {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string;
}

/** Status, body (a function is called when the request arrives: for times relative to then), headers. */
export type Answer = [status: number, body: unknown, headers?: Record<string, string>];

export function stsSuccess(accessToken: string, expiresIn = 3599): Answer {
  return [
    200,
    {
      access_token: accessToken,
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      token_type: 'Bearer',
      expires_in: expiresIn,
    },
  ];
}

export function stsError(status: number, error: string, description: string): Answer {
  return [status, { error, error_description: description }];
}

export function iamSuccess(accessToken: string, lifetimeSeconds = 3600): Answer {
  return [
    200,
    () => ({
      accessToken,
      expireTime: new Date(Math.floor(Date.now() / 1000 + lifetimeSeconds) * 1000).toISOString().replace('.000Z', 'Z'),
    }),
  ];
}

/** The AIP-193 error body IAM Credentials answers with. */
export function iamError(code: number, status: string, message: string, details: unknown[] = []): Answer {
  return [code, { error: { code, message, status, details } }];
}

export const PERMISSION_DENIED = iamError(
  403,
  'PERMISSION_DENIED',
  "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).",
  [
    {
      '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
      reason: 'IAM_PERMISSION_DENIED',
      domain: 'iam.googleapis.com',
      metadata: { permission: 'iam.serviceAccounts.getAccessToken' },
    },
  ],
);

/** Mocks one POST and records what it received. */
export function mockPost(origin: string, path: string, answers: Answer[]) {
  const captured: Captured[] = [];
  const scope = nock(origin);
  for (const answer of answers) {
    scope.post(path).reply(async (req: Request) => {
      captured.push({
        url: req.url,
        method: req.method,
        headers: Object.fromEntries(req.headers.entries()),
        body: await req.text(),
      });
      const [status, answerBody, headers] = answer;
      const body: unknown = typeof answerBody === 'function' ? answerBody() : answerBody;
      return [
        status,
        typeof body === 'string' ? body : JSON.stringify(body),
        { 'content-type': typeof body === 'string' ? 'text/html' : 'application/json; charset=utf-8', ...headers },
      ];
    });
  }
  return { scope, captured };
}

export function mockSts(answers: Answer[], origin = STS_ORIGIN) {
  return mockPost(origin, '/v1/token', answers);
}

export function mockIam(answers: Answer[], origin = IAM_ORIGIN) {
  return mockPost(origin, IAM_PATH, answers);
}

/** A JWT as AWS would issue it for the provider, and a counting `webIdentityToken` provider of it. */
export async function jwtProvider(options: { audience?: string; lifetime?: number; sub?: string } = {}) {
  const token = await makeAwsJwt({
    audience: options.audience ?? AWS_AUDIENCE,
    lifetime: options.lifetime ?? 3600,
    ...(options.sub ? { sub: options.sub } : {}),
  });
  const claims = decodeAwsWebIdentityClaims(token);
  const calls = { count: 0 };
  const provider = async (): Promise<WebIdentityToken> => {
    calls.count++;
    return { token, claims, expiresAt: new Date(claims.exp * 1000) };
  };
  return { token, claims, provider, calls };
}
