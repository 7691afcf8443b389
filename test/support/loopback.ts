import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Runs `run` against a real HTTP server on 127.0.0.1. For socket-level faults (resets, silence)
 * that nock 15 cannot produce: its `replyWithError` never reaches fetch or the AWS SDK.
 */
export async function withLoopbackServer<T>(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  run: (origin: string) => Promise<T>,
): Promise<T> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Handlers for the usual faults. */
export const faults = {
  reset: (req: IncomingMessage) => req.socket.destroy(),
  silent: () => {},
};
