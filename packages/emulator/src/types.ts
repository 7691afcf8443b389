/** The emulated services. A fault or a statistic targets one of them, or one endpoint of one of them. */
export type ServiceName = 'sts' | 'iam' | 'issuer' | 'entra' | 'blob' | 'google' | 'snowflake' | 'oidc' | 'vault';

/** Every endpoint the emulator answers, as `<service>:<operation>`. */
export type EndpointName =
  | 'sts:GetWebIdentityToken'
  | 'sts:GetCallerIdentity'
  | 'iam:GetOutboundWebIdentityFederationInfo'
  | 'iam:EnableOutboundWebIdentityFederation'
  | 'iam:DisableOutboundWebIdentityFederation'
  | 'issuer:openid-configuration'
  | 'issuer:jwks'
  | 'entra:instance-discovery'
  | 'entra:openid-configuration'
  | 'entra:keys'
  | 'entra:token'
  | 'blob:list-containers'
  | 'blob:list-blobs'
  | 'blob:get-blob'
  | 'google:sts-token'
  | 'google:generate-access-token'
  | 'google:list-buckets'
  | 'snowflake:login'
  | 'snowflake:query'
  | 'snowflake:session'
  | 'oidc:discovery'
  | 'oidc:jwks'
  | 'oidc:token'
  | 'oidc:introspect'
  | 'vault:login'
  | 'vault:lookup-self'
  | 'vault:health';

/** A fault or a statistic applies to one endpoint, to every endpoint of a service, or (`'*'`) to all. */
export type Target = EndpointName | ServiceName | '*';

export type ServicePorts = Partial<Record<Exclude<ServiceName, 'sts' | 'iam' | 'issuer'>, number>>;

export interface EmulatorOptions {
  /** Port of the AWS endpoint (STS, IAM and the OIDC issuer). Default 0: any free port. */
  port?: number;
  /** Ports of the other services (each has its own origin). Default 0 each: any free port. */
  ports?: ServicePorts;
  /** Region reported when a request is not SigV4-signed for one. Default `us-east-1`. */
  region?: string;
  /** Start with the default principal and trust rules (`EMULATOR_DEFAULTS`). Default true. */
  defaults?: boolean;
  /** Add the emulator's TLS certificate to this process's default CA store at once (see `tls.trust()`). */
  trustCertificate?: boolean;
  /** Largest JWT payload STS will sign before answering `JWTPayloadSizeExceededException`. Default 8192 bytes. */
  maxTokenPayloadBytes?: number;
  /** One line per request (service, method, path, status, error code). Never a token. Default: silent. */
  logger?: Partial<Pick<Console, 'debug' | 'info' | 'warn' | 'error'>>;
}

/** What an AWS principal may do with `GetWebIdentityToken`: a stand-in for its IAM policy. */
export interface AwsPermissions {
  /** `sts:GetWebIdentityToken`. Default true. */
  getWebIdentityToken?: boolean;
  /** `sts:TagGetWebIdentityToken` (needed to send request tags). Default true. */
  tagWebIdentityToken?: boolean;
  /** `ForAllValues:StringEquals sts:IdentityTokenAudience`. Default: any audience. */
  audiences?: string[];
  /** `StringEquals sts:SigningAlgorithm`. Default: both. */
  signingAlgorithms?: ('RS256' | 'ES384')[];
  /** `NumericLessThanEquals sts:DurationSeconds`. Default: no limit below STS's own 3600. */
  maxDurationSeconds?: number;
}

export interface AwsPrincipalInit {
  /** The access key id the principal signs with (the `Credential=` of its SigV4 `Authorization`). */
  accessKeyId: string;
  /** Handed back in `env()`; never checked (signatures are not verified). Default: a fake value. */
  secretAccessKey?: string;
  /** IAM role or user ARN: the `sub` of its tokens. */
  arn: string;
  /** For a role: the session name. GetCallerIdentity then shows `arn:aws:sts::<acct>:assumed-role/<role>/<name>`. */
  sessionName?: string;
  /** Become `principal_tags` in the token. */
  principalTags?: Record<string, string>;
  /** More nested claims under `https://sts.amazonaws.com/` (e.g. `org_id`, `ec2_source_instance_arn`). */
  claims?: Record<string, unknown>;
  /** End of the principal's session: `original_session_exp`, and `SessionDurationEscalationException` past it. */
  sessionExpiresAt?: Date;
  permissions?: AwsPermissions;
}

