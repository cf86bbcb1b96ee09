// The admin dashboard in a real browser: Debian's chromium (/usr/bin/chromium, or
// CHROMIUM_BIN) driven by playwright-core against a real `herald serve --ephemeral`.
// Screenshots go to target/browser/ (test artefacts, not committed).

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, "..", "..");
const HERALD_BIN = process.env.HERALD_BIN || path.join(root, "target", "debug", "herald");
const CHROMIUM = process.env.CHROMIUM_BIN || "/usr/bin/chromium";
const ARTEFACTS = path.join(root, "target", "browser");
const WAIT_MS = 10000;

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// `herald serve --ephemeral`, or on `dataDir` when given.
async function startHerald(port, extraArgs = [], { dataDir } = {}) {
  const store = dataDir ? ["--data-dir", dataDir] : ["--ephemeral"];
  const child = spawn(HERALD_BIN, ["serve", ...store, "--port", String(port), ...extraArgs], {
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || "warn" },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const deadline = Date.now() + 20000;
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return child;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill("SIGKILL");
  throw new Error(`herald did not start on port ${port}`);
}

function stop(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

// An HS256 token (the server is started with the same secret).
function hs256(secret, claims) {
  const b64 = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const unsigned = b64({ alg: "HS256", typ: "JWT" }) + "." + b64(claims);
  return unsigned + "." + createHmac("sha256", secret).update(unsigned).digest("base64url");
}

let browser;
const servers = [];

before(async () => {
  mkdirSync(ARTEFACTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
});

after(async () => {
  await browser?.close();
  for (const server of servers) await stop(server);
});

// A page that records console errors and uncaught exceptions.
async function watchedPage() {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(String(error)));
  return { page, errors };
}

test("the dashboard shows live counters, rooms and the filter playground", async () => {
  const port = await freePort();
  servers.push(await startHerald(port));
  const base = `http://127.0.0.1:${port}`;
  const { page, errors } = await watchedPage();
  await page.goto(`${base}/_admin`);
  await page.waitForFunction(() => document.getElementById("m-uptime").textContent !== "–", null, {
    timeout: WAIT_MS,
  });
  assert.equal(await page.textContent("#m-rooms"), "0");

  // A subscriber (a raw WebSocket from another page) and three publishes over HTTP.
  const subscriber = await browser.newPage();
  await subscriber.goto(`${base}/_admin/app.css`);
  const subscribed = await subscriber.evaluate(
    (url) =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(url);
        window.notifications = [];
        ws.onerror = () => reject(new Error("websocket error"));
        ws.onopen = () =>
          ws.send(
            JSON.stringify({
              requestId: "sub-1",
              controller: "realtime",
              action: "subscribe",
              index: "shop",
              collection: "orders",
              body: { equals: { status: "open" } },
            }),
          );
        ws.onmessage = (event) => {
          const frame = JSON.parse(event.data);
          if (frame.requestId === "sub-1" && frame.status !== undefined && !frame.type) {
            resolve(frame);
          } else if (frame.type === "document") {
            window.notifications.push(frame);
          }
        };
        window.ws = ws;
      }),
    `ws://127.0.0.1:${port}/`,
  );
  assert.equal(subscribed.status, 200, JSON.stringify(subscribed));
  for (let i = 0; i < 3; i++) {
    const response = await fetch(`${base}/shop/orders/_publish`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ status: "open", n: i }),
    });
    assert.equal(response.status, 200);
  }
  await subscriber.waitForFunction(() => window.notifications.length === 3, null, { timeout: WAIT_MS });

  // The counters move by themselves (polling every second).
  await page.waitForFunction(
    () =>
      document.getElementById("m-rooms").textContent === "1" &&
      document.getElementById("m-transports").textContent.startsWith("1 websocket") &&
      document.getElementById("m-delivered").textContent.startsWith("3 delivered"),
    null,
    { timeout: WAIT_MS },
  );
  await page.screenshot({ path: path.join(ARTEFACTS, "overview.png"), fullPage: true });

  // The rooms page lists the room with its canonical filter and subscriber count.
  await page.click("nav a[data-page=rooms]");
  await page.waitForSelector("#rooms-body tr", { timeout: WAIT_MS });
  const row = await page.textContent("#rooms-body tr");
  assert.match(row, /shop/);
  assert.match(row, /orders/);
  assert.match(row, /"equals":\{"status":"open"\}/);

  // The room's live tail shows the next notification.
  await page.click("#rooms-body .tail-button");
  await page.waitForFunction(
    () => document.getElementById("tail-status").textContent.startsWith("live"),
    null,
    { timeout: WAIT_MS },
  );
  const published = await fetch(`${base}/shop/orders/_publish`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ status: "open", tail: "seen in the tail" }),
  });
  assert.equal(published.status, 200);
  await page.waitForSelector("#tail-list li", { timeout: WAIT_MS });
  assert.match(await page.textContent("#tail-list li"), /seen in the tail/);
  await page.screenshot({ path: path.join(ARTEFACTS, "rooms.png"), fullPage: true });
  await page.click("#tail-stop");

  // The connections page lists the subscriber.
  await page.click("nav a[data-page=connections]");
  await page.waitForSelector("#connections-body tr", { timeout: WAIT_MS });
  assert.match(await page.textContent("#connections-body tr"), /websocket/);

  // The playground: the path of a bad filter's error, then the match of a good document.
  await page.click("nav a[data-page=playground]");
  await page.fill("#pg-filter", '{"and": [{"equals": {"a": 1}}, {"range": {"b": {"gt": 1, "nope": 2}}}]}');
  await page.waitForSelector("#pg-error", { timeout: WAIT_MS });
  const error = await page.textContent("#pg-error");
  assert.match(error, /and\[1\]\.range\.b/, error);
  await page.screenshot({ path: path.join(ARTEFACTS, "playground-error.png"), fullPage: true });
  await page.fill("#pg-filter", '{"or": [{"equals": {"status": "open"}}, {"range": {"total": {"gte": 100}}}]}');
  await page.fill("#pg-document", '{"status": "closed", "total": 250}');
  await page.waitForFunction(
    () => document.getElementById("pg-verdict")?.textContent === "The document matches",
    null,
    { timeout: WAIT_MS },
  );
  const matching = await page.$$eval(".sub.match", (subs) => subs.map((s) => s.textContent));
  assert.equal(matching.length, 1);
  assert.match(matching[0], /range/);
  const roomId = await page.textContent("#pg-filter-result dl");
  assert.match(roomId, /room id[0-9a-f]{64}/);
  await page.screenshot({ path: path.join(ARTEFACTS, "playground.png"), fullPage: true });

  await subscriber.close();
  await page.close();
  assert.deepEqual(errors, []);
});

