// Free loopback TCP ports, asked of the kernel (bind to port 0, read it, close).
import { createServer } from "node:net";

export const LOOPBACK = "127.0.0.1";

function onePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen({ host: LOOPBACK, port: 0, exclusive: true }, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolve(address.port);
        else reject(new Error("no port assigned"));
      });
    });
  });
}

/**
 * `count` distinct free ports. The servers bind them a moment later (a small
 * race with other programs that the kernel's ephemeral-port rotation makes
 * unlikely); the set keeps this call from returning the same port twice.
 */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await onePort());
  return [...ports];
}
