/**
 * Imported first by every bench entry point (ES modules run their imports in order): pins the
 * environment so that no library reaches for the network on its own, and refuses any connection that
 * is not to 127.0.0.1, so a benchmark can never send traffic anywhere else.
 */
import net from 'node:net';

process.env.AWS_EC2_METADATA_DISABLED = 'true';
process.env.SNOWFLAKE_DISABLE_PLATFORM_DETECTION = 'true';
process.env.AWS_REGION = 'us-east-1';
for (const name of [
  'AZURE_AUTHORITY_HOST',
  'AZURE_REGIONAL_AUTHORITY_NAME',
  'MSAL_FORCE_REGION',
  'AZURE_TENANT_ID',
  'AZURE_CLIENT_ID',
  'GOOGLE_APPLICATION_CREDENTIALS',
  'HTTPS_PROXY',
  'HTTP_PROXY',
  'https_proxy',
  'http_proxy',
]) {
  delete process.env[name];
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const connect = net.Socket.prototype.connect;

/** The host a `Socket#connect` call is for: (options), (port, host), or net's normalized [options, cb]. */
function targetHost(args: unknown[]): { host: string | undefined; path: unknown } {
  let first = args[0];
  if (Array.isArray(first)) first = first[0];
  if (typeof first === 'object' && first !== null) {
    const { host, path } = first as { host?: string; path?: unknown };
    return { host, path };
  }
  if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    return { host: typeof args[1] === 'string' ? args[1] : undefined, path: undefined };
  }
  return { host: undefined, path: first };
}

// Every client (fetch/undici, node:http, node-fetch, axios, the AWS SDK) ends up in Socket#connect.
net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]) {
  const { host, path } = targetHost(args);
  const unixSocket = typeof path === 'string' && path.length > 0;
  if (!unixSocket && !LOOPBACK.has(host ?? 'localhost')) {
    throw new Error(`bench: refused a connection to ${String(host)}: benchmarks only talk to 127.0.0.1`);
  }
  return (connect as (...a: unknown[]) => net.Socket).apply(this, args);
} as typeof net.Socket.prototype.connect;
