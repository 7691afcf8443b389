import { randomUUID } from 'node:crypto';
import { AWS_CLAIMS_KEY } from '@keyless/core';
import { createClock } from './clock.js';
import type { LabContext } from './context.js';
import { EMULATOR_DEFAULTS } from './defaults.js';
import { createFaults } from './faults.js';
import { type RunningServer, type ServerContext, type ServiceHandler, startServer } from './http-server.js';
import { createServiceKey, IssuerKeys } from './keys.js';
import { createAwsService } from './services/aws.js';
import { createBlobService } from './services/azure-blob.js';
import { createEntraService } from './services/entra.js';
import { createGoogleService } from './services/google.js';
import { createOidcService } from './services/oauth.js';
import { createSnowflakeService } from './services/snowflake.js';
import { createVaultService } from './services/vault.js';
import { createStats } from './stats.js';
import { createServerCertificate } from './tls-certificate.js';
import { createTlsTrust } from './tls-trust.js';
import { createTrustState, googleProviderName } from './trust-rules.js';
import type { Emulator, EmulatorDescription, EmulatorOptions, MintTokenOptions } from './types.js';

const DEFAULT_MAX_TOKEN_PAYLOAD_BYTES = 8192;
const STORAGE_SCOPE = 'https://storage.azure.com/.default';

/** Builds and starts everything `startEmulator` returns (options are already validated). */
export async function createLab(options: EmulatorOptions): Promise<Emulator> {
  const clock = createClock();
  const [keys, entraKey, oidcKey] = await Promise.all([
    IssuerKeys.create(),
    createServiceKey('entra-emulator-0'),
    createServiceKey('oauth-emulator-0'),
  ]);
  const certificate = createServerCertificate(clock.now());
  const faults = createFaults();
  const stats = createStats();
  const serverContext: ServerContext = { faults, stats, logger: options.logger, now: () => clock.now() };
  const d = EMULATOR_DEFAULTS;

  // The services read the context per request; its origins and trust rules are filled in once every port is bound.
  const ctx = {
    clock,
    keys,
    entraKey,
    oidcKey,
    region: options.region ?? d.region,
    maxTokenPayloadBytes: options.maxTokenPayloadBytes ?? DEFAULT_MAX_TOKEN_PAYLOAD_BYTES,
  } as LabContext;

  const servers: RunningServer[] = [];
  const start = async (handler: ServiceHandler, port: number | undefined, tls = false) => {
    try {
      const server = await startServer(handler, serverContext, {
        port: port ?? 0,
        ...(tls ? { tls: { cert: certificate.certPem, key: certificate.keyPem } } : {}),
      });
      servers.push(server);
      return server.origin;
    } catch (error) {
      const code = (error as { code?: string }).code;
      throw new Error(
        `keyless emulator: cannot listen for ${handler.name} on 127.0.0.1:${port ?? 0}${code ? ` (${code})` : ''}`,
        { cause: error },
      );
    }
  };
  const ports = options.ports ?? {};
  try {
    const aws = await start(createAwsService(ctx), options.port);
    ctx.origins = {
      aws,
      entra: await start(createEntraService(ctx), ports.entra, true),
      blob: await start(createBlobService(ctx), ports.blob, true),
      google: await start(createGoogleService(ctx), ports.google),
      snowflake: await start(createSnowflakeService(ctx), ports.snowflake),
      oidc: await start(createOidcService(ctx), ports.oidc),
      vault: await start(createVaultService(ctx), ports.vault),
    };
  } catch (error) {
    await Promise.all(servers.map((s) => s.close()));
    throw error;
  }
  const origins = ctx.origins;
  ctx.issuer = origins.aws;
  ctx.trust = createTrustState({
    issuer: ctx.issuer,
    oidcIssuer: origins.oidc,
    clock,
    defaults: options.defaults !== false,
  });

  const googleAudience = googleProviderName(d.google.projectNumber, d.google.poolId, d.google.providerId);
  const description: EmulatorDescription = {
    url: origins.aws,
    issuer: ctx.issuer,
    stsEndpoint: origins.aws,
    iamEndpoint: origins.aws,
    jwksUri: `${ctx.issuer}/.well-known/jwks.json`,
    region: ctx.region,
    accountId: d.accountId,
    roleArn: d.roleArn,
    credentials: { accessKeyId: d.accessKeyId, secretAccessKey: d.secretAccessKey },
    entra: {
      authorityHost: origins.entra,
      tenantId: d.azure.tenantId,
      clientId: d.azure.clientId,
      tokenEndpoint: `${origins.entra}/${d.azure.tenantId}/oauth2/v2.0/token`,
      audience: d.azure.audience,
      storageScope: STORAGE_SCOPE,
    },
    blob: {
      accountUrl: `${origins.blob}/${d.azure.storageAccount}`,
      accountName: d.azure.storageAccount,
      container: d.azure.container,
    },
    google: {
      origin: origins.google,
      stsTokenUrl: `${origins.google}/v1/token`,
      iamCredentialsUrl: origins.google,
      serviceAccountImpersonationUrl: `${origins.google}/v1/projects/-/serviceAccounts/${d.google.serviceAccountEmail}:generateAccessToken`,
      storageApiEndpoint: origins.google,
      projectId: d.google.projectId,
      projectNumber: d.google.projectNumber,
      poolId: d.google.poolId,
      providerId: d.google.providerId,
      audience: googleAudience,
      serviceAccountEmail: d.google.serviceAccountEmail,
      bucket: d.google.bucket,
    },
    snowflake: {
      accessUrl: origins.snowflake,
      host: `${d.snowflake.account}.snowflakecomputing.com`,
      account: d.snowflake.account,
      user: d.snowflake.user,
      role: d.snowflake.role,
      warehouse: d.snowflake.warehouse,
      audience: d.snowflake.audience,
    },
    oidc: {
      issuer: origins.oidc,
      tokenEndpoint: `${origins.oidc}/oauth2/token`,
      introspectionEndpoint: `${origins.oidc}/oauth2/introspect`,
      jwksUri: `${origins.oidc}/.well-known/jwks.json`,
      audience: origins.oidc,
      clientId: d.oidc.clientId,
    },
    vault: { address: origins.vault, mount: d.vault.mount, role: d.vault.role, audience: d.vault.audience },
  };

  const tlsTrust = createTlsTrust(certificate.caPem);
  if (options.trustCertificate) tlsTrust.trust();
  let closed: Promise<void> | undefined;

  const lab: Emulator = {
    ...structuredClone(description),
    tls: tlsTrust.api,
    trust: ctx.trust,
    faults,
    stats,
    clock,
    rotateKeys: async ({ keepPrevious = true } = {}) => keys.rotate(keepPrevious),
    keyIds: () => keys.kids(),
    mintWebIdentityToken: (mint) => mintToken(ctx, mint),
    env() {
      const principal = ctx.trust.aws.listPrincipals()[0];
      const caFile = tlsTrust.caFile();
      return {
        AWS_ENDPOINT_URL_STS: description.stsEndpoint,
        AWS_ENDPOINT_URL_IAM: description.iamEndpoint,
        AWS_REGION: ctx.region,
        AWS_DEFAULT_REGION: ctx.region,
        AWS_ACCESS_KEY_ID: principal?.accessKeyId ?? d.accessKeyId,
        AWS_SECRET_ACCESS_KEY: principal?.secretAccessKey ?? d.secretAccessKey,
        AWS_EC2_METADATA_DISABLED: 'true',
        AZURE_AUTHORITY_HOST: description.entra.authorityHost,
        AZURE_TENANT_ID: description.entra.tenantId,
        AZURE_CLIENT_ID: description.entra.clientId,
        VAULT_ADDR: description.vault.address,
        SNOWFLAKE_DISABLE_PLATFORM_DETECTION: 'true',
        KEYLESS_EMULATOR_URL: description.url,
        KEYLESS_EMULATOR_ISSUER: description.issuer,
        KEYLESS_EMULATOR_ENTRA_AUTHORITY_HOST: description.entra.authorityHost,
        KEYLESS_EMULATOR_BLOB_ACCOUNT_URL: description.blob.accountUrl,
        KEYLESS_EMULATOR_GOOGLE_AUDIENCE: description.google.audience,
        KEYLESS_EMULATOR_GOOGLE_STS_TOKEN_URL: description.google.stsTokenUrl,
        KEYLESS_EMULATOR_GOOGLE_IAM_CREDENTIALS_URL: description.google.iamCredentialsUrl,
        KEYLESS_EMULATOR_GOOGLE_SERVICE_ACCOUNT: description.google.serviceAccountEmail,
        KEYLESS_EMULATOR_GCS_API_ENDPOINT: description.google.storageApiEndpoint,
        KEYLESS_EMULATOR_SNOWFLAKE_ACCESS_URL: description.snowflake.accessUrl,
        KEYLESS_EMULATOR_SNOWFLAKE_HOST: description.snowflake.host,
        KEYLESS_EMULATOR_SNOWFLAKE_ACCOUNT: description.snowflake.account,
        KEYLESS_EMULATOR_OIDC_ISSUER: description.oidc.issuer,
        KEYLESS_EMULATOR_OIDC_TOKEN_ENDPOINT: description.oidc.tokenEndpoint,
        KEYLESS_EMULATOR_VAULT_ADDR: description.vault.address,
        ...(caFile ? { NODE_EXTRA_CA_CERTS: caFile } : {}),
      };
    },
    toJSON: () => structuredClone(description),
    close() {
      closed ??= (async () => {
        tlsTrust.untrust();
        await Promise.all(servers.map((server) => server.close()));
        await tlsTrust.dispose();
      })();
      return closed;
    },
  };
  return lab;
}

