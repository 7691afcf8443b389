import { createHash } from 'node:crypto';
import type { LabContext } from '../context.js';
import { EMULATOR_DEFAULTS } from '../defaults.js';
import {
  bearerToken,
  type EmulatorRequest,
  type EmulatorResponse,
  type Route,
  retryAfter,
  type ServiceHandler,
  xmlText,
} from '../http-server.js';
import { checkEntraAccessToken } from './entra.js';

// The resource Entra issues Azure Storage tokens for (scope `https://storage.azure.com/.default`).
const STORAGE_RESOURCE = 'https://storage.azure.com';
// Azure RBAC roles that grant reading blobs and listing containers.
const READER_ROLES = ['Storage Blob Data Reader', 'Storage Blob Data Contributor', 'Storage Blob Data Owner'];
const CREATED = new Date('2025-11-19T00:00:00Z');

/** The emulated account's fixed content. */
const CONTAINERS: Record<string, Record<string, string>> = {
  [EMULATOR_DEFAULTS.azure.container]: {
    'hello.txt': 'Hello from the keyless emulator: this blob was read with no stored secret.\n',
  },
};

const AUTH_DETAIL = {
  malformed: 'The access token is malformed.',
  signature: 'Signature validation failed. Unable to match key.',
  issuer: 'Issuer validation failed. Issuer did not match.',
  audience: 'Audience validation failed. Audience did not match.',
  expired: 'Lifetime validation failed. The token is expired.',
} as const;

function etag(value: string): string {
  return `"0x8DE${createHash('sha256').update(value).digest('hex').slice(0, 12).toUpperCase()}"`;
}

