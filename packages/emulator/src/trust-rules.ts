import { createHash } from 'node:crypto';
import type { Clock } from './clock.js';
import { EMULATOR_DEFAULTS } from './defaults.js';
import type {
  AwsPrincipal,
  AwsPrincipalInit,
  EntraApp,
  EntraAppInit,
  FederatedCredential,
  FederatedCredentialInit,
  GoogleProvider,
  GoogleProviderInit,
  GoogleServiceAccount,
  GoogleServiceAccountInit,
  OidcGrant,
  OidcTrustRule,
  OidcTrustRuleInit,
  SnowflakeUser,
  SnowflakeUserInit,
  TrustRules,
  VaultMount,
  VaultMountInit,
  VaultRole,
  VaultRoleInit,
} from './types.js';

const ENTRA_DEFAULT_AUDIENCE = 'api://AzureADTokenExchange';
const ARN_PATTERN = /^arn:aws[\w-]*:(iam|sts)::(\d{12}):(.+)$/;
const DEFAULT_SESSION_HOURS = 12;

export interface TrustContext {
  issuer: string;
  oidcIssuer: string;
  clock: Clock;
  defaults: boolean;
}

/** The trust rules plus the look-ups the services use. */
export interface TrustState extends TrustRules {
  principalByAccessKey(accessKeyId: string): AwsPrincipal | undefined;
  entraTenantExists(tenant: string): boolean;
  entraApp(tenant: string, clientId: string): EntraApp | undefined;
  /** The tenant id for a tenant given by id (any case). */
  entraTenantId(tenant: string): string | undefined;
  googleProvider(resourceName: string): GoogleProvider | undefined;
  serviceAccount(email: string): GoogleServiceAccount | undefined;
  snowflakeUser(name: string): SnowflakeUser | undefined;
  vaultMount(path: string): VaultMount | undefined;
  vaultRole(mount: string, name: string): VaultRole | undefined;
}

function text(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new TypeError(`${what} must be a non-empty string`);
  return value;
}

function list(value: unknown, what: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new TypeError(`${what} must be an array of strings`);
  return value.map((item, i) => text(item, `${what}[${i}]`));
}

