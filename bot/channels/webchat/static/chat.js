// Shishi web chat: bubbles, tappable choices, phone entry, photo/voice upload, WebSocket push with a long-poll
// fallback. No framework, no build step, nothing from another origin (the page's CSP allows only 'self').
// The server may restart at any time: the page reconnects by itself (WebSocket with back-off, the long poll
// meanwhile) and sends again what it could not deliver, with the same key, so the desk handles it once.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const log = $("log");
  const form = $("composer");
  const input = $("text");
  const statusEl = $("status");
  const attach = $("attach");
  const picker = $("file");
  const store = window.sessionStorage;
  const MINE = "shishi.mine";
  let cursor = "0"; // the server's, opaque: handed back as it came
  let cursorAt = -1; // when the server looked (ms), to keep the latest of two answers that cross
  let lastId = 0; // the newest message shown
  let strings = {};
  let socket = null;
  let polling = false;
  let pollRun = 0;
  let socketDelay = 1000;
  const outbox = []; // messages on their way to the desk, in order, each keeping its key
  let pumping = false;
  let typing = null;
  let lastTyped = "";
  const seen = new Set();

  const t = (key, fallback) => strings[key] || fallback || "";
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const newKey = () => (crypto.randomUUID ? crypto.randomUUID().replace(/-/g, "")
    : Date.now().toString(16) + Math.random().toString(16).slice(2));

  // What the citizen sent is kept in this tab only (sessionStorage), so a reload shows both sides of the
  // conversation; phone and ID numbers are masked before they are kept or shown.
  function masked(text) {
    return text
      .replace(/(^|[^\d])(1\d{2})[\s-]?\d{4}[\s-]?(\d{4})(?!\d)/g, "$1$2****$3")
      .replace(/(^|[^\dA-Za-z])(\d{4})\d{10}([\dXx]{4})(?![\dA-Za-z])/g, "$1$2**********$3");
  }
  function loadMine() {
    try { return JSON.parse(store.getItem(MINE) || "[]"); } catch (e) { return []; }
  }
  function remember(text, chose) {
    const mine = loadMine();
    mine.push({ after: lastId, text, chose });
    try { store.setItem(MINE, JSON.stringify(mine.slice(-150))); } catch (e) { /* storage full or disabled */ }
  }

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  function bubble(kind, text) {
    const li = document.createElement("li");
    li.className = "msg " + kind;
    const b = document.createElement("div");
    b.className = "bubble";
    b.textContent = text;
    li.appendChild(b);
    log.insertBefore(li, typing && typing.parentNode === log ? typing : null);
    scrollDown();
    return li;
  }
  const system = (text) => bubble("system", text);

  function showTyping() {
    hideTyping();
    typing = document.createElement("li");
    typing.className = "msg bot typing";
    typing.appendChild(document.createElement("div")).className = "bubble";
    log.appendChild(typing);
    scrollDown();
    setTimeout(hideTyping, 15000);
  }
  function hideTyping() {
    if (typing) { typing.remove(); typing = null; }
  }

  function setPhoneMode(on) {
    input.type = on ? "tel" : "text";
    input.inputMode = on ? "tel" : "text";
    input.classList.toggle("phone", on);
    input.placeholder = on ? t("webchat.phone_placeholder") : t("webchat.placeholder");
  }

  function chipFor(label, value, onPress) {
    const chip = document.createElement("button");
    chip.type = "button";
    chip.className = "chip";
    chip.textContent = label;
    chip.dataset.value = value;
    if (value.startsWith("nav:") || value.startsWith("help:")) chip.classList.add("nav");
    if (value === "nav:submit" || value === "consent:agree") chip.classList.add("primary");
    chip.addEventListener("click", () => onPress(chip));
    return chip;
  }

  function render(message) {
    if (seen.has(message.id)) return;
    seen.add(message.id);
    if (message.edit_of) {
      // An edit of an earlier message (a broadcast's progress): its bubble changes in place, nothing is added.
      const earlier = log.querySelector(`li[data-id="${Number(message.edit_of)}"] .bubble`);
      if (earlier) { earlier.textContent = message.text; return; }
    }
    hideTyping();
    const rows = message.buttons || [];
    const asks = rows.length > 0 || Boolean(message.request);
    // A new question retires the old ones, and so does any answer to a tapped button; a note in between
    // (a photo received, a warning) leaves the open question's buttons alone. Lasting buttons (an officer's card,
    // an alert, guide results) are actions, not questions: nothing retires them, and a tap uses only that one.
    log.querySelectorAll(".choices.answered:not(.lasting)").forEach((old) => { old.classList.add("spent"); });
    if (asks && !message.lasting) {
      log.querySelectorAll(".choices:not(.lasting)").forEach((old) => { old.classList.add("spent"); });
      log.querySelectorAll(".choices:not(.lasting) .chip").forEach((c) => { c.disabled = true; });
    }
    const li = bubble("bot", message.text);
    li.dataset.id = message.id;
    if (message.file) li.firstChild.appendChild(fileView(message.file));
    linkDesk(li.firstChild);
    if (message.locale) loadUi(); // the chat's language changed: the page's own words follow
    if (asks) {
      const choices = document.createElement("div");
      choices.className = message.lasting ? "choices lasting" : "choices";
      rows.forEach((row) => {
        const line = document.createElement("div");
        line.className = "row";
        row.forEach((button) => line.appendChild(chipFor(button.label, button.data, (chip) => press(choices, chip, button))));
        choices.appendChild(line);
      });
      if (message.request === "contact") {
        const line = document.createElement("div");
        line.className = "row";
        const chip = chipFor(message.request_label || t("webchat.type_phone"), "request:contact", () => {
          setPhoneMode(true);
          input.focus();
        });
        chip.classList.add("request");
        line.appendChild(chip);
        choices.insertBefore(line, choices.firstChild);
      }
      if (message.request === "location" && navigator.geolocation) {
        // The browser asks the person before it tells where they are; nothing is sent without that consent.
        const line = document.createElement("div");
        line.className = "row";
        const chip = chipFor(message.request_label || t("request.location"), "request:location", (pressed) => {
          pressed.disabled = true;
          navigator.geolocation.getCurrentPosition(
            (position) => {
              const place = { lat: position.coords.latitude, lon: position.coords.longitude };
              send({ location: place }, `📍 ${place.lat.toFixed(5)}, ${place.lon.toFixed(5)}`, true);
            },
            () => { pressed.disabled = false; system(t("webchat.location_refused")); },
            { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
          );
        });
        chip.classList.add("request");
        line.appendChild(chip);
        choices.insertBefore(line, choices.firstChild);
      }
      li.appendChild(choices);
      setPhoneMode(message.request === "contact");
    }
    if (message.id > lastId) lastId = message.id;
    scrollDown();
  }

  // A link to this desk's own dashboard in a message (a one-time login or export link, #17) can be pressed; no
  // other link is made live, so a relayed text cannot slip one in.
  function linkDesk(node) {
    const text = node.firstChild;
    if (!text || text.nodeType !== Node.TEXT_NODE) return;
    const own = location.origin + "/desk/";
    const parts = text.textContent.split(/(https?:\/\/\S+)/);
    if (!parts.some((part) => part.startsWith(own))) return;
    const fragment = document.createDocumentFragment();
    parts.forEach((part) => {
      if (part.startsWith(own)) {
        const link = document.createElement("a");
        link.href = part;
        link.textContent = part;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        fragment.appendChild(link);
      } else if (part) {
        fragment.appendChild(document.createTextNode(part));
      }
    });
    node.replaceChild(fragment, text);
  }

  function fileView(file) {
    // A file the desk sent this chat (a photo an officer opened, a broadcast's image), served only to this chat.
    if (file.kind === "voice" || file.kind === "audio") {
      const audio = document.createElement("audio");
      audio.controls = true;
      audio.preload = "none";
      audio.src = file.url;
      audio.className = "file";
      return audio;
    }
    if (file.kind === "photo") {
      const img = document.createElement("img");
      img.src = file.url;
      img.alt = "";
      img.loading = "lazy";
      img.className = "file";
      return img;
    }
    const link = document.createElement("a");
    link.href = file.url;
    link.textContent = "📎";
    link.className = "file";
    return link;
  }

  async function press(choices, chip, button) {
    if (choices.classList.contains("lasting")) { // an action among others: only this one is used
      chip.disabled = true;
      chip.classList.add("chosen");
      if (!(await send({ choice: button.data }, button.label, true))) {
        chip.disabled = false;
        chip.classList.remove("chosen");
      }
      return;
    }
    const chips = choices.querySelectorAll(".chip");
    chips.forEach((c) => { c.disabled = true; });
    chip.classList.add("chosen");
    choices.classList.add("answered");
    if (!(await send({ choice: button.data }, button.label, true))) {
      chips.forEach((c) => { c.disabled = false; });
      chip.classList.remove("chosen");
      choices.classList.remove("answered");
    }
  }

  function accept(payload) {
    (payload.messages || []).forEach(render);
    const next = String(payload.cursor === undefined ? "" : payload.cursor);
    const at = Number(next.split(".")[1] || 0);
    if (next && at >= cursorAt) { cursor = next; cursorAt = at; }
  }

  function online() { statusEl.hidden = true; }
  function offline() {
    statusEl.textContent = t("webchat.offline");
    statusEl.hidden = false;
  }

  // Sends one message: queued, sent in order, each until the desk has it. The key makes every retry harmless (the
  // desk handles a key once), so a message tapped while the server restarts arrives once it is back.
  function send(body, shown, chose) {
    body.key = newKey();
    if (shown !== undefined) {
      bubble("me", masked(shown));
      remember(masked(shown), Boolean(chose));
    }
    showTyping();
    return new Promise((resolve) => {
      outbox.push({ body, resolve });
      pump();
    });
  }

  async function pump() {
    if (pumping) return;
    pumping = true;
    while (outbox.length) {
      const item = outbox[0];
      const delivered = await deliver(item.body);
      outbox.shift();
      item.resolve(delivered);
    }
    pumping = false;
  }

  const GIVE_UP_AFTER = 10 * 60 * 1000;

  async function deliver(body) {
    const started = Date.now();
    for (let attempt = 0; Date.now() - started < GIVE_UP_AFTER; attempt += 1) {
      try {
        const response = await fetch("/api/messages", {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json" }, body: JSON.stringify(Object.assign({ after: cursor }, body)),
        });
        const payload = await response.json().catch(() => ({}));
        if (response.ok) {
          online();
          accept(payload);
          return true;
        }
        if (response.status < 500) { // refused for a reason the citizen should read (too fast, too large)
          hideTyping();
          system(payload.error || t("webchat.offline", "…"));
          return false;
        }
      } catch (e) { /* no answer at all: the server is restarting or the network is away */ }
      offline(); // not stored yet: the same key again in a moment
      showTyping();
      await sleep(Math.min(1000 * 2 ** attempt, 10000));
    }
    hideTyping();
    system(t("webchat.offline", "…"));
    return false;
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    let ws;
    try {
      ws = new WebSocket(`${scheme}://${location.host}/ws?after=${encodeURIComponent(cursor)}`);
    } catch (e) { // no WebSocket here (blocked, or too old): the long poll, and another try later
      startPolling();
      setTimeout(connect, nextSocketDelay());
      return;
    }
    let opened = false;
    ws.onopen = () => {
      opened = true;
      socket = ws;
      socketDelay = 1000;
      polling = false; // the socket pushes from now on
      online();
    };
    ws.onmessage = (event) => {
      let data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      if (data.type === "messages") accept(data);
      else if (data.type === "error") {
        hideTyping();
        system(data.text);
        if (lastTyped && !input.value) input.value = lastTyped; // nothing typed is lost
      }
    };
    ws.onclose = () => {
      if (socket === ws) socket = null;
      if (opened) offline(); // it worked and stopped: say so until the socket or the poll works again
      startPolling();
      setTimeout(connect, nextSocketDelay());
    };
  }

  function nextSocketDelay() {
    const delay = socketDelay;
    socketDelay = Math.min(socketDelay * 2, 30000);
    return delay;
  }

  async function startPolling() {
    if (polling) return;
    polling = true;
    const run = ++pollRun;
    while (polling && run === pollRun) {
      try {
        const response = await fetch(`/api/messages?after=${encodeURIComponent(cursor)}&wait=20`,
          { credentials: "same-origin" });
        if (response.ok) {
          online();
          accept(await response.json());
          continue;
        }
      } catch (e) { /* the server is away */ }
      if (!socket) offline();
      await sleep(2000);
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    lastTyped = text;
    if (!(await send({ text }, text)) && !input.value) input.value = text;
  });

  attach.addEventListener("click", () => picker.click());
  picker.addEventListener("change", async () => {
    const file = picker.files && picker.files[0];
    picker.value = "";
    if (!file) return;
    attach.classList.add("busy");
    try {
      const data = new FormData();
      data.append("file", file, "upload");
      const response = await fetch("/api/upload", { method: "POST", credentials: "same-origin", body: data });
      const payload = await response.json().catch(() => ({}));
      if (!response.ok) { system(payload.error || t("webchat.upload_failed")); return; }
      const label = payload.kind === "voice" ? t("webchat.voice_sent", "[voice]") : t("webchat.photo_sent", "[photo]");
      await send({ attachments: [{ kind: payload.kind, ref: payload.ref }] }, label);
    } catch (e) {
      system(t("webchat.upload_failed"));
    } finally {
      attach.classList.remove("busy");
    }
  });

  async function loadUi() {
    try {
      const ui = await (await fetch("/api/ui", { credentials: "same-origin" })).json();
      strings = ui.strings || {};
      document.documentElement.lang = ui.locale === "en" ? "en" : "zh-CN";
      document.title = t("webchat.title", document.title);
      $("title").textContent = t("webchat.title", "实事");
      $("subtitle").textContent = t("webchat.subtitle");
      $("notice").textContent = t("webchat.footer");
      $("send").textContent = t("webchat.send", "发送");
      attach.setAttribute("aria-label", t("webchat.attach"));
      attach.title = t("webchat.attach");
      input.setAttribute("aria-label", t("webchat.placeholder"));
      setPhoneMode(input.classList.contains("phone"));
    } catch (e) { /* the page still works with the defaults in the HTML */ }
  }

  async function boot() {
    await loadUi();
    let history = { messages: [] };
    try {
      history = await (await fetch("/api/messages?after=0", { credentials: "same-origin" })).json();
    } catch (e) { /* offline: the socket or the poll will bring them */ }
    const messages = history.messages || [];
    const mine = messages.length ? loadMine() : [];
    if (!messages.length) store.removeItem(MINE); // a new session: what this tab kept belongs to an old one
    const replay = (entry) => {
      if (entry.chose) { // it answered the question above it by a tap
        const asked = log.querySelectorAll(".choices");
        if (asked.length) asked[asked.length - 1].classList.add("answered");
      }
      bubble("me", entry.text);
    };
    messages.forEach((message) => {
      while (mine.length && mine[0].after < message.id) replay(mine.shift());
      render(message);
    });
    mine.forEach(replay);
    accept({ cursor: history.cursor });
    if (!messages.length) await send({ text: "/start" });
    // Opened from a push (?ticket=HZ-…: the chat at that ticket) or with a link code from another chat (?link=…).
    const opened = new URLSearchParams(window.location.search);
    const ticket = (opened.get("ticket") || "").trim();
    const linkCode = (opened.get("link") || "").replace(/\D/g, "");
    if (ticket || linkCode) window.history.replaceState(null, "", "/");
    if (/^[A-Za-z]{1,8}-\d{8}-\d{4,6}$/.test(ticket)) await send({ text: `/status ${ticket}` }, `/status ${ticket}`);
    else if (linkCode.length === 8) await send({ text: `/link ${linkCode}` }, "/link ********");
    connect();
  }

  boot();
})();