export interface AwsPrincipal extends Readonly<Omit<AwsPrincipalInit, 'secretAccessKey' | 'permissions'>> {
  readonly secretAccessKey: string;
  readonly accountId: string;
  /** What GetCallerIdentity answers as `Arn`. */
  readonly callerArn: string;
  /** What GetCallerIdentity answers as `UserId`. */
  readonly userId: string;
  readonly permissions: Readonly<AwsPermissions>;
}

export interface FederatedCredentialInit {
  /** Default: `fic-<n>`. */
  name?: string;
  /** Must equal the token's `iss` exactly (case-sensitive, no trailing-slash tolerance). */
  issuer: string;
  /** Must equal the token's `sub` exactly. */
  subject: string;
  /** One value in real Entra. Default `['api://AzureADTokenExchange']`. */
  audiences?: string[];
  /** For this long after it is added the credential matches nothing and Entra answers AADSTS70021, as during real propagation. */
  propagationSeconds?: number;
}

export interface FederatedCredential extends Readonly<Required<Omit<FederatedCredentialInit, 'propagationSeconds'>>> {
  /** Until then (emulator clock) exchanges answer AADSTS70021. */
  readonly activeFrom: Date;
}

export interface EntraAppInit {
  clientId: string;
  /** Default: the default tenant. A tenant exists as soon as one app is registered in it. */
  tenantId?: string;
  displayName?: string;
  federatedCredentials?: FederatedCredentialInit[];
  /** Azure RBAC data roles on the emulated storage account, e.g. `Storage Blob Data Reader`. Default none. */
  roles?: string[];
}

export interface EntraApp {
  readonly clientId: string;
  readonly tenantId: string;
  readonly displayName: string;
  /** Object id of the app's service principal (the `oid` of its access tokens). */
  readonly objectId: string;
  readonly federatedCredentials: readonly FederatedCredential[];
  readonly roles: readonly string[];
}

/** A simple stand-in for a provider's CEL attribute condition. All given lists must match. */
export interface GoogleAttributeCondition {
  /** Allowed values of `assertion['https://sts.amazonaws.com/'].aws_account`. */
  awsAccounts?: string[];
  /** Allowed values of `assertion.sub`. */
  subjects?: string[];
}

export interface GoogleProviderInit {
  /** Default: the default project's number. */
  projectNumber?: string;
  poolId: string;
  providerId: string;
  /** The OIDC issuer the provider trusts (`issuerUri`); the emulator verifies signatures with its own JWKS. */
  issuer: string;
  /** Empty: `aud` must be the provider's resource name, with or without `https:`. */
  allowedAudiences?: string[];
  attributeCondition?: GoogleAttributeCondition | ((claims: Readonly<Record<string, unknown>>) => boolean);
  /** A disabled provider answers `invalid_target`. */
  disabled?: boolean;
}

export interface GoogleProvider extends Readonly<Omit<GoogleProviderInit, 'allowedAudiences'>> {
  readonly projectNumber: string;
  readonly allowedAudiences: readonly string[];
  /** `//iam.googleapis.com/projects/<n>/locations/global/workloadIdentityPools/<pool>/providers/<provider>`. */
  readonly resourceName: string;
}

export interface GoogleServiceAccountInit {
  email: string;
  /**
   * Principals holding `roles/iam.workloadIdentityUser` on the account:
   * `principal://iam.googleapis.com/projects/<n>/locations/global/workloadIdentityPools/<pool>/subject/<sub>`,
   * `principalSet://…/workloadIdentityPools/<pool>/*`, `principalSet://…/workloadIdentityPools/<pool>/attribute.aws_account/<id>`,
   * or `serviceAccount:<email>`.
   */
  members?: string[];
}

export interface GoogleServiceAccount {
  readonly email: string;
  readonly members: readonly string[];
}

export type SnowflakeWorkloadIdentity =
  /** `WORKLOAD_IDENTITY = (TYPE = OIDC ISSUER = … SUBJECT = … [OIDC_AUDIENCE_LIST = (…)])` */
  | { type: 'OIDC'; issuer: string; subject: string; audiences?: string[] }
  /** `WORKLOAD_IDENTITY = (TYPE = AWS ARN = … [ISSUER = …])`; with ISSUER the outbound JWT method is accepted too. */
  | { type: 'AWS'; arn: string; issuer?: string };

