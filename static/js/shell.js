// The shell: the small-screen menu, keyboard shortcuts, focus after HTMX swaps, confirms.
(function () {
  "use strict";

  // --- Small screens: the sidebar is a top bar whose menu button opens the navigation.
  document.addEventListener("click", function (e) {
    var menu = e.target.closest(".menu-button");
    if (!menu) return;
    var open = menu.getAttribute("aria-expanded") !== "true";
    menu.setAttribute("aria-expanded", String(open));
    document.getElementById("sidebar").classList.toggle("menu-open", open);
  });

  // --- Confirm before a form that does something real (data-confirm="question").
  document.addEventListener("submit", function (e) {
    var question = e.target.getAttribute && e.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) e.preventDefault();
  }, true);

  // --- Keyboard shortcuts. Never while typing, and never with Ctrl/Alt/Meta (browser keys).
  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    return el.isContentEditable || tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
  }

  function rows() {
    // The page's main list: the first data table in the content with body rows.
    var table = document.querySelector("#main table.data");
    if (!table) return [];
    return Array.prototype.filter.call(table.querySelectorAll("tbody > tr"), function (tr) {
      return tr.offsetParent !== null && !tr.classList.contains("load-more-row") && !tr.querySelector("td.load-more");
    });
  }

  // Rows are swapped by HTMX (a retry, live status polling): remember the chosen row by id.
  var currentId = null;

  function markRow(tr) {
    tr.classList.add("kb-current");
    tr.setAttribute("aria-current", "true");
    if (!tr.hasAttribute("tabindex")) tr.setAttribute("tabindex", "-1");
  }

  function currentRow() {
    return document.querySelector("#main tr.kb-current");
  }

  function moveRow(step) {
    var list = rows();
    if (!list.length) return;
    var at = list.indexOf(currentRow());
    var next = at < 0 ? (step > 0 ? 0 : list.length - 1) : Math.min(list.length - 1, Math.max(0, at + step));
    list.forEach(function (tr) { tr.classList.remove("kb-current"); tr.removeAttribute("aria-current"); });
    var tr = list[next];
    currentId = tr.id || null;
    markRow(tr);
    tr.focus();
    tr.scrollIntoView({ block: "nearest" });
  }

  function retryButton(scope) {
    // Pages mark their retry control with data-shortcut="retry"; else a button saying Retry.
    var marked = scope.querySelector('[data-shortcut="retry"]');
    if (marked) return marked;
    var buttons = Array.prototype.filter.call(scope.querySelectorAll("button"), function (b) {
      return /^\s*retry\b/i.test(b.textContent) && !b.disabled;
    });
    return buttons.length === 1 || scope !== document ? buttons[0] : null;
  }

  function search() {
    return document.querySelector(
      '#main [data-search], #main input[type="search"], #main input[name="q"]'
    );
  }

  function help() {
    var dialog = document.getElementById("keyboard-help");
    if (dialog && !dialog.open) dialog.showModal();
  }

  document.addEventListener("click", function (e) {
    if (e.target.closest("[data-keyboard-help]")) help();
  });

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    if (document.querySelector("dialog[open]") && e.key !== "?") return;
    var row = currentRow();
    switch (e.key) {
      case "/": {
        var box = search();
        if (!box) return;
        e.preventDefault();
        box.focus();
        if (box.select) box.select();
        return;
      }
      case "j": e.preventDefault(); moveRow(1); return;
      case "k": e.preventDefault(); moveRow(-1); return;
      case "Enter": {
        if (!row || e.target !== row) return;
        var link = row.querySelector("a[href]");
        if (link) { e.preventDefault(); link.click(); }
        return;
      }
      case "r": {
        var button = retryButton(row || document);
        if (!button) return;
        e.preventDefault();
        button.click();
        return;
      }
      case "?": e.preventDefault(); help(); return;
    }
  });

  // --- Focus after HTMX swaps: a swap that removed the focused element would drop focus
  // to <body> (a keyboard user would start again from the top). Put it back on the element
  // with the same id, else on the swapped content.
  var lost = null;
  document.addEventListener("htmx:beforeSwap", function (e) {
    var active = document.activeElement;
    lost = active && active !== document.body
      ? { el: active, id: active.id, targetId: e.detail.target && e.detail.target.id }
      : null;
  });
  document.addEventListener("htmx:afterSettle", function (e) {
    var chosen = currentId && document.getElementById(currentId);
    if (chosen && !chosen.classList.contains("kb-current")) markRow(chosen);
    if (!lost) return;
    // Still on the page: the swap did not take it, so focus moved away by choice (the
    // user left the search box while its answer was on the way): leave it there.
    if (document.contains(lost.el)) { lost = null; return; }
    var active = document.activeElement;
    if (active && active !== document.body && document.contains(active)) { lost = null; return; }
    var back = (lost.id && document.getElementById(lost.id))
      || (lost.targetId && document.getElementById(lost.targetId))
      || (document.contains(e.detail.target) ? e.detail.target : null);
    lost = null;
    if (!back) return;
    if (back.tabIndex < 0 && !back.hasAttribute("tabindex")) back.setAttribute("tabindex", "-1");
    back.focus({ preventScroll: true });
  });
})();