/** Blob service (path-style account URL, as for an IP host): list containers, list blobs, read a blob. */
export function createBlobService(ctx: LabContext): ServiceHandler {
  const account = EMULATOR_DEFAULTS.azure.storageAccount;
  const tenantId = EMULATOR_DEFAULTS.azure.tenantId;

  const baseHeaders = (request: EmulatorRequest): Record<string, string> => ({
    'x-ms-request-id': request.requestId,
    'x-ms-version': request.headers['x-ms-version'] ?? '2025-11-05',
    date: ctx.clock.now().toUTCString(),
  });

  const storageError = (
    request: EmulatorRequest,
    status: number,
    code: string,
    message: string,
    extra: { detail?: string; headers?: Record<string, string> } = {},
  ): EmulatorResponse => ({
    status,
    headers: { 'content-type': 'application/xml', 'x-ms-error-code': code, ...baseHeaders(request), ...extra.headers },
    body: `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${xmlText(`${message}\nRequestId:${request.requestId}\nTime:${ctx.clock.now().toISOString()}`)}</Message>${extra.detail ? `<AuthenticationErrorDetail>${xmlText(extra.detail)}</AuthenticationErrorDetail>` : ''}</Error>`,
    errorCode: code,
  });

  // The bearer challenge @azure/storage-blob follows to learn the tenant (and then asks its credential again).
  const challenge = () => ({
    'www-authenticate': `Bearer authorization_uri=${ctx.origins.entra}/${tenantId}/oauth2/authorize resource_id=${STORAGE_RESOURCE}`,
  });

  const authorize = async (request: EmulatorRequest): Promise<EmulatorResponse | undefined> => {
    if (!request.headers.authorization) {
      return storageError(
        request,
        401,
        'NoAuthenticationInformation',
        'Server failed to authenticate the request. Please refer to the information in the www-authenticate header.',
        { headers: challenge() },
      );
    }
    const token = bearerToken(request);
    if (!token) {
      return storageError(
        request,
        403,
        'AuthenticationFailed',
        'Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.',
      );
    }
    const check = await checkEntraAccessToken(ctx, token, STORAGE_RESOURCE, tenantId);
    if (!check.ok) {
      return storageError(
        request,
        401,
        'InvalidAuthenticationInfo',
        'Server failed to authenticate the request. Please refer to the information in the www-authenticate header.',
        { detail: AUTH_DETAIL[check.reason], headers: challenge() },
      );
    }
    if (!check.app?.roles.some((role) => READER_ROLES.includes(role))) {
      return storageError(
        request,
        403,
        'AuthorizationPermissionMismatch',
        'This request is not authorized to perform this operation using this permission.',
      );
    }
    return undefined;
  };

  const guarded =
    (handler: (request: EmulatorRequest) => EmulatorResponse) =>
    async (request: EmulatorRequest): Promise<EmulatorResponse> =>
      (await authorize(request)) ?? handler(request);

  const serviceEndpoint = () => `${ctx.origins.blob}/${account}/`;

  const listContainers = (request: EmulatorRequest): EmulatorResponse => {
    const prefix = request.url.searchParams.get('prefix') ?? '';
    const items = Object.keys(CONTAINERS)
      .filter((name) => name.startsWith(prefix))
      .map(
        (name) =>
          `<Container><Name>${xmlText(name)}</Name><Properties><Last-Modified>${CREATED.toUTCString()}</Last-Modified><Etag>${etag(name)}</Etag><LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState><DefaultEncryptionScope>$account-encryption-key</DefaultEncryptionScope><DenyEncryptionScopeOverride>false</DenyEncryptionScopeOverride><HasImmutabilityPolicy>false</HasImmutabilityPolicy><HasLegalHold>false</HasLegalHold><ImmutableStorageWithVersioningEnabled>false</ImmutableStorageWithVersioningEnabled></Properties></Container>`,
      )
      .join('');
    return xml(
      request,
      `<EnumerationResults ServiceEndpoint="${xmlText(serviceEndpoint())}">${prefix ? `<Prefix>${xmlText(prefix)}</Prefix>` : ''}<Containers>${items}</Containers><NextMarker /></EnumerationResults>`,
    );
  };

  const listBlobs =
    (container: string) =>
    (request: EmulatorRequest): EmulatorResponse => {
      const blobs = CONTAINERS[container];
      if (!blobs) return storageError(request, 404, 'ContainerNotFound', 'The specified container does not exist.');
      const prefix = request.url.searchParams.get('prefix') ?? '';
      const items = Object.entries(blobs)
        .filter(([name]) => name.startsWith(prefix))
        .map(
          ([name, content]) =>
            `<Blob><Name>${xmlText(name)}</Name><Properties><Creation-Time>${CREATED.toUTCString()}</Creation-Time><Last-Modified>${CREATED.toUTCString()}</Last-Modified><Etag>${etag(content)}</Etag><Content-Length>${Buffer.byteLength(content)}</Content-Length><Content-Type>text/plain</Content-Type><Content-Encoding /><Content-Language /><Content-CRC64 /><Content-MD5>${createHash('md5').update(content).digest('base64')}</Content-MD5><Cache-Control /><Content-Disposition /><BlobType>BlockBlob</BlobType><AccessTier>Hot</AccessTier><AccessTierInferred>true</AccessTierInferred><LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState><ServerEncrypted>true</ServerEncrypted></Properties><OrMetadata /></Blob>`,
        )
        .join('');
      return xml(
        request,
        `<EnumerationResults ServiceEndpoint="${xmlText(serviceEndpoint())}" ContainerName="${xmlText(container)}">${prefix ? `<Prefix>${xmlText(prefix)}</Prefix>` : ''}<Blobs>${items}</Blobs><NextMarker /></EnumerationResults>`,
      );
    };

  const getBlob =
    (container: string, name: string) =>
    (request: EmulatorRequest): EmulatorResponse => {
      const blobs = CONTAINERS[container];
      if (!blobs) return storageError(request, 404, 'ContainerNotFound', 'The specified container does not exist.');
      const content = blobs[name];
      if (content === undefined)
        return storageError(request, 404, 'BlobNotFound', 'The specified blob does not exist.');
      const bytes = Buffer.from(content);
      const headers: Record<string, string> = {
        ...baseHeaders(request),
        'content-type': 'text/plain',
        etag: etag(content),
        'last-modified': CREATED.toUTCString(),
        'accept-ranges': 'bytes',
        'x-ms-blob-type': 'BlockBlob',
        'x-ms-creation-time': CREATED.toUTCString(),
        'x-ms-lease-status': 'unlocked',
        'x-ms-lease-state': 'available',
        'x-ms-server-encrypted': 'true',
        'x-ms-access-tier': 'Hot',
      };
      const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers['x-ms-range'] ?? request.headers.range ?? '');
      if (range) {
        const start = Number(range[1]);
        const end = Math.min(range[2] ? Number(range[2]) : bytes.length - 1, bytes.length - 1);
        if (start >= bytes.length) {
          return storageError(
            request,
            416,
            'InvalidRange',
            'The range specified is invalid for the current size of the resource.',
          );
        }
        const slice = bytes.subarray(start, end + 1).toString();
        return {
          status: 206,
          headers: { ...headers, 'content-range': `bytes ${start}-${end}/${bytes.length}` },
          body: slice,
        };
      }
      return { status: 200, headers, body: content };
    };

  const xml = (request: EmulatorRequest, body: string): EmulatorResponse => ({
    status: 200,
    headers: { 'content-type': 'application/xml', ...baseHeaders(request) },
    body: `<?xml version="1.0" encoding="utf-8"?>${body}`,
  });

  const route = (request: EmulatorRequest): Route | undefined => {
    const [accountName, container, ...blobPath] = request.url.pathname
      .split('/')
      .filter(Boolean)
      .map(decodeURIComponent);
    if (accountName !== account || (request.method !== 'GET' && request.method !== 'HEAD')) return undefined;
    const query = request.url.searchParams;
    if (container === undefined && query.get('comp') === 'list') {
      return { endpoint: 'blob:list-containers', handle: guarded(listContainers) };
    }
    if (
      container !== undefined &&
      blobPath.length === 0 &&
      query.get('restype') === 'container' &&
      query.get('comp') === 'list'
    ) {
      return { endpoint: 'blob:list-blobs', handle: guarded(listBlobs(container)) };
    }
    if (container !== undefined && blobPath.length > 0 && !query.has('comp')) {
      return { endpoint: 'blob:get-blob', handle: guarded(getBlob(container, blobPath.join('/'))) };
    }
    return undefined;
  };

  return {
    name: 'blob',
    route,
    failure(failure, _route, request) {
      const status = failure.kind === 'throttle' ? (failure.status ?? 503) : (failure.status ?? 503);
      const [code, message] =
        failure.kind === 'throttle' || status === 503
          ? ['ServerBusy', 'The server is currently unable to receive requests. Please retry your request.']
          : ['InternalError', 'The server encountered an internal error. Please retry the request.'];
      return storageError(request, status, code, message, { headers: retryAfter(failure) });
    },
    notFound(request) {
      if (request.method === 'OPTIONS')
        return { status: 200, headers: { ...baseHeaders(request), allow: 'GET, HEAD, OPTIONS' } };
      const [accountName] = request.url.pathname.split('/').filter(Boolean);
      if (accountName !== account) {
        return storageError(request, 404, 'ResourceNotFound', 'The specified resource does not exist.');
      }
      return storageError(
        request,
        400,
        'UnsupportedQueryParameter',
        'One of the query parameters specified in the request URI is not supported by the keyless emulator.',
      );
    },
  };
}
