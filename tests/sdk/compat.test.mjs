// Compatibility tests: the official kuzzle-sdk (7.17.1, unmodified) against `herald serve`.
//
// Each test file run starts the herald binary named by HERALD_BIN (default: the debug build)
// with an in-memory store on a free port, and drives it only through the SDK's public API.
// The restart test runs last: it stops the server and starts a new one on the same port.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import {
  connectTo,
  freePort,
  here,
  inbox,
  sleep,
  startHerald,
  stopServer,
  WAIT_MS,
} from "./harness.mjs";

let port;
let server;
const clients = [];

const startServer = () => startHerald(port);
const connect = (options = {}) => connectTo(port, clients, options);

before(async () => {
  port = await freePort();
  server = await startServer();
});

after(async () => {
  for (const k of clients) k.disconnect();
  if (server) await stopServer(server);
});

test("connect and checkToken as anonymous", async () => {
  const k = await connect();
  assert.equal(k.connected, true);
  const token = await k.auth.checkToken();
  assert.equal(token.valid, true);
  const now = await k.server.now();
  assert.equal(typeof now, "number");
});

test("subscribe with filters, publish with volatile data, count, unsubscribe", async () => {
  const a = await connect();
  const b = await connect();
  const box = inbox();
  const roomId = await a.realtime.subscribe(
    "shop", "orders", { range: { total: { gte: 100 } } }, box.cb);
  assert.match(roomId, /^[0-9a-f]{64}$/);
  assert.equal(await b.realtime.count(roomId), 1);

  await b.realtime.publish("shop", "orders", { total: 150 }, { volatile: { from: "b" } });
  const n = await box.next();
  assert.equal(n.type, "document");
  assert.equal(n.action, "publish");
  assert.equal(n.scope, "in");
  assert.equal(n.result._source.total, 150);
  assert.equal(n.volatile.from, "b");
  await b.realtime.publish("shop", "orders", { total: 5 });
  await box.none(200);

  await a.realtime.unsubscribe(roomId);
  assert.equal(await b.realtime.count(roomId), 0);
  await b.realtime.publish("shop", "orders", { total: 500 });
  await box.none(200);
});

test("document notifications: create, update, replace, delete, scope in and out", async () => {
  const sub = await connect();
  const writer = await connect();
  const all = inbox();
  const ins = inbox();
  const outs = inbox();
  const none = inbox();
  const filter = { equals: { status: "open" } };
  await sub.realtime.subscribe("crm", "tickets", filter, all.cb);
  await sub.realtime.subscribe("crm", "tickets", filter, ins.cb, { scope: "in" });
  await sub.realtime.subscribe("crm", "tickets", filter, outs.cb, { scope: "out" });
  await sub.realtime.subscribe("crm", "tickets", filter, none.cb, { scope: "none" });

  await writer.document.create("crm", "tickets", { status: "open", n: 1 }, "t1");
  let n = await all.next();
  assert.deepEqual([n.action, n.scope, n.result._id], ["create", "in", "t1"]);
  assert.equal((await ins.next()).action, "create");

  await writer.document.update("crm", "tickets", "t1", { n: 2 });
  n = await all.next();
  assert.deepEqual([n.action, n.scope], ["update", "in"]);
  assert.equal(n.result._source.status, "open");
  assert.deepEqual(n.result._updatedFields, ["n"]);
  assert.equal((await ins.next()).action, "update");

  await writer.document.replace("crm", "tickets", "t1", { status: "closed" });
  n = await all.next();
  assert.deepEqual([n.action, n.scope], ["replace", "out"]);
  assert.equal((await outs.next()).scope, "out");

  await writer.document.replace("crm", "tickets", "t1", { status: "open" });
  assert.equal((await all.next()).scope, "in");
  assert.equal((await ins.next()).scope, "in");

  const deleted = await writer.document.delete("crm", "tickets", "t1");
  assert.equal(deleted, "t1");
  n = await all.next();
  assert.deepEqual([n.action, n.scope, n.result._id], ["delete", "out", "t1"]);
  assert.equal((await outs.next()).action, "delete");

  await ins.none(100);
  await outs.none(0);
  await none.none(0);
  await all.none(0);

  // Errors reach the SDK as KuzzleErrors with Kuzzle's ids.
  await assert.rejects(
    writer.document.update("crm", "tickets", "missing", { a: 1 }),
    (e) => e.id === "services.storage.not_found" && e.status === 404,
  );
  await assert.rejects(
    writer.realtime.subscribe("crm", "tickets", { nope: {} }, () => {}),
    (e) => e.id === "api.assert.koncorde_dsl_error" && e.status === 400,
  );
});

