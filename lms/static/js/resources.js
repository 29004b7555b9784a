// Resource video player: HLS through hls.js where MediaSource exists, native HLS (iOS, WeChat) or the MP4 otherwise.
(function () {
  "use strict";
  document.querySelectorAll("video[data-hls]").forEach(function (video) {
    var src = video.getAttribute("data-hls");
    if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = src;
    } else if (window.Hls && window.Hls.isSupported()) {
      var hls = new window.Hls({ capLevelToPlayerSize: true, enableWorker: false }); // CSP: no blob: workers
      hls.on(window.Hls.Events.ERROR, function (_e, data) {
        if (data.fatal) { hls.destroy(); video.load(); } // falls back to the MP4 <source>
      });
      hls.loadSource(src);
      hls.attachMedia(video);
    }
  });
})();
