import { AWS_CLAIMS_KEY } from '@keyless/core';
import { isoSeconds, type LabContext, opaqueToken, TokenStore } from '../context.js';
import { EMULATOR_DEFAULTS } from '../defaults.js';
import {
  bearerToken,
  type EmulatorRequest,
  type EmulatorResponse,
  json,
  type Route,
  retryAfter,
  type ServiceHandler,
} from '../http-server.js';
import { audiences, checkLifetime, checkSignature, decodeUnverified } from '../keys.js';
import { googlePrincipal } from '../trust-rules.js';
import type { GoogleAttributeCondition, GoogleProvider } from '../types.js';

// RFC 8693 names Google STS uses (sts.googleapis.com discovery document; PROTOCOLS §4.2).
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_TOKEN_TYPES = ['urn:ietf:params:oauth:token-type:jwt', 'urn:ietf:params:oauth:token-type:id_token'];
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const PROVIDER_NAME =
  /^\/\/iam\.googleapis\.com\/projects\/(\d+)\/locations\/global\/workloadIdentityPools\/([^/]+)\/providers\/([^/]+)$/;
// Google STS accepts RS256 and ES256 subject tokens; a P-384 key in the issuer's JWKS is not even loaded.
const SUBJECT_TOKEN_ALGS = ['RS256', 'ES256'];
// Measured against real Google STS: about 60 s of skew either way; federated tokens live at most an hour.
const SKEW_SECONDS = 60;
const MAX_FEDERATED_LIFETIME_SECONDS = 3600;
const MAX_SA_TOKEN_LIFETIME_SECONDS = 3600;
const DEFAULT_SA_TOKEN_LIFETIME_SECONDS = 3600;
const SA_PATH = /^\/v1\/projects\/([^/]+)\/serviceAccounts\/([^/:]+):generateAccessToken$/;
const CREDENTIALS_HELP =
  'Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.';

interface GoogleToken {
  kind: 'federated' | 'service-account';
  /** `principal://…/subject/<sub>` or `serviceAccount:<email>`. */
  principal: string;
  projectNumber: string;
  poolId?: string;
  awsAccount?: string;
  email?: string;
  scopes: string[];
  expiresAt: number;
}

/** Google STS (`/v1/token`), IAM Credentials (`generateAccessToken`) and Cloud Storage bucket listing on one origin. */
export function createGoogleService(ctx: LabContext): ServiceHandler {
  const tokens = new TokenStore<GoogleToken>(ctx.clock);

  const route = (request: EmulatorRequest): Route | undefined => {
    const path = request.url.pathname;
    if (request.method === 'POST' && path === '/v1/token') {
      return { endpoint: 'google:sts-token', handle: (req) => exchange(ctx, tokens, req) };
    }
    const sa = SA_PATH.exec(path);
    if (request.method === 'POST' && sa) {
      return {
        endpoint: 'google:generate-access-token',
        handle: (req) => generateAccessToken(ctx, tokens, req, decodeURIComponent(sa[2]!)),
      };
    }
    if (request.method === 'GET' && path === '/storage/v1/b') {
      return { endpoint: 'google:list-buckets', handle: (req) => listBuckets(ctx, tokens, req) };
    }
    return undefined;
  };

  return {
    name: 'google',
    route,
    failure(failure, _route, _request) {
      const throttled = failure.kind === 'throttle';
      const code = throttled ? (failure.status ?? 429) : (failure.status ?? 503);
      return {
        ...json(
          code,
          {
            error: {
              code,
              message: throttled
                ? 'Quota exceeded for quota metric. Try again later.'
                : 'The service is currently unavailable.',
              status: throttled ? 'RESOURCE_EXHAUSTED' : code === 500 ? 'INTERNAL' : 'UNAVAILABLE',
            },
          },
          retryAfter(failure),
        ),
        errorCode: throttled ? 'RESOURCE_EXHAUSTED' : 'UNAVAILABLE',
      };
    },
    notFound: () => json(404, { error: { code: 404, message: 'Not Found', status: 'NOT_FOUND' } }),
  };
}

