// A scripted HTTP server standing in for S3, to test what the client does on
// throttling, 5xx and 4xx answers without a real server.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: Buffer;
}

export interface FakeReply {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Send only this many body bytes (with the full Content-Length), then drop the connection. */
  truncateAfter?: number;
}

export interface FakeS3 {
  endpoint: string;
  requests: SeenRequest[];
  close(): Promise<void>;
}

export function s3ErrorXml(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>fake-req-1</RequestId><HostId>fake-host</HostId></Error>`;
}

/** `reply(req, n)` answers the n-th request (0-based) after its body has been read. */
export async function startFakeS3(reply: (req: SeenRequest, n: number) => FakeReply): Promise<FakeS3> {
  const requests: SeenRequest[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const seen: SeenRequest = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      requests.push(seen);
      const r = reply(seen, requests.length - 1);
      const body = r.body ?? "";
      res.writeHead(r.status, {
        "x-amz-request-id": `fake-${requests.length}`,
        "content-length": String(Buffer.byteLength(body)),
        ...(typeof r.body === "string" && r.body.startsWith("<?xml")
          ? { "content-type": "application/xml" }
          : {}),
        ...r.headers,
      });
      if (r.truncateAfter !== undefined) {
        res.write(Buffer.from(body).subarray(0, r.truncateAfter), () => res.socket?.destroy());
        return;
      }
      res.end(req.method === "HEAD" ? undefined : body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
