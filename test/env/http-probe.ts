// One GET against a health endpoint, over HTTP or HTTPS (optionally with a
// client certificate), resolving to the status code and body.
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

export interface ProbeTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** Skip server verification (self-signed component certificates). */
  insecure?: boolean;
}

export interface ProbeResult {
  status: number;
  body: string;
}

export function httpGet(url: string, tls: ProbeTls = {}, timeoutMs = 2_000): Promise<ProbeResult> {
  const target = new URL(url);
  const request = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        method: "GET",
        timeout: timeoutMs,
        ca: tls.ca,
        cert: tls.cert,
        key: tls.key,
        rejectUnauthorized: !tls.insecure,
        agent: false,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`GET ${url}: no answer in ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}

export async function isOk(url: string, tls: ProbeTls = {}): Promise<boolean> {
  const { status } = await httpGet(url, tls);
  return status === 200;
}
