// The console's only script (served from our own origin; the CSP allows nothing else):
// select all / clear all in the result list, and a confirmation before actions that move money.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  function boxes() {
    return document.querySelectorAll('#results input[type="checkbox"][name="payment_id"]');
  }
  var all = document.getElementById("select-all");
  var none = document.getElementById("clear-all");
  if (all) all.addEventListener("click", function () { boxes().forEach(function (b) { b.checked = true; }); });
  if (none) none.addEventListener("click", function () { boxes().forEach(function (b) { b.checked = false; }); });
  document.querySelectorAll("[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.getAttribute("data-confirm"))) event.preventDefault();
    });
  });
  document.querySelectorAll("form").forEach(function (form) {
    form.addEventListener("submit", function () {
      // One click, one submission; the idempotency key covers a second one anyway.
      form.querySelectorAll('button[type="submit"]').forEach(function (b) {
        window.setTimeout(function () { b.disabled = true; }, 0);
      });
    });
  });
});

// A file payment's progress page: its counts polled every two seconds; when the file is no longer
// running the page reloads (for the result's download link). Without script, a meta refresh does it.
document.addEventListener("DOMContentLoaded", function () {
  var box = document.querySelector("[data-poll]");
  if (!box || !window.fetch) return;
  var url = box.getAttribute("data-poll");
  function number(n) { return Number(n).toLocaleString("ja-JP"); }
  function show(id, text) { var el = document.getElementById(id); if (el) el.textContent = text; }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (p) {
        if (!p) return;
        if (!p.open) { window.location.reload(); return; }
        show("done-lines", number(p.done_lines));
        show("error-lines", number(p.error_lines));
        show("rate", Number(p.lines_per_second).toLocaleString("ja-JP", { minimumFractionDigits: 1, maximumFractionDigits: 1 }));
        show("eta", p.seconds_left === null ? "" : "・残り約" + number(p.seconds_left) + "秒");
        var status = document.getElementById("status");
        if (status && status.getAttribute("data-status") !== p.status) {
          status.setAttribute("data-status", p.status);
          status.textContent = p.status_label;
        }
        var bar = document.getElementById("bar");
        if (bar) bar.value = p.done_lines;
        window.setTimeout(poll, 2000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 2000);
});
