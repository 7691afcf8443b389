import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GoogleAuth } from 'google-auth-library';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkGoogleAuthLibrary, loadGoogleAuthLibrary } from './google-auth-library.js';

const packageDir = dirname(dirname(fileURLToPath(import.meta.url)));

let dir: string;
beforeEach(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'keyless-gal-')));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A fake client library in `dir` with its own google-auth-library of `version`. */
async function fakeClientLibrary(version: string) {
  const library = join(dir, 'node_modules', 'fake-google-client');
  const nested = join(library, 'node_modules', 'google-auth-library');
  await mkdir(nested, { recursive: true });
  await writeFile(
    join(library, 'package.json'),
    JSON.stringify({ name: 'fake-google-client', version: '7.0.0', main: 'index.js' }),
  );
  await writeFile(join(library, 'index.js'), "module.exports = require('google-auth-library');");
  await writeFile(
    join(nested, 'package.json'),
    JSON.stringify({ name: 'google-auth-library', version, main: 'index.js' }),
  );
  await writeFile(
    join(nested, 'index.js'),
    'exports.GoogleAuth = class GoogleAuth { getClient() {} getRequestHeaders() {} };',
  );
  return { library, nested };
}

describe('loadGoogleAuthLibrary', () => {
  it('loads the copy next to @keyless/gcp, the one the app imports', () => {
    const loaded = loadGoogleAuthLibrary();
    expect(loaded.module.GoogleAuth).toBe(GoogleAuth);
    expect(loaded.version).toMatch(/^11\./);
  });
});

describe('checkGoogleAuthLibrary', () => {
  it('passes for a client library that resolves the same copy', () => {
    const result = checkGoogleAuthLibrary('@google-cloud/storage', { from: packageDir });
    expect(result.clientLibrary).toMatchObject({ name: '@google-cloud/storage', googleAuthLibrary: result.keyless });
    expect(result.clientLibrary?.version).toMatch(/^8\./);
  });

  it('passes for a GoogleAuth, or a client holding one, from the same copy', () => {
    expect(checkGoogleAuthLibrary(new GoogleAuth()).keyless.version).toMatch(/^11\./);
    expect(() => checkGoogleAuthLibrary({ authClient: new GoogleAuth() })).not.toThrow();
  });

  it('names both copies when a client library uses google-auth-library 9', async () => {
    const { nested } = await fakeClientLibrary('9.15.1');
    let error: unknown;
    try {
      checkGoogleAuthLibrary('fake-google-client', { from: dir });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'INVALID_CONFIG', provider: 'gcp' });
    const { message, hint } = error as { message: string; hint: string };
    expect(message).toContain(
      `fake-google-client 7.0.0 uses a different copy of google-auth-library: 9.15.1 at ${nested}`,
    );
    expect(message).toContain('keyless built its AuthClient from google-auth-library 11.');
    expect(message).toContain('without an Authorization header');
    expect(hint).toContain('npm ls google-auth-library');
  });

  it('refuses a GoogleAuth from another copy', async () => {
    const { library } = await fakeClientLibrary('9.15.1');
    const { createRequire } = await import('node:module');
    const other = createRequire(join(library, 'index.js'))('google-auth-library') as { GoogleAuth: new () => object };
    expect(() => checkGoogleAuthLibrary({ authClient: new other.GoogleAuth() })).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringContaining('different copy') }),
    );
  });

  it('says when the client library cannot be found, or takes no AuthClient', async () => {
    expect(() => checkGoogleAuthLibrary('no-such-client-library', { from: dir })).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringContaining('could not resolve') }),
    );
    expect(() => checkGoogleAuthLibrary({})).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
  });
});
