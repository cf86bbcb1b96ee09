// Persistent inboxes with the official kuzzle-sdk (7.17.1, unmodified): `kuzzle.query` on the
// `notifications` controller and `kuzzle.realtime.subscribe("%herald", "notifications", ...)`
// for the live changes. Offline users, two connections of one user with exact counts, dedup,
// expiry, retention, rights, HTTP, and a restart on the embedded store (redb).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { connectTo, freePort, here, inbox, sleep, startHerald, stopServer } from "./harness.mjs";

const SECRET = "sdk-inbox-secret";
const MAX_PER_USER = 5;
let port;
let server;
const clients = [];

const b64url = (value) => Buffer.from(value).toString("base64url");

// An HS256 token for `user` with `herald` rights; the `pad` claim keeps "-" and "_" out of
// the payload's encoding, which the SDK 7.17.1 cannot decode (see docs/identity.md).
function sign(user, herald, ttl = 3600) {
  const header = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const exp = Math.floor(Date.now() / 1000) + ttl;
  for (let pad = 0; ; pad++) {
    const payload = b64url(JSON.stringify({ sub: user, _id: user, exp, herald, pad: "x".repeat(pad) }));
    if (/[-_]/.test(payload)) continue;
    const signature = crypto.createHmac("sha256", SECRET).update(`${header}.${payload}`).digest("base64url");
    return `${header}.${payload}.${signature}`;
  }
}

const SENDER = { notify: true };

async function loggedIn(user, herald = {}, on = port) {
  const k = await connectTo(on, clients);
  await k.auth.login("jwt", { token: sign(user, herald) });
  return k;
}

const q = async (k, action, body = {}) =>
  (await k.query({ controller: "notifications", action, body })).result;

async function refused(promise, id, status) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.id, id, e.message);
    assert.equal(e.status, status);
    return true;
  });
}

// Subscribes to the user's inbox changes; returns the collected notifications.
async function listen(k, filter = {}) {
  const box = inbox();
  await k.realtime.subscribe("%herald", "notifications", filter, box.cb);
  return box;
}

// The whole inbox as `list` shows it, checked against `count`; returns the counts.
async function consistent(k) {
  const counts = await q(k, "count");
  const hits = [];
  let cursor = null;
  do {
    const page = await q(k, "list", { archived: "any", size: 100, cursor });
    assert.deepEqual(page.counts, counts);
    hits.push(...page.hits);
    cursor = page.cursor;
  } while (cursor);
  const inInbox = hits.filter((h) => !h.archived);
  assert.equal(counts.total, inInbox.length);
  assert.equal(counts.archived, hits.length - inInbox.length);
  assert.equal(counts.unread, inInbox.filter((h) => !h.read).length);
  assert.equal(counts.unseen, inInbox.filter((h) => !h.seen).length);
  return counts;
}

before(async () => {
  port = await freePort();
  server = await startHerald(port, [
    "--jwt-secret", SECRET,
    "--inbox-max-per-user", String(MAX_PER_USER),
    "--inbox-sweep-seconds", "1",
  ]);
});

after(async () => {
  for (const k of clients) k.disconnect();
  if (server) await stopServer(server);
});

test("an offline user finds the notification at the next connection", async () => {
  const erp = await loggedIn("erp", SENDER);
  const sent = await q(erp, "send", {
    user: "olivia", type: "CM_REMINDER", priority: "high", subject: "Call back",
    payload: { customer: "Smith" }, link: { index: "crm", collection: "contacts", id: "smith" },
  });
  const id = sent.ids.olivia;
  assert.equal(typeof id, "string");
  const olivia = await loggedIn("olivia");
  const page = await q(olivia, "list");
  assert.equal(page.hits.length, 1);
  const [hit] = page.hits;
  assert.equal(hit._id, id);
  assert.equal(hit.type, "CM_REMINDER");
  assert.equal(hit.priority, "high");
  assert.equal(hit.subject, "Call back");
  assert.deepEqual(hit.payload, { customer: "Smith" });
  assert.deepEqual(hit.link, { index: "crm", collection: "contacts", id: "smith" });
  assert.equal(hit.from, "erp");
  assert.equal(hit.read, false);
  assert.deepEqual(await q(olivia, "count"), { unread: 1, unseen: 1, total: 1, archived: 0 });
});

