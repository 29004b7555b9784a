// Live unread badge: joins the signed-in user's room on the /notify Socket.IO namespace.
(function () {
  "use strict";
  function badges() { return document.querySelectorAll("[data-notify-badge]"); }
  function show(count) {
    badges().forEach(function (b) {
      b.textContent = String(count);
      b.hidden = !count;
    });
  }
  function start() {
    if (!badges().length || typeof io !== "function") return;
    var socket = io("/notify", { transports: ["websocket", "polling"] });
    socket.on("unread", function (data) { if (data && typeof data.unread === "number") show(data.unread); });
    socket.on("notification", function (data) {
      if (data && typeof data.unread === "number") show(data.unread);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
