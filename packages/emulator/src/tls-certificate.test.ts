import { X509Certificate } from 'node:crypto';
import { createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createServerCertificate } from './tls-certificate.js';

function get(port: number, host: string, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host, port, path: '/', ca, agent: false, servername: host === '127.0.0.1' ? undefined : host },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('createServerCertificate', () => {
  it('makes a CA and a leaf for 127.0.0.1, ::1 and localhost that the CA signs', () => {
    const { caPem, certPem, keyPem } = createServerCertificate(new Date('2026-01-01T00:00:00Z'));
    const ca = new X509Certificate(caPem);
    const leaf = new X509Certificate(certPem);
    expect(ca.ca).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(ca.verify(ca.publicKey)).toBe(true);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.checkIssued(ca)).toBe(true);
    expect(leaf.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(new Date(leaf.validFrom).getTime()).toBeLessThan(Date.parse('2026-01-01T00:00:00Z'));
    expect(new Date(leaf.validTo).getTime()).toBeGreaterThan(Date.parse('2026-01-30T00:00:00Z'));
    expect(keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(caPem).not.toContain('PRIVATE');
  });

  it('is accepted by Node TLS with the CA, on the IP and on localhost, and refused with another CA', async () => {
    const { caPem, certPem, keyPem } = createServerCertificate();
    const server = createServer({ cert: certPem, key: keyPem }, (_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      expect(await get(port, '127.0.0.1', caPem)).toBe(200);
      expect(await get(port, 'localhost', caPem)).toBe(200);
      await expect(get(port, '127.0.0.1', createServerCertificate().caPem)).rejects.toThrow();
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
