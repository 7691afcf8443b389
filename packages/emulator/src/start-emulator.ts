import type { Emulator, EmulatorOptions } from './types.js';

const SERVICES_WITH_PORTS = ['entra', 'blob', 'google', 'snowflake', 'oidc', 'vault'] as const;

function checkPort(name: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535) {
    throw new TypeError(`${name} must be an integer 0..65535 (0: any free port), got ${String(value)}`);
  }
}

/** Checks every option before anything is loaded or bound. */
export function validateEmulatorOptions(options: EmulatorOptions): void {
  if (typeof options !== 'object' || options === null) throw new TypeError('startEmulator options must be an object');
  checkPort('port', options.port);
  if (options.ports !== undefined) {
    if (typeof options.ports !== 'object' || options.ports === null) throw new TypeError('ports must be an object');
    for (const name of Object.keys(options.ports)) {
      if (!(SERVICES_WITH_PORTS as readonly string[]).includes(name)) {
        throw new TypeError(`ports.${name} is not a service; ports may set ${SERVICES_WITH_PORTS.join(', ')}`);
      }
      checkPort(`ports.${name}`, options.ports[name as keyof typeof options.ports]);
    }
    const fixed = [options.port, ...Object.values(options.ports)].filter(
      (p): p is number => typeof p === 'number' && p > 0,
    );
    if (new Set(fixed).size !== fixed.length) throw new TypeError('port and ports must not repeat a port number');
  }
  if (
    options.region !== undefined &&
    (typeof options.region !== 'string' || !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(options.region))
  ) {
    throw new TypeError(`region must be an AWS region name like us-east-1, got ${String(options.region)}`);
  }
  if (
    options.maxTokenPayloadBytes !== undefined &&
    (!Number.isInteger(options.maxTokenPayloadBytes) || options.maxTokenPayloadBytes < 256)
  ) {
    throw new TypeError(`maxTokenPayloadBytes must be an integer >= 256, got ${String(options.maxTokenPayloadBytes)}`);
  }
}

/**
 * Starts the offline federation lab on 127.0.0.1: a local AWS STS and OIDC issuer, and Entra ID, Google,
 * Snowflake, OAuth 2.0 and Vault endpoints that verify its tokens like the real services. The servers and
 * their dependencies are loaded only now, so importing the package stays cheap.
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  validateEmulatorOptions(options);
  const { createLab } = await import('./lab.js');
  return createLab(options);
}
