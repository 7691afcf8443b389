/**
 * The contenders: for each target, keyless and the official library wired by hand the way its docs
 * suggest, each behind the same "get me a token" function. Every instance is new, so every run starts
 * with a cold cache.
 */
import { GetWebIdentityTokenCommand, type STSClient } from '@aws-sdk/client-sts';
import { ClientAssertionCredential } from '@azure/identity';
import { AwsFederatedCredential } from '@keyless/azure';
import { fromAwsWebIdentityToken } from '@keyless/core';
import { createGoogleAuthClient } from '@keyless/gcp';
import { IdentityPoolClient } from 'google-auth-library';
import {
  CLIENT_ID,
  entraHttpClient,
  JWT_LIFETIME_S,
  JWT_TYPE,
  PROVIDER_NAME,
  STORAGE_SCOPE,
  TENANT_ID,
} from './fixtures.ts';

export type Target = 'core' | 'azure' | 'gcp';

/** A fresh instance's token getter. */
export type GetToken = () => Promise<unknown>;

export interface Subject {
  id: string;
  target: Target;
  keyless: boolean;
  /** What is compared, for the tables. */
  label: string;
  create(context: SubjectContext): GetToken;
}

export interface SubjectContext {
  /** Origin of the loopback Entra / Google STS mock. */
  origin: string;
  /** The STS every contender of one run shares (it counts calls). */
  sts: STSClient;
}

const AZURE_AUDIENCE = 'api://AzureADTokenExchange';
const GOOGLE_AUDIENCE = `https:${PROVIDER_NAME}`;
/** A hand-written memo renews the JWT when less than this is left (a common, cautious choice). */
const MEMO_MARGIN_MS = 60_000;

/**
 * JWT lifetimes asked for: STS's default for Entra (its tokens do not depend on the assertion's life),
 * one hour for Google (a federated token lives no longer than its JWT; keyless asks for 3600 s too).
 */
const DURATION: Record<string, number> = { [AZURE_AUDIENCE]: JWT_LIFETIME_S, [GOOGLE_AUDIENCE]: 3600 };

/** One `GetWebIdentityToken` call through `STSClient.send`, as a hand-written integration makes it. */
async function getWebIdentityToken(sts: STSClient, audience: string): Promise<{ token: string; expiresAt: number }> {
  const output = await sts.send(
    new GetWebIdentityTokenCommand({
      Audience: [audience],
      SigningAlgorithm: 'RS256',
      DurationSeconds: DURATION[audience] ?? JWT_LIFETIME_S,
    }),
  );
  return { token: output.WebIdentityToken!, expiresAt: output.Expiration!.getTime() };
}

/** The straightforward memo: keep the last answer until it is close to expiry. No single flight. */
export function valueMemo(sts: STSClient, audience: string): () => Promise<string> {
  let cached: { token: string; expiresAt: number } | undefined;
  return async () => {
    if (cached && cached.expiresAt - Date.now() > MEMO_MARGIN_MS) return cached.token;
    cached = await getWebIdentityToken(sts, audience);
    return cached.token;
  };
}

/** The careful memo: the same, plus one in-flight request shared by concurrent callers. */
export function singleFlightMemo(sts: STSClient, audience: string): () => Promise<string> {
  let cached: { token: string; expiresAt: number } | undefined;
  let pending: Promise<{ token: string; expiresAt: number }> | undefined;
  return async () => {
    if (cached && cached.expiresAt - Date.now() > MEMO_MARGIN_MS) return cached.token;
    pending ??= getWebIdentityToken(sts, audience).then(
      (value) => {
        cached = value;
        pending = undefined;
        return value;
      },
      (error: unknown) => {
        pending = undefined;
        throw error;
      },
    );
    return (await pending).token;
  };
}

/** No memo at all: STS on every call. */
function everyCall(sts: STSClient, audience: string): () => Promise<string> {
  return async () => (await getWebIdentityToken(sts, audience)).token;
}

function clientAssertionCredential(getAssertion: () => Promise<string>): GetToken {
  const credential = new ClientAssertionCredential(TENANT_ID, CLIENT_ID, getAssertion, {
    httpClient: entraHttpClient(),
  });
  return () => credential.getToken(STORAGE_SCOPE);
}

function identityPoolClient(origin: string, getSubjectToken: () => Promise<string>): GetToken {
  const client = new IdentityPoolClient({
    audience: PROVIDER_NAME,
    subject_token_type: JWT_TYPE,
    token_url: `${origin}/v1/token`,
    subject_token_supplier: { getSubjectToken },
  });
  return () => client.getAccessToken();
}

export const SUBJECTS: Subject[] = [
  {
    id: 'core.keyless',
    target: 'core',
    keyless: true,
    label: 'keyless fromAwsWebIdentityToken',
    create: ({ sts }) => {
      const provider = fromAwsWebIdentityToken({ audience: AZURE_AUDIENCE, client: sts });
      return () => provider();
    },
  },
  {
    id: 'core.memo',
    target: 'core',
    keyless: false,
    label: 'STSClient.send + memo, single flight',
    create: ({ sts }) => singleFlightMemo(sts, AZURE_AUDIENCE),
  },
  {
    id: 'core.naive',
    target: 'core',
    keyless: false,
    label: 'STSClient.send + memo of the value',
    create: ({ sts }) => valueMemo(sts, AZURE_AUDIENCE),
  },
  {
    id: 'azure.keyless',
    target: 'azure',
    keyless: true,
    label: 'keyless AwsFederatedCredential',
    create: ({ origin, sts }) => {
      const credential = new AwsFederatedCredential({
        tenantId: TENANT_ID,
        clientId: CLIENT_ID,
        authorityHost: origin,
        aws: { client: sts },
      });
      return () => credential.getToken(STORAGE_SCOPE);
    },
  },
  {
    id: 'azure.memo',
    target: 'azure',
    keyless: false,
    label: 'ClientAssertionCredential + memoized assertion',
    create: ({ sts }) => clientAssertionCredential(singleFlightMemo(sts, AZURE_AUDIENCE)),
  },
  {
    id: 'azure.naive',
    target: 'azure',
    keyless: false,
    label: 'ClientAssertionCredential + STS per assertion',
    create: ({ sts }) => clientAssertionCredential(everyCall(sts, AZURE_AUDIENCE)),
  },
  {
    id: 'gcp.keyless',
    target: 'gcp',
    keyless: true,
    label: 'keyless createGoogleAuthClient',
    create: ({ origin, sts }) => {
      const client = createGoogleAuthClient({
        audience: PROVIDER_NAME,
        tokenUrl: `${origin}/v1/token`,
        aws: { client: sts },
      });
      return () => client.getAccessToken();
    },
  },
  {
    id: 'gcp.memo',
    target: 'gcp',
    keyless: false,
    label: 'IdentityPoolClient + memoized supplier',
    create: ({ origin, sts }) => identityPoolClient(origin, singleFlightMemo(sts, GOOGLE_AUDIENCE)),
  },
  {
    id: 'gcp.naive',
    target: 'gcp',
    keyless: false,
    label: 'IdentityPoolClient + STS per subject token',
    create: ({ origin, sts }) => identityPoolClient(origin, everyCall(sts, GOOGLE_AUDIENCE)),
  },
];

export function subject(id: string): Subject {
  const found = SUBJECTS.find((s) => s.id === id);
  if (!found) throw new Error(`no subject ${id}`);
  return found;
}