test("two connections of a user see each other's changes; counts agree with list", async () => {
  const phone = await loggedIn("paula");
  const laptop = await loggedIn("paula");
  const phoneBox = await listen(phone);
  const laptopBox = await listen(laptop);
  const criticalBox = await listen(laptop, { equals: { priority: "critical" } });
  const erp = await loggedIn("erp", SENDER);
  const ids = [];
  for (const [type, priority] of [["MAIL", "normal"], ["VOIP", "low"], ["SHUTDOWN", "critical"]]) {
    const sent = await q(erp, "send", { user: "paula", type, priority });
    ids.push(sent.ids.paula);
    for (const box of [phoneBox, laptopBox]) {
      const n = await box.next();
      assert.equal(n.type, "notification");
      assert.equal(n.result.event, "created");
      assert.equal(n.result._id, sent.ids.paula);
      assert.equal(n.result.counts.unread, ids.length);
    }
  }
  const critical = await criticalBox.next();
  assert.equal(critical.result.type, "SHUTDOWN");
  assert.equal(critical.result.critical, true);
  await criticalBox.none();

  const steps = [
    ["markRead", { ids: [ids[0]] }, "read"],
    ["markSeen", { upTo: ids[1] }, "seen"],
    ["archive", { ids: [ids[2]] }, "archived"],
    ["markUnread", { all: true }, "unread"],
    ["unarchive", { all: true }, "unarchived"],
    ["markRead", { all: true }, "read"],
    ["delete", { ids: [ids[1]] }, "deleted"],
  ];
  for (const [i, [action, body, event]] of steps.entries()) {
    const [actor, otherBox, actorBox] = i % 2 ? [laptop, phoneBox, laptopBox] : [phone, laptopBox, phoneBox];
    const result = await q(actor, action, body);
    assert.ok(result.changed > 0, `${action} changed something`);
    for (const box of [otherBox, actorBox]) {
      const n = await box.next();
      assert.equal(n.result.event, event);
      assert.deepEqual(n.result.counts, result.counts);
    }
    assert.deepEqual(await consistent(phone), result.counts);
    assert.deepEqual(await consistent(laptop), result.counts);
  }
  assert.deepEqual(await q(phone, "count"), { unread: 0, unseen: 0, total: 2, archived: 0 });
  await criticalBox.none();
});

test("a dedup key replaces the user's notification instead of adding one", async () => {
  const erp = await loggedIn("erp", SENDER);
  const dora = await loggedIn("dora");
  const first = await q(erp, "send", { user: "dora", type: "CHAT", subject: "1 message", dedupKey: "chat-1" });
  const second = await q(erp, "send", { user: "dora", type: "CHAT", subject: "2 messages", dedupKey: "chat-1" });
  assert.equal(second.replaced.dora, first.ids.dora);
  const page = await q(dora, "list");
  assert.deepEqual(page.hits.map((h) => h.subject), ["2 messages"]);
  assert.equal((await consistent(dora)).total, 1);
});

test("expiry: removed on access, and by the sweep with a push", async () => {
  const erp = await loggedIn("erp", SENDER);
  const eve = await loggedIn("eve");
  await q(erp, "send", { user: "eve", type: "KEEP" });
  await q(erp, "send", { user: "eve", type: "FLASH", ttl: 300 });
  assert.equal((await q(eve, "count")).total, 2);
  await sleep(400);
  assert.deepEqual((await q(eve, "list")).hits.map((h) => h.type), ["KEEP"]);
  const box = await listen(eve);
  const flash = await q(erp, "send", { user: "eve", type: "FLASH", ttl: 200 });
  assert.equal((await box.next()).result.event, "created");
  const expired = await box.next((n) => n.result.event === "expired", 4000);
  assert.deepEqual(expired.result.removed, [flash.ids.eve]);
  assert.equal(expired.result.counts.total, 1);
});

test("retention: the newest notifications are kept", async () => {
  const erp = await loggedIn("erp", SENDER);
  const rita = await loggedIn("rita");
  const ids = [];
  for (let n = 0; n < MAX_PER_USER + 2; n++) {
    ids.push((await q(erp, "send", { user: "rita", type: "N", payload: n })).ids.rita);
  }
  const page = await q(rita, "list");
  assert.deepEqual(page.hits.map((h) => h._id), ids.slice(2).reverse());
  assert.equal((await consistent(rita)).total, MAX_PER_USER);
});

