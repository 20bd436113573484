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