function oauthError(error: string, description: string, status = 400): EmulatorResponse {
  return { ...json(status, { error, error_description: description }), errorCode: error };
}

async function exchange(
  ctx: LabContext,
  tokens: TokenStore<GoogleToken>,
  request: EmulatorRequest,
): Promise<EmulatorResponse> {
  const form = request.form();
  if (form.get('grant_type') !== TOKEN_EXCHANGE) {
    return oauthError(
      'unsupported_grant_type',
      `Invalid value for "grant_type". The only supported value is "${TOKEN_EXCHANGE}".`,
    );
  }
  const subjectTokenType = form.get('subject_token_type') ?? '';
  if (!JWT_TOKEN_TYPES.includes(subjectTokenType)) {
    return oauthError(
      'invalid_request',
      `Invalid value for "subject_token_type". Supported values for workload identity pools are "${JWT_TOKEN_TYPES.join('", "')}".`,
    );
  }
  const requestedTokenType = form.get('requested_token_type');
  if (requestedTokenType !== null && requestedTokenType !== ACCESS_TOKEN_TYPE) {
    return oauthError(
      'invalid_request',
      `Invalid value for "requested_token_type". The only supported value is "${ACCESS_TOKEN_TYPE}".`,
    );
  }
  const audience = form.get('audience') ?? '';
  if (!PROVIDER_NAME.test(audience)) {
    return oauthError(
      'invalid_request',
      'Invalid value for "audience". This value should be the full resource name of the Identity Provider. See https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token for the list of possible formats.',
    );
  }
  const provider = ctx.trust.googleProvider(audience);
  if (!provider || provider.disabled) {
    return oauthError(
      'invalid_target',
      `The target service indicated by the "audience" parameters is invalid. This might either be because the pool or provider is disabled or deleted or because it doesn't exist.`,
    );
  }
  const subjectToken = form.get('subject_token');
  if (!subjectToken) return oauthError('invalid_request', 'Missing required parameter: "subject_token".');
  const decoded = decodeUnverified(subjectToken);
  if (!decoded) return oauthError('invalid_grant', 'Unable to parse the ID Token.');
  const { header, payload } = decoded;
  if (payload.iss !== provider.issuer) {
    return oauthError(
      'invalid_grant',
      `The issuer in ID Token ${payload.iss === undefined ? 'null' : String(payload.iss)} does not match the expected one in config: ${provider.issuer}`,
    );
  }
  const key =
    provider.issuer === ctx.issuer && SUBJECT_TOKEN_ALGS.includes(String(header.alg))
      ? ctx.keys.find(header.kid)
      : undefined;
  const signature = await checkSignature(subjectToken, key);
  if (signature === 'unknown-key')
    return oauthError('invalid_grant', "Error connecting to the given credential's issuer.");
  if (signature === 'bad-signature') return oauthError('invalid_grant', 'Unable to verify the ID Token signature.');
  const auds = audiences(payload);
  const allowed =
    provider.allowedAudiences.length > 0
      ? provider.allowedAudiences
      : [provider.resourceName, `https:${provider.resourceName}`];
  if (!auds.some((a) => allowed.includes(a))) {
    return oauthError(
      'invalid_grant',
      `The audience in ID Token [${auds.join(', ')}] does not match the expected audience.`,
    );
  }
  const now = ctx.clock.seconds();
  const iat = typeof payload.iat === 'number' ? payload.iat : undefined;
  if (iat === undefined || checkLifetime(payload, now, SKEW_SECONDS) !== 'ok') {
    return oauthError('invalid_grant', `ID Token issued at ${iat ?? 'null'} is stale to sign-in.`);
  }
  if (iat > now + SKEW_SECONDS) return oauthError('invalid_grant', `ID Token issued at ${iat} is in the future.`);
  const sub = typeof payload.sub === 'string' ? payload.sub : undefined;
  const awsClaims = payload[AWS_CLAIMS_KEY] as Record<string, unknown> | undefined;
  const awsAccount = typeof awsClaims?.aws_account === 'string' ? awsClaims.aws_account : undefined;
  if (!sub || !conditionHolds(provider, payload, awsAccount)) {
    return oauthError('unauthorized_client', 'The given credential is rejected by the attribute condition.');
  }
  const lifetime = Math.min(Number(payload.exp) - now, MAX_FEDERATED_LIFETIME_SECONDS);
  const accessToken = opaqueToken('ya29.d.');
  tokens.add(accessToken, {
    kind: 'federated',
    principal: googlePrincipal(provider.projectNumber, provider.poolId, sub),
    projectNumber: provider.projectNumber,
    poolId: provider.poolId,
    ...(awsAccount === undefined ? {} : { awsAccount }),
    scopes: (form.get('scope') ?? '').split(/\s+/).filter(Boolean),
    expiresAt: (now + lifetime) * 1000,
  });
  return json(200, {
    access_token: accessToken,
    issued_token_type: ACCESS_TOKEN_TYPE,
    token_type: 'Bearer',
    expires_in: lifetime,
  });
}

