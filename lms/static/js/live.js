// Live session page: Socket.IO /live (question queue, votes, chat, moderation, presence), replay of
// missed events by seq after a reconnect, hls.js playback, and the host's camera broadcast
// (getUserMedia + MediaRecorder WebM chunks over the socket, or chunked HTTP upload as fallback).
// User text is only ever set with textContent.
(function () {
  "use strict";
  var root = document.getElementById("live");
  if (!root) return;
  var T = JSON.parse(document.getElementById("live-i18n").dataset.i18n);
  var sessionId = Number(root.dataset.session);
  var me = Number(root.dataset.me);
  var host = !!root.dataset.host;
  var seq = Number(root.dataset.seq) || 0;
  var canAsk = !!root.dataset.canAsk;
  var qList = document.getElementById("live-questions");
  var chat = document.getElementById("live-chat");
  var socket = null;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function qItem(id) { return qList.querySelector('[data-qid="' + Number(id) + '"]'); }

  // --- question queue ------------------------------------------------------------------------
  // As lms.live.services.ranked_questions; hidden questions only reach hosts, last.
  var RANK = { answering: 0, open: 1, answered: 2, hidden: 3 };
  function rank(li) { var r = RANK[li.dataset.status || "open"]; return r === undefined ? 3 : r; }
  function sortQuestions() {
    var items = Array.prototype.slice.call(qList.children);
    items.sort(function (a, b) {
      var ra = rank(a), rb = rank(b);
      if (ra !== rb) return ra - rb;
      var va = Number(a.dataset.votes), vb = Number(b.dataset.votes);
      if (va !== vb) return vb - va;
      return Number(a.dataset.qid) - Number(b.dataset.qid);
    });
    items.forEach(function (li) { qList.appendChild(li); });
    document.getElementById("live-no-questions").hidden = items.length > 0;
  }
  function setStatus(li, status) {
    li.dataset.status = status;
    li.className = "list-group-item live-q live-q-" + status;
    li.querySelector(".live-q-state").textContent = status === "answering" ? T.answering : status === "answered" ? T.answered
      : status === "hidden" ? T.hidden : "";
  }
  function setVotes(li, votes) {
    li.dataset.votes = votes;
    li.querySelector(".live-votes").textContent = String(votes);
  }
  function newQuestion(q) {
    if (qItem(q.id)) return;
    var li = el("li", "list-group-item live-q live-q-open");
    li.dataset.qid = q.id;
    var row = el("div", "d-flex gap-2 align-items-start");
    var btn = el("button", "btn btn-sm live-vote btn-outline-primary", "▲ ");
    btn.type = "button";
    btn.dataset.vote = q.id;
    btn.setAttribute("aria-label", T.vote);
    btn.appendChild(el("span", "live-votes", q.votes));
    var body = el("div", "flex-grow-1 min-w-0");
    body.appendChild(el("div", "live-q-body", q.body));
    if (!canAsk) btn.disabled = true;
    var meta = el("div", "small text-muted");
    if (host) { meta.appendChild(el("span", "live-q-id", "#" + q.id)); meta.appendChild(document.createTextNode(" ")); }
    meta.appendChild(el("span", "live-q-author", q.author));
    if (q.thread) {  // picked from the Q&A area: link back to the thread
      var a = el("a", "live-q-thread", T.from_qa);
      a.href = "/live/qa/" + Number(q.thread);
      meta.appendChild(document.createTextNode(" "));
      meta.appendChild(a);
    }
    meta.appendChild(document.createTextNode(" "));
    meta.appendChild(el("span", "live-q-state", ""));
    body.appendChild(meta);
    if (host) {
      var tools = el("div", "live-host-tools d-flex flex-wrap gap-1 mt-1");
      [["answering", T.mark_answering, "btn-outline-success"], ["answered", T.mark_answered, "btn-outline-secondary"],
       ["open", T.reopen, "btn-outline-primary"], ["hidden", T.hide, "btn-outline-danger"]].forEach(function (m) {
        var b = el("button", "btn btn-sm py-0 " + m[2], m[1]);
        b.type = "button";
        b.dataset.mark = m[0];
        tools.appendChild(b);
      });
      var mb = el("button", "btn btn-sm btn-outline-warning py-0", T.merge);
      mb.type = "button";
      mb.dataset.merge = "";
      tools.appendChild(mb);
      body.appendChild(tools);
    }
    row.appendChild(btn);
    row.appendChild(body);
    li.appendChild(row);
    setVotes(li, q.votes);
    li.dataset.status = q.status || "open";
    qList.appendChild(li);
    setStatus(li, q.status || "open");
    clamp(li);
  }
  // Long questions (up to 500 characters) are clamped to a few lines (live.css), with "展开".
  function clamp(li) {
    var b = li.querySelector(".live-q-body");
    if (!b || li.querySelector(".live-q-more") || b.scrollHeight <= b.clientHeight + 2) return;
    var more = el("button", "btn btn-link btn-sm p-0 live-q-more", T.expand);
    more.type = "button";
    more.setAttribute("aria-expanded", "false");
    b.insertAdjacentElement("afterend", more);
  }

  // Merging: a select of the session's other questions (open or being answered), not a typed number.
  function mergePicker(li) {
    var old = li.querySelector(".live-merge");
    if (old) { old.remove(); return; }
    var box = el("div", "live-merge d-flex gap-1 mt-1");
    var sel = el("select", "form-select form-select-sm live-merge-select");
    sel.setAttribute("aria-label", T.merge_into);
    sel.appendChild(el("option", "", T.merge_into)).value = "";
    qList.querySelectorAll("[data-qid]").forEach(function (o) {
      if (o === li || ["open", "answering", "answered"].indexOf(o.dataset.status) < 0) return;
      var text = o.querySelector(".live-q-body").textContent;
      var opt = el("option", "", "#" + o.dataset.qid + " " + (text.length > 40 ? text.slice(0, 40) + "…" : text));
      opt.value = o.dataset.qid;
      sel.appendChild(opt);
    });
    var go = el("button", "btn btn-sm btn-warning text-nowrap", T.merge_go);
    go.type = "button";
    go.dataset.mergeGo = "";
    box.appendChild(sel);
    box.appendChild(go);
    li.querySelector(".live-host-tools").insertAdjacentElement("afterend", box);
  }

  // --- chat ----------------------------------------------------------------------------------
  function chatItem(m) {
    if (chat.querySelector('[data-mid="' + Number(m.id) + '"]')) return;
    var li = el("li");
    li.dataset.mid = m.id;
    li.dataset.uid = m.user_id;
    li.appendChild(el("b", "live-chat-user", m.user));
    li.appendChild(document.createTextNode(" "));
    li.appendChild(el("span", "live-chat-body", m.body));
    addChatTools(li);
    chat.appendChild(li);
    while (chat.children.length > 200) chat.removeChild(chat.firstChild);
    chat.scrollTop = chat.scrollHeight;
  }
  function addChatTools(li) {
    if (!host || li.querySelector(".live-chat-tools")) return;
    var tools = el("span", "live-chat-tools");
    [["pin", T.pin], ["remove", T.remove]].concat(Number(li.dataset.uid) !== me ? [["mute", T.mute]] : []).forEach(function (t) {
      var b = el("button", "btn btn-link btn-sm", t[1]);
      b.type = "button";
      b.dataset.chatTool = t[0];
      tools.appendChild(b);
    });
    li.appendChild(tools);
  }
  function showMuted(d) {
    // The host's list of muted people, each with "Unmute".
    var list = document.getElementById("live-muted");
    if (!list) return;
    var li = list.querySelector('[data-uid="' + Number(d.user_id) + '"]');
    if (!d.muted) { if (li) li.remove(); }
    else if (!li) {
      li = el("li", "list-inline-item");
      li.dataset.uid = d.user_id;
      li.appendChild(el("span", "person", d.user || ("#" + d.user_id)));
      li.appendChild(document.createTextNode(" "));
      var b = el("button", "btn btn-link btn-sm p-0 align-baseline", T.unmute);
      b.type = "button";
      b.dataset.unmute = d.user_id;
      li.appendChild(b);
      list.appendChild(li);
    }
    document.getElementById("live-muted-none").hidden = list.children.length > 0;
  }
  function showPinned(m) {
    var box = document.getElementById("live-pinned");
    box.hidden = !m;
    box.querySelector(".live-pinned-user").textContent = m ? T.pinned_user.replace("%(user)s", m.user) : "";
    box.querySelector(".live-pinned-body").textContent = m ? m.body : "";
  }
  function chatError(code) {
    var p = document.getElementById("live-chat-error");
    if (!p) return;
    p.textContent = code ? (T[code] || T.invalid) : "";
    p.hidden = !code;
  }

  // --- events --------------------------------------------------------------------------------
  function apply(ev) {
    var d = ev.data || {};
    var li;
    switch (ev.kind) {
      case "question.new": if (!d.removed) { newQuestion(d); sortQuestions(); } break;  // removed: hidden since
      case "question.votes": if ((li = qItem(d.id))) { setVotes(li, d.votes); sortQuestions(); } break;
      case "question.status":
        li = qItem(d.id);
        if (d.status === "hidden" && !host) { if (li) li.remove(); }
        else if (li) setStatus(li, d.status);
        else if (d.question) newQuestion(d.question);  // reopened after being hidden
        sortQuestions();
        break;
      case "question.merged":
        if ((li = qItem(d.id))) li.remove();
        if ((li = qItem(d.into))) setVotes(li, d.votes);
        sortQuestions();
        break;
      case "chat.new": if (!d.removed) chatItem(d); break;
      case "chat.removed": if ((li = chat.querySelector('[data-mid="' + Number(d.id) + '"]'))) li.remove(); break;
      case "chat.pinned": showPinned(d.message); break;
      case "user.muted":
        if (host) showMuted(d);
        if (Number(d.user_id) === me) {
          var form = document.getElementById("live-chat-form");
          if (form) form.querySelectorAll("input,button").forEach(function (x) { x.disabled = !!d.muted; });
          chatError(d.muted ? "muted" : "");
        }
        break;
      case "session.slow_mode":
        document.getElementById("live-slow-note").hidden = !d.seconds;
        document.getElementById("live-slow-n").textContent = String(d.seconds);
        break;
      case "session.status":
        root.dataset.status = d.status;
        var badge = document.querySelector("#live-status .badge");
        if (badge) { badge.className = "badge live-status live-status-" + d.status; badge.textContent = T[d.status] || d.status; }
        break;
      case "video.status":
        root.dataset.video = d.video;
        if (d.video === "live" || d.video === "ready") play();
        break;
    }
  }
  function receive(ev) {
    if (!ev || ev.session_id !== sessionId || ev.seq <= seq) return;
    if (ev.seq > seq + 1) { catchUp(); return; }
    apply(ev);
    seq = ev.seq;
  }
  var catching = false;
  function catchUp() {
    if (catching || !socket) return;
    catching = true;
    socket.emit("replay", { session_id: sessionId, after: seq }, function (res) {
      catching = false;
      if (res && res.ok) res.events.forEach(function (ev) { if (ev.seq === seq + 1) { apply(ev); seq = ev.seq; } });
    });
  }

  function start() {
    if (typeof io !== "function") return;
    socket = io("/live", { transports: ["websocket", "polling"] });
    socket.on("connect", function () {
      // On every (re)connect: join the room and get what was missed since the last seq seen.
      socket.emit("join", { session_id: sessionId, last_seq: seq }, function (res) {
        if (res && res.ok && typeof res.presence === "number") showPresence(res.presence);
        if (res && res.ok && res.missed) res.missed.forEach(receive);
      });
    });
    socket.on("event", receive);
    socket.on("presence", function (p) {
      if (p && p.session_id === sessionId) showPresence(p.count);
    });
    bind();
  }

  function showPresence(n) {
    var el = document.getElementById("live-presence");
    if (el) el.textContent = String(n);
  }

  function send(name, data, done) {
    data.session_id = sessionId;
    socket.emit(name, data, function (res) { if (done) done(res || { ok: false, error: "invalid" }); });
  }

  function bind() {
    var ask = document.getElementById("live-ask");
    if (ask) ask.addEventListener("submit", function (e) {
      if (!socket.connected) return; // plain form POST
      e.preventDefault();
      var ta = document.getElementById("live-ask-body");
      send("ask", { body: ta.value }, function (res) { if (res.ok) ta.value = ""; else alert(T[res.error] || T.invalid); });
    });
    qList.addEventListener("click", function (e) {
      var more = e.target.closest(".live-q-more");
      if (more) {
        var open = more.parentNode.classList.toggle("live-q-open-body");
        more.textContent = open ? T.collapse : T.expand;
        more.setAttribute("aria-expanded", String(open));
        return;
      }
      var t = e.target.closest("button");
      if (!t || !socket.connected) return;
      var li = t.closest("[data-qid]");
      if (t.dataset.vote) {
        e.preventDefault();
        send("vote", { question_id: Number(t.dataset.vote) }, function (res) {
          if (res.ok) { t.classList.remove("btn-outline-primary"); t.classList.add("btn-primary"); t.setAttribute("aria-pressed", "true"); }
        });
      } else if (t.dataset.mark) {
        send("mark", { question_id: Number(li.dataset.qid), status: t.dataset.mark }, function (res) { if (!res.ok) alert(T[res.error] || T.invalid); });
      } else if (t.dataset.merge !== undefined) {
        mergePicker(li);
      } else if (t.dataset.mergeGo !== undefined) {
        var sel = li.querySelector(".live-merge-select");
        if (sel && sel.value) send("merge", { question_id: Number(li.dataset.qid), into_id: Number(sel.value) }, function (res) { if (!res.ok) alert(T[res.error] || T.invalid); });
      }
    });
    var chatForm = document.getElementById("live-chat-form");
    if (chatForm) chatForm.addEventListener("submit", function (e) {
      e.preventDefault();
      var input = document.getElementById("live-chat-body");
      if (!input.value.trim()) return;
      send("chat", { body: input.value }, function (res) {
        if (res.ok) { input.value = ""; chatError(""); } else chatError(res.error);
      });
    });
    chat.querySelectorAll("li").forEach(addChatTools);
    chat.addEventListener("click", function (e) {
      var t = e.target.closest("[data-chat-tool]");
      if (!t) return;
      var li = t.closest("li");
      var tool = t.dataset.chatTool;
      if (tool === "remove") send("remove", { message_id: Number(li.dataset.mid) });
      else if (tool === "pin") send("pin", { message_id: Number(li.dataset.mid) });
      else if (tool === "mute") send("mute", { user_id: Number(li.dataset.uid), muted: true });
    });
    var muted = document.getElementById("live-muted");
    if (muted) muted.addEventListener("click", function (e) {
      var t = e.target.closest("[data-unmute]");
      if (t) send("mute", { user_id: Number(t.dataset.unmute), muted: false }, function (res) { if (!res.ok) alert(T[res.error] || T.invalid); });
    });
    var unpin = document.getElementById("live-unpin");
    if (unpin) unpin.addEventListener("click", function () {
      send("pin", { message_id: null }, function (res) { if (!res.ok) alert(T[res.error] || T.invalid); });
    });
    var slow = document.getElementById("live-slow");
    if (slow) slow.addEventListener("change", function () { send("slow_mode", { seconds: Number(slow.value) || 0 }); });
    var bc = document.getElementById("live-broadcast");
    if (bc) bc.addEventListener("click", toggleBroadcast);
    var end = document.getElementById("live-end");
    if (end) end.addEventListener("submit", function (e) {
      if (e.defaultPrevented) return;  // the host did not confirm (confirm.js)
      // Over the socket when it is up: it reaches the process that runs this broadcast's ffmpeg,
      // which then finishes the replay at once. Otherwise the form posts (that process notices the
      // end in the database a few seconds later).
      if (!socket || !socket.connected) return;
      e.preventDefault();
      stopBroadcast().then(function () {
        send("status", { status: "ended" }, function (res) {
          if (res.ok || res.error === "invalid") window.location.reload();  // invalid: already ended
          else alert(T[res.error] || T.invalid);
        });
      });
    });
  }

  // --- playback --------------------------------------------------------------------------------
  // The playlist and segments come on a grant of a few minutes (nginx serves them: lms/live/playback.py),
  // renewed through the app when a quarter of its life is left; hls.js sends every request with the
  // newest grant (xhrSetup), native HLS reloads the new URL (it jumps back to the live edge).
  var hls = null, renewTimer = null;
  var GRANT_IN_URL = /^(.*\/live\/\d+\/g\/)[^/]+(\/.*)$/;
  function current(url) {
    var m = root.dataset.hlsGrant && GRANT_IN_URL.exec(url);
    return m ? m[1] + root.dataset.hlsGrant + m[2] : url;
  }
  function scheduleRenew(ttl) {
    clearTimeout(renewTimer);
    if (!root.dataset.hlsRefresh || !(ttl > 0)) return;
    renewTimer = setTimeout(renew, Math.max(1, ttl - Math.max(20, ttl / 4)) * 1000);
  }
  function renew(then) {
    fetch(root.dataset.hlsRefresh, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (r.redirected || r.status === 403 || r.status === 404) return null;  // signed out, no access: stop
        if (!r.ok) throw new Error(r.status);
        return r.json();
      })
      .then(function (g) {
        if (!g) return;
        root.dataset.hls = g.playlist; root.dataset.hlsGrant = g.grant;
        root.dataset.renewed = String((parseInt(root.dataset.renewed || "0", 10) || 0) + 1);
        var video = document.getElementById("live-video");
        if (!hls && video && video.src && video.canPlayType("application/vnd.apple.mpegurl")) {
          video.src = g.playlist;
          video.play().catch(function () {});
        }
        scheduleRenew(g.ttl);
        if (then) then();
      })
      .catch(function () { renewTimer = setTimeout(function () { renew(then); }, 15000); });
  }
  scheduleRenew(parseInt(root.dataset.hlsTtl || "0", 10));
  function play() {
    var video = document.getElementById("live-video");
    if (!video || hls) return;
    var url = root.dataset.hls;
    video.hidden = false;
    document.getElementById("live-video-empty").hidden = true;
    if (window.Hls && window.Hls.isSupported()) {
      // No blob: worker: the CSP allows scripts from this site only.
      hls = new window.Hls({ enableWorker: false, liveSyncDurationCount: 2, liveMaxLatencyDurationCount: 6, manifestLoadingMaxRetry: 30,
        manifestLoadingRetryDelay: 1000, levelLoadingMaxRetry: 30,
        xhrSetup: function (xhr, u) { xhr.open("GET", current(u), true); } });
      hls.loadSource(url);
      hls.attachMedia(video);
      hls.on(window.Hls.Events.MANIFEST_PARSED, function () { video.play().catch(function () {}); });
      hls.on(window.Hls.Events.ERROR, function (_e, data) {
        if (!data.fatal) return;
        hls.destroy(); hls = null;
        var code = data.response && data.response.code;
        // A refused grant (the tab slept through its renewal): a new one first.
        if (code === 403 && root.dataset.hlsRefresh) renew(function () { setTimeout(play, 500); });
        else setTimeout(play, 2000);
      });
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = url;  // iOS / WeChat: native HLS
      video.play().catch(function () {});
    }
  }

  // --- broadcast (host) ------------------------------------------------------------------------
  // Each MediaRecorder is a recording: its chunks are numbered from 0 (only chunk 0 carries the
  // WebM header) and `rec` names it, increasing, so the server tells a restarted camera from a
  // late chunk of the previous recording.
  var recorder = null, stream = null, chunkNo = 0, rec = 0;
  var lastSend = Promise.resolve();  // the last chunk's sending, so that "End" goes after it
  // WebM where the browser records it; Safari / iOS records fragmented MP4. The type goes with
  // every chunk: the server starts ffmpeg for the right container with whichever chunk comes first.
  function mimeType() {
    var types = ["video/webm;codecs=vp8,opus", "video/webm;codecs=vp9,opus", "video/webm", "video/mp4;codecs=avc1,mp4a",
      "video/mp4"];
    if (!window.MediaRecorder || typeof MediaRecorder.isTypeSupported !== "function") return null;
    for (var i = 0; i < types.length; i++) if (MediaRecorder.isTypeSupported(types[i])) return types[i];
    return null;
  }
  var recType = "";
  function upload(buf, n, r) {
    // Chunked HTTP upload when the socket is down; chunks carry their index, the server orders them.
    return fetch(root.dataset.ingest + "?n=" + n + "&rec=" + r + "&type=" + encodeURIComponent(recType), { method: "POST", body: buf, credentials: "same-origin",
      headers: { "Content-Type": "application/octet-stream", "X-CSRFToken": root.dataset.csrf } })
      .then(function (resp) { return resp.json(); }).then(function (res) { chunkSent(res, r); });
  }
  function chunkSent(res, r) {
    // The server cannot continue this recording (it paused it, or its process changed): a new
    // recording on the same camera, once.
    if (res && res.error === "restart" && recorder && r === rec) startRecorder();
    // Another host is broadcasting, or the server cannot take this recording: stop, say why.
    else if (res && ["other_host", "not_live", "closed", "unsupported_type"].indexOf(res.error) >= 0 && recorder && r === rec) {
      stopBroadcast(true).then(function () { broadcastError(res.error); });
    }
  }
  function broadcastError(code) {
    var state = document.getElementById("live-broadcast-state");
    state.textContent = T[code] || T.invalid;
    state.classList.add("text-danger");
  }
  function startRecorder() {
    if (recorder && recorder.state !== "inactive") { recorder.ondataavailable = null; recorder.stop(); }
    chunkNo = 0;
    rec = Math.max(Date.now(), rec + 1);
    var r = rec;
    recorder = new MediaRecorder(stream, { mimeType: mimeType(), videoBitsPerSecond: 900000, audioBitsPerSecond: 64000 });
    recType = recorder.mimeType || mimeType();
    recorder.ondataavailable = function (e) {
      if (!e.data || !e.data.size) return;
      var n = chunkNo++;
      lastSend = e.data.arrayBuffer().then(function (buf) {
        if (socket && socket.connected) send("video", { chunk: buf, n: n, rec: r, type: recType }, function (res) { chunkSent(res, r); });
        else return upload(buf, n, r);
      }).catch(function () {});
    };
    recorder.start(1000);
  }
  function stopBroadcast(refused) {
    // Resolves once the recorder's last chunk is on its way; then the broadcast is given up at
    // once (another host may start), unless the server refused it anyway.
    if (!recorder) return lastSend;
    var btn = document.getElementById("live-broadcast");
    var state = document.getElementById("live-broadcast-state");
    var r = recorder;
    recorder = null;
    var stopped = new Promise(function (resolve) { r.addEventListener("stop", resolve); setTimeout(resolve, 3000); });
    r.stop();
    stream.getTracks().forEach(function (t) { t.stop(); });
    btn.textContent = btn.dataset.label || btn.textContent;
    state.textContent = "";
    state.classList.remove("text-danger");
    return stopped.then(function () { return lastSend; }).then(function () {
      if (!refused && socket && socket.connected) send("video", { stop: true });
    });
  }
  function toggleBroadcast() {
    var btn = document.getElementById("live-broadcast");
    var state = document.getElementById("live-broadcast-state");
    if (recorder) { stopBroadcast(); return; }
    if (!mimeType() || !navigator.mediaDevices) { broadcastError("no_recorder"); return; }
    if (root.dataset.status === "scheduled") {
      // Video is broadcast and recorded only once the session is live: the host goes live first.
      if (!window.confirm(T.confirm_go_live)) return;
      send("status", { status: "live" }, function (res) {
        if (!res.ok && root.dataset.status !== "live") { broadcastError(res.error); return; }
        root.dataset.status = "live";
        toggleBroadcast();
      });
      return;
    }
    navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 25 } }, audio: true })
      .then(function (s) {
        stream = s;
        var preview = document.getElementById("live-preview");
        preview.srcObject = s;
        preview.hidden = false;
        preview.play().catch(function () {});
        startRecorder();
        btn.dataset.label = btn.textContent;
        btn.textContent = T.stop;
        state.textContent = "● " + T.broadcasting;
        state.classList.add("text-danger");
      })
      .catch(function () { state.textContent = T.no_camera; });
  }

  function init() {
    start();
    qList.querySelectorAll("[data-qid]").forEach(clamp);
    if (["live", "paused", "ready"].indexOf(root.dataset.video) >= 0) play();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
