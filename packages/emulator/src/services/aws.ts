import { randomUUID } from 'node:crypto';
import { AWS_CLAIMS_KEY } from '@keyless/core';
import { isoSeconds, type LabContext } from '../context.js';
import {
  type EmulatorRequest,
  type EmulatorResponse,
  json,
  type Route,
  retryAfter,
  type ServiceHandler,
  xmlText,
} from '../http-server.js';
import type { AwsPrincipal, EndpointName } from '../types.js';

// awsQuery namespaces and versions (STS and IAM API references; @aws-sdk/client-sts and client-iam runtime config).
const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';
const IAM_NS = 'https://iam.amazonaws.com/doc/2010-05-08/';
const STS_VERSION = '2011-06-15';
const IAM_VERSION = '2010-05-08';
// GetWebIdentityToken limits (STS API reference; PROTOCOLS §2.4).
const SIGNING_ALGORITHMS = ['RS256', 'ES384'] as const;
const DEFAULT_DURATION_SECONDS = 300;
const MIN_DURATION_SECONDS = 60;
const MAX_DURATION_SECONDS = 3600;
const MAX_AUDIENCES = 10;
const MAX_AUDIENCE_LENGTH = 1000;
const MAX_TAGS = 50;
const TAG_KEY_PATTERN = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$/u;
const TAG_VALUE_PATTERN = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
// What the real discovery document lists (a captured AWS openid-configuration, PROTOCOLS §2.7).
const CLAIMS_SUPPORTED = ['sub', 'iss', 'aud', 'exp', 'iat', 'jti', AWS_CLAIMS_KEY];
const SIGV4_PATTERN =
  /^AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)\/(\d{8})\/([\w-]+)\/(\w+)\/aws4_request\s*,\s*SignedHeaders=[\w;-]+\s*,\s*Signature=[0-9a-f]+$/;

const STS_ACTIONS: Record<string, EndpointName> = {
  GetWebIdentityToken: 'sts:GetWebIdentityToken',
  GetCallerIdentity: 'sts:GetCallerIdentity',
};
const IAM_ACTIONS: Record<string, EndpointName> = {
  GetOutboundWebIdentityFederationInfo: 'iam:GetOutboundWebIdentityFederationInfo',
  EnableOutboundWebIdentityFederation: 'iam:EnableOutboundWebIdentityFederation',
  DisableOutboundWebIdentityFederation: 'iam:DisableOutboundWebIdentityFederation',
};

interface AwsError {
  status: number;
  code: string;
  message: string;
  type?: 'Sender' | 'Receiver';
}

/** STS (awsQuery), the IAM outbound-federation calls, and the issuer's discovery document and JWKS. */
export function createAwsService(ctx: LabContext): ServiceHandler {
  const params = (request: EmulatorRequest): URLSearchParams => {
    const merged = new URLSearchParams(request.url.search);
    for (const [key, value] of request.form()) merged.append(key, value);
    return merged;
  };

  const route = (request: EmulatorRequest): Route | undefined => {
    const path = request.url.pathname;
    if (request.method === 'GET' && path === '/.well-known/openid-configuration') {
      return { endpoint: 'issuer:openid-configuration', handle: () => json(200, discovery(ctx)) };
    }
    if (request.method === 'GET' && path === '/.well-known/jwks.json') {
      return { endpoint: 'issuer:jwks', handle: () => json(200, ctx.keys.jwks()) };
    }
    if (path !== '/' || (request.method !== 'POST' && request.method !== 'GET')) return undefined;
    const form = params(request);
    const action = form.get('Action') ?? '';
    const version = form.get('Version');
    const isIam = version === IAM_VERSION;
    const endpoint = isIam ? IAM_ACTIONS[action] : version === STS_VERSION ? STS_ACTIONS[action] : undefined;
    if (!endpoint) return undefined;
    const ns = isIam ? IAM_NS : STS_NS;
    return {
      endpoint,
      handle: async (req) => {
        const caller = authenticate(ctx, req);
        if ('code' in caller) return errorXml(ns, caller, req);
        const result = await operations[endpoint]?.(ctx, form, caller.principal, caller.region);
        if (!result)
          return errorXml(
            ns,
            { status: 400, code: 'InvalidAction', message: `Could not find operation ${action}` },
            req,
          );
        if ('code' in result) return errorXml(ns, result, req);
        return successXml(ns, action, result.inner, req);
      },
    };
  };

  return {
    name: 'aws',
    route,
    failure(failure, matched, request) {
      if (matched.endpoint.startsWith('issuer:')) {
        return json(
          failure.status ?? 503,
          { message: failure.kind === 'throttle' ? 'Rate exceeded' : 'Service Unavailable' },
          retryAfter(failure),
        );
      }
      const ns = matched.endpoint.startsWith('iam:') ? IAM_NS : STS_NS;
      const response =
        failure.kind === 'throttle'
          ? errorXml(ns, { status: failure.status ?? 400, code: 'Throttling', message: 'Rate exceeded' }, request)
          : errorXml(
              ns,
              failure.status === 500
                ? { status: 500, code: 'InternalFailure', message: 'An internal error occurred.', type: 'Receiver' }
                : {
                    status: failure.status ?? 503,
                    code: 'ServiceUnavailable',
                    message: 'Service is unavailable. Please try again later.',
                    type: 'Receiver',
                  },
              request,
            );
      return { ...response, headers: { ...response.headers, ...retryAfter(failure) } };
    },
    notFound(request) {
      if (request.url.pathname === '/' && (request.method === 'POST' || request.method === 'GET')) {
        const form = params(request);
        const action = form.get('Action') ?? '';
        const version = form.get('Version') ?? '';
        const ns = version === IAM_VERSION ? IAM_NS : STS_NS;
        return errorXml(
          ns,
          { status: 400, code: 'InvalidAction', message: `Could not find operation ${action} for version ${version}` },
          request,
        );
      }
      return json(404, { message: 'Not Found' });
    },
  };
}

