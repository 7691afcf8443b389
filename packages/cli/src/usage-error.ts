/** A mistake in the command line: exit code 2 and the command's usage. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
