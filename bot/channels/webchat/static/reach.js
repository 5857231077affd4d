// Shishi web chat: the bell that offers notifications (standard Web Push: the page subscribes with the desk's VAPID
// key and hands the subscription to /api/push, which keeps it once the privacy notice was agreed to).
(() => {
  "use strict";
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) return;

  const b64 = (text) => {
    const padded = (text + "=".repeat((4 - (text.length % 4)) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  };

  async function subscribe(key) {
    const registration = await navigator.serviceWorker.register("/sw.js", { scope: "/" });
    await navigator.serviceWorker.ready;
    const subscription = (await registration.pushManager.getSubscription())
      || await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: b64(key) });
    const response = await fetch("/api/push", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(subscription.toJSON()),
    });
    return response.ok;
  }

  async function offer() {
    let words;
    try {
      const response = await fetch("/api/push", { credentials: "same-origin" });
      if (!response.ok) return;
      words = await response.json();
    } catch (e) { return; }
    if (!words.consented) { // offered once the privacy notice is agreed to: look again a little later
      setTimeout(offer, 5000);
      return;
    }
    const bar = document.querySelector(".bar");
    if (!bar || Notification.permission === "denied") return;
    const bell = document.createElement("button");
    bell.type = "button";
    bell.id = "bell";
    bell.className = "bell";
    bell.textContent = Notification.permission === "granted" ? words.on : words.offer;
    bell.addEventListener("click", async () => {
      const allowed = Notification.permission === "granted" || await Notification.requestPermission() === "granted";
      if (!allowed) { bell.textContent = words.refused; return; }
      try {
        bell.textContent = (await subscribe(words.key)) ? words.on : words.offer;
      } catch (e) { bell.textContent = words.refused; }
    });
    bar.appendChild(bell);
    if (Notification.permission === "granted") subscribe(words.key).catch(() => {});
  }

  window.addEventListener("load", offer);
})();