function discovery(ctx: LabContext) {
  return {
    issuer: ctx.issuer,
    jwks_uri: `${ctx.issuer}/.well-known/jwks.json`,
    response_types_supported: ['id_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [...SIGNING_ALGORITHMS],
    claims_supported: CLAIMS_SUPPORTED,
  };
}

/** The caller, from the access key id in the SigV4 `Authorization` (signatures themselves are not checked). */
function authenticate(
  ctx: LabContext,
  request: EmulatorRequest,
): { principal: AwsPrincipal; region: string } | AwsError {
  const authorization = request.headers.authorization;
  if (!authorization && !request.url.searchParams.has('X-Amz-Credential')) {
    return { status: 403, code: 'MissingAuthenticationToken', message: 'Request is missing Authentication Token' };
  }
  let accessKeyId: string | undefined;
  let region: string | undefined;
  if (authorization) {
    const match = SIGV4_PATTERN.exec(authorization.trim());
    if (!match) {
      return {
        status: 400,
        code: 'IncompleteSignature',
        message: `Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.`,
      };
    }
    accessKeyId = match[1];
    region = match[3];
  } else {
    const credential = request.url.searchParams.get('X-Amz-Credential') ?? '';
    [accessKeyId, , region] = credential.split('/');
  }
  const principal = accessKeyId === undefined ? undefined : ctx.trust.principalByAccessKey(accessKeyId);
  if (!principal) {
    return {
      status: 403,
      code: 'InvalidClientTokenId',
      message: 'The security token included in the request is invalid.',
    };
  }
  return { principal, region: region || ctx.region };
}

type OperationResult = { inner: string } | AwsError;
type Operation = (
  ctx: LabContext,
  form: URLSearchParams,
  principal: AwsPrincipal,
  region: string,
) => OperationResult | Promise<OperationResult>;

const operations: Partial<Record<EndpointName, Operation>> = {
  'sts:GetWebIdentityToken': getWebIdentityToken,
  'sts:GetCallerIdentity': (_ctx, _form, principal) => ({
    inner: `<Arn>${xmlText(principal.callerArn)}</Arn><UserId>${xmlText(principal.userId)}</UserId><Account>${principal.accountId}</Account>`,
  }),
  'iam:GetOutboundWebIdentityFederationInfo': (ctx) => ({
    inner: `<IssuerIdentifier>${xmlText(ctx.issuer)}</IssuerIdentifier><JwtVendingEnabled>${ctx.trust.aws.isFederationEnabled()}</JwtVendingEnabled>`,
  }),
  'iam:EnableOutboundWebIdentityFederation': (ctx) => {
    if (ctx.trust.aws.isFederationEnabled()) {
      return {
        status: 409,
        code: 'FeatureEnabled',
        message: 'Outbound identity federation is already enabled for this account.',
      };
    }
    ctx.trust.aws.setFederationEnabled(true);
    return { inner: `<IssuerIdentifier>${xmlText(ctx.issuer)}</IssuerIdentifier>` };
  },
  'iam:DisableOutboundWebIdentityFederation': (ctx) => {
    if (!ctx.trust.aws.isFederationEnabled()) {
      return {
        status: 404,
        code: 'FeatureDisabled',
        message: 'Outbound identity federation is already disabled for this account.',
      };
    }
    ctx.trust.aws.setFederationEnabled(false);
    return { inner: '' };
  },
};

/** `Audience.member.N` (or `Tags.member.N.Key`) values in N order. */
function members(form: URLSearchParams, prefix: string, suffix = ''): { n: number; value: string }[] {
  const found: { n: number; value: string }[] = [];
  const pattern = new RegExp(`^${prefix.replace(/\./g, '\\.')}(\\d+)${suffix.replace(/\./g, '\\.')}$`);
  for (const [key, value] of form) {
    const match = pattern.exec(key);
    if (match) found.push({ n: Number(match[1]), value });
  }
  return found.sort((a, b) => a.n - b.n);
}

function constraint(value: string | null, at: string, rule: string): string {
  return `Value ${value === null ? 'null' : `'${value}'`} at '${at}' failed to satisfy constraint: ${rule}`;
}

async function getWebIdentityToken(
  ctx: LabContext,
  form: URLSearchParams,
  principal: AwsPrincipal,
  region: string,
): Promise<OperationResult> {
  const errors: string[] = [];
  const audience = members(form, 'Audience.member.');
  if (audience.length === 0) errors.push(constraint(null, 'audience', 'Member must not be null'));
  if (audience.length > MAX_AUDIENCES) {
    errors.push(
      constraint(
        `[${audience.map((a) => a.value).join(', ')}]`,
        'audience',
        `Member must have length less than or equal to ${MAX_AUDIENCES}`,
      ),
    );
  }
  for (const { n, value } of audience) {
    if (value.length < 1)
      errors.push(constraint(value, `audience.${n}.member`, 'Member must have length greater than or equal to 1'));
    if (value.length > MAX_AUDIENCE_LENGTH) {
      errors.push(
        constraint(
          value,
          `audience.${n}.member`,
          `Member must have length less than or equal to ${MAX_AUDIENCE_LENGTH}`,
        ),
      );
    }
  }
  const algorithm = form.get('SigningAlgorithm');
  if (algorithm === null) errors.push(constraint(null, 'signingAlgorithm', 'Member must not be null'));
  else if (!(SIGNING_ALGORITHMS as readonly string[]).includes(algorithm)) {
    errors.push(
      constraint(
        algorithm,
        'signingAlgorithm',
        `Member must satisfy enum value set: [${SIGNING_ALGORITHMS.join(', ')}]`,
      ),
    );
  }
  const durationText = form.get('DurationSeconds');
  const duration = durationText === null ? DEFAULT_DURATION_SECONDS : Number(durationText);
  if (!Number.isInteger(duration))
    errors.push(constraint(durationText, 'durationSeconds', 'Member must be an integer'));
  else if (duration < MIN_DURATION_SECONDS) {
    errors.push(
      constraint(
        durationText,
        'durationSeconds',
        `Member must have value greater than or equal to ${MIN_DURATION_SECONDS}`,
      ),
    );
  } else if (duration > MAX_DURATION_SECONDS) {
    errors.push(
      constraint(
        durationText,
        'durationSeconds',
        `Member must have value less than or equal to ${MAX_DURATION_SECONDS}`,
      ),
    );
  }
  const keys = members(form, 'Tags.member.', '.Key');
  const values = new Map(members(form, 'Tags.member.', '.Value').map(({ n, value }) => [n, value]));
  if (keys.length > MAX_TAGS)
    errors.push(
      constraint(`[${keys.length} tags]`, 'tags', `Member must have length less than or equal to ${MAX_TAGS}`),
    );
  const tags: Record<string, string> = {};
  for (const { n, value: key } of keys) {
    const value = values.get(n) ?? '';
    if (key.length < 1 || key.length > 128) {
      errors.push(
        constraint(
          key,
          `tags.${n}.member.key`,
          `Member must have length ${key.length < 1 ? 'greater than or equal to 1' : 'less than or equal to 128'}`,
        ),
      );
    } else if (!TAG_KEY_PATTERN.test(key)) {
      errors.push(
        constraint(
          key,
          `tags.${n}.member.key`,
          'Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+',
        ),
      );
    }
    if (value.length > 256)
      errors.push(constraint(value, `tags.${n}.member.value`, 'Member must have length less than or equal to 256'));
    else if (!TAG_VALUE_PATTERN.test(value)) {
      errors.push(
        constraint(
          value,
          `tags.${n}.member.value`,
          'Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*',
        ),
      );
    }
    tags[key] = value;
  }
  if (errors.length > 0) {
    return {
      status: 400,
      code: 'ValidationError',
      message: `${errors.length} validation error${errors.length > 1 ? 's' : ''} detected: ${errors.join('; ')}`,
    };
  }
  const lowerKeys = keys.map((k) => k.value.toLowerCase());
  if (new Set(lowerKeys).size !== lowerKeys.length) {
    return {
      status: 400,
      code: 'InvalidParameterValue',
      message: 'Duplicate tag keys found. Please note that Tag keys are case insensitive.',
    };
  }

  const alg = algorithm as (typeof SIGNING_ALGORITHMS)[number];
  const auds = audience.map((a) => a.value);
  const denied = (action: string): AwsError => ({
    status: 403,
    code: 'AccessDenied',
    message: `User: ${principal.callerArn} is not authorized to perform: ${action} because no identity-based policy allows the ${action} action`,
  });
  const permissions = principal.permissions;
  if (permissions.getWebIdentityToken === false) return denied('sts:GetWebIdentityToken');
  if (permissions.audiences && !auds.every((a) => permissions.audiences?.includes(a)))
    return denied('sts:GetWebIdentityToken');
  if (permissions.signingAlgorithms && !permissions.signingAlgorithms.includes(alg))
    return denied('sts:GetWebIdentityToken');
  if (permissions.maxDurationSeconds !== undefined && duration > permissions.maxDurationSeconds) {
    return denied('sts:GetWebIdentityToken');
  }
  if (keys.length > 0 && permissions.tagWebIdentityToken === false) return denied('sts:TagGetWebIdentityToken');

  if (!ctx.trust.aws.isFederationEnabled()) {
    return {
      status: 403,
      code: 'OutboundWebIdentityFederationDisabledException',
      message: 'Outbound web identity federation is not enabled for this account.',
    };
  }
  const now = ctx.clock.seconds();
  const sessionEnd = principal.sessionExpiresAt ? Math.floor(principal.sessionExpiresAt.getTime() / 1000) : undefined;
  if (sessionEnd !== undefined && now + duration > sessionEnd) {
    return {
      status: 403,
      code: 'SessionDurationEscalationException',
      message: `The requested DurationSeconds (${duration}) exceeds the remaining duration of the caller's session (${Math.max(0, sessionEnd - now)} seconds).`,
    };
  }

  const awsClaims: Record<string, unknown> = {
    aws_account: principal.accountId,
    source_region: region,
    ...principal.claims,
  };
  if (principal.principalTags) awsClaims.principal_tags = { ...principal.principalTags };
  if (keys.length > 0) awsClaims.request_tags = tags;
  if (principal.sessionExpiresAt) awsClaims.original_session_exp = isoSeconds(principal.sessionExpiresAt);
  const payload = {
    iss: ctx.issuer,
    sub: principal.arn,
    aud: auds.length === 1 ? auds[0] : auds,
    iat: now,
    exp: now + duration,
    jti: randomUUID(),
    [AWS_CLAIMS_KEY]: awsClaims,
  };
  if (Buffer.byteLength(JSON.stringify(payload)) > ctx.maxTokenPayloadBytes) {
    return {
      status: 400,
      code: 'JWTPayloadSizeExceededException',
      message: 'The size of the token payload exceeds the maximum allowed size. Reduce the number or size of the tags.',
    };
  }
  const token = await ctx.keys.sign(payload, alg);
  return {
    inner: `<WebIdentityToken>${token}</WebIdentityToken><Expiration>${isoSeconds((now + duration) * 1000)}</Expiration>`,
  };
}

function successXml(ns: string, action: string, inner: string, request: EmulatorRequest): EmulatorResponse {
  const result = inner === '' ? '' : `\n  <${action}Result>${inner}</${action}Result>`;
  return {
    status: 200,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': request.requestId },
    body: `<${action}Response xmlns="${ns}">${result}\n  <ResponseMetadata><RequestId>${request.requestId}</RequestId></ResponseMetadata>\n</${action}Response>`,
  };
}

function errorXml(ns: string, error: AwsError, request: EmulatorRequest): EmulatorResponse {
  return {
    status: error.status,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': request.requestId },
    body: `<ErrorResponse xmlns="${ns}">\n  <Error><Type>${error.type ?? 'Sender'}</Type><Code>${error.code}</Code><Message>${xmlText(error.message)}</Message></Error>\n  <RequestId>${request.requestId}</RequestId>\n</ErrorResponse>`,
    errorCode: error.code,
  };
}
