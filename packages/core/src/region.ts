import { KeylessError } from './errors.js';
import { loadSharedIniFileLoader } from './lazy-modules.js';
import { env, invalidConfig } from './validate.js';

// Region names look like `us-east-1`, `cn-north-1`, `us-gov-west-1`, `eu-isoe-west-1`.
const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

/** Where the region came from, for `doctor` and debug lines. */
export type RegionSource = 'option' | 'AWS_REGION' | 'AWS_DEFAULT_REGION' | 'shared config';

export interface ResolvedRegion {
  region: string;
  source: RegionSource;
}

/**
 * The AWS region, from (in order) the option, `AWS_REGION`, `AWS_DEFAULT_REGION`, then the `region`
 * of the active profile (`AWS_PROFILE`, else `default`) in the shared config files. Only the
 * synchronous sources are read here; see {@link resolveRegion} for the files.
 */
export function regionFromOptionOrEnv(option: string | undefined): ResolvedRegion | undefined {
  if (option !== undefined) return { region: checkRegion(option, 'region'), source: 'option' };
  for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION'] as const) {
    const value = env(name);
    if (value !== undefined) return { region: checkRegion(value, name), source: name };
  }
  return undefined;
}

export async function resolveRegion(option: string | undefined): Promise<ResolvedRegion> {
  const fromEnv = regionFromOptionOrEnv(option);
  if (fromEnv) return fromEnv;
  const profile = env('AWS_PROFILE') ?? 'default';
  let region: string | undefined;
  try {
    const { loadSharedConfigFiles } = await loadSharedIniFileLoader();
    const files = await loadSharedConfigFiles({ ignoreCache: false });
    region = files.configFile?.[profile]?.region ?? files.credentialsFile?.[profile]?.region;
  } catch {
    region = undefined;
  }
  if (region) return { region: checkRegion(region, `region of profile "${profile}"`), source: 'shared config' };
  throw new KeylessError({
    code: 'REGION_REQUIRED',
    provider: 'aws',
    message: 'No AWS region is configured, and GetWebIdentityToken is only served by regional STS endpoints.',
    hint: `Pass the region option, set AWS_REGION, or add region to profile "${profile}" in ~/.aws/config.`,
  });
}

function checkRegion(region: string, from: string): string {
  if (region === 'aws-global' || region === 'global') {
    throw invalidConfig(
      'aws',
      `${from} is "${region}", but GetWebIdentityToken is not served by the global STS endpoint`,
      'Use the region the workload runs in, e.g. us-east-1; keyless always calls a regional STS endpoint.',
    );
  }
  if (!REGION_PATTERN.test(region)) {
    throw invalidConfig('aws', `${from} must be an AWS region such as us-east-1, got ${JSON.stringify(region)}`);
  }
  return region;
}
