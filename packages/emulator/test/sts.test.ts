import {
  DisableOutboundWebIdentityFederationCommand,
  EnableOutboundWebIdentityFederationCommand,
  GetOutboundWebIdentityFederationInfoCommand,
  IAMClient,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, GetWebIdentityTokenCommand } from '@aws-sdk/client-sts';
import { fromAwsWebIdentityToken, isKeylessError } from '@keyless/core';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EMULATOR_DEFAULTS, type Emulator, startEmulator } from '../src/index.js';
import { stsClient } from './helpers.js';

let lab: Emulator;
beforeAll(async () => {
  lab = await startEmulator();
});
afterAll(() => lab.close());
afterEach(() => {
  lab.trust.reset();
  lab.faults.clear();
  lab.clock.reset();
});

/** jose's remote JWKS, found the way a verifier finds it: discovery → jwks_uri. */
async function verifierFor(issuer: string) {
  const discovery = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as { jwks_uri: string };
  return createRemoteJWKSet(new URL(discovery.jwks_uri));
}

async function sdkError(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'the call should have failed').toBeInstanceOf(Error);
  return error as Error & Record<string, unknown>;
}

describe('GetWebIdentityToken through the real @aws-sdk/client-sts', () => {
  it.each(['RS256', 'ES384'] as const)(
    'issues a %s token that verifies against the discovered JWKS, in AWS claim layout',
    async (alg) => {
      const out = await stsClient(lab, { region: 'eu-west-1' }).send(
        new GetWebIdentityTokenCommand({
          Audience: ['api://AzureADTokenExchange'],
          SigningAlgorithm: alg,
          DurationSeconds: 900,
          Tags: [{ Key: 'team', Value: 'a b' }],
        }),
      );
      const token = out.WebIdentityToken!;
      const { payload, protectedHeader } = await jwtVerify(token, await verifierFor(lab.issuer), {
        issuer: lab.issuer,
        audience: 'api://AzureADTokenExchange',
        algorithms: [alg],
      });
      expect(protectedHeader).toEqual({ alg, kid: alg === 'RS256' ? 'RSA_0' : 'EC384_0', typ: 'JWT' });
      expect(payload.sub).toBe(EMULATOR_DEFAULTS.roleArn);
      expect(payload.aud).toBe('api://AzureADTokenExchange');
      expect(payload.exp! - payload.iat!).toBe(900);
      expect(typeof payload.jti).toBe('string');
      expect(payload['https://sts.amazonaws.com/']).toEqual({
        aws_account: '123456789012',
        source_region: 'eu-west-1',
        principal_tags: { project: 'keyless' },
        request_tags: { team: 'a b' },
        original_session_exp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      });
      expect(out.Expiration?.getTime()).toBe(payload.exp! * 1000);
      expect(out.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    },
  );

  it('defaults the lifetime to 300 s, leaves out request_tags without tags, and lists several audiences as an array', async () => {
    const out = await stsClient(lab).send(
      new GetWebIdentityTokenCommand({ Audience: ['a', 'b'], SigningAlgorithm: 'RS256' }),
    );
    const { payload } = await jwtVerify(out.WebIdentityToken!, await verifierFor(lab.issuer), { audience: 'b' });
    expect(payload.exp! - payload.iat!).toBe(300);
    expect(payload.aud).toEqual(['a', 'b']);
    expect(payload['https://sts.amazonaws.com/']).not.toHaveProperty('request_tags');
  });

  it.each([
    [
      'no audience',
      { Audience: [], SigningAlgorithm: 'RS256' },
      "Value null at 'audience' failed to satisfy constraint: Member must not be null",
    ],
    [
      '11 audiences',
      { Audience: Array.from({ length: 11 }, (_, i) => `a${i}`), SigningAlgorithm: 'RS256' },
      "at 'audience' failed to satisfy constraint: Member must have length less than or equal to 10",
    ],
    [
      'an audience of 1001 characters',
      { Audience: ['x'.repeat(1001)], SigningAlgorithm: 'RS256' },
      "at 'audience.1.member' failed to satisfy constraint: Member must have length less than or equal to 1000",
    ],
    [
      'an unknown algorithm',
      { Audience: ['a'], SigningAlgorithm: 'HS256' },
      "Value 'HS256' at 'signingAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [RS256, ES384]",
    ],
    [
      'no algorithm',
      { Audience: ['a'] },
      "Value null at 'signingAlgorithm' failed to satisfy constraint: Member must not be null",
    ],
    [
      'a duration of 59 s',
      { Audience: ['a'], SigningAlgorithm: 'RS256', DurationSeconds: 59 },
      "Value '59' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 60",
    ],
    [
      'a duration of 3601 s',
      { Audience: ['a'], SigningAlgorithm: 'RS256', DurationSeconds: 3601 },
      "Value '3601' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 3600",
    ],
    [
      '51 tags',
      {
        Audience: ['a'],
        SigningAlgorithm: 'RS256',
        Tags: Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })),
      },
      "at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50",
    ],
    [
      'a tag key of 129 characters',
      { Audience: ['a'], SigningAlgorithm: 'RS256', Tags: [{ Key: 'k'.repeat(129), Value: 'v' }] },
      "at 'tags.1.member.key' failed to satisfy constraint: Member must have length less than or equal to 128",
    ],
    [
      'a tag value with a forbidden character',
      { Audience: ['a'], SigningAlgorithm: 'RS256', Tags: [{ Key: 'k', Value: 'a;b' }] },
      "Value 'a;b' at 'tags.1.member.value' failed to satisfy constraint: Member must satisfy regular expression pattern",
    ],
  ])('answers 400 ValidationError for %s', async (_name, input, message) => {
    const error = await sdkError(stsClient(lab).send(new GetWebIdentityTokenCommand(input as never)));
    expect(error.name).toBe('ValidationError');
    expect((error.$metadata as { httpStatusCode: number }).httpStatusCode).toBe(400);
    expect(error.message).toContain(message);
    expect(error.message).toMatch(/^1 validation error detected: /);
  });

  it('counts every violation in one ValidationError, as STS does', async () => {
    const error = await sdkError(
      stsClient(lab).send(
        new GetWebIdentityTokenCommand({ Audience: ['a'], SigningAlgorithm: 'HS256', DurationSeconds: 30 }),
      ),
    );
    expect(error.message).toMatch(/^2 validation errors detected: .*signingAlgorithm.*; .*durationSeconds/);
  });

  it('answers OutboundWebIdentityFederationDisabledException (403) while federation is disabled', async () => {
    lab.trust.aws.setFederationEnabled(false);
    const error = await sdkError(
      stsClient(lab).send(new GetWebIdentityTokenCommand({ Audience: ['a'], SigningAlgorithm: 'RS256' })),
    );
    expect(error.name).toBe('OutboundWebIdentityFederationDisabledException');
    expect((error.$metadata as { httpStatusCode: number }).httpStatusCode).toBe(403);
  });

  it('answers AccessDenied for a principal whose policy does not allow the request', async () => {
    const principal = lab.trust.aws.addPrincipal({
      accessKeyId: 'LIMITEDKEY',
      arn: 'arn:aws:iam::210987654321:role/limited',
      permissions: {
        audiences: ['allowed'],
        signingAlgorithms: ['RS256'],
        maxDurationSeconds: 600,
        tagWebIdentityToken: false,
      },
    });
    const client = stsClient(lab, { credentials: { accessKeyId: 'LIMITEDKEY', secretAccessKey: 'x' } });
    const send = (input: object) =>
      client.send(new GetWebIdentityTokenCommand({ Audience: ['allowed'], SigningAlgorithm: 'RS256', ...input }));
    await expect(send({})).resolves.toHaveProperty('WebIdentityToken');
    for (const input of [{ Audience: ['other'] }, { SigningAlgorithm: 'ES384' }, { DurationSeconds: 900 }]) {
      const error = await sdkError(send(input));
      expect(error.name).toBe('AccessDenied');
      expect((error.$metadata as { httpStatusCode: number }).httpStatusCode).toBe(403);
      expect(error.message).toBe(
        `User: ${principal.callerArn} is not authorized to perform: sts:GetWebIdentityToken because no identity-based policy allows the sts:GetWebIdentityToken action`,
      );
    }
    const tagged = await sdkError(send({ Tags: [{ Key: 'k', Value: 'v' }] }));
    expect(tagged.message).toContain('sts:TagGetWebIdentityToken');
    lab.trust.aws.addPrincipal({
      accessKeyId: 'NOPERMKEY',
      arn: 'arn:aws:iam::210987654321:user/nobody',
      permissions: { getWebIdentityToken: false },
    });
    const denied = await sdkError(
      stsClient(lab, { credentials: { accessKeyId: 'NOPERMKEY', secretAccessKey: 'x' } }).send(
        new GetWebIdentityTokenCommand({ Audience: ['a'], SigningAlgorithm: 'RS256' }),
      ),
    );
    expect(denied.name).toBe('AccessDenied');
  });

  it('answers SessionDurationEscalationException when the token would outlive the caller session', async () => {
    lab.trust.aws.addPrincipal({
      accessKeyId: 'SHORTSESSION',
      arn: 'arn:aws:iam::123456789012:role/short',
      sessionExpiresAt: new Date(lab.clock.now().getTime() + 600_000),
    });
    const client = stsClient(lab, { credentials: { accessKeyId: 'SHORTSESSION', secretAccessKey: 'x' } });
    const ok = await client.send(
      new GetWebIdentityTokenCommand({ Audience: ['a'], SigningAlgorithm: 'RS256', DurationSeconds: 300 }),
    );
    expect(ok.WebIdentityToken).toBeTruthy();
    const error = await sdkError(
      client.send(new GetWebIdentityTokenCommand({ Audience: ['a'], SigningAlgorithm: 'RS256', DurationSeconds: 900 })),
    );
    expect(error.name).toBe('SessionDurationEscalationException');
    expect((error.$metadata as { httpStatusCode: number }).httpStatusCode).toBe(403);
  });

  it('answers JWTPayloadSizeExceededException (400) when tags make the token too large', async () => {
    const tags = Array.from({ length: 50 }, (_, i) => ({ Key: `key-${i}-${'k'.repeat(100)}`, Value: 'v'.repeat(200) }));
    const error = await sdkError(
      stsClient(lab).send(new GetWebIdentityTokenCommand({ Audience: ['a'], SigningAlgorithm: 'RS256', Tags: tags })),
    );
    expect(error.name).toBe('JWTPayloadSizeExceededException');
    expect((error.$metadata as { httpStatusCode: number }).httpStatusCode).toBe(400);
  });

  it('identifies the caller by access key: an unknown key is InvalidClientTokenId', async () => {
    const error = await sdkError(
      stsClient(lab, { credentials: { accessKeyId: 'UNKNOWNKEY', secretAccessKey: 'x' } }).send(
        new GetCallerIdentityCommand({}),
      ),
    );
    expect(error.name).toBe('InvalidClientTokenId');
    expect((error.$metadata as { httpStatusCode: number }).httpStatusCode).toBe(403);
  });

  it('rejects a request without, or with a garbled, SigV4 Authorization', async () => {
    const body = 'Action=GetCallerIdentity&Version=2011-06-15';
    const headers = { 'content-type': 'application/x-www-form-urlencoded' };
    const missing = await fetch(lab.stsEndpoint, { method: 'POST', headers, body });
    expect(missing.status).toBe(403);
    expect(missing.headers.get('x-amzn-requestid')).toBeTruthy();
    expect(await missing.text()).toMatch(
      /^<ErrorResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/">\s*<Error><Type>Sender<\/Type><Code>MissingAuthenticationToken<\/Code><Message>Request is missing Authentication Token<\/Message><\/Error>\s*<RequestId>[0-9a-f-]{36}<\/RequestId>\s*<\/ErrorResponse>$/,
    );
    const garbled = await fetch(lab.stsEndpoint, {
      method: 'POST',
      headers: { ...headers, authorization: 'AWS4-HMAC-SHA256 nonsense' },
      body,
    });
    expect(garbled.status).toBe(400);
    expect(await garbled.text()).toContain('<Code>IncompleteSignature</Code>');
  });

  it('answers InvalidAction for an unknown operation', async () => {
    const response = await fetch(lab.stsEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=AssumeRole&Version=2011-06-15',
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('<Code>InvalidAction</Code>');
  });
});