export interface SnowflakeUserInit {
  /** Login name, e.g. `KEYLESS_DEMO`. */
  name: string;
  workloadIdentity: SnowflakeWorkloadIdentity;
  defaultRole?: string;
  defaultWarehouse?: string;
  disabled?: boolean;
}

export type SnowflakeUser = Readonly<SnowflakeUserInit>;

export type OidcGrant = 'token-exchange' | 'jwt-bearer';

export interface OidcTrustRuleInit {
  name: string;
  /** Must equal the presented JWT's `iss`. */
  issuer: string;
  /** Must equal the JWT's `sub`; `'*'` accepts any subject. */
  subject: string;
  /** Must be one of the JWT's `aud` values. */
  audience: string;
  /** Default both. */
  grants?: OidcGrant[];
  /** Client the caller must authenticate as (HTTP Basic or `client_id`/`client_secret` in the body). Default: none required. */
  client?: { id: string; secret?: string };
  /** Allowed `scope` values. Default: any. */
  scopes?: string[];
  /** Allowed `audience` / `resource` request parameters. Default: any. */
  targets?: string[];
  /** Lifetime of the issued access token, capped by the JWT's own `exp`. Default 3600. */
  tokenLifetimeSeconds?: number;
}

export type OidcTrustRule = Readonly<OidcTrustRuleInit>;

export interface VaultMountInit {
  /** Mount path without `auth/`, e.g. `jwt`. */
  path: string;
  /** `bound_issuer`. Default: the emulator's issuer. */
  boundIssuer?: string;
  /** `jwt_supported_algs`. Default `['RS256']`, Vault's own default. */
  supportedAlgs?: string[];
}

export type VaultMount = Readonly<Required<VaultMountInit>>;

export interface VaultRoleInit {
  name: string;
  /** Default `jwt`. */
  mount?: string;
  boundAudiences?: string[];
  boundSubject?: string;
  /** Claim name or JSON pointer (`/https:~1~1sts.amazonaws.com~1/aws_account`) → allowed value(s). */
  boundClaims?: Record<string, string | string[]>;
  /** Default `sub`. */
  userClaim?: string;
  tokenPolicies?: string[];
  /** Default 3600. */
  tokenTtlSeconds?: number;
}

export type VaultRole = Readonly<Required<Omit<VaultRoleInit, 'boundSubject'>> & { boundSubject?: string }>;

/** The trust rules of every emulated target. Changes apply to the next request. */
export interface TrustRules {
  aws: {
    addPrincipal(principal: AwsPrincipalInit): AwsPrincipal;
    removePrincipal(accessKeyId: string): boolean;
    listPrincipals(): AwsPrincipal[];
    /** IAM `Enable`/`DisableOutboundWebIdentityFederation` do the same over HTTP. */
    setFederationEnabled(enabled: boolean): void;
    isFederationEnabled(): boolean;
  };
  entra: {
    addApp(app: EntraAppInit): EntraApp;
    removeApp(clientId: string, tenantId?: string): boolean;
    addFederatedCredential(
      clientId: string,
      credential: FederatedCredentialInit,
      tenantId?: string,
    ): FederatedCredential;
    removeFederatedCredential(clientId: string, name: string, tenantId?: string): boolean;
    listApps(): EntraApp[];
  };
  google: {
    addProvider(provider: GoogleProviderInit): GoogleProvider;
    /** By resource name (`//iam.googleapis.com/projects/…/providers/…`). */
    removeProvider(resourceName: string): boolean;
    listProviders(): GoogleProvider[];
    addServiceAccount(account: GoogleServiceAccountInit): GoogleServiceAccount;
    removeServiceAccount(email: string): boolean;
    /** Grants `roles/iam.workloadIdentityUser` on the service account to `member`. */
    addServiceAccountMember(email: string, member: string): void;
    removeServiceAccountMember(email: string, member: string): boolean;
    listServiceAccounts(): GoogleServiceAccount[];
  };
  snowflake: {
    addUser(user: SnowflakeUserInit): SnowflakeUser;
    removeUser(name: string): boolean;
    listUsers(): SnowflakeUser[];
  };
  oidc: {
    addRule(rule: OidcTrustRuleInit): OidcTrustRule;
    removeRule(name: string): boolean;
    listRules(): OidcTrustRule[];
  };
  vault: {
    addMount(mount: VaultMountInit): VaultMount;
    addRole(role: VaultRoleInit): VaultRole;
    removeRole(name: string, mount?: string): boolean;
    listRoles(): VaultRole[];
  };
  /** Back to the rules the emulator started with (the defaults, or nothing with `defaults: false`). */
  reset(): void;
}

