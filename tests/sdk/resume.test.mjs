// Never miss a notification (docs/realtime.md), with real clients: the kuzzle-sdk with the
// documented resumable-subscription wrapper, and a real EventSource (the `eventsource`
// package, pinned by the lock file). Both lose their connection to a server restart (SIGTERM,
// same data directory: the history survives it), notifications are written while they are
// away, and each must then get every notification once, in order.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { EventSource } from "eventsource";
import { connectTo, freePort, sleep, startHerald, stopServer, WAIT_MS } from "./harness.mjs";
import { ResumableSubscription } from "./resumable.mjs";

let port;
let server;
let dataDir;
const clients = [];
const start = () => startHerald(port, ["--sse-retry-ms", "300"], { dataDir });

before(async () => {
  port = await freePort();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "herald-resume-"));
  server = await start();
});

after(async () => {
  for (const k of clients) k.disconnect();
  if (server) await stopServer(server);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function create(collection, id) {
  const response = await fetch(`http://127.0.0.1:${port}/shop/${collection}/${id}/_create`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ id }),
  });
  assert.equal(response.status, 200, await response.text());
}

async function until(check, what) {
  const deadline = Date.now() + WAIT_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function restart() {
  await stopServer(server);
  server = await start();
}

test("kuzzle-sdk: a resumable subscription gets what it missed during a restart, once, in order", async () => {
  const kuzzle = await connectTo(port, clients);
  const received = [];
  let reloads = 0;
  const sub = await new ResumableSubscription(
    kuzzle,
    "shop",
    "orders",
    {},
    (n) => received.push(n.result._id),
    { onReload: () => reloads++ },
  ).start();
  assert.match(sub.position, /^[0-9a-f]{16}:\d+$/);
  await create("orders", "d1");
  await until(() => received.length === 1, "d1");
  await restart();
  // Written before the SDK is back (it reconnects after 200 ms).
  await create("orders", "d2");
  await create("orders", "d3");
  await until(() => received.length === 3, "d2 and d3");
  await create("orders", "d4");
  await until(() => received.length === 4, "d4");
  await sleep(200);
  assert.deepEqual(received, ["d1", "d2", "d3", "d4"]);
  assert.equal(reloads, 0);
  assert.equal(sub.answer.recovered, true, JSON.stringify(sub.answer));
  await sub.stop();
});

test("EventSource: reconnects with Last-Event-ID and gets what it missed, once, in order", async () => {
  const sent = [];
  const url = `http://127.0.0.1:${port}/_sse?index=shop&collection=sse&filter=${encodeURIComponent("{}")}`;
  const es = new EventSource(url, {
    fetch: (input, init) => {
      sent.push(init.headers["Last-Event-ID"] ?? null);
      return fetch(input, init);
    },
  });
  const documents = [];
  const subscribed = [];
  es.addEventListener("subscribed", (e) => subscribed.push(JSON.parse(e.data)));
  es.addEventListener("document", (e) => {
    const frame = JSON.parse(e.data);
    assert.equal(e.lastEventId, frame.position);
    documents.push(frame.result._id);
  });
  try {
    await until(() => subscribed.length === 1, "the subscription");
    await create("sse", "e1");
    await until(() => documents.length === 1, "e1");
    await restart();
    await create("sse", "e2");
    await create("sse", "e3");
    await until(() => documents.length === 3, "e2 and e3");
    await create("sse", "e4");
    await until(() => documents.length === 4, "e4");
    await sleep(200);
    assert.deepEqual(documents, ["e1", "e2", "e3", "e4"]);
    // The reconnection sent the position of e1, and the server recovered from it.
    assert.equal(sent[0], null);
    assert.match(sent.at(-1), /^[0-9a-f]{16}:\d+$/);
    const resumed = subscribed.at(-1);
    assert.equal(resumed.recovered, true, JSON.stringify(resumed));
  } finally {
    es.close();
  }
});
