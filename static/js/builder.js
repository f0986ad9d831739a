// The mapping builder and its preview: warn before leaving with unsaved rows; copy the
// raw launch body.
(function () {
  "use strict";

  // --- Unsaved changes. The builder is one plain form: any input or change marks it
  // dirty (an HTMX row redraw after a change is still unsaved); saving clears it.
  var dirty = false;
  function inBuilder(el) {
    return el && el.closest && el.closest("form#builder");
  }
  document.addEventListener("input", function (e) { if (inBuilder(e.target)) dirty = true; });
  document.addEventListener("change", function (e) { if (inBuilder(e.target)) dirty = true; });
  // Accepting a suggestion changes a row without an input event.
  document.addEventListener("click", function (e) {
    var accept = e.target.closest && e.target.closest('form#builder button[name="accept"]');
    if (accept) dirty = true;
  });
  document.addEventListener("submit", function (e) {
    // The save (or a no-JavaScript redraw) leaves the page on purpose; a cancelled
    // data-confirm keeps it dirty.
    if (e.target.id === "builder" && !e.defaultPrevented) dirty = false;
  });
  window.addEventListener("beforeunload", function (e) {
    if (!dirty) return;
    e.preventDefault();
    e.returnValue = ""; // older browsers need it set to show their own warning
  });

  // --- Copy (data-copy-target="#id"): the text of the element named.
  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("[data-copy-target]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy-target"));
    if (!source) return;
    var label = button.textContent;
    function done() {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1500);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(source.textContent).then(done);
    } else {
      var area = document.createElement("textarea");
      area.value = source.textContent; document.body.appendChild(area); area.select();
      try { document.execCommand("copy"); done(); } finally { area.remove(); }
    }
  });
})();
