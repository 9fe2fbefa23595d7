// NATS credentials pass through the collectives' options: a private
// nats-server requiring user/password (and one requiring a token) refuses a
// connection without them and accepts one with them.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { Collective, connectNats } from "../../../trainer/collectives/index.js";
import { startNatsServer, type PrivateNats } from "./support.js";

const servers: PrivateNats[] = [];
after(() => Promise.all(servers.map((s) => s.stop())));

async function gangAllreduce(nats: Parameters<typeof connectNats>[0]): Promise<Float32Array[]> {
  const cs = await Promise.all(
    [0, 1].map((rank) =>
      Collective.join({
        nats,
        jobId: "auth",
        attempt: 1,
        rank,
        worldSize: 2,
        stepTimeoutMs: 10_000,
        rendezvousTimeoutMs: 10_000,
      }),
    ),
  );
  try {
    return await Promise.all(cs.map((c, r) => c.allreduceMean(Float32Array.from([r, 2 * r, 10]), 0)));
  } finally {
    await Promise.all(cs.map((c) => c.close()));
  }
}

describe("NATS authentication", () => {
  it("user/password", async () => {
    const srv = await startNatsServer(["--user", "alice", "--pass", "s3cret-pw"]);
    servers.push(srv);
    await assert.rejects(connectNats({ url: srv.url }), /authorization/i);
    await assert.rejects(connectNats({ url: srv.url, user: "alice", pass: "wrong" }), /authorization/i);
    await assert.rejects(
      Collective.join({ nats: { url: srv.url }, jobId: "a", attempt: 1, rank: 0, worldSize: 1 }),
      /authorization/i,
    );
    const nc = await connectNats({ url: srv.url, user: "alice", pass: "s3cret-pw" });
    await nc.close();
    const res = await gangAllreduce({ url: srv.url, user: "alice", pass: "s3cret-pw" });
    for (const r of res) assert.deepEqual([...r], [0.5, 1, 10]);
  });

  it("token", async () => {
    const srv = await startNatsServer(["--auth", "tok-123456"]);
    servers.push(srv);
    await assert.rejects(connectNats({ url: srv.url }), /authorization/i);
    await assert.rejects(connectNats({ url: srv.url, token: "nope" }), /authorization/i);
    const res = await gangAllreduce({ url: srv.url, token: "tok-123456" });
    for (const r of res) assert.deepEqual([...r], [0.5, 1, 10]);
  });
});