export interface FaultOptions {
  /** How many matching requests the fault applies to. Default: 1 for errors, every request for latency. */
  times?: number;
}

export interface Fault {
  readonly target: Target;
  readonly kind: 'latency' | 'server-error' | 'throttle' | 'drop-connection';
  /** Requests it will still apply to (`Infinity` for no limit). */
  readonly remaining: number;
  remove(): void;
}

export interface Faults {
  /** Delays matching requests by `ms` before they are handled (faults of other kinds still apply). */
  latency(target: Target, ms: number, options?: FaultOptions): Fault;
  /** Answers matching requests with a 5xx in the service's own error shape. Default status 503, once. */
  serverError(target: Target, options?: FaultOptions & { status?: 500 | 502 | 503 | 504 }): Fault;
  /**
   * Answers matching requests with the service's throttling error and `Retry-After` (default 1 s): HTTP 429,
   * except STS/IAM (400 `Throttling`) and Blob (503 `ServerBusy`), which is what those services send.
   */
  throttle(target: Target, options?: FaultOptions & { retryAfterSeconds?: number; status?: number }): Fault;
  /** Destroys the connection of matching requests without an answer (a reset). */
  dropConnection(target: Target, options?: FaultOptions): Fault;
  list(): Fault[];
  /** Removes every fault on `target` (or all). */
  clear(target?: Target): void;
}

export interface EndpointStats {
  /** Requests answered (faults included). */
  calls: number;
  /** Of which 2xx. */
  ok: number;
  /** Of which 4xx/5xx, or dropped. */
  failed: number;
}

export interface RequestRecord {
  at: Date;
  endpoint: EndpointName;
  method: string;
  path: string;
  status: number;
  /** The service's own error code (`AADSTS700213`, `invalid_grant`, `ValidationError`…), when it failed. */
  error?: string;
}

export interface Stats {
  /** Calls to an endpoint, a service or everything. */
  get(target?: Target): EndpointStats;
  /** Per endpoint that was called. */
  snapshot(): Partial<Record<EndpointName, EndpointStats>>;
  /** The last 500 requests, oldest first. */
  recent(): RequestRecord[];
  reset(): void;
}

/** The emulator's clock: every `iat`, `exp` and expiry check uses it. Tests move it instead of waiting. */
export interface EmulatorClock {
  now(): Date;
  /** Moves the clock forward (or back, with a negative number). */
  advance(seconds: number): void;
  /** Back to real time. */
  reset(): void;
}

export interface MintTokenOptions {
  /** Default: the default principal's role ARN. */
  subject?: string;
  audience: string | string[];
  /** Default `RS256`. */
  algorithm?: 'RS256' | 'ES384';
  /** Default: the emulator's issuer. */
  issuer?: string;
  /** Default 300. Negative makes an already expired token. */
  lifetimeSeconds?: number;
  /** Default: now (emulator clock). */
  issuedAt?: Date;
  /** Sign with a key that is not in the JWKS, under the current `kid`: a token whose signature does not verify. */
  untrustedKey?: boolean;
  requestTags?: Record<string, string>;
  /** Replace or add top-level claims. */
  claims?: Record<string, unknown>;
}

export interface EmulatorDescription {
  url: string;
  issuer: string;
  stsEndpoint: string;
  iamEndpoint: string;
  jwksUri: string;
  region: string;
  accountId: string;
  roleArn: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  entra: EntraEndpoints;
  blob: BlobEndpoints;
  google: GoogleEndpoints;
  snowflake: SnowflakeEndpoints;
  oidc: OidcEndpoints;
  vault: VaultEndpoints;
}

export interface EntraEndpoints {
  /** `https://127.0.0.1:<port>`: the `authorityHost` of `@azure/identity` and MSAL. */
  authorityHost: string;
  /** The default tenant and app (with a federated identity credential for the default principal). */
  tenantId: string;
  clientId: string;
  /** `{authorityHost}/{tenantId}/oauth2/v2.0/token`. */
  tokenEndpoint: string;
  /** What the default federated identity credential expects as `aud`. */
  audience: string;
  /** Scope of the Blob endpoint's access tokens: `https://storage.azure.com/.default`. */
  storageScope: string;
}

export interface BlobEndpoints {
  /** `https://127.0.0.1:<port>/<account>` (path-style, as `@azure/storage-blob` uses for IP hosts). */
  accountUrl: string;
  accountName: string;
  container: string;
}