/** A stable, UUID-shaped id derived from a name (object ids, entity ids). */
export function derivedUuid(name: string): string {
  const hex = createHash('sha256').update(name).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** `//iam.googleapis.com/projects/<n>/locations/global/workloadIdentityPools/<pool>/providers/<provider>`. */
export function googleProviderName(projectNumber: string, poolId: string, providerId: string): string {
  return `//iam.googleapis.com/projects/${projectNumber}/locations/global/workloadIdentityPools/${poolId}/providers/${providerId}`;
}

/** The federated principal of a subject in a pool. */
export function googlePrincipal(projectNumber: string, poolId: string, subject: string): string {
  return `principal://iam.googleapis.com/projects/${projectNumber}/locations/global/workloadIdentityPools/${poolId}/subject/${subject}`;
}

export function createTrustState(context: TrustContext): TrustState {
  const principals = new Map<string, AwsPrincipal>();
  let federationEnabled = true;
  const entraApps = new Map<string, EntraApp>();
  const providers = new Map<string, GoogleProvider>();
  const serviceAccounts = new Map<string, { email: string; members: string[] }>();
  const snowflakeUsers = new Map<string, SnowflakeUser>();
  const oidcRules = new Map<string, OidcTrustRule>();
  const vaultMounts = new Map<string, VaultMount>();
  const vaultRoles = new Map<string, VaultRole>();
  let ficCounter = 0;

  const entraKey = (tenant: string, clientId: string) => `${tenant.toLowerCase()}/${clientId.toLowerCase()}`;

  const toFederatedCredential = (init: FederatedCredentialInit): FederatedCredential => {
    const audiences = init.audiences === undefined ? [ENTRA_DEFAULT_AUDIENCE] : list(init.audiences, 'audiences');
    if (audiences.length === 0) throw new TypeError('a federated identity credential needs at least one audience');
    const propagation = init.propagationSeconds ?? 0;
    if (typeof propagation !== 'number' || !(propagation >= 0)) {
      throw new TypeError('propagationSeconds must be a number >= 0');
    }
    ficCounter++;
    return Object.freeze({
      name: init.name === undefined ? `fic-${ficCounter}` : text(init.name, 'federated credential name'),
      issuer: text(init.issuer, 'federated credential issuer'),
      subject: text(init.subject, 'federated credential subject'),
      audiences: Object.freeze(audiences) as string[],
      activeFrom: new Date(context.clock.ms() + propagation * 1000),
    });
  };

  const findEntraApp = (clientId: string, tenantId?: string): EntraApp | undefined => {
    if (tenantId !== undefined) return entraApps.get(entraKey(tenantId, clientId));
    return [...entraApps.values()].find((app) => app.clientId.toLowerCase() === clientId.toLowerCase());
  };

  const state: TrustState = {
    aws: {
      addPrincipal(init: AwsPrincipalInit) {
        const accessKeyId = text(init.accessKeyId, 'accessKeyId');
        const arn = text(init.arn, 'arn');
        const match = ARN_PATTERN.exec(arn);
        if (!match) throw new TypeError(`arn must be an IAM ARN like arn:aws:iam::123456789012:role/name, got ${arn}`);
        const accountId = match[2]!;
        const resource = match[3]!;
        const isRole = resource.startsWith('role/');
        const roleName = resource.split('/').pop() ?? resource;
        const sessionName = init.sessionName ?? (isRole ? 'keyless-session' : undefined);
        const idPrefix = isRole ? 'AROA' : 'AIDA';
        const uniqueId = `${idPrefix}${createHash('sha256').update(arn).digest('hex').slice(0, 17).toUpperCase()}`;
        const principal: AwsPrincipal = Object.freeze({
          accessKeyId,
          secretAccessKey: init.secretAccessKey ?? `${accessKeyId}-emulator-secret`,
          arn,
          accountId,
          ...(sessionName === undefined ? {} : { sessionName }),
          callerArn: isRole && sessionName ? `arn:aws:sts::${accountId}:assumed-role/${roleName}/${sessionName}` : arn,
          userId: isRole && sessionName ? `${uniqueId}:${sessionName}` : uniqueId,
          ...(init.principalTags === undefined ? {} : { principalTags: { ...init.principalTags } }),
          ...(init.claims === undefined ? {} : { claims: { ...init.claims } }),
          ...(init.sessionExpiresAt === undefined ? {} : { sessionExpiresAt: new Date(init.sessionExpiresAt) }),
          permissions: Object.freeze({ ...init.permissions }),
        });
        principals.set(accessKeyId, principal);
        return principal;
      },
      removePrincipal: (accessKeyId) => principals.delete(accessKeyId),
      listPrincipals: () => [...principals.values()],
      setFederationEnabled(enabled) {
        federationEnabled = Boolean(enabled);
      },
      isFederationEnabled: () => federationEnabled,
    },

    entra: {
      addApp(init: EntraAppInit) {
        const clientId = text(init.clientId, 'clientId');
        const tenantId =
          init.tenantId === undefined ? EMULATOR_DEFAULTS.azure.tenantId : text(init.tenantId, 'tenantId');
        const app: EntraApp = Object.freeze({
          clientId,
          tenantId,
          displayName: init.displayName ?? `keyless emulator app ${clientId}`,
          objectId: derivedUuid(`entra-sp/${tenantId}/${clientId}`),
          federatedCredentials: Object.freeze((init.federatedCredentials ?? []).map(toFederatedCredential)),
          roles: Object.freeze(list(init.roles, 'roles')),
        });
        entraApps.set(entraKey(tenantId, clientId), app);
        return app;
      },
      removeApp: (clientId, tenantId) => {
        const app = findEntraApp(clientId, tenantId);
        return app ? entraApps.delete(entraKey(app.tenantId, app.clientId)) : false;
      },
      addFederatedCredential(clientId, init, tenantId) {
        const app = findEntraApp(clientId, tenantId);
        if (!app) throw new TypeError(`no Entra app ${clientId}${tenantId ? ` in tenant ${tenantId}` : ''}`);
        const credential = toFederatedCredential(init);
        if (app.federatedCredentials.some((f) => f.name === credential.name)) {
          throw new TypeError(`app ${clientId} already has a federated identity credential named ${credential.name}`);
        }
        entraApps.set(
          entraKey(app.tenantId, app.clientId),
          Object.freeze({ ...app, federatedCredentials: Object.freeze([...app.federatedCredentials, credential]) }),
        );
        return credential;
      },
      removeFederatedCredential(clientId, name, tenantId) {
        const app = findEntraApp(clientId, tenantId);
        if (!app?.federatedCredentials.some((f) => f.name === name)) return false;
        entraApps.set(
          entraKey(app.tenantId, app.clientId),
          Object.freeze({
            ...app,
            federatedCredentials: Object.freeze(app.federatedCredentials.filter((f) => f.name !== name)),
          }),
        );
        return true;
      },
      listApps: () => [...entraApps.values()],
    },

    google: {
      addProvider(init: GoogleProviderInit) {
        const projectNumber =
          init.projectNumber === undefined
            ? EMULATOR_DEFAULTS.google.projectNumber
            : text(init.projectNumber, 'projectNumber');
        if (!/^\d+$/.test(projectNumber)) throw new TypeError(`projectNumber must be digits, got ${projectNumber}`);
        const poolId = text(init.poolId, 'poolId');
        const providerId = text(init.providerId, 'providerId');
        const condition = init.attributeCondition;
        if (condition !== undefined && typeof condition !== 'function' && typeof condition !== 'object') {
          throw new TypeError('attributeCondition must be an object or a function');
        }
        const provider: GoogleProvider = Object.freeze({
          projectNumber,
          poolId,
          providerId,
          issuer: text(init.issuer, 'issuer'),
          allowedAudiences: Object.freeze(list(init.allowedAudiences, 'allowedAudiences')),
          ...(condition === undefined ? {} : { attributeCondition: condition }),
          disabled: Boolean(init.disabled),
          resourceName: googleProviderName(projectNumber, poolId, providerId),
        });
        providers.set(provider.resourceName, provider);
        return provider;
      },
      removeProvider: (resourceName) => providers.delete(resourceName),
      listProviders: () => [...providers.values()],
      addServiceAccount(init: GoogleServiceAccountInit) {
        const email = text(init.email, 'email');
        const account = { email, members: list(init.members, 'members') };
        serviceAccounts.set(email, account);
        return { email, members: [...account.members] };
      },
      removeServiceAccount: (email) => serviceAccounts.delete(email),
      addServiceAccountMember(email, member) {
        const account = serviceAccounts.get(email);
        if (!account) throw new TypeError(`no service account ${email}`);
        if (!account.members.includes(member)) account.members.push(text(member, 'member'));
      },
      removeServiceAccountMember(email, member) {
        const account = serviceAccounts.get(email);
        if (!account?.members.includes(member)) return false;
        account.members = account.members.filter((m) => m !== member);
        return true;
      },
      listServiceAccounts: () =>
        [...serviceAccounts.values()].map((a) => ({ email: a.email, members: [...a.members] })),
    },

    snowflake: {
      addUser(init: SnowflakeUserInit) {
        const name = text(init.name, 'name').toUpperCase();
        const identity = init.workloadIdentity;
        if (identity?.type === 'OIDC') {
          text(identity.issuer, 'workloadIdentity.issuer');
          text(identity.subject, 'workloadIdentity.subject');
          if (identity.audiences !== undefined) list(identity.audiences, 'workloadIdentity.audiences');
        } else if (identity?.type === 'AWS') {
          text(identity.arn, 'workloadIdentity.arn');
          if (identity.issuer !== undefined) text(identity.issuer, 'workloadIdentity.issuer');
        } else {
          throw new TypeError("workloadIdentity.type must be 'OIDC' or 'AWS'");
        }
        const user: SnowflakeUser = Object.freeze({ ...init, name, workloadIdentity: Object.freeze({ ...identity }) });
        snowflakeUsers.set(name, user);
        return user;
      },
      removeUser: (name) => snowflakeUsers.delete(name.toUpperCase()),
      listUsers: () => [...snowflakeUsers.values()],
    },

    oidc: {
      addRule(init: OidcTrustRuleInit) {
        const grants: OidcGrant[] = init.grants ?? ['token-exchange', 'jwt-bearer'];
        for (const grant of grants) {
          if (grant !== 'token-exchange' && grant !== 'jwt-bearer') {
            throw new TypeError(`grants may hold 'token-exchange' and 'jwt-bearer', got ${String(grant)}`);
          }
        }
        if (init.client !== undefined) text(init.client.id, 'client.id');
        const rule: OidcTrustRule = Object.freeze({
          ...init,
          name: text(init.name, 'name'),
          issuer: text(init.issuer, 'issuer'),
          subject: text(init.subject, 'subject'),
          audience: text(init.audience, 'audience'),
          grants,
        });
        oidcRules.set(rule.name, rule);
        return rule;
      },
      removeRule: (name) => oidcRules.delete(name),
      listRules: () => [...oidcRules.values()],
    },

    vault: {
      addMount(init: VaultMountInit) {
        const mount: VaultMount = Object.freeze({
          path: text(init.path, 'path').replace(/^\/+|\/+$/g, ''),
          boundIssuer: init.boundIssuer ?? context.issuer,
          supportedAlgs: Object.freeze(
            init.supportedAlgs === undefined ? ['RS256'] : list(init.supportedAlgs, 'supportedAlgs'),
          ) as string[],
        });
        vaultMounts.set(mount.path, mount);
        return mount;
      },
      addRole(init: VaultRoleInit) {
        const mount = (init.mount ?? EMULATOR_DEFAULTS.vault.mount).replace(/^\/+|\/+$/g, '');
        if (!vaultMounts.has(mount)) state.vault.addMount({ path: mount });
        const role: VaultRole = Object.freeze({
          name: text(init.name, 'name'),
          mount,
          boundAudiences: Object.freeze(list(init.boundAudiences, 'boundAudiences')) as string[],
          ...(init.boundSubject === undefined ? {} : { boundSubject: text(init.boundSubject, 'boundSubject') }),
          boundClaims: Object.freeze({ ...init.boundClaims }),
          userClaim: init.userClaim ?? 'sub',
          tokenPolicies: Object.freeze(list(init.tokenPolicies, 'tokenPolicies')) as string[],
          tokenTtlSeconds: init.tokenTtlSeconds ?? 3600,
        });
        vaultRoles.set(`${mount}/${role.name}`, role);
        return role;
      },
      removeRole: (name, mount = EMULATOR_DEFAULTS.vault.mount) => vaultRoles.delete(`${mount}/${name}`),
      listRoles: () => [...vaultRoles.values()],
    },

    reset() {
      principals.clear();
      federationEnabled = true;
      entraApps.clear();
      providers.clear();
      serviceAccounts.clear();
      snowflakeUsers.clear();
      oidcRules.clear();
      vaultMounts.clear();
      vaultRoles.clear();
      if (context.defaults) installDefaults(state, context);
    },

    principalByAccessKey: (accessKeyId) => principals.get(accessKeyId),
    entraTenantExists: (tenant) =>
      [...entraApps.values()].some((app) => app.tenantId.toLowerCase() === tenant.toLowerCase()),
    entraTenantId: (tenant) =>
      [...entraApps.values()].find((app) => app.tenantId.toLowerCase() === tenant.toLowerCase())?.tenantId,
    entraApp: (tenant, clientId) => entraApps.get(entraKey(tenant, clientId)),
    googleProvider: (resourceName) => providers.get(resourceName),
    serviceAccount: (email) => {
      const account = serviceAccounts.get(email);
      return account && { email: account.email, members: [...account.members] };
    },
    snowflakeUser: (name) => snowflakeUsers.get(name.toUpperCase()),
    vaultMount: (path) => vaultMounts.get(path),
    vaultRole: (mount, name) => vaultRoles.get(`${mount}/${name}`),
  };
  state.reset();
  return state;
}

/** The rules behind `EMULATOR_DEFAULTS`: the default principal is trusted everywhere. */
function installDefaults(state: TrustState, context: TrustContext): void {
  const d = EMULATOR_DEFAULTS;
  state.aws.addPrincipal({
    accessKeyId: d.accessKeyId,
    secretAccessKey: d.secretAccessKey,
    arn: d.roleArn,
    sessionName: d.roleSessionName,
    principalTags: { project: 'keyless' },
    sessionExpiresAt: new Date(context.clock.ms() + DEFAULT_SESSION_HOURS * 3600 * 1000),
  });
  state.entra.addApp({
    clientId: d.azure.clientId,
    tenantId: d.azure.tenantId,
    displayName: 'keyless-demo',
    roles: [...d.azure.roles],
    federatedCredentials: [
      {
        name: d.azure.federatedCredentialName,
        issuer: context.issuer,
        subject: d.roleArn,
        audiences: [d.azure.audience],
      },
    ],
  });
  state.google.addProvider({
    projectNumber: d.google.projectNumber,
    poolId: d.google.poolId,
    providerId: d.google.providerId,
    issuer: context.issuer,
    attributeCondition: { awsAccounts: [d.accountId] },
  });
  state.google.addServiceAccount({
    email: d.google.serviceAccountEmail,
    members: [googlePrincipal(d.google.projectNumber, d.google.poolId, d.roleArn)],
  });
  state.snowflake.addUser({
    name: d.snowflake.user,
    workloadIdentity: { type: 'OIDC', issuer: context.issuer, subject: d.roleArn },
    defaultRole: d.snowflake.role,
    defaultWarehouse: d.snowflake.warehouse,
  });
  state.snowflake.addUser({
    name: d.snowflake.awsUser,
    workloadIdentity: { type: 'AWS', arn: d.roleArn, issuer: context.issuer },
    defaultRole: d.snowflake.role,
    defaultWarehouse: d.snowflake.warehouse,
  });
  state.oidc.addRule({
    name: d.oidc.rule,
    issuer: context.issuer,
    subject: d.roleArn,
    audience: context.oidcIssuer,
    client: { id: d.oidc.clientId },
  });
  state.vault.addMount({ path: d.vault.mount, boundIssuer: context.issuer });
  state.vault.addRole({
    name: d.vault.role,
    mount: d.vault.mount,
    boundAudiences: [d.vault.audience],
    boundSubject: d.roleArn,
    boundClaims: { '/https:~1~1sts.amazonaws.com~1/aws_account': d.accountId },
    userClaim: 'sub',
    tokenPolicies: [...d.vault.policies],
  });
}
