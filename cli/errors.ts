/** The command line was wrong: exit 2, with a pointer to the command's --help. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * The message for an error from a command: the AWS SDK's region and credential errors say which
 * settings to fix (the SDK's own say "Region is missing" and nothing more); anything else as it is.
 */
export function describeError(error: unknown): string {
  const err = error as Error & { Code?: string; $metadata?: unknown };
  const name = err?.name ?? '';
  const message = err?.message ?? String(error);
  if (message === 'Region is missing' || /\bregion\b.*\bmissing\b/i.test(message)) {
    return 'no AWS region: pass --region or set AWS_REGION, or use a profile with a region (--profile or AWS_PROFILE)';
  }
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    return 'no AWS credentials: pass --profile or set AWS_PROFILE (after `aws sso login` if it is an SSO profile), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY';
  }
  if (
    /^(ExpiredToken|ExpiredTokenException|TokenRefreshRequired)$/.test(name) ||
    /token.*expired/i.test(message)
  ) {
    return `the AWS credentials have expired (${message}): refresh them (\`aws sso login\` for an SSO profile) or set new ones`;
  }
  if (
    /^(InvalidClientTokenId|UnrecognizedClientException|InvalidAccessKeyId|SignatureDoesNotMatch)$/.test(name)
  ) {
    return `AWS refused the credentials (${name}): check AWS_PROFILE or --profile, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`;
  }
  return message;
}
