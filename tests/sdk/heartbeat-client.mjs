// Child process of the heartbeat test: connects with the SDK, stays idle over many ping
// intervals, then checks the connection still answers. The parent chooses the SDK's transport
// with node flags: the global WebSocket (application pings {"p":1}) or the `ws` package
// (protocol-level pings). Prints "ok <transport>" and exits 0 on success.
import sdk from "kuzzle-sdk";

const { Kuzzle, WebSocket } = sdk;
const port = Number(process.argv[2]);
const transport = typeof globalThis.WebSocket === "undefined" ? "ws-package" : "native";
const kuzzle = new Kuzzle(new WebSocket("127.0.0.1", { port, pingInterval: 100, autoReconnect: false }));
let lost = 0;
kuzzle.on("networkError", () => lost++);
kuzzle.on("disconnected", () => lost++);
await kuzzle.connect();
await new Promise((r) => setTimeout(r, 1500));
const count = await kuzzle.realtime.count("none");
kuzzle.disconnect();
if (lost === 0 && count === 0) {
  console.log(`ok ${transport}`);
  process.exit(0);
}
console.log(`lost ${lost} ${transport}`);
process.exit(1);
