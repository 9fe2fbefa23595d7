// The NATS server of the test environment: a real publish/subscribe round
// trip and a request/reply over two separate connections.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { connect, StringCodec, type NatsConnection } from "nats";
import { ensureTestEnv } from "../../env/ensure.js";

const sc = StringCodec();

describe("test environment: NATS", () => {
  let natsUrl: string;
  let publisher: NatsConnection;
  let subscriber: NatsConnection;

  before(async () => {
    ({ natsUrl } = await ensureTestEnv());
    publisher = await connect({ servers: natsUrl, name: "env-test-publisher" });
    subscriber = await connect({ servers: natsUrl, name: "env-test-subscriber" });
  });

  after(async () => {
    await publisher?.close();
    await subscriber?.close();
  });

  it("listens on loopback", () => {
    assert.match(natsUrl, /^nats:\/\/127\.0\.0\.1:\d+$/);
  });

  it("delivers a published message to a subscriber on another connection", async () => {
    const subject = `stylekube.test.env.${randomBytes(4).toString("hex")}`;
    const payload = `hello ${randomBytes(8).toString("hex")}`;
    const sub = subscriber.subscribe(subject, { max: 1, timeout: 5_000 });
    await subscriber.flush(); // the server knows the subscription before we publish
    publisher.publish(subject, sc.encode(payload));
    const received: string[] = [];
    for await (const msg of sub) received.push(sc.decode(msg.data));
    assert.deepEqual(received, [payload]);
  });

  it("answers a request through a responder", async () => {
    const subject = `stylekube.test.env.echo.${randomBytes(4).toString("hex")}`;
    const responder = subscriber.subscribe(subject, {
      callback: (err, msg) => {
        if (!err) msg.respond(sc.encode(sc.decode(msg.data).toUpperCase()));
      },
    });
    await subscriber.flush();
    try {
      const reply = await publisher.request(subject, sc.encode("ping"), { timeout: 5_000 });
      assert.equal(sc.decode(reply.data), "PING");
    } finally {
      responder.unsubscribe();
    }
  });

  it("accepts a payload of 512 KiB (under the 1 MB default max_payload)", async () => {
    assert.ok(publisher.info, "connected publisher has server info");
    assert.ok(publisher.info.max_payload >= 512 * 1024, `max_payload ${publisher.info.max_payload}`);
    const subject = `stylekube.test.env.big.${randomBytes(4).toString("hex")}`;
    const big = randomBytes(512 * 1024);
    const sub = subscriber.subscribe(subject, { max: 1, timeout: 5_000 });
    await subscriber.flush();
    publisher.publish(subject, big);
    for await (const msg of sub)
      assert.ok(Buffer.from(msg.data).equals(big), "payload arrives byte for byte");
    assert.equal(sub.getProcessed(), 1);
  });
});
