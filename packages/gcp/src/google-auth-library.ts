import { readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { invalidConfig, KeylessError, showValue } from '@keyless/core';

declare const __KEYLESS_CJS__: boolean | undefined;

const PACKAGE = 'google-auth-library';
/** Majors whose `AuthClient` returns `Headers` from `getRequestHeaders()` (v9 returned a plain object). */
const SUPPORTED_MAJORS = [10, 11];

export type GoogleAuthLibraryModule = typeof import('google-auth-library');

/** One installed copy of google-auth-library. */
export interface GoogleAuthLibraryCopy {
  version: string;
  /** Real path of the package directory. */
  path: string;
}

interface LoadedLibrary extends GoogleAuthLibraryCopy {
  module: GoogleAuthLibraryModule;
}

let loaded: LoadedLibrary | undefined;

/**
 * The google-auth-library keyless builds its client from: the copy a `require('google-auth-library')`
 * next to @keyless/gcp gets (the peer dependency, shared with the app's Google client libraries when
 * versions allow). Loaded on first use, synchronously, because `createGoogleAuthClient` returns a client.
 * google-auth-library is CommonJS only, so `require` and `import` give the same copy.
 */
export function loadGoogleAuthLibrary(): LoadedLibrary {
  if (loaded) return loaded;
  const require = localRequire();
  let entry: string;
  try {
    entry = require.resolve(PACKAGE);
  } catch (cause) {
    throw new KeylessError({
      code: 'INVALID_CONFIG',
      provider: 'gcp',
      message: `createGoogleAuthClient needs ${PACKAGE} (^10 or ^11), and it is not installed.`,
      hint: `Install the version your Google client library uses: \`npm ls ${PACKAGE}\` shows it; then \`npm install ${PACKAGE}@<that version>\`.`,
      cause,
    });
  }
  const copy = packageCopy(entry, PACKAGE);
  const major = Number(copy.version.split('.')[0]);
  if (!(major >= SUPPORTED_MAJORS[0]!)) {
    throw invalidConfig(
      'gcp',
      `@keyless/gcp needs ${PACKAGE} ^10 or ^11, found ${copy.version} at ${copy.path}`,
      `Google client libraries built on ${PACKAGE} 9 or older (e.g. @google-cloud/storage 7) read request headers as a plain object and would send no Authorization header. Upgrade the client library (e.g. @google-cloud/storage 8) and ${PACKAGE}.`,
    );
  }
  loaded = { ...copy, module: require(PACKAGE) as GoogleAuthLibraryModule };
  return loaded;
}

/** Where a client library's google-auth-library is looked for. */
export interface CheckGoogleAuthLibraryOptions {
  /** Resolve the client library from this directory (or file). Default: `process.cwd()`. */
  from?: string;
}

/** The copy keyless uses and the one the client library uses: the same one. */
export interface GoogleAuthLibraryCheck {
  keyless: GoogleAuthLibraryCopy;
  /** Present when a package name was checked. */
  clientLibrary?: { name: string; version: string; path: string; googleAuthLibrary: GoogleAuthLibraryCopy };
}

/**
 * Checks that a Google client library uses the same google-auth-library as the clients keyless builds.
 * An `AuthClient` from one copy handed to a client library built on another can silently send no
 * `Authorization` header (a v10 client inside @google-cloud/storage 7, which uses v9), and with two
 * copies of one major `GoogleAuth.getCredentials()` cannot see the service account (its `instanceof`
 * checks fail), which breaks signed URLs.
 *
 * Give either a package name (`'@google-cloud/storage'`: resolved from `options.from`, then its own
 * `google-auth-library` is resolved from there) or a live object: a `GoogleAuth`, or a client that holds
 * one as `authClient` (`new Storage(...)`, most `@google-cloud/*` clients). Throws `INVALID_CONFIG`
 * naming both copies when they differ.
 */
export function checkGoogleAuthLibrary(
  clientLibrary: string | object,
  options: CheckGoogleAuthLibraryOptions = {},
): GoogleAuthLibraryCheck {
  const keylessLibrary = loadGoogleAuthLibrary();
  const keyless = { version: keylessLibrary.version, path: keylessLibrary.path };
  if (typeof clientLibrary === 'string') return checkPackage(clientLibrary, keyless, options);
  if (typeof clientLibrary !== 'object' || clientLibrary === null) {
    throw invalidConfig(
      'gcp',
      `checkGoogleAuthLibrary needs a package name or a GoogleAuth / client object, got ${showValue(clientLibrary)}`,
    );
  }
  const { GoogleAuth } = keylessLibrary.module;
  const candidate = (clientLibrary as { authClient?: unknown }).authClient ?? clientLibrary;
  if (candidate instanceof GoogleAuth) return { keyless };
  const looksLikeGoogleAuth =
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof (candidate as { getClient?: unknown }).getClient === 'function' &&
    typeof (candidate as { getRequestHeaders?: unknown }).getRequestHeaders === 'function';
  if (!looksLikeGoogleAuth) {
    throw invalidConfig(
      'gcp',
      'checkGoogleAuthLibrary got an object that is neither a GoogleAuth nor a client holding one as authClient',
      'Pass the client library instance (e.g. new Storage(...)), its authClient, or the package name (e.g. "@google-cloud/storage").',
    );
  }
  throw mismatch(
    'This Google client uses a GoogleAuth from a different copy of google-auth-library',
    keyless,
    'another copy (its version cannot be read from the object)',
  );
}

function checkPackage(
  name: string,
  keyless: GoogleAuthLibraryCopy,
  options: CheckGoogleAuthLibraryOptions,
): GoogleAuthLibraryCheck {
  const from = options.from ?? process.cwd();
  const fromFile = join(from, 'noop.js');
  let entry: string;
  try {
    entry = createRequire(fromFile).resolve(name);
  } catch (cause) {
    throw new KeylessError({
      code: 'INVALID_CONFIG',
      provider: 'gcp',
      message: `checkGoogleAuthLibrary could not resolve ${name} from ${from}.`,
      hint: 'Pass the package name your code imports, and options.from if the code lives elsewhere than the current directory.',
      cause,
    });
  }
  const library = packageCopy(entry, name);
  let theirs: GoogleAuthLibraryCopy;
  try {
    theirs = packageCopy(createRequire(entry).resolve(PACKAGE), PACKAGE);
  } catch (cause) {
    throw new KeylessError({
      code: 'INVALID_CONFIG',
      provider: 'gcp',
      message: `${name} ${library.version} does not resolve ${PACKAGE}, so it does not take an AuthClient from it.`,
      cause,
    });
  }
  const result = { keyless, clientLibrary: { name, ...library, googleAuthLibrary: theirs } };
  if (theirs.path === keyless.path) return result;
  throw mismatch(
    `${name} ${library.version} uses a different copy of ${PACKAGE}`,
    keyless,
    `${theirs.version} at ${theirs.path}`,
    theirs.version,
  );
}

function mismatch(
  message: string,
  keyless: GoogleAuthLibraryCopy,
  theirs: string,
  theirVersion?: string,
): KeylessError {
  const keylessMajor = keyless.version.split('.')[0];
  const theirMajor = theirVersion?.split('.')[0];
  const consequence =
    theirMajor !== undefined && theirMajor !== keylessMajor
      ? `With different majors the client library may send requests without an Authorization header.`
      : 'Tokens still flow, but GoogleAuth.getCredentials() cannot see the service account (signed URLs fail).';
  return invalidConfig(
    'gcp',
    `${message}: ${theirs}; keyless built its AuthClient from ${PACKAGE} ${keyless.version} at ${keyless.path}. ${consequence}`,
    `Make both resolve one copy: \`npm ls ${PACKAGE}\` (or \`pnpm why ${PACKAGE}\`) lists them; depend on the ${PACKAGE} version your client library needs in your app (keyless takes it as a peer dependency), then \`npm dedupe\`.`,
  );
}

/** Version and real directory of the package that owns `entry` (walks up to its package.json). */
function packageCopy(entry: string, name: string): GoogleAuthLibraryCopy {
  for (let dir = dirname(entry); ; dir = dirname(dir)) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      if (manifest.name === name && typeof manifest.version === 'string') {
        return { version: manifest.version, path: realpathSync(dir) };
      }
    } catch {
      // no readable package.json here: keep walking up
    }
    if (dirname(dir) === dir) throw new Error(`no package.json of ${name} above ${entry}`);
  }
}

function localRequire(): NodeJS.Require {
  // The CommonJS build has its own `require`; the ESM build and the sources (tests) make one.
  if (typeof __KEYLESS_CJS__ !== 'undefined' && __KEYLESS_CJS__) return require;
  return createRequire(import.meta.url);
}
