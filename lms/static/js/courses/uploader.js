// Resumable video upload for a lesson: 8 MB chunks with Content-Range, resumed from the server's
// offset after a dropped connection (the upload id is kept in localStorage per lesson and file),
// then polls the transcode status until the video is ready.
(function () {
  "use strict";
  var root = document.querySelector(".video-uploader");
  if (!root) return;
  var d = root.dataset;
  var input = root.querySelector("[data-role=file]");
  var bar = root.querySelector("[data-role=bar]");
  var progress = bar.parentNode;
  var statusEl = root.querySelector("[data-role=status]");
  var chunkBytes = parseInt(d.chunkBytes, 10) || 8 * 1024 * 1024;
  var maxBytes = parseInt(d.maxBytes, 10) || 0;

  function show(pct, text, cls) {
    pct = Math.max(0, Math.min(100, pct));
    bar.style.width = pct.toFixed(1) + "%";
    progress.setAttribute("aria-valuenow", String(Math.round(pct)));
    bar.className = "progress-bar" + (cls ? " " + cls : "");
    if (text !== undefined) {
      statusEl.textContent = text;
      // An error stands out even when the bar is empty (a refused begin).
      statusEl.classList.toggle("text-danger", cls === "bg-danger");
    }
  }

  function key(file) {
    return "lms-upload:" + d.lessonId + ":" + file.name + ":" + file.size + ":" + file.lastModified;
  }

  function request(method, url, body, headers) {
    return fetch(url, {
      method: method, body: body, credentials: "same-origin",
      headers: Object.assign({"X-CSRFToken": d.csrf, "Accept": "application/json"}, headers || {})
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) { j._status = r.status; return j; });
    });
  }

  function begin(file) {
    var saved = localStorage.getItem(key(file));
    if (saved) {
      var s = JSON.parse(saved);
      return request("GET", s.url).then(function (j) {
        if (j._status === 200) return {url: s.url, offset: j.offset};
        localStorage.removeItem(key(file));
        return begin(file);
      });
    }
    return request("POST", d.beginUrl, JSON.stringify({filename: file.name, size: file.size}),
                   {"Content-Type": "application/json"}).then(function (j) {
      if (j._status !== 200) throw {message: j.message || d.msgFailed, fatal: true, code: j.error || ""};
      localStorage.setItem(key(file), JSON.stringify({url: j.url}));
      return {url: j.url, offset: j.offset};
    });
  }

  function sendFrom(file, up, tries) {
    if (up.offset >= file.size) return Promise.resolve(null);
    var end = Math.min(file.size, up.offset + chunkBytes);
    var headers = {"Content-Range": "bytes " + up.offset + "-" + (end - 1) + "/" + file.size,
                   "Content-Type": "application/octet-stream"};
    return request("PUT", up.url, file.slice(up.offset, end), headers).then(function (j) {
      if (j._status === 409 || (j._status === 200 && typeof j.offset === "number")) {
        up.offset = j.offset;
        show(100 * up.offset / file.size, d.msgUploading + " " + Math.round(100 * up.offset / file.size) + "%");
        if (j.done) return j;
        return sendFrom(file, up, 0);
      }
      throw {message: j.message || d.msgFailed, fatal: j._status !== 400 || j.error !== "range"};
    }, function () {
      // Network error: ask the server where it got to, then carry on (a few times, with a pause).
      if (tries >= 8) throw {message: d.msgFailed};
      statusEl.textContent = d.msgRetrying;
      return new Promise(function (res) { setTimeout(res, 1000 * Math.min(30, Math.pow(2, tries))); })
        .then(function () { return request("GET", up.url); })
        .then(function (j) { if (j._status === 200) up.offset = j.offset; return sendFrom(file, up, tries + 1); },
              function () { return sendFrom(file, up, tries + 1); });
    });
  }

  // The cap on open uploads refused this one: show the list of them (opened in other tabs or on
  // other devices since this page was loaded) from a fresh copy of the page, with its Cancel buttons.
  function refreshOpenUploads() {
    var box = root.querySelector("[data-role=open-uploads-box]");
    if (!box || !window.DOMParser) return;
    fetch(location.pathname, {credentials: "same-origin"}).then(function (r) { return r.text(); }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("[data-role=open-uploads-box]");
      if (!fresh) return;
      box.innerHTML = fresh.innerHTML;
      var list = box.querySelector("#open-uploads");
      if (list && list.scrollIntoView) list.scrollIntoView({block: "nearest"});
    }).catch(function () {});
  }

  function poll() {
    request("GET", d.statusUrl).then(function (j) {
      if (j.ready) { show(100, d.msgReady, "bg-success"); return; }
      if (j.status === "failed") {
        show(100, d.msgTranscodeFailed, "bg-danger");
        // The reason (in the page's language) and, while attempts are left, the retry button.
        var box = root.querySelector("[data-role=failed]");
        var current = root.querySelector("[data-role=current]");
        if (current) current.hidden = true;  // the status the page was rendered with is stale now
        if (box) {
          box.hidden = false;
          box.querySelector("[data-role=reason]").textContent = j.message || "";
          box.querySelector("[data-role=retry]").hidden = !j.can_retry;
        }
        return;
      }
      show(j.progress || 0, d.msgTranscoding.replace("{pct}", String(Math.round(j.progress || 0))) +
           (j.previous ? " " + d.msgPrevious : ""), "progress-bar-striped progress-bar-animated");
      setTimeout(poll, 2000);
    }, function () { setTimeout(poll, 5000); });
  }

  input.addEventListener("change", function () {
    var file = input.files && input.files[0];
    if (!file) return;
    if (maxBytes && file.size > maxBytes) { show(0, d.msgTooLarge, "bg-danger"); return; }
    input.disabled = true;
    // A new file: the previous failure (and the status the page was rendered with) no longer apply.
    root.querySelectorAll("[data-role=failed], [data-role=current]").forEach(function (el) { el.hidden = true; });
    show(0, d.msgUploading);
    begin(file).then(function (up) {
      show(100 * up.offset / file.size);
      return sendFrom(file, up, 0);
    }).then(function () {
      localStorage.removeItem(key(file));
      show(0, d.msgDone);
      poll();
    }).catch(function (err) {
      if (err && err.fatal) localStorage.removeItem(key(file));
      show(0, (err && err.message) || d.msgFailed, "bg-danger");
      if (err && err.code && err.code.indexOf("busy") === 0) refreshOpenUploads();
    }).then(function () { input.disabled = false; });
  });

  if (d.transcoding === "1") poll();
})();
