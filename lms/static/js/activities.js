// Workshop activities: questionnaire charts (ECharts, when loaded), choice checks.
(function () {
  "use strict";

  // Confirming before deleting: js/confirm.js, on every page.

  // A multiple-choice question needs one box ticked; browsers only know "required" per box, so the
  // first box carries the message until one is ticked (the server checks again).
  document.querySelectorAll("fieldset[data-choose-one]").forEach(function (set) {
    var boxes = set.querySelectorAll("input[type=checkbox]");
    if (!boxes.length) return;
    var check = function () {
      var any = Array.prototype.some.call(boxes, function (b) { return b.checked; });
      boxes[0].setCustomValidity(any ? "" : set.getAttribute("data-choose-one"));
    };
    boxes.forEach(function (b) { b.addEventListener("change", check); });
    check();
  });

  // The questions field only matters for questionnaires.
  var kind = document.querySelector("select[name=kind]");
  var questions = document.querySelector(".questions-field");
  if (kind && questions) {
    var sync = function () { questions.hidden = kind.value !== "questionnaire"; };
    kind.addEventListener("change", sync);
    sync();
  }

  if (window.echarts) {
    document.querySelectorAll(".chart[data-chart]").forEach(function (el) {
      var data = JSON.parse(el.getAttribute("data-chart"));
      var chart = window.echarts.init(el, null, { renderer: "svg" });
      chart.setOption({
        grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true },
        xAxis: { type: "value", minInterval: 1 },
        yAxis: { type: "category", inverse: true, data: data.options,
                 axisLabel: { width: 120, overflow: "truncate" } },
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
        series: [{ type: "bar", data: data.counts, label: { show: true, position: "right" },
                   itemStyle: { color: "#0d6efd" } }]
      });
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
})();