test("with --anonymous none the dashboard needs an admin token", async () => {
  const port = await freePort();
  const secret = "browser-test-secret";
  servers.push(await startHerald(port, ["--jwt-secret", secret, "--anonymous", "none"]));
  const base = `http://127.0.0.1:${port}`;
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const admin = hs256(secret, { sub: "ops", exp, herald: { admin: true } });

  // Without a token: the login form (the refused polls are the page's own 401s).
  const anonymous = await browser.newPage();
  await anonymous.goto(`${base}/_admin`);
  await anonymous.waitForSelector("#login:not([hidden])", { timeout: WAIT_MS });
  await anonymous.close();

  // With ?token=: kept in sessionStorage, removed from the address bar, and the data shows.
  const { page, errors } = await watchedPage();
  await page.goto(`${base}/_admin?token=${admin}`);
  await page.waitForFunction(() => document.getElementById("m-uptime").textContent !== "–", null, {
    timeout: WAIT_MS,
  });
  assert.equal(await page.evaluate(() => sessionStorage.getItem("heraldToken")), admin);
  assert.ok(!page.url().includes("token="), page.url());
  assert.equal(await page.isHidden("#login"), true);
  await page.close();
  assert.deepEqual(errors, []);
});

test("a browser's EventSource on another origin resumes with Last-Event-ID across a restart", async () => {
  const port = await freePort();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "herald-browser-sse-"));
  const start = async () => {
    const server = await startHerald(port, ["--sse-retry-ms", "300", "--history-size", "100"], {
      dataDir,
    });
    servers.push(server);
    return server;
  };
  let server = await start();
  const base = `http://127.0.0.1:${port}`;
  const create = async (id) => {
    const response = await fetch(`${base}/shop/browser/${id}/_create`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(response.status, 200);
  };
  const { page } = await watchedPage();
  // localhost is another origin than 127.0.0.1: the stream is read through CORS.
  await page.goto(`http://localhost:${port}/_admin/app.css`);
  await page.evaluate((url) => {
    window.documents = [];
    window.subscribed = [];
    const events = new EventSource(url);
    events.addEventListener("subscribed", (e) => window.subscribed.push(JSON.parse(e.data)));
    events.addEventListener("document", (e) => {
      const frame = JSON.parse(e.data);
      window.documents.push({ id: frame.result._id, same: e.lastEventId === frame.position });
    });
  }, `${base}/_sse?index=shop&collection=browser&filter=${encodeURIComponent("{}")}`);
  const count = (n) =>
    page.waitForFunction((n) => window.documents.length === n, n, { timeout: WAIT_MS });
  await page.waitForFunction(() => window.subscribed.length === 1, null, { timeout: WAIT_MS });
  await create("b1");
  await count(1);
  await stop(server);
  server = await start();
  await create("b2");
  await create("b3");
  await count(3);
  await create("b4");
  await count(4);
  await new Promise((r) => setTimeout(r, 200));
  const documents = await page.evaluate(() => window.documents);
  assert.deepEqual(
    documents.map((d) => d.id),
    ["b1", "b2", "b3", "b4"],
  );
  assert.ok(documents.every((d) => d.same));
  const resumed = await page.evaluate(() => window.subscribed.at(-1));
  assert.equal(resumed.recovered, true, JSON.stringify(resumed));
  await page.close();
  rmSync(dataDir, { recursive: true, force: true });
});