describe('GetCallerIdentity', () => {
  it('answers Arn, UserId and Account of the caller', async () => {
    const out = await stsClient(lab).send(new GetCallerIdentityCommand({}));
    expect(out).toMatchObject({
      Arn: 'arn:aws:sts::123456789012:assumed-role/keyless-demo/keyless-demo',
      Account: '123456789012',
      UserId: expect.stringMatching(/^AROA[0-9A-F]{17}:keyless-demo$/),
    });
    lab.trust.aws.addPrincipal({ accessKeyId: 'USERKEY', arn: 'arn:aws:iam::111122223333:user/alice' });
    const user = await stsClient(lab, { credentials: { accessKeyId: 'USERKEY', secretAccessKey: 'x' } }).send(
      new GetCallerIdentityCommand({}),
    );
    expect(user).toMatchObject({
      Arn: 'arn:aws:iam::111122223333:user/alice',
      Account: '111122223333',
      UserId: expect.stringMatching(/^AIDA/),
    });
  });
});

describe('IAM outbound federation calls through the real @aws-sdk/client-iam', () => {
  it('reports, disables and enables federation with the modeled errors', async () => {
    const iam = new IAMClient({
      endpoint: lab.iamEndpoint,
      region: 'us-east-1',
      credentials: lab.credentials,
      maxAttempts: 1,
    });
    await expect(iam.send(new GetOutboundWebIdentityFederationInfoCommand({}))).resolves.toMatchObject({
      IssuerIdentifier: lab.issuer,
      JwtVendingEnabled: true,
    });
    const enabled = await sdkError(iam.send(new EnableOutboundWebIdentityFederationCommand({})));
    expect(enabled.name).toBe('FeatureEnabledException');
    expect((enabled.$metadata as { httpStatusCode: number }).httpStatusCode).toBe(409);

    await iam.send(new DisableOutboundWebIdentityFederationCommand({}));
    expect(lab.trust.aws.isFederationEnabled()).toBe(false);
    await expect(iam.send(new GetOutboundWebIdentityFederationInfoCommand({}))).resolves.toMatchObject({
      JwtVendingEnabled: false,
    });
    const disabled = await sdkError(iam.send(new DisableOutboundWebIdentityFederationCommand({})));
    expect(disabled.name).toBe('FeatureDisabledException');
    expect((disabled.$metadata as { httpStatusCode: number }).httpStatusCode).toBe(404);

    await expect(iam.send(new EnableOutboundWebIdentityFederationCommand({}))).resolves.toMatchObject({
      IssuerIdentifier: lab.issuer,
    });
    expect(lab.trust.aws.isFederationEnabled()).toBe(true);
  });
});

