// Lesson video player: HLS through hls.js (native HLS where there is no MediaSource, e.g. iOS and
// WeChat on iOS), quality choice, resume from the server-stored position, MP4 fallback, and the
// watch-time heartbeats (lms/courses/watch.py decides what they earn).
//
// Media grants live a few minutes (LMS_WATCH_GRANT_SECONDS): the player renews them through the app
// (data-refresh: the full check again) a while before they lapse. hls.js fetches with the newest
// grant from then on (xhrSetup rewrites each request's URL), so playback never stops; native HLS and
// the MP4 fallback cannot change the URL under a playing source, so they reload the new URL at the
// position they were at (a short rebuffer, once per grant). A segment fetched under the old grant is
// cached under the old URL: seeking back past hls.js's buffer fetches it again under the new one.
(function () {
  "use strict";
  var BEAT_MS = 15000;
  var GRANT_IN_URL = /^(.*\/watch\/\d+\/)[^/]+(\/.*)$/;

  function Player(root) {
    this.root = root;
    this.d = root.dataset;
    this.video = root.querySelector("video");
    this.quality = root.querySelector("[data-quality]");
    this.status = root.querySelector("[data-status]");
    this.watched = root.querySelector("[data-watched]");
    this.resume = parseFloat(this.d.resume || "0") || 0;
    this.lastPos = this.resume;
    this.timer = null;
    this.hls = null;
    this.stopped = false;
    this.refreshedAt = 0;
    this.grant = this.d.grant || "";
    this.renewTimer = null;
    this.start();
    this.track();
    this.schedule(parseInt(this.d.ttl || "0", 10));
  }

  // Renew the grant when a quarter of its life (at least 20 s) is left; retried every 15 s until it
  // works or the app refuses (signed out, access gone: "reload the page").
  Player.prototype.schedule = function (ttl) {
    var self = this;
    clearTimeout(this.renewTimer);
    if (!(ttl > 0)) return;
    var wait = Math.max(1, ttl - Math.max(20, ttl / 4));
    this.renewTimer = setTimeout(function () { self.renew(); }, wait * 1000);
  };

  Player.prototype.renew = function () {
    var self = this;
    if (this.stopped) return;
    fetch(this.d.refresh, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (r.status === 403 || r.status === 404 || r.redirected) { self.stopped = true; self.say(self.d.msgReload); return null; }
        if (!r.ok) throw new Error(r.status);
        return r.json();
      })
      .then(function (urls) {
        if (!urls) return;
        self.d.master = urls.master; self.d.mp4 = urls.mp4;
        self.grant = urls.grant;
        self.root.dataset.renewed = String((parseInt(self.root.dataset.renewed || "0", 10) || 0) + 1);
        if (self.mode === "native") self.swap(urls.master);
        else if (self.mode === "mp4") self.swap(urls.mp4);
        self.schedule(urls.ttl);
      })
      .catch(function () { self.renewTimer = setTimeout(function () { self.renew(); }, 15000); });
  };

  // hls.js: every request (playlists, segments, retries) goes out with the newest grant.
  Player.prototype.current = function (url) {
    var m = this.grant && GRANT_IN_URL.exec(url);
    return m ? m[1] + this.grant + m[2] : url;
  };

  // Native HLS / MP4: the same position (and playing state) under the new URL.
  Player.prototype.swap = function (src) {
    var v = this.video, pos = v.currentTime, playing = !v.paused && !v.ended;
    if (!pos && v.paused) { v.src = src; return; }  // not started yet: nothing to keep
    v.addEventListener("loadedmetadata", function once() {
      v.removeEventListener("loadedmetadata", once);
      v.currentTime = pos;
      if (playing) v.play().catch(function () {});
    });
    v.src = src;
  };

  Player.prototype.say = function (text) {
    if (this.status) this.status.textContent = text || "";
  };

  Player.prototype.start = function () {
    var self = this;
    var v = this.video;
    var mse = window.MediaSource || window.ManagedMediaSource;
    if (!mse && v.canPlayType("application/vnd.apple.mpegurl")) {
      this.native(this.d.master);
    } else if (mse) {
      loadScript(this.d.hlsSrc, function () {
        if (window.Hls && window.Hls.isSupported()) self.withHls(self.d.master);
        else self.mp4();
      }, function () { self.mp4(); });
    } else {
      this.mp4();
    }
  };

  Player.prototype.seekOnLoad = function () {
    var v = this.video, at = this.resume;
    if (!at) return;
    v.addEventListener("loadedmetadata", function once() {
      v.removeEventListener("loadedmetadata", once);
      if (at < (v.duration || Infinity) - 1) v.currentTime = at;
    });
  };

  Player.prototype.native = function (src) {
    this.mode = "native";
    this.seekOnLoad();
    this.watchErrors();
    this.video.src = src;
  };

  // Native HLS and MP4 do not say why a request failed: an expired grant looks like a network
  // error. Fresh URLs are asked for at most once a minute, so a real outage does not loop.
  Player.prototype.watchErrors = function () {
    var self = this;
    if (this.errorsWatched) return;
    this.errorsWatched = true;
    this.video.addEventListener("error", function () {
      var err = self.video.error;
      if (self.mode !== "hls" && err && (err.code === 2 || err.code === 4) && self.mayRefresh()) self.refresh();
    });
  };

  Player.prototype.mayRefresh = function () {
    var now = Date.now();
    if (now - this.refreshedAt < 60000) return false;
    this.refreshedAt = now;
    return true;
  };

  Player.prototype.mp4 = function () {
    this.mode = "mp4";
    this.watchErrors();
    if (this.hls) { this.hls.destroy(); this.hls = null; }
    if (this.quality) this.quality.hidden = true;
    var pos = this.video.currentTime || this.resume;
    this.resume = pos;
    this.seekOnLoad();
    this.video.src = this.d.mp4;
  };

  Player.prototype.withHls = function (src) {
    var self = this, Hls = window.Hls;
    this.mode = "hls";
    // No worker: it would start from a blob: URL, which the Content-Security-Policy does not allow.
    var hls = this.hls = new Hls({ startPosition: this.resume || -1, capLevelToPlayerSize: true, enableWorker: false,
      xhrSetup: function (xhr, url) { xhr.open("GET", self.current(url), true); } });
    hls.on(Hls.Events.MANIFEST_PARSED, function (_e, data) { self.levels(data.levels || hls.levels); });
    hls.on(Hls.Events.ERROR, function (_e, data) {
      if (!data.fatal) return;
      var code = data.response && data.response.code;
      // The grant lapsed (renewal failed for its whole life, or the tab slept) or a new transcode
      // replaced the files.
      if (data.type === Hls.ErrorTypes.NETWORK_ERROR && (code === 403 || code === 404) && self.mayRefresh()) {
        self.refresh();
      } else if (data.type === Hls.ErrorTypes.MEDIA_ERROR && !self.recovered) {
        self.recovered = true;
        hls.recoverMediaError();
      } else {
        self.mp4();
      }
    });
    hls.loadSource(src);
    hls.attachMedia(this.video);
  };

  // A request failed as if the grant lapsed: ask for fresh URLs and start again where we were.
  Player.prototype.refresh = function () {
    var self = this, pos = this.video.currentTime;
    fetch(this.d.refresh, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (urls) {
        self.d.master = urls.master; self.d.mp4 = urls.mp4;
        self.grant = urls.grant;
        self.schedule(urls.ttl);
        if (self.hls) { self.hls.destroy(); self.hls = null; }
        self.resume = pos;
        if (self.mode === "hls") self.withHls(urls.master);
        else if (self.mode === "native") self.native(urls.master);
        else self.mp4();
      })
      .catch(function () { self.say(self.d.msgReload); });
  };

  Player.prototype.levels = function (levels) {
    var sel = this.quality, hls = this.hls;
    if (!sel || !levels || levels.length < 2) return;
    levels.forEach(function (l, i) {
      var o = document.createElement("option");
      o.value = String(i);
      o.textContent = (l.height ? l.height + "p" : Math.round(l.bitrate / 1000) + "k");
      sel.appendChild(o);
    });
    sel.hidden = false;
    sel.addEventListener("change", function () {
      hls.currentLevel = parseInt(sel.value, 10);
    });
  };

  // --- heartbeats ---------------------------------------------------------------------------------
  Player.prototype.playing = function () {
    var v = this.video;
    return !v.paused && !v.ended && v.readyState > 2;
  };

  Player.prototype.beat = function (end, leaving) {
    if (this.stopped) return;
    var self = this, v = this.video;
    var body = {
      v: this.d.viewing,
      p: v.currentTime || 0,
      playing: this.playing() && !v.seeking,
      visible: document.visibilityState === "visible",
      rate: v.playbackRate
    };
    if (end != null) body.e = end;
    fetch(this.d.heartbeat, {
      method: "POST",
      credentials: "same-origin",
      keepalive: !!leaving,
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (r) {
      if (r.status === 403) { self.stopped = true; self.say(self.d.msgReload); return null; }
      return r.ok ? r.json() : null;
    }).then(function (res) {
      if (!res) return;
      if (self.watched) self.watched.textContent = minutes(res.seconds) + (res.completed ? " ✓" : "");
      self.say(res.lease ? "" : self.d.msgElsewhere);
      self.root.dataset.credited = String((parseFloat(self.root.dataset.credited || "0") || 0) + res.credited);
    }).catch(function () { /* offline: the next beat measures from the last one that arrived */ });
  };

  Player.prototype.track = function () {
    var self = this, v = this.video;
    function tick() { if (self.playing()) self.beat(); }
    function startTimer() { if (!self.timer) self.timer = setInterval(tick, BEAT_MS); }
    function stopTimer() { clearInterval(self.timer); self.timer = null; }
    v.addEventListener("timeupdate", function () { if (!v.seeking) self.lastPos = v.currentTime; });
    v.addEventListener("playing", function () { self.beat(); startTimer(); });
    v.addEventListener("pause", function () { stopTimer(); self.beat(); });
    v.addEventListener("ended", function () { stopTimer(); self.beat(); });
    v.addEventListener("waiting", function () { self.beat(); });
    // A jump: what was played before it counts up to where it was, the jump itself earns nothing.
    v.addEventListener("seeking", function () { self.beat(self.lastPos); self.lastPos = v.currentTime; });
    v.addEventListener("ratechange", function () { self.beat(); });
    document.addEventListener("visibilitychange", function () { self.beat(); });
    window.addEventListener("pagehide", function () { self.beat(null, true); });
  };

  function minutes(s) {
    s = Math.floor(s || 0);
    var m = Math.floor(s / 60), r = s % 60;
    return m + ":" + (r < 10 ? "0" : "") + r;
  }

  var loading = {};
  function loadScript(src, ok, fail) {
    if (window.Hls) return ok();
    if (loading[src]) { loading[src].push([ok, fail]); return; }
    loading[src] = [[ok, fail]];
    var s = document.createElement("script");
    s.src = src;
    s.async = true;
    s.onload = function () { loading[src].forEach(function (f) { f[0](); }); };
    s.onerror = function () { loading[src].forEach(function (f) { f[1](); }); };
    document.head.appendChild(s);
  }

  function init() {
    document.querySelectorAll("[data-player]").forEach(function (el) {
      if (!el.player) el.player = new Player(el);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