test("index and collection setup as in Kuzzle's getting started", async () => {
  const kuzzle = await connect();
  assert.equal(await kuzzle.index.exists("nyc-open-data"), false);
  await kuzzle.index.create("nyc-open-data");
  await kuzzle.collection.create("nyc-open-data", "yellow-taxi", {
    mappings: { properties: { name: { type: "keyword" } } },
  });
  assert.equal(await kuzzle.index.exists("nyc-open-data"), true);
  assert.equal(await kuzzle.collection.exists("nyc-open-data", "yellow-taxi"), true);
  const list = await kuzzle.collection.list("nyc-open-data");
  assert.deepEqual(list.collections, [{ name: "yellow-taxi", type: "stored" }]);
  await assert.rejects(kuzzle.index.create("nyc-open-data"), (e) => {
    assert.equal(e.id, "services.storage.index_already_exists");
    assert.equal(e.status, 412);
    return true;
  });
  await kuzzle.document.create("nyc-open-data", "yellow-taxi", { name: "Yellow Taxi" }, "t1");
  await kuzzle.collection.truncate("nyc-open-data", "yellow-taxi");
  assert.equal(await kuzzle.document.exists("nyc-open-data", "yellow-taxi", "t1"), false);
  await kuzzle.index.delete("nyc-open-data");
  assert.equal(await kuzzle.index.exists("nyc-open-data"), false);
});

test("users option: presence in and out between two SDK instances", async () => {
  const cases = { all: ["in", "out"], in: ["in"], out: ["out"], none: [] };
  for (const [users, expected] of Object.entries(cases)) {
    const watcher = await connect();
    const other = await connect();
    const box = inbox();
    const filter = { equals: { users } };
    await watcher.realtime.subscribe("chat", "presence", filter, box.cb, { users });
    const otherRoom = await other.realtime.subscribe(
      "chat", "presence", filter, () => {}, { volatile: { name: "other" } });
    if (expected.includes("in")) {
      const n = await box.next((x) => x.type === "user");
      assert.equal(n.user, "in");
      assert.equal(n.result.count, 2);
      assert.equal(n.volatile.name, "other");
    }
    await other.realtime.unsubscribe(otherRoom);
    if (expected.includes("out")) {
      const n = await box.next((x) => x.type === "user" && x.user === "out");
      assert.equal(n.result.count, 1);
      assert.equal(n.volatile.name, "other");
    }
    // A disconnect sends `out` too.
    await other.realtime.subscribe("chat", "presence", filter, () => {});
    if (expected.includes("in")) await box.next((x) => x.user === "in");
    other.disconnect();
    if (expected.includes("out")) {
      const n = await box.next((x) => x.user === "out");
      assert.equal(n.result.count, 1);
    }
    await box.none(150);
    watcher.disconnect();
  }
});

test("subscribeToSelf: false hides the writer's own notifications", async () => {
  const k = await connect();
  const box = inbox();
  await k.realtime.subscribe("s", "c", {}, box.cb, { subscribeToSelf: false });
  await k.realtime.publish("s", "c", { a: 1 });
  const other = await connect();
  await other.realtime.publish("s", "c", { a: 2 });
  const n = await box.next();
  assert.equal(n.result._source.a, 2);
  await box.none(150);
});

test("heartbeats: protocol pings (ws package) and {\"p\":1} (global WebSocket)", async () => {
  const major = Number(process.versions.node.split(".")[0]);
  // Node < 22 has no global WebSocket unless asked; Node >= 22 has one unless told not to.
  const runs = [
    ["native", major < 22 ? ["--experimental-websocket"] : []],
    ["ws-package", major < 22 ? [] : ["--no-experimental-websocket"]],
  ];
  for (const [transport, flags] of runs) {
    const child = spawn(process.execPath, [...flags, path.join(here, "heartbeat-client.mjs"), String(port)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const code = await new Promise((resolve) => child.once("exit", resolve));
    assert.equal(out.trim(), `ok ${transport}`);
    assert.equal(code, 0);
  }
});

test("server restart: the SDK reconnects and its subscriptions work again", async () => {
  const sub = await connect();
  const box = inbox();
  await sub.realtime.subscribe("live", "feed", { equals: { k: "v" } }, box.cb);
  const reconnected = new Promise((resolve) => sub.once("reconnected", resolve));

  assert.equal(await stopServer(server), 0, "herald exits cleanly on SIGTERM");
  server = await startServer();
  let timer;
  await Promise.race([
    reconnected,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error("the SDK did not reconnect")), 10000);
    }),
  ]);
  clearTimeout(timer);
  // Resubscription happens right after `reconnected`: wait until the room exists again.
  const writer = await connect();
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    await writer.realtime.publish("live", "feed", { k: "v", probe: true });
    try {
      await box.next(() => true, 200);
      break;
    } catch (e) {
      if (Date.now() > deadline) throw e;
    }
  }
  await writer.document.create("live", "feed", { k: "v" }, "after-restart");
  const n = await box.next((x) => x.action === "create");
  assert.equal(n.result._id, "after-restart");
});