export interface GoogleEndpoints {
  /** Base of Google STS, IAM Credentials and Cloud Storage: `http://127.0.0.1:<port>`. */
  origin: string;
  /** Google STS token exchange: `{origin}/v1/token` (google-auth-library `token_url`). */
  stsTokenUrl: string;
  /** IAM Credentials base: `{origin}` (calls go to `/v1/projects/-/serviceAccounts/<email>:generateAccessToken`). */
  iamCredentialsUrl: string;
  /** The default service account's `service_account_impersonation_url`. */
  serviceAccountImpersonationUrl: string;
  /** `apiEndpoint` of `@google-cloud/storage` (with `useAuthWithCustomEndpoint: true`). */
  storageApiEndpoint: string;
  projectId: string;
  projectNumber: string;
  poolId: string;
  providerId: string;
  /** The default provider's resource name: the external-account `audience` and the JWT's expected `aud` (with `https:`). */
  audience: string;
  serviceAccountEmail: string;
  bucket: string;
}

export interface SnowflakeEndpoints {
  /** `http://127.0.0.1:<port>`: snowflake-sdk's `accessUrl`. */
  accessUrl: string;
  /** `<account>.snowflakecomputing.com`: snowflake-sdk's `host` (it must be a Snowflake host for WORKLOAD_IDENTITY). */
  host: string;
  account: string;
  /** The default service user (TYPE = OIDC). */
  user: string;
  role: string;
  warehouse: string;
  /** `aud` the default user expects. */
  audience: string;
}

export interface OidcEndpoints {
  /** `http://127.0.0.1:<port>`; discovery at `{issuer}/.well-known/openid-configuration`. */
  issuer: string;
  tokenEndpoint: string;
  introspectionEndpoint: string;
  jwksUri: string;
  /** `aud` the default rule expects of the presented JWT: the issuer. */
  audience: string;
  clientId: string;
}

export interface VaultEndpoints {
  /** `http://127.0.0.1:<port>`: `VAULT_ADDR`. */
  address: string;
  mount: string;
  role: string;
  /** `aud` the default role is bound to. */
  audience: string;
}

/** A running emulator. Every URL is on 127.0.0.1. */
export interface Emulator extends Readonly<EmulatorDescription> {
  readonly entra: Readonly<EntraEndpoints>;
  readonly blob: Readonly<BlobEndpoints>;
  readonly google: Readonly<GoogleEndpoints>;
  readonly snowflake: Readonly<SnowflakeEndpoints>;
  readonly oidc: Readonly<OidcEndpoints>;
  readonly vault: Readonly<VaultEndpoints>;
  readonly tls: EmulatorTls;
  readonly trust: TrustRules;
  readonly faults: Faults;
  readonly stats: Stats;
  readonly clock: EmulatorClock;
  /** New signing keys (`RSA_<n>`, `EC384_<n>`); previous ones stay in the JWKS unless `keepPrevious: false`. Returns the new kids. */
  rotateKeys(options?: { keepPrevious?: boolean }): Promise<string[]>;
  /** The kids in the JWKS now. */
  keyIds(): string[];
  /** Signs a token the way STS would, with any claims: for testing how targets reject bad tokens. */
  mintWebIdentityToken(options: MintTokenOptions): Promise<string>;
  /** Environment variables that point the AWS SDK, the Azure SDK, Vault clients and keyless at the emulator. */
  env(): Record<string, string>;
  /** Every endpoint and default identity, JSON-serialisable (hand it to another process). */
  toJSON(): EmulatorDescription;
  /** Stops every server and drops every connection; undoes `tls.trust()`. */
  close(): Promise<void>;
}

export interface EmulatorTls {
  /** PEM of the CA that signed the HTTPS certificate (127.0.0.1, localhost, ::1) of Entra and Blob. Made at start. */
  readonly ca: string;
  /** Adds `ca` to this process's default CA store (`tls.setDefaultCACertificates`), for fetch, https and the Azure SDK. */
  trust(): void;
  /** Removes `ca` from the default CA store again. */
  untrust(): void;
  /**
   * Writes `ca` (plus the certificates of any file `NODE_EXTRA_CA_CERTS` already names) to a file for child processes;
   * `env()` then sets `NODE_EXTRA_CA_CERTS` to it. The file is removed on `close()` unless `path` was given.
   */
  writeCaFile(path?: string): Promise<string>;
}
