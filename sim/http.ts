/**
 * What the simulated HTTP devices and servers share: listening on loopback (on a given port, so
 * one can come back on the same port after an outage), closing with its connections, and the
 * cameras' Digest gate (401 with a challenge, a signed-but-wrong try counted).
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DigestAuth } from '../core/http-digest.js';

/** Listens on 127.0.0.1:`port` (0: any); resolves to the port it got. */
export async function listenLoopback(server: http.Server, port = 0): Promise<number> {
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return (server.address() as AddressInfo).port;
}

/** Closes a server and every connection it holds (a client's keep-alive would hold it open). */
export async function closeServer(server: http.Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
}

/**
 * A camera's Digest check: false (and the 401 with a challenge sent) when the request is not
 * signed right; `refused` is called for a request that was signed, but wrongly.
 */
export function digestGate(auth: DigestAuth, req: http.IncomingMessage, res: http.ServerResponse, refused: () => void): boolean {
  const check = auth.verify(req.method ?? 'GET', req.url ?? '/', req.headers.authorization);
  if (check.ok) return true;
  if (req.headers.authorization) refused();
  res.writeHead(401, { 'www-authenticate': check.challenge, 'content-type': 'text/plain' }).end('Unauthorized');
  return false;
}
