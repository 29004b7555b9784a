// Learning statistics: the daily trend as a line chart (ECharts, when loaded); the table stays.
(function () {
  "use strict";
  var el = document.querySelector("[data-stats-chart]");
  if (!el || !window.echarts) return;
  var data = JSON.parse(el.getAttribute("data-stats-chart"));
  var chart = window.echarts.init(el, null, { renderer: "svg" });
  chart.setOption({
    grid: { left: 8, right: 16, top: 32, bottom: 8, containLabel: true },
    legend: { top: 0, itemWidth: 14, textStyle: { fontSize: 11 } },
    tooltip: { trigger: "axis", valueFormatter: function (v) { return v + "%"; } },
    xAxis: { type: "category", data: data.days.map(function (d) { return d.slice(5); }) },
    yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
    series: data.series.map(function (s) {
      return { name: s.name, type: "line", data: s.values, showSymbol: false, smooth: true };
    })
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
