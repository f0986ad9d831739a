// Charts on the form analytics page, drawn with the vendored Chart.js
// (static/vendor/chartjs). Each <canvas id="X"> reads its spec from the JSON script
// element "X-data" (written by Django's json_script). Every chart also has a table beside
// it, so nothing depends on this script. Made charts are listed in window.kickoffCharts.
(function () {
  "use strict";
  var COLORS = ["#3b5bdb", "#f08c00", "#c92a2a", "#1f8a4c", "#7048e8", "#0b7285"];
  // Named series keep one meaning everywhere: drops are red, partial is amber.
  var NAMED = { Views: "#a5b4fc", Answers: "#3b5bdb", Drops: "#c92a2a", Completed: "#3b5bdb", Partial: "#f08c00", Visits: "#3b5bdb",
    Succeeded: "#1f8a4c", Failed: "#c92a2a", "Retrying or waiting": "#f08c00", Cancelled: "#98a2b3", "Skipped or routed elsewhere": "#d0bfff" };

  function draw(canvas) {
    var source = document.getElementById(canvas.id + "-data");
    if (!source || canvas.dataset.drawn) return null;
    var spec = JSON.parse(source.textContent);
    var line = spec.kind === "line";
    var datasets = spec.series.map(function (s, i) {
      var color = NAMED[s.label] || COLORS[i % COLORS.length];
      return {
        label: s.label,
        data: s.data,
        borderColor: color,
        backgroundColor: line ? color + "22" : color,
        fill: line && !spec.percent,
        spanGaps: true,
        tension: 0.25,
        pointRadius: spec.labels.length > 60 ? 0 : 2,
        borderWidth: line ? 2 : 0,
        maxBarThickness: spec.horizontal ? 9 : 28
      };
    });
    var indexAxis = spec.horizontal ? "y" : "x";
    var valueAxis = spec.horizontal ? "x" : "y";
    var scales = {};
    scales[indexAxis] = { stacked: spec.stacked, grid: { display: false }, ticks: { autoSkip: !spec.horizontal, maxRotation: 0 } };
    scales[valueAxis] = { stacked: spec.stacked, beginAtZero: true, ticks: { precision: 0 } };
    // A share in percent (the Overview's success rate): 0–100 %, days without data skipped.
    if (spec.percent) {
      scales[valueAxis].max = 100;
      scales[valueAxis].ticks = { callback: function (v) { return v + "%"; } };
    }
    canvas.dataset.drawn = "1";
    return new window.Chart(canvas, {
      type: line ? "line" : "bar",
      data: { labels: spec.labels, datasets: datasets },
      options: {
        indexAxis: indexAxis,
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { display: datasets.length > 1, position: "bottom" } },
        scales: scales
      }
    });
  }

  function drawAll() {
    if (!window.Chart) return;
    window.kickoffCharts = window.kickoffCharts || [];
    document.querySelectorAll("canvas[id]").forEach(function (canvas) {
      var chart = draw(canvas);
      if (chart) window.kickoffCharts.push(chart);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
  document.addEventListener("htmx:afterSettle", drawAll);
})();
