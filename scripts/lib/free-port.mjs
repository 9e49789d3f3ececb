// A TCP port free on 127.0.0.1 right now, for a server that must know its
// own address before it listens (an issuer URL, a cluster's port).

import net from "node:net";

/** A port free on 127.0.0.1 at the moment of the call. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}
