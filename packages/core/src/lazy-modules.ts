declare const __KEYLESS_CJS__: boolean | undefined;

const isCjsBuild = typeof __KEYLESS_CJS__ !== 'undefined' && __KEYLESS_CJS__;

/**
 * Loads `@aws-sdk/client-sts` on first use, so that importing keyless stays cheap. The CommonJS build
 * requires the CommonJS copy, the one a user's own `require('@aws-sdk/client-sts')` gets; `import()`
 * there would load the ESM copy as a second SDK.
 */
export async function loadSts(): Promise<typeof import('@aws-sdk/client-sts')> {
  return isCjsBuild ? require('@aws-sdk/client-sts') : import('@aws-sdk/client-sts');
}

export async function loadSharedIniFileLoader(): Promise<typeof import('@smithy/shared-ini-file-loader')> {
  return isCjsBuild ? require('@smithy/shared-ini-file-loader') : import('@smithy/shared-ini-file-loader');
}
