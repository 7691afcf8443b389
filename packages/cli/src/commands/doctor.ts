import {
  type AwsWebIdentityClaims,
  fromAwsWebIdentityToken,
  isKeylessError,
  type KeylessError,
  mapStsError,
  presentedClaims,
  readJsonObject,
  resolveRegion,
  SIGNING_ALGORITHMS,
  type SigningAlgorithm,
  sendHttpRequest,
  type WebIdentityToken,
  type WebIdentityTokenProvider,
} from '@keyless/core';
import { awsOptions, durationOption } from '../aws-context.js';
import {
  AWS_OPTIONS,
  AWS_OPTIONS_HELP,
  type Command,
  type CommandContext,
  listOption,
  stringOption,
} from '../command.js';
import { type CheckResult, fail, pass, printChecks, skip } from '../doctor-report.js';
import { DOCTOR_TARGETS, type DoctorTarget, TARGET_OPTIONS, TARGET_OPTIONS_HELP } from '../doctor-targets.js';
import { type FederationInfo, getFederationInfo } from '../federation.js';
import { UsageError } from '../usage-error.js';

const DEFAULT_AUDIENCE = 'sts.amazonaws.com/keyless-doctor';

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'check an outbound federation set-up end to end and explain what is wrong',
  usage: 'keyless doctor [--target azure|gcp|snowflake|oidc] [options]',
  help: `Runs each check in turn and prints one line per check (pass, fail or skipped); a failure shows
what was presented against what the target expects, and the setting to change. Exits 1 when a check fails.

Checks: region; AWS credentials; caller identity (STS GetCallerIdentity); outbound federation enabled
and the account's issuer (IAM, skipped without permission); a token minted (STS GetWebIdentityToken);
the token's issuer is the account's; the issuer's discovery document and JWKS, and the token's
signature; then, with --target, the audience and algorithm the target expects and a dry exchange.

Options:
  --target <name>         azure, gcp, snowflake or oidc
  --audience <aud>        the JWT audience (default: what the target expects)
  --algorithm <alg>       RS256 (default) or ES384
  --duration <seconds>    token lifetime, 60..3600
  --json                  print the checks as JSON
${AWS_OPTIONS_HELP}
  (IAM is reached through AWS_ENDPOINT_URL_IAM when set.)

${TARGET_OPTIONS_HELP}`,
  options: {
    target: { type: 'string' },
    audience: { type: 'string', multiple: true },
    algorithm: { type: 'string' },
    duration: { type: 'string' },
    json: { type: 'boolean' },
    ...AWS_OPTIONS,
    ...TARGET_OPTIONS,
  },
  async run(context) {
    const targetName = stringOption(context.values, 'target');
    const target = targetName === undefined ? undefined : DOCTOR_TARGETS[targetName];
    if (targetName !== undefined && !target) {
      throw new UsageError(
        `--target must be one of ${Object.keys(DOCTOR_TARGETS).join(', ')}, got ${JSON.stringify(targetName)}`,
      );
    }
    const algorithm = stringOption(context.values, 'algorithm') ?? 'RS256';
    if (!(SIGNING_ALGORITHMS as readonly string[]).includes(algorithm)) {
      throw new UsageError(`--algorithm must be RS256 or ES384, got ${JSON.stringify(algorithm)}`);
    }
    let audience = listOption(context.values, 'audience');
    if (audience.length === 0) {
      const fallback = target ? await target.defaultAudience(context) : DEFAULT_AUDIENCE;
      if (fallback === undefined)
        throw new UsageError(`--target ${target?.name} needs --audience (the audience the server trusts)`);
      audience = [fallback];
    }
    const checks = await runChecks(context, { target, audience, algorithm: algorithm as SigningAlgorithm });
    if (context.values.json === true) context.io.stdout(`${JSON.stringify({ checks }, null, 2)}\n`);
    else printChecks(context.io, context.style, checks);
    return checks.some((c) => c.status === 'fail') ? 1 : 0;
  },
};

interface Plan {
  target: DoctorTarget | undefined;
  audience: string[];
  algorithm: SigningAlgorithm;
}

