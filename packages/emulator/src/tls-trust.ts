import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import type { EmulatorTls } from './types.js';

const normalize = (pem: string) => pem.replace(/\s+/g, '');

export interface TlsTrust {
  api: EmulatorTls;
  trust(): void;
  untrust(): void;
  /** The CA file written by `writeCaFile`, if any. */
  caFile(): string | undefined;
  /** Removes a CA file the emulator created itself. */
  dispose(): Promise<void>;
}

/**
 * Trust in the emulator's CA, for this process (Node's default CA store, which `fetch`, `https` and the
 * Azure SDK use) or for child processes (a `NODE_EXTRA_CA_CERTS` file).
 */
export function createTlsTrust(ca: string): TlsTrust {
  let trusted = false;
  let file: { path: string; owned: boolean } | undefined;

  const trust = () => {
    if (trusted) return;
    // tls.setDefaultCACertificates: Node >= 22.19 and >= 24.5.
    if (typeof tls.setDefaultCACertificates !== 'function' || typeof tls.getCACertificates !== 'function') {
      throw new Error(
        `tls.trust() needs Node >= 22.19 or >= 24.5 (tls.setDefaultCACertificates); this is ${process.version}. Write the CA with tls.writeCaFile() and start node with NODE_EXTRA_CA_CERTS instead.`,
      );
    }
    tls.setDefaultCACertificates([...tls.getCACertificates('default'), ca]);
    trusted = true;
  };
  const untrust = () => {
    if (!trusted) return;
    const mine = normalize(ca);
    tls.setDefaultCACertificates(tls.getCACertificates('default').filter((pem) => normalize(pem) !== mine));
    trusted = false;
  };

  return {
    trust,
    untrust,
    caFile: () => file?.path,
    async dispose() {
      if (file?.owned) await rm(file.path, { force: true });
      file = undefined;
    },
    api: {
      ca,
      trust,
      untrust,
      async writeCaFile(path) {
        // NODE_EXTRA_CA_CERTS names one file: keep what the environment already trusts in it.
        let existing = '';
        const inherited = process.env.NODE_EXTRA_CA_CERTS;
        if (inherited && inherited !== file?.path) {
          existing = await readFile(inherited, 'utf8').catch(() => '');
        }
        const target = path ?? join(tmpdir(), `keyless-emulator-ca-${randomBytes(6).toString('hex')}.pem`);
        await writeFile(target, `${ca}${existing ? `\n${existing}` : ''}`, { mode: 0o644 });
        if (file?.owned && file.path !== target) await rm(file.path, { force: true });
        file = { path: target, owned: path === undefined };
        return target;
      },
    },
  };
}
