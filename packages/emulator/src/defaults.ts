/**
 * The identities and trust rules a new emulator starts with, so that every keyless adapter works against it
 * with no set-up. All values are fake: none of them names a real account, tenant, project or key.
 */
export const EMULATOR_DEFAULTS = Object.freeze({
  /** Region of the emulated STS when a request is not signed for one. */
  region: 'us-east-1',
  /** AWS account of the default principal. */
  accountId: '123456789012',
  /** The default principal: a role session. Its tokens have this `sub`. */
  roleArn: 'arn:aws:iam::123456789012:role/keyless-demo',
  /** Session name of the default role session (GetCallerIdentity shows the assumed-role ARN). */
  roleSessionName: 'keyless-demo',
  /**
   * Fake static credentials of the default principal. Not shaped like real keys (`AKIA…`), so secret
   * scanners stay quiet; the emulator maps the access key id to the principal and does not check signatures.
   */
  accessKeyId: 'KEYLESSDEMOACCESSKEY',
  secretAccessKey: 'keyless-emulator-demo-secret-not-a-real-key',

  azure: Object.freeze({
    tenantId: '11111111-2222-4333-8444-555555555555',
    /** Application (client) id of the default app registration, which has a federated identity credential. */
    clientId: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
    /** Name of the default federated identity credential. */
    federatedCredentialName: 'keyless-demo',
    /** Audience of the default federated identity credential (Entra's recommended value). */
    audience: 'api://AzureADTokenExchange',
    /** Azure RBAC data roles the default app holds on the emulated storage account. */
    roles: Object.freeze(['Storage Blob Data Reader']),
    storageAccount: 'keylessdemo',
    container: 'keyless-demo',
  }),

  google: Object.freeze({
    projectId: 'keyless-demo',
    projectNumber: '987654321098',
    poolId: 'keyless-pool',
    providerId: 'aws-oidc', // provider ids are 4..32 characters
    serviceAccountEmail: 'keyless-demo@keyless-demo.iam.gserviceaccount.com',
    bucket: 'keyless-demo-bucket',
  }),

  snowflake: Object.freeze({
    /** Account identifier (`<org>-<account>`); the host is `<account>.snowflakecomputing.com`. */
    account: 'keyless-demo',
    /** Service user with `WORKLOAD_IDENTITY = (TYPE = OIDC ISSUER = <issuer> SUBJECT = <roleArn>)`. */
    user: 'KEYLESS_DEMO',
    /** Service user with `WORKLOAD_IDENTITY = (TYPE = AWS ARN = <roleArn> ISSUER = <issuer>)`. */
    awsUser: 'KEYLESS_DEMO_AWS',
    role: 'KEYLESS_DEMO_ROLE',
    warehouse: 'KEYLESS_DEMO_WH',
    /** What Snowflake expects in `aud` when a user has no `OIDC_AUDIENCE_LIST`. */
    audience: 'snowflakecomputing.com',
  }),

  oidc: Object.freeze({
    /** Name of the default trust rule of the RFC 8693 / RFC 7523 token endpoint. */
    rule: 'keyless-demo',
    /** Client id the default rule accepts (client authentication is optional for it). */
    clientId: 'keyless-demo',
  }),

  vault: Object.freeze({
    mount: 'jwt',
    role: 'keyless-demo',
    /** `bound_audiences` of the default role. */
    audience: 'vault',
    policies: Object.freeze(['keyless-demo']),
  }),
});
