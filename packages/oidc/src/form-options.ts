import { invalidConfig, showValue } from '@keyless/core';

/** A string or a non-empty list of non-empty strings; a list becomes repeated form fields. */
export function checkStringList(
  name: string,
  value: unknown,
  { uri = false }: { uri?: boolean } = {},
): string | readonly string[] | undefined {
  if (value === undefined) return undefined;
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0) {
    throw invalidConfig('oidc', `${name} must be a string or a non-empty array of strings, got ${showValue(value)}`);
  }
  for (const [index, item] of list.entries()) {
    const label = typeof value === 'string' ? name : `${name}[${index}]`;
    if (typeof item !== 'string' || item.length === 0) {
      throw invalidConfig('oidc', `${label} must be a non-empty string, got ${showValue(item)}`);
    }
    if (uri && !isAbsoluteUriWithoutFragment(item)) {
      // RFC 8693 §2.1: resource is an absolute URI without a fragment.
      throw invalidConfig('oidc', `${label} must be an absolute URI without a fragment, got ${showValue(item)}`);
    }
  }
  return typeof value === 'string' ? value : [...(list as string[])];
}

/** `scope` (RFC 6749 §3.3): a space-separated string, or a list of scope tokens joined with spaces. */
export function checkScope(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') {
    if (value.trim() === '') throw invalidConfig('oidc', `${name} must not be empty`);
    return value.trim().split(/\s+/).join(' ');
  }
  if (!Array.isArray(value) || value.length === 0) {
    throw invalidConfig(
      'oidc',
      `${name} must be a string or a non-empty array of scope names, got ${showValue(value)}`,
    );
  }
  for (const [index, item] of value.entries()) {
    if (typeof item !== 'string' || !/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(item)) {
      throw invalidConfig(
        'oidc',
        `${name}[${index}] must be one scope name (printable ASCII, no spaces or quotes), got ${showValue(item)}`,
      );
    }
  }
  return value.join(' ');
}

/**
 * Extra form fields for vendor deviations. Fields keyless sets itself (the grant, the subject token,
 * client authentication, and fields that have their own option) cannot be overridden here.
 */
export function checkExtraParams(
  name: string,
  value: unknown,
  reserved: ReadonlySet<string>,
): Record<string, string | readonly string[]> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidConfig('oidc', `${name} must be an object of form fields (string or string[] values)`);
  }
  const out: Record<string, string | readonly string[]> = {};
  for (const [key, item] of Object.entries(value)) {
    if (reserved.has(key)) {
      throw invalidConfig('oidc', `${name}.${key} is set by keyless (or by its own option) and cannot be overridden`);
    }
    const ok = typeof item === 'string' || (Array.isArray(item) && item.every((i) => typeof i === 'string'));
    if (!ok)
      throw invalidConfig('oidc', `${name}.${key} must be a string or an array of strings, got ${showValue(item)}`);
    out[key] = typeof item === 'string' ? item : [...(item as string[])];
  }
  return out;
}

function isAbsoluteUriWithoutFragment(value: string): boolean {
  try {
    return new URL(value).hash === '' && !value.includes('#');
  } catch {
    return false;
  }
}