async function runChecks(context: CommandContext, plan: Plan): Promise<CheckResult[]> {
  const checks: CheckResult[] = [];
  const aws = awsOptions(context);
  const duration = durationOption(context);
  const request = {
    audience: plan.audience,
    signingAlgorithm: plan.algorithm,
    durationSeconds: duration ?? 300,
    tags: undefined,
  };

  // Region and credentials decide whether anything else can run.
  let region: string | undefined;
  try {
    const resolved = await resolveRegion(aws.region);
    region = resolved.region;
    checks.push(pass('region', `${resolved.region} (from ${resolved.source})`));
  } catch (error) {
    checks.push(fail('region', error));
  }
  let identityOk = false;
  if (region) {
    const { GetCallerIdentityCommand, STSClient } = await import('@aws-sdk/client-sts');
    const sts = new STSClient({ region, maxAttempts: 1, ...(aws.endpoint ? { endpoint: aws.endpoint } : {}) });
    try {
      const credentials = await sts.config.credentials();
      const key = credentials.accessKeyId;
      const masked = key.length > 8 ? `${key.slice(0, 4)}…${key.slice(-4)}` : '****';
      const expiry = credentials.expiration
        ? `, expire in ${Math.round((credentials.expiration.getTime() - Date.now()) / 60_000)} min`
        : '';
      checks.push(
        pass('credentials', `access key ${masked} (${credentials.sessionToken ? 'temporary' : 'long-term'}${expiry})`),
      );
      const identity = await sts.send(new GetCallerIdentityCommand({}));
      checks.push(pass('caller identity', `${identity.Arn} (account ${identity.Account})`));
      identityOk = true;
    } catch (error) {
      const mapped = mapStsError(error, request);
      checks.push(fail(mapped.code === 'AWS_CREDENTIALS_MISSING' ? 'credentials' : 'caller identity', mapped));
    } finally {
      sts.destroy();
    }
  } else {
    checks.push(skip('credentials', 'no region'));
  }

  let federation: FederationInfo | undefined;
  if (identityOk) {
    try {
      federation = await getFederationInfo(region);
      checks.push(
        federation.enabled
          ? pass('outbound federation', `enabled; issuer ${federation.issuer ?? '(not reported)'}`)
          : fail('outbound federation', 'disabled for this account', {
              hint: 'Enable it once per account: keyless setup aws --enable (needs iam:EnableOutboundWebIdentityFederation).',
            }),
      );
    } catch (error) {
      if (isKeylessError(error) && error.code === 'ACCESS_DENIED') {
        checks.push(
          skip(
            'outbound federation',
            'no permission for iam:GetOutboundWebIdentityFederationInfo (the token check tells)',
          ),
        );
      } else {
        checks.push(fail('outbound federation', error));
      }
    }
  } else {
    checks.push(skip('outbound federation', 'no AWS identity'));
  }

  let token: WebIdentityToken | undefined;
  let provider: WebIdentityTokenProvider | undefined;
  if (identityOk && federation?.enabled !== false) {
    provider = fromAwsWebIdentityToken({
      audience: plan.audience,
      signingAlgorithm: plan.algorithm,
      retry: false,
      ...(duration === undefined ? {} : { durationSeconds: duration }),
      ...(region ? { region } : {}),
      ...(aws.endpoint ? { endpoint: aws.endpoint } : {}),
    });
    try {
      token = await provider();
      const { aud, sub } = token.claims;
      checks.push(
        pass(
          'token',
          `aud=${Array.isArray(aud) ? aud.join(',') : aud} alg=${plan.algorithm} sub=${sub}, expires in ${Math.round((token.expiresAt.getTime() - Date.now()) / 1000)} s`,
        ),
      );
    } catch (error) {
      checks.push(fail('token', error));
    }
  } else {
    checks.push(skip('token', identityOk ? 'outbound federation is disabled' : 'no AWS identity'));
  }

  if (token) {
    const iss = token.claims.iss;
    if (federation?.issuer) {
      checks.push(
        iss === federation.issuer
          ? pass('token issuer', `${iss} is the account's issuer`)
          : fail('token issuer', `the token's iss is not the issuer IAM reports`, {
              presented: { iss },
              expected: { iss: federation.issuer },
            }),
      );
    }
    checks.push(...(await issuerChecks(token, plan)));
  } else {
    checks.push(skip('issuer discovery', 'no token'), skip('signature', 'no token'));
  }

  if (plan.target) checks.push(...(await targetChecks(context, plan.target, plan, token, provider)));
  return checks;
}

