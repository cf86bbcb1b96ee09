// A resumable subscription for the official kuzzle-sdk on Herald (docs/realtime.md): the
// notifications missed while the SDK reconnects are replayed, in order and once, before the
// live ones. Plain JavaScript on the SDK's public objects; copy it into an application.
//
//   const sub = await new ResumableSubscription(kuzzle, "shop", "orders", { equals: { status: "open" } },
//     (notification) => render(notification),
//     { scope: "all", onReload: () => reloadOrders() }).start();
//   ...
//   await sub.stop();
export class ResumableSubscription {
  constructor(kuzzle, index, collection, filter, callback, options = {}) {
    Object.assign(this, { kuzzle, index, collection, filter, callback, options });
    // The position of the last notification received: where to resume from.
    this.position = null;
    this.channel = null;
    this.roomId = null;
    this.listener = (notification) => {
      if (notification.position) this.position = notification.position;
      this.callback(notification);
    };
    this.onReconnected = () => this.subscribe().catch((e) => this.options.onError?.(e));
  }

  async start() {
    await this.subscribe();
    this.kuzzle.on("reconnected", this.onReconnected);
    return this;
  }

  async subscribe() {
    const before = this.position;
    // Missed notifications arrive before the answer: the channel's listener, known from the
    // first subscription, stays registered across reconnections to catch them.
    const { result } = await this.kuzzle.query({
      controller: "realtime",
      action: "subscribe",
      index: this.index,
      collection: this.collection,
      body: this.filter,
      scope: this.options.scope,
      users: this.options.users,
      resumeFrom: before ?? undefined,
    });
    if (result.channel !== this.channel) {
      if (this.channel) this.kuzzle.protocol.removeListener(this.channel, this.listener);
      this.kuzzle.protocol.on(result.channel, this.listener);
      this.channel = result.channel;
    }
    this.roomId = result.roomId;
    this.answer = result;
    // Nothing received since the request: start from the room's position now.
    if (this.position === before) this.position = result.position ?? null;
    // Not recovered (history too short, server restarted after a crash...): nothing was
    // replayed, the application reloads its state.
    if (before && result.recovered === false) this.options.onReload?.();
    return result;
  }

  async stop() {
    this.kuzzle.removeListener("reconnected", this.onReconnected);
    if (this.channel) this.kuzzle.protocol.removeListener(this.channel, this.listener);
    if (this.roomId && this.kuzzle.connected) {
      await this.kuzzle.query({
        controller: "realtime",
        action: "unsubscribe",
        body: { roomId: this.roomId },
      });
    }
  }
}
