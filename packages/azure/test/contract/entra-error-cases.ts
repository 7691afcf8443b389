/** Every Entra answer keyless maps, with what the mapping must say (shared by the mapping and leak tests). */
import { TEST_ISSUER, TEST_ROLE_ARN } from '../../../../test/support/aws.js';
import { type Answer, CLIENT_ID, entraError, TENANT_ID } from './entra-mock.js';

export const ENTRA_ERRORS: Array<{
  name: string;
  answer: Answer;
  code: string;
  retryable: boolean;
  message: RegExp;
  hint: RegExp;
}> = [
  {
    name: 'AADSTS700213 (subject)',
    answer: entraError(
      400,
      'invalid_client',
      700213,
      `No matching federated identity record found for presented assertion subject '${TEST_ROLE_ARN}'. Please note that the matching is done using a case-sensitive comparison. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation`,
    ),
    code: 'TOKEN_REJECTED',
    retryable: false,
    message:
      /no federated identity credential matching the token’s subject \(AADSTS700213\): No matching federated identity record found for presented assertion subject 'arn:aws:iam::123456789012:role\/keyless-test'/,
    hint: new RegExp(
      `Set the subject of the federated identity credential on application ${CLIENT_ID} \\(tenant ${TENANT_ID}\\) to exactly "${TEST_ROLE_ARN}" \\(case-sensitive.*Presented iss="${TEST_ISSUER}" sub="${TEST_ROLE_ARN}" aud="api://AzureADTokenExchange"`,
    ),
  },
  {
    name: 'AADSTS700212 (audience)',
    answer: entraError(
      400,
      'invalid_client',
      700212,
      "No matching federated identity record found for presented assertion audience 'api://AzureADTokenExchange'.",
    ),
    code: 'TOKEN_REJECTED',
    retryable: false,
    message: /audience \(AADSTS700212\)/,
    hint: /Set the audiences of the federated identity credential .* to \["api:\/\/AzureADTokenExchange"\], or make the token’s audience match .*the audience your webIdentityToken provider asks for.*Presented iss=/,
  },
  {
    name: 'AADSTS700211 (issuer)',
    answer: entraError(
      400,
      'invalid_client',
      700211,
      `No matching federated identity record found for presented assertion issuer '${TEST_ISSUER}'.`,
    ),
    code: 'TOKEN_REJECTED',
    retryable: false,
    message: /issuer \(AADSTS700211\)/,
    hint: new RegExp(
      `Set the issuer of the federated identity credential .* to exactly "${TEST_ISSUER}": the IssuerIdentifier of \`aws iam get-outbound-web-identity-federation-info\``,
    ),
  },
  {
    name: 'AADSTS70021 (no match, maybe propagation)',
    answer: entraError(
      400,
      'invalid_request',
      70021,
      'No matching federated identity record found for presented assertion.',
    ),
    code: 'TOKEN_REJECTED',
    retryable: false,
    message: /matching the token \(AADSTS70021\)/,
    hint: new RegExp(
      `issuer "${TEST_ISSUER}", subject "${TEST_ROLE_ARN}", audiences \\["api://AzureADTokenExchange"\\]. If the credential was created or changed in the last few minutes, this may be propagation delay`,
    ),
  },
  {
    name: 'AADSTS70025 (no federated credentials at all)',
    answer: entraError(
      400,
      'invalid_client',
      70025,
      `The client '${CLIENT_ID}'(app) has no configured federated identity credentials.`,
    ),
    code: 'TOKEN_REJECTED',
    retryable: false,
    message: /has no federated identity credentials \(AADSTS70025\)/,
    hint: /Add a federated identity credential to it with issuer "https:\/\/.*", subject "arn:aws:iam::123456789012:role\/keyless-test"/,
  },
  {
    name: 'AADSTS700016 (application not found)',
    answer: entraError(
      400,
      'unauthorized_client',
      700016,
      `Application with identifier '${CLIENT_ID}' was not found in the directory 'Contoso'.`,
    ),
    code: 'INVALID_CONFIG',
    retryable: false,
    message: /no application 00001111-aaaa-2222-bbbb-3333cccc4444 in tenant .* \(AADSTS700016\)/,
    hint: /Check clientId \(AZURE_CLIENT_ID\).*and tenantId \(AZURE_TENANT_ID\)/,
  },
  {
    name: 'AADSTS90002 (tenant not found)',
    answer: entraError(400, 'invalid_request', 90002, `Tenant '${TENANT_ID}' not found.`),
    code: 'INVALID_CONFIG',
    retryable: false,
    message: /does not know tenant 72f988bf.* \(AADSTS90002\)/,
    hint: /Check tenantId \(AZURE_TENANT_ID\).*authorityHost \(https:\/\/login\.microsoftonline\.com\)/,
  },
  {
    name: 'AADSTS700024 (time range)',
    answer: entraError(400, 'invalid_client', 700024, 'Client assertion is not within its valid time range.'),
    code: 'TOKEN_REJECTED',
    retryable: false,
    message: /outside its valid time range .*\(AADSTS700024\)/,
    hint: /clock \(NTP\).*webIdentityToken provider returns unexpired tokens\. Presented exp=\d+ \(\d{4}-/,
  },
  {
    name: 'AADSTS5002738 (algorithm)',
    answer: entraError(
      400,
      'invalid_request',
      5002738,
      "Invalid JWT token. 'ES384' is not a supported signature algorithm.",
    ),
    code: 'TOKEN_REJECTED',
    retryable: false,
    message: /signing algorithm \(RS256\) \(AADSTS5002738\)/,
    hint: /Use RS256: have your webIdentityToken provider call GetWebIdentityToken with SigningAlgorithm RS256/,
  },
  {
    name: 'AADSTS700027 (signature)',
    answer: entraError(
      400,
      'invalid_client',
      700027,
      'Client assertion failed signature validation. (Reason - The key was not found.)',
    ),
    code: 'TOKEN_REJECTED',
    retryable: false,
    message: /could not verify the token’s signature \(AADSTS700027\)/,
    hint: /keys published by the issuer .*\.well-known\/openid-configuration → jwks_uri/,
  },
  {
    name: 'AADSTS700222 (Entra-issued token)',
    answer: entraError(
      400,
      'invalid_request',
      700222,
      'AAD-issued tokens may not be used for federated identity flows.',
    ),
    code: 'INVALID_CONFIG',
    retryable: false,
    message: /does not accept a token it issued itself as a federated credential \(AADSTS700222\)/,
    hint: /webIdentityToken must return the AWS-signed JWT/,
  },
  {
    name: 'AADSTS1002012 (scope without /.default)',
    answer: entraError(
      400,
      'invalid_scope',
      1002012,
      'The provided value for scope https://storage.azure.com is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).',
    ),
    code: 'INVALID_CONFIG',
    retryable: false,
    message: /refused the requested scope "https:\/\/storage\.azure\.com\/\.default" \(AADSTS1002012\)/,
    hint: /\/\.default suffix/,
  },
  {
    name: 'AADSTS500011 (resource not in tenant)',
    answer: entraError(
      400,
      'invalid_resource',
      500011,
      'The resource principal named https://nope.example was not found in the tenant named Contoso.',
    ),
    code: 'INVALID_CONFIG',
    retryable: false,
    message: /\(AADSTS500011\)/,
    hint: /check that the resource exists in the tenant/,
  },
  {
    name: 'an unknown AADSTS code',
    answer: entraError(400, 'invalid_request', 9999999, 'Something new went wrong.'),
    code: 'EXCHANGE_FAILED',
    retryable: false,
    message: /^Entra ID refused the token request \(AADSTS9999999\): Something new went wrong\.$/,
    hint: /^$/,
  },
  {
    name: 'HTTP 429 with Retry-After',
    answer: entraError(
      429,
      'temporarily_unavailable',
      50196,
      'The server terminated an operation because it encountered a client request loop.',
      {
        headers: { 'retry-after': '7' },
      },
    ),
    code: 'THROTTLED',
    retryable: true,
    message: /throttled the token request \(HTTP 429, AADSTS50196\)/,
    hint: /Share one AwsFederatedCredential/,
  },
  {
    name: 'HTTP 500',
    answer: entraError(
      500,
      'server_error',
      50000,
      'There was an error issuing a token or an issue with our sign-in service.',
    ),
    code: 'EXCHANGE_FAILED',
    retryable: true,
    message: /failed to answer the token request \(HTTP 500, AADSTS50000\)/,
    hint: /^$/,
  },
  {
    name: 'HTTP 503 with an HTML body',
    answer: [503, '<html><body>Service Unavailable</body></html>', { 'content-type': 'text/html' }],
    code: 'EXCHANGE_FAILED',
    retryable: true,
    message: /failed to answer the token request \(HTTP 503\)\.$/,
    hint: /^$/,
  },
  {
    name: 'HTTP 404 with no OAuth body (wrong authority host)',
    answer: [404, '', {}],
    code: 'EXCHANGE_FAILED',
    retryable: false,
    message: /answered HTTP 404 without an OAuth error body/,
    hint: /Check authorityHost \(https:\/\/login\.microsoftonline\.com\)/,
  },
  {
    name: 'HTTP 200 without access_token',
    answer: [200, { token_type: 'Bearer', expires_in: 3599 }, { 'content-type': 'application/json' }],
    code: 'INVALID_RESPONSE',
    retryable: true,
    message: /without an access_token/,
    hint: /check authorityHost/,
  },
  {
    name: 'HTTP 200 with a PoP token',
    answer: [200, { token_type: 'pop', expires_in: 3599, access_token: 'x' }, { 'content-type': 'application/json' }],
    code: 'INVALID_RESPONSE',
    retryable: true,
    message: /token_type "pop" instead of Bearer/,
    hint: /check authorityHost/,
  },
  {
    name: 'HTTP 200 that is not JSON',
    answer: [200, '<html>captive portal</html>', { 'content-type': 'text/html' }],
    code: 'INVALID_RESPONSE',
    retryable: false,
    message: /not a JSON object/,
    hint: /proxy or captive portal/,
  },
];
