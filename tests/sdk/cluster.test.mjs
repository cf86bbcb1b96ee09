// The official kuzzle-sdk against a Herald cluster: a redis-server of the test's own (free
// port, temporary directory, AOF on; never 6379) and two `herald serve --redis` nodes; SDK
// clients connected to different nodes.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { connectTo, freePort, inbox, sleep, startHerald, stopServer } from "./harness.mjs";

let redis;
let redisDir;
const nodes = [];
const ports = [];
const clients = [];

async function accepts(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

before(async () => {
  const redisPort = await freePort();
  assert.notEqual(redisPort, 6379);
  redisDir = fs.mkdtempSync(path.join(os.tmpdir(), "herald-sdk-redis-"));
  redis = spawn(
    process.env.REDIS_SERVER || "redis-server",
    ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
      "--dir", redisDir],
    { stdio: "ignore" },
  );
  const deadline = Date.now() + 10000;
  while (!(await accepts(redisPort))) {
    if (Date.now() > deadline) throw new Error("redis-server did not start");
    await sleep(20);
  }
  for (let i = 0; i < 2; i++) {
    const port = await freePort();
    ports.push(port);
    nodes.push(
      await startHerald(port, ["--redis", `redis://127.0.0.1:${redisPort}/`, "--node-id", `n${i}`]),
    );
  }
});

after(async () => {
  for (const k of clients) k.disconnect();
  for (const node of nodes) await stopServer(node);
  if (redis) redis.kill("SIGKILL");
  if (redisDir) fs.rmSync(redisDir, { recursive: true, force: true });
});

test("a subscription on one node hears the writes and publishes made on the other", async () => {
  const a = await connectTo(ports[0], clients);
  const b = await connectTo(ports[1], clients);
  const box = inbox();
  await a.realtime.subscribe("shop", "orders", { range: { total: { gte: 100 } } }, box.cb, {
    scope: "all",
  });

  await b.document.create("shop", "orders", { total: 150 }, "o1", { volatile: { from: "b" } });
  let n = await box.next();
  assert.equal(n.action, "create");
  assert.equal(n.scope, "in");
  assert.equal(n.result._id, "o1");
  assert.deepEqual(n.volatile.from, "b");
  assert.equal(n.node, "n0");

  await b.document.update("shop", "orders", "o1", { total: 20 });
  n = await box.next();
  assert.equal(n.action, "update");
  assert.equal(n.scope, "out");
  assert.deepEqual(n.result._updatedFields, ["total"]);

  await b.realtime.publish("shop", "orders", { total: 500 });
  n = await box.next();
  assert.equal(n.action, "publish");

  // The document written through B is read through A.
  const got = await a.document.get("shop", "orders", "o1");
  assert.equal(got._source.total, 20);
  await box.none();
});
