// Deliveries list, kept true while it is open: relative times and "next try in 25 s" tick
// here; a retrying row asks for itself when its try is due; the status chips re-count while
// rows move and when one settles; ticked rows feed "Retry selected".
(function () {
  var COUNTS_EVERY_MS = 5000;
  var DUE_ASK_EVERY_MS = 3000; // an overdue row (worker still busy) asks again this often
  var askedAt = {};

  function seconds(iso, now) {
    return Math.round((Date.parse(iso) - now) / 1000);
  }

  function until(s) {
    if (s <= 0) return "trying now…";
    if (s < 60) return "next try in " + s + " s";
    if (s < 3600) return "next try in " + Math.round(s / 60) + " min";
    return "next try in " + Math.round(s / 3600) + " h";
  }

  function ago(s) {
    if (s < 10) return "just now";
    if (s < 60) return s + " s ago";
    if (s < 3600) return Math.floor(s / 60) + " min ago";
    if (s < 86400) return Math.floor(s / 3600) + " h ago";
    if (s < 86400 * 30) return Math.floor(s / 86400) + " d ago";
    return null; // older: the date itself says more
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("time.ago[datetime]").forEach(function (el) {
      var text = ago(-seconds(el.getAttribute("datetime"), now));
      el.textContent = text || el.getAttribute("title").slice(0, 10);
    });
    document.querySelectorAll(".countdown[data-due]").forEach(function (el) {
      var s = seconds(el.getAttribute("data-due"), now);
      el.textContent = until(s);
      var row = el.closest("tr.delivery-row");
      if (s > 0 || !row || !window.htmx) return;
      if (now - (askedAt[row.id] || 0) < DUE_ASK_EVERY_MS) return;
      askedAt[row.id] = now;
      htmx.trigger(row, "due");
    });
  }

  function recount() {
    var counts = document.getElementById("status-counts");
    if (counts && window.htmx) htmx.trigger(counts, "refresh");
  }

  // While rows move, the chips follow.
  setInterval(function () {
    if (!document.hidden && document.querySelector("#delivery-rows tr[data-live]")) recount();
  }, COUNTS_EVERY_MS);

  // A row's reply names its status before it is swapped in: a change re-counts at once.
  document.addEventListener("delivery-row", function (e) {
    var row = document.getElementById("delivery-" + e.detail.id);
    if (row && row.getAttribute("data-row-status") !== e.detail.status) recount();
  });

  // --- selection ---------------------------------------------------------------------
  function picked() {
    return document.querySelectorAll("#delivery-rows input.row-select:checked");
  }

  function syncSelection() {
    var button = document.getElementById("retry-selected");
    if (!button) return;
    var n = picked().length;
    button.disabled = n === 0;
    button.classList.toggle("primary", n > 0);
    var label = button.querySelector(".triage-picked");
    if (label) label.textContent = "(" + n + ")";
    var all = document.getElementById("select-all");
    var boxes = document.querySelectorAll("#delivery-rows input.row-select");
    if (all) {
      all.checked = boxes.length > 0 && n === boxes.length;
      all.indeterminate = n > 0 && n < boxes.length;
    }
  }

  document.addEventListener("change", function (e) {
    if (e.target.id === "select-all") {
      document.querySelectorAll("#delivery-rows input.row-select").forEach(function (box) {
        box.checked = e.target.checked;
      });
    }
    if (e.target.id === "select-all" || e.target.classList.contains("row-select")) {
      syncSelection();
    }
  });

  // A swapped row (retried, settled) loses its tick; the count follows.
  document.addEventListener("htmx:afterSettle", function () {
    syncSelection();
    tick();
  });
  document.addEventListener("DOMContentLoaded", function () {
    syncSelection();
    tick();
  });
  setInterval(tick, 1000);
})();