function conditionHolds(
  provider: GoogleProvider,
  payload: Record<string, unknown>,
  awsAccount: string | undefined,
): boolean {
  const condition = provider.attributeCondition;
  if (condition === undefined) return true;
  if (typeof condition === 'function') {
    try {
      return condition(structuredClone(payload)) === true;
    } catch {
      return false;
    }
  }
  const { awsAccounts, subjects } = condition as GoogleAttributeCondition;
  if (awsAccounts && (awsAccount === undefined || !awsAccounts.includes(awsAccount))) return false;
  if (subjects && !subjects.includes(String(payload.sub))) return false;
  return true;
}

/** `{ error: { code, message, status, details } }`, Google's API error shape. */
function googleError(code: number, status: string, message: string, details: unknown[] = []): EmulatorResponse {
  return {
    ...json(code, { error: { code, message, status, ...(details.length ? { details } : {}) } }),
    errorCode: status,
  };
}

function lookupBearer(
  tokens: TokenStore<GoogleToken>,
  request: EmulatorRequest,
): GoogleToken | 'missing' | 'invalid' | 'expired' {
  const token = bearerToken(request);
  if (!token) return 'missing';
  const record = tokens.get(token);
  if (record === undefined) return 'invalid';
  return record;
}

function memberMatches(member: string, token: GoogleToken): boolean {
  if (token.kind === 'service-account') return member === `serviceAccount:${token.email}`;
  if (member === token.principal) return true;
  const pool = `principalSet://iam.googleapis.com/projects/${token.projectNumber}/locations/global/workloadIdentityPools/${token.poolId}`;
  if (member === `${pool}/*`) return true;
  return token.awsAccount !== undefined && member === `${pool}/attribute.aws_account/${token.awsAccount}`;
}

