'use strict';

// The Node.js peer of `herald serve` for bench/fanout.sh: a WebSocket server on `ws` with
// Koncorde 4.7.0 as its matcher, speaking the subset of Kuzzle's realtime protocol that
// `herald-load fanout` uses:
//
//   realtime:subscribe  register the filter (one room per distinct filter per collection),
//                       answer {roomId, channel}
//   realtime:publish    test the message against every room of its collection, send one
//                       document notification per matching room to its connections (the
//                       notification is serialized once per room), then answer
//   realtime:unsubscribe, server:now, and the SDK's heartbeat ({"p":1} -> {"p":2})
//
// Anything else is answered with Kuzzle's 404 `api.process.action_not_found`. A client that
// leaves more than --max-buffered bytes unread is closed with 1011, as Herald does.
//
//   node fanout-server.js [--port 7512] [--max-buffered 16777216]

const { WebSocketServer } = require('ws');
const { Koncorde } = require('koncorde');

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? Number(process.argv[i + 1]) : fallback;
}

const port = option('port', 7512);
const maxBuffered = option('max-buffered', 16 * 1024 * 1024);
const node = 'node-peer';

const koncorde = new Koncorde();
// roomId -> Set of sockets; socket -> Set of roomIds.
const rooms = new Map();
const subscriptions = new Map();

function respond(ws, request, result, status = 200, error = null) {
  ws.send(
    JSON.stringify({
      requestId: request.requestId,
      status,
      error,
      controller: request.controller,
      action: request.action,
      index: request.index ?? null,
      collection: request.collection ?? null,
      volatile: request.volatile ?? null,
      result,
      room: request.requestId,
    }),
  );
}

function fail(ws, request, status, id, message) {
  respond(ws, request, null, status, { status, id, message });
}

function subscribe(ws, request) {
  const { index, collection } = request;
  if (typeof index !== 'string' || typeof collection !== 'string') {
    return fail(ws, request, 400, 'api.assert.missing_argument', 'index and collection are required');
  }
  let roomId;
  try {
    roomId = koncorde.register(request.body || {}, `${index}/${collection}`);
  } catch (e) {
    return fail(ws, request, 400, 'api.assert.koncorde_dsl_error', e.message);
  }
  if (!rooms.has(roomId)) {
    rooms.set(roomId, new Set());
  }
  rooms.get(roomId).add(ws);
  subscriptions.get(ws).add(roomId);
  respond(ws, request, { roomId, channel: roomId });
}

function leave(ws, roomId) {
  const members = rooms.get(roomId);
  if (!members) {
    return;
  }
  members.delete(ws);
  if (members.size === 0) {
    rooms.delete(roomId);
    koncorde.remove(roomId);
  }
}

function publish(ws, request) {
  const { index, collection } = request;
  const source = request.body || {};
  const matched = koncorde.test(source, `${index}/${collection}`);
  const timestamp = Date.now();
  for (const roomId of matched) {
    const members = rooms.get(roomId);
    if (!members) {
      continue;
    }
    const frame = JSON.stringify({
      type: 'document',
      status: 200,
      action: 'publish',
      scope: 'in',
      event: 'publish',
      result: { _source: source, _id: null },
      controller: 'realtime',
      index,
      collection,
      requestId: request.requestId,
      timestamp,
      volatile: request.volatile ?? {},
      protocol: 'websocket',
      node,
      room: roomId,
    });
    for (const member of members) {
      if (member.bufferedAmount > maxBuffered) {
        member.close(1011, 'too much backpressure: client is too slow');
        continue;
      }
      member.send(frame);
    }
  }
  respond(ws, request, { published: true });
}

const wss = new WebSocketServer({ port, perMessageDeflate: false });
wss.on('connection', (ws) => {
  subscriptions.set(ws, new Set());
  ws.on('message', (data, isBinary) => {
    const text = isBinary ? data.toString('utf8') : data.toString();
    let request;
    try {
      request = JSON.parse(text);
    } catch (e) {
      return fail(ws, {}, 400, 'api.assert.invalid_argument', 'the message is not JSON');
    }
    if (request && request.p === 1 && Object.keys(request).length === 1) {
      return ws.send('{"p":2}');
    }
    const route = `${request.controller}:${request.action}`;
    switch (route) {
      case 'realtime:subscribe':
        return subscribe(ws, request);
      case 'realtime:publish':
        return publish(ws, request);
      case 'realtime:unsubscribe': {
        const roomId = request.body && request.body.roomId;
        if (subscriptions.get(ws).delete(roomId)) {
          leave(ws, roomId);
        }
        return respond(ws, request, { roomId });
      }
      case 'server:now':
        return respond(ws, request, { now: Date.now() });
      default:
        return fail(ws, request, 404, 'api.process.action_not_found', `no such action: ${route}`);
    }
  });
  ws.on('close', () => {
    for (const roomId of subscriptions.get(ws)) {
      leave(ws, roomId);
    }
    subscriptions.delete(ws);
  });
  ws.on('error', () => {});
});
wss.on('listening', () => process.stderr.write(`node peer listening on ${port}\n`));
process.on('SIGTERM', () => {
  for (const ws of wss.clients) {
    ws.close(1001, 'server shutting down');
  }
  wss.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});
