// Herald's admin dashboard: plain JavaScript, no dependencies. It polls the JSON endpoints of
// /_admin/api every second; the token (if the server needs one) comes from `?token=` or the
// login form and is kept in sessionStorage only.
"use strict";

(function () {
  const params = new URLSearchParams(location.search);
  if (params.get("token")) {
    sessionStorage.setItem("heraldToken", params.get("token"));
    params.delete("token");
    const query = params.toString();
    history.replaceState(null, "", location.pathname + (query ? "?" + query : "") + location.hash);
  }
  const $ = (id) => document.getElementById(id);
  let last = null;

  async function api(path, options = {}) {
    const headers = Object.assign({}, options.headers || {});
    const token = sessionStorage.getItem("heraldToken");
    if (token) headers.Authorization = "Bearer " + token;
    const response = await fetch("/_admin/api/" + path, Object.assign({}, options, { headers }));
    if (response.status === 401) {
      $("login").hidden = false;
      throw new Error("unauthorized");
    }
    if (!response.ok) throw new Error("HTTP " + response.status);
    $("login").hidden = true;
    return response.json();
  }

  function text(element, value) {
    element.textContent = value;
  }

  function bytes(n) {
    const units = ["B", "KiB", "MiB", "GiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return n.toFixed(i ? 1 : 0) + " " + units[i];
  }

  function duration(s) {
    const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    return (d ? d + "d " : "") + (d || h ? h + "h " : "") + m + "m " + (s % 60) + "s";
  }

  function cell(row, value, mono) {
    const td = document.createElement("td");
    if (mono) {
      const code = document.createElement("code");
      code.textContent = value;
      td.appendChild(code);
    } else {
      td.textContent = value;
    }
    row.appendChild(td);
  }

  async function overview() {
    const o = await api("overview");
    const now = performance.now();
    text($("node"), o.node);
    text($("m-connections"), o.connections.websocket + o.connections.http);
    text($("m-transports"), o.connections.websocket + " websocket, " + o.connections.http + " http");
    text($("m-rooms"), o.rooms);
    text($("m-subscriptions"), o.subscriptions + (o.subscriptions === 1 ? " subscription" : " subscriptions"));
    if (last) {
      const rate = (o.notificationsDelivered - last.o.notificationsDelivered) / ((now - last.at) / 1000);
      text($("m-rate"), Math.max(0, rate).toFixed(rate < 10 ? 1 : 0));
    } else {
      text($("m-rate"), "0");
    }
    text($("m-delivered"), o.notificationsDelivered + " delivered in total");
    text($("m-errors"), o.errors);
    text($("m-dropped"), o.notificationsDropped + " dropped, " + o.slowClientsClosed + " slow clients closed");
    text($("m-memory"), bytes(o.residentBytes));
    text($("m-queued"), o.queuedFrames + " frames queued");
    text($("m-uptime"), duration(o.uptimeSeconds));
    text($("m-version"), "herald " + o.version);
    last = { o, at: now };
  }

  async function rooms() {
    const r = await api("rooms");
    text($("rooms-total"), r.total + " rooms" + (r.total > r.rooms.length ? " (first " + r.rooms.length + " shown)" : ""));
    const body = $("rooms-body");
    body.replaceChildren();
    for (const room of r.rooms) {
      const row = document.createElement("tr");
      cell(row, room.index);
      cell(row, room.collection);
      cell(row, room.subscribers);
      cell(row, room.canonical, true);
      cell(row, room.id, true);
      const td = document.createElement("td");
      const button = document.createElement("button");
      button.textContent = "Tail";
      button.className = "tail-button";
      button.addEventListener("click", () => startTail(room.id));
      td.appendChild(button);
      row.appendChild(td);
      body.appendChild(row);
    }
  }

  async function connections() {
    const c = await api("connections");
    text($("connections-total"), c.total + " connections" + (c.total > c.connections.length ? " (first " + c.connections.length + " shown)" : ""));
    const body = $("connections-body");
    body.replaceChildren();
    for (const connection of c.connections) {
      const row = document.createElement("tr");
      cell(row, connection.id);
      cell(row, connection.user);
      cell(row, connection.transport);
      cell(row, connection.subscriptions);
      cell(row, connection.queue);
      body.appendChild(row);
    }
  }

  // A room's live tail: the page joins the room over its own WebSocket (realtime:join, with
  // the admin token if any: it needs the subscribe right on the room's collection).
  let tail = null;
  function stopTail() {
    if (tail) tail.close();
    tail = null;
    $("tail").hidden = true;
  }
  function startTail(roomId) {
    stopTail();
    $("tail").hidden = false;
    text($("tail-room"), roomId);
    text($("tail-status"), "joining…");
    $("tail-list").replaceChildren();
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const ws = new WebSocket(scheme + location.host + "/");
    tail = ws;
    ws.onopen = () => {
      const request = { requestId: "tail", controller: "realtime", action: "join", body: { roomId } };
      const token = sessionStorage.getItem("heraldToken");
      if (token) request.jwt = token;
      ws.send(JSON.stringify(request));
    };
    ws.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      if (frame.requestId === "tail" && frame.type === undefined) {
        text($("tail-status"), frame.status === 200 ? "live: newest first (last 50)" : "refused: " + frame.error.message);
        return;
      }
      if (!frame.type) return;
      const item = document.createElement("li");
      item.textContent = new Date(frame.timestamp || Date.now()).toLocaleTimeString() + " " +
        frame.type + " " + (frame.action || "") + " " + (frame.scope || frame.user || "") + " " +
        JSON.stringify(frame.result);
      const list = $("tail-list");
      list.prepend(item);
      while (list.children.length > 50) list.lastChild.remove();
    };
    ws.onclose = () => {
      if (tail === ws) text($("tail-status"), "closed");
    };
  }
  $("tail-stop").addEventListener("click", stopTail);

  function definition(list, term, value) {
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    dd.textContent = value;
    list.append(dt, dd);
  }

  let pending = null;
  async function playground() {
    const request = {
      index: $("pg-index").value,
      collection: $("pg-collection").value,
      filter: $("pg-filter").value,
      document: $("pg-document").value,
    };
    const answer = await api("filter", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(request),
    });
    const filterResult = $("pg-filter-result");
    const documentResult = $("pg-document-result");
    filterResult.replaceChildren();
    documentResult.replaceChildren();
    const status = document.createElement("p");
    if (!answer.valid) {
      status.className = "error";
      status.id = "pg-error";
      const where = answer.error.path ? "at " + answer.error.path + ": " : "";
      status.textContent = "Invalid filter " + where + answer.error.message;
      filterResult.appendChild(status);
      return;
    }
    status.className = "ok";
    status.textContent = "Valid filter (" + answer.subfilters + " subfilter" + (answer.subfilters === 1 ? "" : "s") + ")";
    const list = document.createElement("dl");
    definition(list, "canonical", answer.canonical);
    definition(list, "filter id", answer.filterId);
    definition(list, "room id", answer.roomId);
    filterResult.append(status, list);
    const doc = answer.document;
    if (!doc) return;
    const verdict = document.createElement("p");
    verdict.id = "pg-verdict";
    if (doc.error) {
      verdict.className = "error";
      verdict.textContent = "Invalid document: " + doc.error;
      documentResult.appendChild(verdict);
      return;
    }
    verdict.className = doc.matches ? "ok" : "error";
    verdict.textContent = doc.matches ? "The document matches" : "The document does not match";
    documentResult.appendChild(verdict);
    for (const sub of doc.subfilters) {
      const div = document.createElement("div");
      div.className = "sub" + (sub.matches ? " match" : "");
      div.textContent = "subfilter " + sub.index + (sub.matches ? " matches: " : " does not match: ") +
        sub.literals.map((l) => (l.holds ? "✓ " : "✗ ") + l.literal).join("  ∧  ");
      documentResult.appendChild(div);
    }
  }

  function schedulePlayground() {
    clearTimeout(pending);
    pending = setTimeout(() => playground().catch(report), 150);
  }

  function report(error) {
    const status = $("status");
    status.className = "status bad";
    text(status, error.message === "unauthorized" ? "admin token required" : "server unreachable: " + error.message);
  }

  function page() {
    const name = (location.hash || "#overview").slice(1);
    for (const section of document.querySelectorAll(".page")) section.hidden = section.id !== name;
    for (const link of document.querySelectorAll("nav a")) link.classList.toggle("active", link.dataset.page === name);
    return name;
  }

  async function tick() {
    const name = page();
    try {
      await overview();
      if (name === "rooms") await rooms();
      if (name === "connections") await connections();
      const status = $("status");
      status.className = "status";
      text(status, "live · " + new Date().toLocaleTimeString());
    } catch (error) {
      report(error);
    }
  }

  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem("heraldToken", $("token").value.trim());
    tick();
    schedulePlayground();
  });
  for (const id of ["pg-filter", "pg-document", "pg-index", "pg-collection"]) {
    $(id).addEventListener("input", schedulePlayground);
  }
  window.addEventListener("hashchange", tick);
  tick();
  schedulePlayground();
  setInterval(tick, 1000);
})();
