// Toasts: Django messages on page load, and HX-Trigger {"toast": {...}} from HTMX replies.
(function () {
  // Errors stay until dismissed: a failure must not vanish before it is read.
  function dismissLater(el) {
    if (el.classList.contains("toast-error")) return;
    setTimeout(function () { el.remove(); }, 6000);
  }
  function show(message, level) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var el = document.createElement("div");
    el.className = "toast toast-" + (level || "info");
    el.setAttribute("role", level === "error" ? "alert" : "status");
    el.textContent = message;
    var close = document.createElement("button");
    close.type = "button"; close.className = "toast-close"; close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    el.appendChild(close);
    box.appendChild(el);
    dismissLater(el);
  }
  document.addEventListener("click", function (e) {
    if (e.target.classList.contains("toast-close")) e.target.parentElement.remove();
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("#toasts .toast").forEach(dismissLater);
  });
  document.addEventListener("toast", function (e) { show(e.detail.message, e.detail.level); });
})();
