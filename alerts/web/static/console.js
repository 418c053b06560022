// pingfan console: live updates (server-sent events) and the labelling keys. No library.
// Text from the server is put in with textContent, and page parts are swapped in from the
// server's own escaped HTML, so nothing a user wrote can run here.
"use strict";

function refreshLiveParts() {
  const parts = document.querySelectorAll("[data-live][id]");
  if (!parts.length) return;
  fetch(location.href, { credentials: "same-origin" })
    .then((r) => (r.ok ? r.text() : Promise.reject(r.status)))
    .then((html) => {
      const fresh = new DOMParser().parseFromString(html, "text/html");
      parts.forEach((part) => {
        const next = fresh.getElementById(part.id);
        if (next) part.replaceWith(document.importNode(next, true));
      });
    })
    .catch(() => {});
}

function showLive(text) {
  const box = document.getElementById("live");
  const list = document.getElementById("live-list");
  if (!box || !list) return;
  const item = document.createElement("li");
  item.textContent = text;
  list.prepend(item);
  while (list.children.length > 8) list.lastChild.remove();
  box.hidden = false;
}

function startLive() {
  const box = document.getElementById("live");
  if (!box || !window.EventSource) return;
  const query = new URLSearchParams({ after: box.dataset.after || "0", mark: box.dataset.mark || "" });
  const source = new EventSource(`/api/events?${query}`);
  source.addEventListener("alert", (event) => {
    const alert = JSON.parse(event.data);
    showLive(`${box.dataset.alertLabel} #${alert.id} ${alert.time} ${alert.title}`);
    refreshLiveParts();
  });
  source.addEventListener("threads", () => {
    showLive(box.dataset.threadsLabel);
    refreshLiveParts();
  });
}

function labelKeys() {
  const form = document.getElementById("label-form");
  if (!form) return;
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target instanceof HTMLInputElement) return;
    const button = form.querySelector(`button[data-key="${event.key}"]`);
    if (button) {
      event.preventDefault();
      button.click();
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  startLive();
  labelKeys();
});
