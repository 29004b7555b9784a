// Every page: a form with class "confirm-form" asks before it is sent (deleting, ending, cancelling).
// The page may say what goes with it (data-confirm, translated on the server).
(function () {
  "use strict";
  var zh = (document.documentElement.lang || "zh-CN").indexOf("zh") === 0;
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.classList || !form.classList.contains("confirm-form")) return;
    var text = form.getAttribute("data-confirm") || (zh ? "确定要删除吗？" : "Delete this?");
    if (!window.confirm(text)) ev.preventDefault();
  }, true);
})();
