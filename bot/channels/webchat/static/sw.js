// Shishi web chat service worker: shows a push ("your ticket HZ-… has news": nothing personal) and opens the chat at
// that ticket when it is tapped. Served at /sw.js so that its scope is the whole page.
"use strict";

self.addEventListener("push", (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {}; }
  event.waitUntil(self.registration.showNotification(data.title || "实事", {
    body: data.body || "",
    tag: data.tag || "shishi",
    icon: "/static/emblem.svg",
    data: { url: data.url || "/" },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL((event.notification.data && event.notification.data.url) || "/", self.location.origin);
  if (target.origin !== self.location.origin) return;
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((pages) => {
    for (const page of pages) {
      if (page.url.startsWith(self.location.origin) && "navigate" in page) {
        return page.navigate(target.href).then((opened) => opened && opened.focus());
      }
    }
    return self.clients.openWindow(target.href);
  }));
});
