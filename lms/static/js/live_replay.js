// Replay page: the session's VOD HLS recording with hls.js (native HLS on iOS / WeChat).
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
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
