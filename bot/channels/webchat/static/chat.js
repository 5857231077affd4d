// Shishi web chat: bubbles, tappable chips, phone entry, WebSocket push with a long-poll fallback.
(() => {
  "use strict";
  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  const statusEl = document.getElementById("status");
  let cursor = Number(sessionStorage.getItem("shishi.cursor") || 0);
  let strings = {};
  let socket = null;
  let polling = false;
  let phoneMode = false;
  const seen = new Set();

  const key = () => (crypto.randomUUID ? crypto.randomUUID().replace(/-/g, "") : String(Date.now()) + Math.random().toString(16).slice(2));

  function bubble(kind, text) {
    const li = document.createElement("li");
    li.className = "msg " + kind;
    const b = document.createElement("div");
    b.className = "bubble";
    b.textContent = text;
    li.appendChild(b);
    log.appendChild(li);
    log.scrollTop = log.scrollHeight;
    return li;
  }

  function disableOldChips() {
    log.querySelectorAll(".chip").forEach((c) => { c.disabled = true; });
  }

  function render(message) {
    if (seen.has(message.id)) return;
    seen.add(message.id);
    disableOldChips();
    const li = bubble("bot", message.text);
    li.dataset.id = message.id;
    const rows = message.buttons || [];
    if (rows.length) {
      const chips = document.createElement("div");
      chips.className = "chips";
      rows.flat().forEach((button) => {
        const chip = document.createElement("button");
        chip.type = "button";
        chip.className = "chip";
        chip.textContent = button.label;
        chip.addEventListener("click", () => { send({ choice: button.data }, button.label); });
        chips.appendChild(chip);
      });
      li.appendChild(chips);
    }
    phoneMode = message.request === "contact";
    input.type = phoneMode ? "tel" : "text";
    input.inputMode = phoneMode ? "tel" : "text";
    input.placeholder = phoneMode ? (strings["webchat.phone_placeholder"] || "") : (strings["webchat.placeholder"] || "");
    if (message.id > cursor) { cursor = message.id; sessionStorage.setItem("shishi.cursor", String(cursor)); }
  }

  function accept(payload) {
    (payload.messages || []).forEach(render);
    if (typeof payload.cursor === "number" && payload.cursor > cursor) cursor = payload.cursor;
  }

  async function send(body, shown) {
    if (shown !== undefined) bubble("me", shown);
    body.key = key();
    body.after = cursor;
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(body));
      return;
    }
    try {
      const response = await fetch("/api/messages", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      });
      const payload = await response.json();
      if (!response.ok) { bubble("system", payload.error || "…"); return; }
      accept(payload);
    } catch (e) {
      bubble("system", strings["webchat.offline"] || "…");
    }
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    let ws;
    try { ws = new WebSocket(`${scheme}://${location.host}/ws?after=${cursor}`); } catch (e) { startPolling(); return; }
    let opened = false;
    ws.onopen = () => { opened = true; socket = ws; statusEl.hidden = true; };
    ws.onmessage = (event) => {
      const data = JSON.parse(event.data);
      if (data.type === "messages") accept(data);
      else if (data.type === "error") bubble("system", data.text);
    };
    ws.onclose = () => {
      socket = null;
      if (!opened) { startPolling(); return; }
      statusEl.textContent = strings["webchat.offline"] || "";
      statusEl.hidden = false;
      setTimeout(connect, 1500);
    };
  }

  async function startPolling() {
    if (polling) return;
    polling = true;
    while (polling) {
      try {
        const response = await fetch(`/api/messages?after=${cursor}&wait=20`, { credentials: "same-origin" });
        if (response.ok) accept(await response.json());
        else await new Promise((r) => setTimeout(r, 2000));
      } catch (e) {
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send({ text }, text);
  });

  async function boot() {
    try {
      const ui = await (await fetch("/api/ui", { credentials: "same-origin" })).json();
      strings = ui.strings || {};
      document.documentElement.lang = ui.locale === "en" ? "en" : "zh-CN";
      document.getElementById("title").textContent = strings["webchat.title"] || "实事";
      document.getElementById("send").textContent = strings["webchat.send"] || "发送";
      input.placeholder = strings["webchat.placeholder"] || "";
    } catch (e) { /* the page still works with the defaults */ }
    const history = await (await fetch("/api/messages?after=0", { credentials: "same-origin" })).json();
    accept(history);
    if (!(history.messages || []).length) await send({ text: "/start" });
    connect();
  }

  boot();
})();