async function generateAccessToken(
  ctx: LabContext,
  tokens: TokenStore<GoogleToken>,
  request: EmulatorRequest,
  email: string,
): Promise<EmulatorResponse> {
  const caller = lookupBearer(tokens, request);
  const errorInfo = (reason: string) => ({
    '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
    reason,
    domain: 'googleapis.com',
    metadata: {
      service: 'iamcredentials.googleapis.com',
      method: 'google.iam.credentials.v1.IAMCredentials.GenerateAccessToken',
    },
  });
  if (caller === 'missing') {
    return googleError(
      401,
      'UNAUTHENTICATED',
      `Request is missing required authentication credential. ${CREDENTIALS_HELP}`,
      [errorInfo('CREDENTIALS_MISSING')],
    );
  }
  if (typeof caller === 'string') {
    return googleError(401, 'UNAUTHENTICATED', `Request had invalid authentication credentials. ${CREDENTIALS_HELP}`, [
      errorInfo(caller === 'expired' ? 'ACCESS_TOKEN_EXPIRED' : 'ACCESS_TOKEN_TYPE_UNSUPPORTED'),
    ]);
  }
  const account = ctx.trust.serviceAccount(email);
  if (!account?.members.some((member) => memberMatches(member, caller))) {
    return googleError(
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
  }
  const body = request.json() as { scope?: unknown; lifetime?: unknown } | undefined;
  const scopes = Array.isArray(body?.scope)
    ? body.scope.filter((s): s is string => typeof s === 'string' && s.length > 0)
    : [];
  if (scopes.length === 0) return googleError(400, 'INVALID_ARGUMENT', 'Scope required.');
  let lifetime = DEFAULT_SA_TOKEN_LIFETIME_SECONDS;
  if (body?.lifetime !== undefined) {
    const match = /^(\d+(?:\.\d+)?)s$/.exec(String(body.lifetime));
    if (!match)
      return googleError(
        400,
        'INVALID_ARGUMENT',
        `Invalid value at 'lifetime' (type.googleapis.com/google.protobuf.Duration), "${String(body.lifetime)}"`,
      );
    lifetime = Math.floor(Number(match[1]));
  }
  if (lifetime <= 0) return googleError(400, 'INVALID_ARGUMENT', 'Lifetime of access token must be larger then zero.');
  if (lifetime > MAX_SA_TOKEN_LIFETIME_SECONDS) {
    return googleError(
      400,
      'INVALID_ARGUMENT',
      'The lifetime can not have lifetimes of more than 1 hour. Use the Org Policy Constraint constraints/iam.allowServiceAccountCredentialLifetimeExtension to allow up to 12 hours.',
    );
  }
  const expiresAt = ctx.clock.ms() + lifetime * 1000;
  const accessToken = opaqueToken('ya29.c.');
  tokens.add(accessToken, {
    kind: 'service-account',
    principal: `serviceAccount:${email}`,
    projectNumber: caller.projectNumber,
    email,
    scopes,
    expiresAt,
  });
  return json(200, { accessToken, expireTime: isoSeconds(expiresAt) });
}

/** Cloud Storage JSON API errors: `{ error: { code, message, errors: [{ message, domain, reason, … }] } }`. */
function storageError(code: number, reason: string, message: string, location?: string): EmulatorResponse {
  return {
    ...json(code, {
      error: {
        code,
        message,
        errors: [{ message, domain: 'global', reason, ...(location ? { locationType: 'header', location } : {}) }],
      },
    }),
    errorCode: reason,
  };
}

function listBuckets(ctx: LabContext, tokens: TokenStore<GoogleToken>, request: EmulatorRequest): EmulatorResponse {
  const g = EMULATOR_DEFAULTS.google;
  const denied = (who: string) =>
    `${who} does not have storage.buckets.list access to the Google Cloud project. Permission 'storage.buckets.list' denied on resource (or it may not exist).`;
  const caller = lookupBearer(tokens, request);
  if (caller === 'missing') return storageError(401, 'required', denied('Anonymous caller'), 'Authorization');
  if (typeof caller === 'string') return storageError(401, 'authError', 'Invalid Credentials', 'Authorization');
  const project = request.url.searchParams.get('project');
  if (!project) return storageError(400, 'required', 'Required parameter: project');
  if (project !== g.projectId && project !== g.projectNumber) {
    return storageError(403, 'forbidden', denied(caller.email ?? caller.principal));
  }
  const created = isoSeconds(new Date('2025-11-19T00:00:00Z'));
  return json(200, {
    kind: 'storage#buckets',
    items: [
      {
        kind: 'storage#bucket',
        selfLink: `${ctx.origins.google}/storage/v1/b/${g.bucket}`,
        id: g.bucket,
        name: g.bucket,
        projectNumber: g.projectNumber,
        generation: '1763510400000000',
        metageneration: '1',
        location: 'US',
        storageClass: 'STANDARD',
        etag: 'CAE=',
        timeCreated: created,
        updated: created,
        locationType: 'multi-region',
        rpo: 'DEFAULT',
        iamConfiguration: {
          bucketPolicyOnly: { enabled: true },
          uniformBucketLevelAccess: { enabled: true },
          publicAccessPrevention: 'enforced',
        },
      },
    ],
  });
}
