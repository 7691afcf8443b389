import type { IAMClient } from '@aws-sdk/client-iam';
import { KeylessError, resolveRegion } from '@keyless/core';

export interface FederationInfo {
  enabled: boolean;
  /** The account's issuer URL; absent when IAM does not say (feature disabled). */
  issuer: string | undefined;
}

interface IamErrorShape {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

async function iamClient(region: string | undefined): Promise<IAMClient> {
  const { IAMClient } = await import('@aws-sdk/client-iam');
  // IAM is a global service; the region only picks the partition (aws, aws-cn, aws-us-gov).
  let resolved = region;
  if (resolved === undefined) {
    try {
      resolved = (await resolveRegion(undefined)).region;
    } catch {
      resolved = 'us-east-1';
    }
  }
  return new IAMClient({ region: resolved, maxAttempts: 2 });
}

/** IAM GetOutboundWebIdentityFederationInfo: is outbound federation on, and the account's issuer. */
export async function getFederationInfo(region?: string): Promise<FederationInfo> {
  const client = await iamClient(region);
  const { GetOutboundWebIdentityFederationInfoCommand } = await import('@aws-sdk/client-iam');
  try {
    const out = await client.send(new GetOutboundWebIdentityFederationInfoCommand({}));
    return { enabled: out.JwtVendingEnabled !== false, issuer: out.IssuerIdentifier };
  } catch (error) {
    if ((error as IamErrorShape).name === 'FeatureDisabledException') return { enabled: false, issuer: undefined };
    throw mapIamError(error, 'iam:GetOutboundWebIdentityFederationInfo');
  } finally {
    client.destroy();
  }
}

/** IAM EnableOutboundWebIdentityFederation, idempotent: an account already enabled is a success. */
export async function enableFederation(region?: string): Promise<FederationInfo> {
  const client = await iamClient(region);
  const { EnableOutboundWebIdentityFederationCommand } = await import('@aws-sdk/client-iam');
  try {
    const out = await client.send(new EnableOutboundWebIdentityFederationCommand({}));
    return { enabled: true, issuer: out.IssuerIdentifier };
  } catch (error) {
    if ((error as IamErrorShape).name === 'FeatureEnabledException') return getFederationInfo(region);
    throw mapIamError(error, 'iam:EnableOutboundWebIdentityFederation');
  } finally {
    client.destroy();
  }
}

function mapIamError(error: unknown, action: string): KeylessError {
  const e = (typeof error === 'object' && error !== null ? error : {}) as IamErrorShape;
  const name = e.name ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  const details = { targetCode: name, ...(status === undefined ? {} : { status }) };
  if (name === 'AccessDenied' || name === 'AccessDeniedException') {
    return new KeylessError({
      code: 'ACCESS_DENIED',
      provider: 'aws',
      message: `IAM refused ${action.replace('iam:', '')}.`,
      hint: `Allow "${action}" for the principal running keyless.`,
      details,
      cause: error,
    });
  }
  if (name === 'CredentialsProviderError') {
    return new KeylessError({
      code: 'AWS_CREDENTIALS_MISSING',
      provider: 'aws',
      message: 'No AWS credentials were found for calling IAM.',
      hint: 'Set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run where a role is attached.',
      details,
      cause: error,
    });
  }
  const retryable = status === undefined || status >= 500 || name === 'Throttling';
  return new KeylessError({
    code: status === undefined ? 'NETWORK' : 'EXCHANGE_FAILED',
    provider: 'aws',
    message: `IAM ${action.replace('iam:', '')} failed (${name}${status ? `, HTTP ${status}` : ''}).${e.message ? ` IAM said: ${e.message}` : ''}`,
    retryable,
    details,
    cause: error,
  });
}