describe('@keyless/core against the emulator', () => {
  it('fromAwsWebIdentityToken gets and caches a token', async () => {
    const before = lab.stats.get('sts:GetWebIdentityToken').calls;
    const provider = fromAwsWebIdentityToken({
      endpoint: lab.stsEndpoint,
      region: 'us-east-1',
      credentials: lab.credentials,
      audience: 'https://api.example.com',
      durationSeconds: 600,
      retry: false,
    });
    const first = await provider();
    const second = await provider();
    expect(second.token).toBe(first.token);
    expect(first.claims.sub).toBe(lab.roleArn);
    expect(first.claims.exp - first.claims.iat).toBe(600);
    expect(lab.stats.get('sts:GetWebIdentityToken').calls).toBe(before + 1);
  });

  it('maps the emulator’s federation-disabled answer to FEDERATION_DISABLED', async () => {
    lab.trust.aws.setFederationEnabled(false);
    const provider = fromAwsWebIdentityToken({
      endpoint: lab.stsEndpoint,
      region: 'us-east-1',
      credentials: lab.credentials,
      audience: 'a',
      retry: false,
    });
    const error = await provider().catch((e: unknown) => e);
    expect(isKeylessError(error) && error.code).toBe('FEDERATION_DISABLED');
  });
});

describe('key rotation', () => {
  it('publishes new kids and keeps or drops the previous keys', async () => {
    const own = await startEmulator();
    try {
      const jwks = createRemoteJWKSet(new URL(own.jwksUri), { cooldownDuration: 0, cacheMaxAge: 0 });
      const old = (
        await stsClient(own).send(new GetWebIdentityTokenCommand({ Audience: ['a'], SigningAlgorithm: 'RS256' }))
      ).WebIdentityToken!;
      expect(await own.rotateKeys()).toEqual(['RSA_1', 'EC384_1']);
      expect(own.keyIds()).toEqual(['RSA_0', 'EC384_0', 'RSA_1', 'EC384_1']);
      const fresh = (
        await stsClient(own).send(new GetWebIdentityTokenCommand({ Audience: ['a'], SigningAlgorithm: 'RS256' }))
      ).WebIdentityToken!;
      expect(decodeProtectedHeader(fresh).kid).toBe('RSA_1');
      await expect(jwtVerify(old, jwks)).resolves.toBeTruthy();
      await expect(jwtVerify(fresh, jwks)).resolves.toBeTruthy();

      await own.rotateKeys({ keepPrevious: false });
      expect(own.keyIds()).toEqual(['RSA_2', 'EC384_2']);
      const body = (await (await fetch(own.jwksUri)).json()) as {
        keys: { kid: string; kty: string; alg?: string; crv?: string }[];
      };
      expect(body.keys.map((k) => k.kid)).toEqual(['RSA_2', 'EC384_2']);
      expect(body.keys[0]).toMatchObject({ kty: 'RSA', use: 'sig' });
      expect(body.keys[0]).not.toHaveProperty('d');
      expect(body.keys[1]).toMatchObject({ kty: 'EC', crv: 'P-384', alg: 'ES384', use: 'sig' });
      await expect(jwtVerify(old, jwks)).rejects.toThrow();
    } finally {
      await own.close();
    }
  });
});

describe('discovery', () => {
  it('serves the fields of a real AWS issuer document', async () => {
    const doc = await (await fetch(`${lab.issuer}/.well-known/openid-configuration`)).json();
    expect(doc).toEqual({
      issuer: lab.issuer,
      jwks_uri: `${lab.issuer}/.well-known/jwks.json`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256', 'ES384'],
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'jti', 'https://sts.amazonaws.com/'],
    });
    expect(lab.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});
