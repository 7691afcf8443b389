/**
 * `pnpm demo` from the repository root (it builds the packages first), or `pnpm --filter
 * @keyless/example-demo start` after a build: starts the keyless emulator in this process and runs every
 * adapter against it. Exits 0 when everything worked.
 */

// snowflake-sdk probes cloud instance metadata and AWS STS when it loads unless this is set; the demo
// stays on 127.0.0.1. It must be set before snowflake-sdk is imported, hence the dynamic import below.
process.env.SNOWFLAKE_DISABLE_PLATFORM_DETECTION = 'true';

// `pnpm demo | head`: a reader that stops early is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(process.exitCode ?? 0);
});

const { runDemo } = await import('./demo.ts');
process.exitCode = await runDemo();