test("rights: 403 without notify or on another's inbox, 401 for anonymous", async () => {
  const erp = await loggedIn("erp", SENDER);
  await q(erp, "send", { users: ["rose", "sam"], type: "MAIL" });
  const sam = await loggedIn("sam", { events: true });
  await refused(q(sam, "send", { user: "rose", type: "SPAM" }), "security.rights.forbidden", 403);
  await refused(q(sam, "list", { user: "rose" }), "security.rights.forbidden", 403);
  await q(sam, "delete", { all: true });
  const rose = await loggedIn("rose");
  assert.equal((await q(rose, "count")).total, 1);
  const anonymous = await connectTo(port, clients);
  await refused(q(anonymous, "count"), "security.rights.unauthorized", 401);
  await refused(anonymous.realtime.subscribe("%herald", "notifications", {}, () => {}),
    "security.rights.unauthorized", 401);
});

test("HTTP routes: send, list, count and mark with a bearer token", async () => {
  const base = `http://127.0.0.1:${port}`;
  const call = (method, route, user, herald, body) =>
    fetch(`${base}${route}`, {
      method,
      headers: { authorization: `Bearer ${sign(user, herald)}`, "content-type": "application/json" },
      body: body && JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, json: await r.json() }));
  const hugo = await loggedIn("hugo");
  const box = await listen(hugo);
  const sent = await call("POST", "/_notifications/_send", "erp", SENDER, { user: "hugo", type: "MAIL" });
  assert.equal(sent.status, 200);
  const id = sent.json.result.ids.hugo;
  assert.equal((await box.next()).result._id, id);
  const listed = await call("GET", "/_notifications?unread=true", "hugo", {});
  assert.deepEqual(listed.json.result.hits.map((h) => h._id), [id]);
  const read = await call("POST", "/_notifications/_markRead", "hugo", {}, { ids: [id] });
  assert.equal(read.json.result.changed, 1);
  assert.deepEqual((await box.next()).result.counts, read.json.result.counts);
  const count = await call("GET", "/_notifications/_count", "hugo", {});
  assert.equal(count.json.result.unread, 0);
});

// The embedded store: a server of its own on a data directory, restarted.
function startOnDisk(onPort, dataDir) {
  const bin = process.env.HERALD_BIN || path.join(here, "..", "..", "target", "debug", "herald");
  const child = spawn(bin, ["serve", "--host", "127.0.0.1", "--port", String(onPort), "--data-dir", dataDir, "--jwt-secret", SECRET], {
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || "warn" },
    stdio: ["ignore", "inherit", "inherit"],
  });
  return (async () => {
    for (const deadline = Date.now() + 20000; Date.now() < deadline; await sleep(50)) {
      const ok = await new Promise((resolve) => {
        const s = net.connect(onPort, "127.0.0.1");
        s.once("connect", () => { s.destroy(); resolve(true); });
        s.once("error", () => resolve(false));
      });
      if (ok) return child;
    }
    child.kill("SIGKILL");
    throw new Error("herald did not start");
  })();
}

test("a restart on the embedded store keeps every notification and its state", async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "herald-inbox-"));
  const diskPort = await freePort();
  let disk = await startOnDisk(diskPort, dataDir);
  const mine = [];
  const local = async (user, herald) => {
    const k = await connectTo(diskPort, mine);
    await k.auth.login("jwt", { token: sign(user, herald) });
    return k;
  };
  try {
    const erp = await local("erp", SENDER);
    const ids = [];
    for (let n = 0; n < 3; n++) ids.push((await q(erp, "send", { user: "ruth", type: "MAIL", payload: n })).ids.ruth);
    const ruth = await local("ruth");
    await q(ruth, "markRead", { ids: [ids[0]] });
    await q(ruth, "archive", { ids: [ids[1]] });
    const before = await consistent(ruth);
    const page = await q(ruth, "list", { archived: "any" });
    for (const k of mine.splice(0)) k.disconnect();
    await stopServer(disk);
    disk = await startOnDisk(diskPort, dataDir);
    const again = await local("ruth");
    assert.deepEqual(await consistent(again), before);
    assert.deepEqual(await q(again, "list", { archived: "any" }), page);
    assert.deepEqual(before, { unread: 1, unseen: 2, total: 2, archived: 1 });
  } finally {
    for (const k of mine) k.disconnect();
    await stopServer(disk);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
