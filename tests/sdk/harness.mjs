// Shared helpers of the SDK compatibility tests: start and stop the herald binary named by
// HERALD_BIN (default: the debug build) on a free port, connect official kuzzle-sdk clients,
// and collect subscription notifications.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import sdk from "kuzzle-sdk";

const { Kuzzle, WebSocket } = sdk;
export const here = path.dirname(fileURLToPath(import.meta.url));
const HERALD_BIN =
  process.env.HERALD_BIN || path.join(here, "..", "..", "target", "debug", "herald");
export const WAIT_MS = 5000;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Starts `herald serve --ephemeral --port <port> --history-size 100 ...extraArgs` (without
// `--ephemeral` when `dataDir` is given: `--data-dir <dataDir>`); resolves once the port
// accepts connections. History is on for every SDK test, so that the SDK is shown to work
// with positions in every notification.
export async function startHerald(port, extraArgs = [], { dataDir } = {}) {
  const store = dataDir ? ["--data-dir", dataDir] : ["--ephemeral"];
  const args = ["serve", ...store, "--port", String(port), "--history-size", "100", ...extraArgs];
  const child = spawn(HERALD_BIN, args, {
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || "warn" },
    stdio: ["ignore", "inherit", "inherit"],
  });
  child.once("error", (e) => {
    throw e;
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
    await sleep(50);
  }
  child.kill("SIGKILL");
  throw new Error(`herald did not start on port ${port}`);
}

export function stopServer(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once("exit", (code) => resolve(code));
    child.kill("SIGTERM");
  });
}

// A connected SDK client (remembered in `clients`, to disconnect them at the end).
export async function connectTo(port, clients, options = {}) {
  const kuzzle = new Kuzzle(new WebSocket("127.0.0.1", { port, reconnectionDelay: 200 }), {
    ...options,
  });
  kuzzle.on("networkError", () => {});
  await kuzzle.connect();
  clients.push(kuzzle);
  return kuzzle;
}

// Collects notifications of one subscription callback.
export function inbox() {
  const items = [];
  const waiters = [];
  const cb = (n) => {
    items.push(n);
    for (const w of waiters.splice(0)) w();
  };
  async function next(pred = () => true, ms = WAIT_MS) {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = items.findIndex(pred);
      if (i >= 0) return items.splice(i, 1)[0];
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("no matching notification in time");
      await new Promise((r) => {
        const timer = setTimeout(r, left);
        waiters.push(() => {
          clearTimeout(timer);
          r();
        });
      });
    }
  }
  async function none(ms = 300) {
    await sleep(ms);
    assert.deepEqual(items, [], "unexpected notifications");
  }
  return { cb, next, none, items };
}
