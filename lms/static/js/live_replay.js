// Replay page: the session's VOD HLS recording with hls.js (native HLS on iOS / WeChat); the
// questions' times (data-seek, seconds into the video) play from where the answer started.
(function () {
  "use strict";
  function start() {
    var video = document.getElementById("replay-video");
    if (!video) return;
    var url = video.dataset.hls;
    if (window.Hls && window.Hls.isSupported()) {
      var hls = new window.Hls({ enableWorker: false });  // no blob: worker under the CSP
      hls.loadSource(url);
      hls.attachMedia(video);
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = url;
    }
    function seek(t) {
      if (!(t >= 0)) return;
      var go = function () { video.currentTime = t; video.play().catch(function () {}); };
      if (video.readyState >= 1) go(); else video.addEventListener("loadedmetadata", go, { once: true });
    }
    document.addEventListener("click", function (e) {
      var a = e.target.closest("[data-seek]");
      if (!a) return;
      e.preventDefault();
      seek(Number(a.dataset.seek));
      video.scrollIntoView({ block: "nearest" });
    });
    var m = /^#t=(\d+)$/.exec(window.location.hash);  // a shared link to a moment
    if (m) seek(Number(m[1]));
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