async function mintToken(ctx: LabContext, options: MintTokenOptions): Promise<string> {
  if (typeof options !== 'object' || options === null || options.audience === undefined) {
    throw new TypeError('mintWebIdentityToken needs { audience }');
  }
  const algorithm = options.algorithm ?? 'RS256';
  if (algorithm !== 'RS256' && algorithm !== 'ES384')
    throw new TypeError(`algorithm must be RS256 or ES384, got ${String(algorithm)}`);
  const subject = options.subject ?? EMULATOR_DEFAULTS.roleArn;
  const iat = options.issuedAt ? Math.floor(options.issuedAt.getTime() / 1000) : ctx.clock.seconds();
  const account = /^arn:aws[\w-]*:\w+::(\d{12}):/.exec(subject)?.[1] ?? EMULATOR_DEFAULTS.accountId;
  const awsClaims: Record<string, unknown> = { aws_account: account, source_region: ctx.region };
  if (options.requestTags) awsClaims.request_tags = { ...options.requestTags };
  const payload = {
    iss: options.issuer ?? ctx.issuer,
    sub: subject,
    aud: options.audience,
    iat,
    exp: iat + (options.lifetimeSeconds ?? 300),
    jti: randomUUID(),
    [AWS_CLAIMS_KEY]: awsClaims,
    ...options.claims,
  };
  return ctx.keys.sign(payload, algorithm, { untrusted: options.untrustedKey === true });
}
