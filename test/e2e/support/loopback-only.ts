/**
 * Preloaded into the example processes the e2e tests start (`node --import <this file>`): any TCP
 * connection or DNS lookup for a host other than loopback is refused and reported on stderr with
 * BLOCKED_MARKER, which the tests look for. (nock guards the test process itself; it does not reach
 * child processes.)
 */
import dns from 'node:dns';
import net from 'node:net';

// examples.test.ts looks for this text.
const BLOCKED_MARKER = '[loopback-only] blocked';

const LOOPBACK = /^(?:localhost|127(?:\.\d{1,3}){3}|::1|\[::1\]|::ffff:127(?:\.\d{1,3}){3})$/i;

function report(what: string): Error {
  process.stderr.write(`${BLOCKED_MARKER} ${what}\n`);
  return Object.assign(new Error(`${BLOCKED_MARKER} ${what}`), { code: 'ECONNREFUSED' });
}

/** The host a `socket.connect(...)` call aims at, or undefined for a local (IPC) socket. */
function targetHost(args: unknown[]): string | undefined {
  // net.connect() passes its normalised arguments as one array.
  const list = Array.isArray(args[0]) ? (args[0] as unknown[]) : args;
  const [first, second] = list;
  if (typeof first === 'object' && first !== null) {
    const options = first as { path?: unknown; host?: unknown };
    if (options.path !== undefined) return undefined;
    return typeof options.host === 'string' ? options.host : 'localhost';
  }
  if (typeof first === 'string' && !/^\d+$/.test(first)) return undefined; // a pipe path
  return typeof second === 'string' ? second : 'localhost';
}

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]) {
  const host = targetHost(args);
  if (host !== undefined && !LOOPBACK.test(host)) {
    const error = report(`connection to ${host}`);
    process.nextTick(() => this.destroy(error));
    return this;
  }
  return (connect as (...a: unknown[]) => net.Socket).apply(this, args);
} as typeof net.Socket.prototype.connect;

const lookup = dns.lookup;
dns.lookup = function guardedLookup(hostname: string, ...rest: unknown[]) {
  if (!LOOPBACK.test(hostname)) {
    const callback = rest.at(-1);
    const error = report(`DNS lookup of ${hostname}`);
    if (typeof callback === 'function') process.nextTick(() => callback(error));
    return undefined;
  }
  return (lookup as (...a: unknown[]) => unknown)(hostname, ...rest);
} as typeof dns.lookup;

const lookupPromise = dns.promises.lookup;
dns.promises.lookup = async function guardedLookupPromise(hostname: string, ...rest: unknown[]) {
  if (!LOOPBACK.test(hostname)) throw report(`DNS lookup of ${hostname}`);
  return (lookupPromise as (...a: unknown[]) => Promise<unknown>)(hostname, ...rest);
} as typeof dns.promises.lookup;
