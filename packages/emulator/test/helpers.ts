import { GetWebIdentityTokenCommand, STSClient, type STSClientConfig } from '@aws-sdk/client-sts';
import type { Emulator } from '../src/index.js';

/** The real STS client pointed at the emulator, one attempt, the default principal's credentials. */
export function stsClient(lab: Emulator, config: Partial<STSClientConfig> = {}): STSClient {
  return new STSClient({
    endpoint: lab.stsEndpoint,
    region: 'us-east-1',
    credentials: lab.credentials,
    maxAttempts: 1,
    ...config,
  });
}

/** A token from the emulator's own STS, through the real client. */
export async function stsToken(
  lab: Emulator,
  audience: string | string[],
  options: { algorithm?: 'RS256' | 'ES384'; durationSeconds?: number; region?: string } = {},
): Promise<string> {
  const out = await stsClient(lab, options.region ? { region: options.region } : {}).send(
    new GetWebIdentityTokenCommand({
      Audience: Array.isArray(audience) ? audience : [audience],
      SigningAlgorithm: options.algorithm ?? 'RS256',
      ...(options.durationSeconds === undefined ? {} : { DurationSeconds: options.durationSeconds }),
    }),
  );
  return out.WebIdentityToken!;
}

export interface JsonAnswer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/** POSTs a form and reads a JSON answer. */
export async function postForm(
  url: string,
  form: Record<string, string | undefined>,
  headers: Record<string, string> = {},
): Promise<JsonAnswer> {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(form)) if (value !== undefined) params.append(key, value);
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: params.toString(),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
}

/** POSTs JSON (or GETs when `body` is undefined) and reads a JSON answer. */
export async function requestJson(
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<JsonAnswer> {
  const response = await fetch(url, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}
