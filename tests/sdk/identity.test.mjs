// Identity with the official kuzzle-sdk (7.17.1, unmodified): login with an application-issued
// token, rights and their refusals, restriction filters, events to users and rooms, token
// expiry. Tokens are signed here with Node's crypto (HS256), as an application backend would.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { connectTo, freePort, inbox, sleep, startHerald, stopServer } from "./harness.mjs";

const SECRET = "sdk-test-secret";
let port;
let server;
const clients = [];

const connect = () => connectTo(port, clients);

const b64url = (value) => Buffer.from(value).toString("base64url");

// An HS256 token for `user` expiring in `ttl` seconds, with `herald` rights. The SDK 7.17.1
// decodes the payload with the standard base64 alphabet, so a `pad` claim is varied until
// the payload's encoding has no "-" or "_" (see docs/identity.md).
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

const ALL = { subscribe: "*", publish: "*", write: "*", events: true };

async function loggedIn(user, herald = ALL, ttl = 3600) {
  const k = await connect();
  await k.auth.login("jwt", { token: sign(user, herald, ttl) });
  return k;
}

async function refused(promise, id, status) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.id, id, e.message);
    assert.equal(e.status, status);
    return true;
  });
}

const sendEvent = async (k, body) =>
  (await k.query({ controller: "events", action: "send", body })).result.delivered;

before(async () => {
  port = await freePort();
  server = await startHerald(port, [
    "--jwt-secret", SECRET,
    "--anonymous", JSON.stringify({ subscribe: ["public/*"] }),
  ]);
});

after(async () => {
  for (const k of clients) k.disconnect();
  if (server) await stopServer(server);
});

test("login with an application token, checkToken, getCurrentUser, logout", async () => {
  const token = sign("alice", ALL);
  const k = await connect();
  assert.equal(await k.auth.login("jwt", { token }), token);
  const check = await k.auth.checkToken();
  assert.equal(check.valid, true);
  assert.equal(check.kuid, "alice");
  const me = await k.auth.getCurrentUser();
  assert.equal(me._id, "alice");
  await k.realtime.subscribe("shop", "orders", {}, () => {});
  await k.auth.logout();
  await refused(k.realtime.subscribe("shop", "orders", {}, () => {}), "security.rights.unauthorized", 401);
});

test("expired, forged and malformed tokens are refused", async () => {
  const k = await connect();
  k.on("tokenExpired", () => {});
  await refused(k.auth.login("jwt", { token: sign("alice", ALL, -5) }), "security.token.expired", 401);
  const forged = sign("alice", ALL).replace(/\.[^.]+$/, ".AAAA");
  await refused(k.auth.login("jwt", { token: forged }), "security.token.invalid", 401);
  for (const bad of [forged, "not-a-jwt"]) {
    const check = await k.auth.checkToken(bad);
    assert.equal(check.valid, false);
  }
});

test("rights: refused with 403/401, allowed otherwise; nothing delivered on refusal", async () => {
  const bob = await loggedIn("bob", { subscribe: ["shop/*"], publish: ["chat/*"] });
  const anonymous = await connect();
  await refused(bob.realtime.subscribe("admin", "logs", {}, () => {}), "security.rights.forbidden", 403);
  await refused(anonymous.realtime.subscribe("shop", "orders", {}, () => {}), "security.rights.unauthorized", 401);
  const box = inbox();
  await anonymous.realtime.subscribe("public", "news", {}, box.cb);
  await refused(bob.realtime.publish("public", "news", { x: 1 }), "security.rights.forbidden", 403);
  await refused(bob.document.create("shop", "orders", { a: 1 }), "security.rights.forbidden", 403);
  assert.equal(await bob.realtime.publish("chat", "general", { x: 1 }), true);
  await box.none();
});

test("restriction filters: two tenants with the same filter see only their own documents", async () => {
  const tenant = (name) => ({
    subscribe: ["shop/*"],
    restrict: { "shop/orders": { equals: { tenant: name } } },
  });
  const acme = await loggedIn("acme-user", tenant("acme"));
  const globex = await loggedIn("globex-user", tenant("globex"));
  const admin = await loggedIn("admin");
  const acmeBox = inbox();
  const globexBox = inbox();
  const acmeRoom = await acme.realtime.subscribe("shop", "orders", {}, acmeBox.cb);
  const globexRoom = await globex.realtime.subscribe("shop", "orders", {}, globexBox.cb);
  assert.notEqual(acmeRoom, globexRoom);
  await admin.document.create("shop", "orders", { tenant: "acme", total: 1 }, "a1");
  await admin.document.create("shop", "orders", { tenant: "globex", total: 2 }, "g1");
  assert.equal((await acmeBox.next()).result._id, "a1");
  assert.equal((await globexBox.next()).result._id, "g1");
  await acmeBox.none();
  await globexBox.none();
});

test("events: every connection of the user gets it, nobody else; offline users none", async () => {
  const boxes = [];
  for (let i = 0; i < 3; i++) {
    const k = await loggedIn("carol", {});
    const box = inbox();
    await k.realtime.subscribe("%herald", "events", {}, box.cb);
    boxes.push(box);
  }
  const dave = await loggedIn("dave", {});
  const daveBox = inbox();
  await dave.realtime.subscribe("%herald", "events", {}, daveBox.cb);
  const erp = await loggedIn("erp");
  const body = { type: "CM_REMINDER", payload: { text: "call back" }, user: "carol" };
  assert.equal(await sendEvent(erp, body), 3);
  for (const box of boxes) {
    const n = await box.next();
    assert.equal(n.type, "event");
    assert.deepEqual(n.result, { type: "CM_REMINDER", payload: { text: "call back" }, from: "erp" });
  }
  await daveBox.none();
  assert.equal(await sendEvent(erp, { type: "MAIL", user: "nobody-online" }), 0);
});

test("named events: listeners select by name; events to a room reach its subscribers", async () => {
  const erin = await loggedIn("erin", { subscribe: "*" });
  const invoices = inbox();
  await erin.realtime.subscribe("%herald", "events", { equals: { event: "refresh_invoice" } }, invoices.cb);
  const app = await loggedIn("app");
  assert.equal(await sendEvent(app, { event: "other", user: "erin" }), 0);
  assert.equal(await sendEvent(app, { event: "refresh_invoice", message: { id: 7 }, user: "erin" }), 1);
  assert.deepEqual((await invoices.next()).result, { event: "refresh_invoice", message: { id: 7 }, from: "app" });
  await invoices.none();

  const roomBox = inbox();
  const roomId = await erin.realtime.subscribe("billing", "invoices", {}, roomBox.cb);
  assert.equal(await sendEvent(app, { event: "refresh_invoice", message: "INV-9", roomId }), 1);
  const n = await roomBox.next();
  assert.equal(n.type, "event");
  assert.deepEqual(n.result, { event: "refresh_invoice", message: "INV-9", from: "app" });
});

test("token expiry: TokenExpired reaches the SDK and subscriptions are dropped", async () => {
  const frank = await loggedIn("frank", ALL, 2);
  const expired = new Promise((resolve) => frank.on("tokenExpired", resolve));
  const roomId = await frank.realtime.subscribe("chat", "expiry", {}, () => {});
  const watcher = await loggedIn("watcher");
  const box = inbox();
  await watcher.realtime.subscribe("chat", "expiry", {}, box.cb, { users: "all" });
  await expired;
  const out = await box.next((n) => n.type === "user");
  assert.equal(out.user, "out");
  assert.equal(await watcher.realtime.count(roomId), 1);
  await sleep(10);
});
