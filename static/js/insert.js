// "Insert …" buttons: put a button's data-insert text at the cursor of the field named by
// data-insert-into; at the end when the field was never focused (its cursor means nothing).
(function () {
  var focused = new WeakSet();
  document.addEventListener("focusin", function (e) { focused.add(e.target); });
  document.addEventListener("click", function (e) {
    var button = e.target.closest("[data-insert]");
    if (!button) return;
    var field = document.getElementById(button.getAttribute("data-insert-into"));
    if (!field) return;
    var text = button.getAttribute("data-insert");
    var start = focused.has(field) ? field.selectionStart : field.value.length;
    var end = focused.has(field) ? field.selectionEnd : start;
    field.setRangeText(text, start, end, "end");
    field.focus();
    field.dispatchEvent(new Event("input", { bubbles: true }));
  });
})();