/** The issuer's discovery document and JWKS as a receiving service would fetch them, and the signature. */
async function issuerChecks(token: WebIdentityToken, plan: Plan): Promise<CheckResult[]> {
  const iss = token.claims.iss;
  const url = `${iss.replace(/\/$/, '')}/.well-known/openid-configuration`;
  let discovery: Record<string, unknown>;
  try {
    const response = await sendHttpRequest({
      url,
      provider: 'aws',
      service: 'the issuer discovery endpoint',
      timeoutMs: 5_000,
    });
    if (response.status !== 200) throw new Error(`${url} answered HTTP ${response.status}`);
    discovery = readJsonObject(response, 'aws', 'the issuer discovery endpoint');
  } catch (error) {
    return [
      fail('issuer discovery', error, { hint: `Targets fetch ${url}; it must be reachable from where they run.` }),
      skip('signature', 'no discovery document'),
    ];
  }
  const checks: CheckResult[] = [];
  if (discovery.issuer !== iss) {
    checks.push(
      fail('issuer discovery', `the discovery document names another issuer`, {
        presented: { iss },
        expected: { iss: String(discovery.issuer) },
      }),
    );
  } else {
    const algs = Array.isArray(discovery.id_token_signing_alg_values_supported)
      ? discovery.id_token_signing_alg_values_supported.join(', ')
      : 'not listed';
    checks.push(pass('issuer discovery', `${url} (jwks_uri ${String(discovery.jwks_uri)}, algorithms ${algs})`));
  }
  try {
    const { verifyAwsWebIdentityToken } = await import('@keyless/oidc');
    const verified = await verifyAwsWebIdentityToken(token.token, {
      issuer: iss,
      audience: plan.audience,
      algorithms: [plan.algorithm],
      requestTimeoutMs: 5_000,
    });
    checks.push(
      pass('signature', `verified with key ${verified.protectedHeader.kid ?? '(no kid)'} from the issuer's JWKS`),
    );
  } catch (error) {
    checks.push(fail('signature', error));
  }
  return checks;
}

async function targetChecks(
  context: CommandContext,
  target: DoctorTarget,
  plan: Plan,
  token: WebIdentityToken | undefined,
  provider: WebIdentityTokenProvider | undefined,
): Promise<CheckResult[]> {
  const name = (what: string) => `${target.name} ${what}`;
  if (!token || !provider) return [skip(name('exchange'), 'no token')];
  const checks: CheckResult[] = [];
  const presented = presentedClaims(token.token);
  const expectedAudience = await target.defaultAudience(context);
  if (expectedAudience !== undefined) {
    const aud = audiences(token.claims);
    checks.push(
      aud.includes(expectedAudience)
        ? pass(name('audience'), `${expectedAudience}`)
        : fail(name('audience'), `the token's aud is not what ${target.name} expects`, {
            presented,
            expected: { aud: expectedAudience },
            hint: `Request the token with --audience ${expectedAudience}, or configure the target to trust the audience you use.`,
          }),
    );
  }
  checks.push(
    target.algorithms.includes(plan.algorithm)
      ? pass(name('algorithm'), plan.algorithm)
      : fail(name('algorithm'), `${target.name} does not take ${plan.algorithm}: ${target.algorithmWhy}`, {
          presented,
          expected: { alg: target.algorithms.join(' or ') },
          hint: `Use --algorithm ${target.algorithms[0]}.`,
        }),
  );
  try {
    checks.push(pass(name('exchange'), await target.exchange(context, provider)));
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const presentedFromError = isKeylessError(error) ? (error as KeylessError).details.presented : undefined;
    checks.push(fail(name('exchange'), error, { presented: presentedFromError ?? presented }));
  }
  return checks;
}

function audiences(claims: AwsWebIdentityClaims): string[] {
  return Array.isArray(claims.aud) ? claims.aud : [claims.aud];
}
