/* Studyhall pages: the CSRF header for HTMX, and small enhancements that need JavaScript.
   Loaded as a file because the Content-Security-Policy forbids inline scripts. */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // Every HTMX request carries the double-submit token the server compares with its cookie.
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
  });

  // After the session list is replaced, the button that had focus is gone: move focus to
  // the section heading so keyboard and screen reader users keep their place.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "session-list") {
      var heading = document.getElementById("sessions-title");
      if (heading) { heading.focus(); }
    }
  });

  // Swapped-in content names the element that should get focus (e.g. the moved item's
  // button). htmx's own autofocus races its focus preservation, so focus it ourselves once
  // the swap has settled.
  document.addEventListener("htmx:afterSettle", function () {
    var next = document.querySelector("[data-focus-after-swap]");
    if (next) {
      next.removeAttribute("data-focus-after-swap");
      next.focus();
    }
  });

  function downloadCodes(button) {
    var list = document.getElementById(button.getAttribute("data-target"));
    if (!list) { return; }
    var codes = Array.prototype.map.call(list.querySelectorAll("code"), function (node) {
      return node.textContent.trim();
    });
    var text = "Studyhall backup codes (each works once)\n\n" + codes.join("\n") + "\n";
    var link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
    link.download = "studyhall-backup-codes.txt";
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(link.href); }, 1000);
  }

  var actions = {
    "download-codes": downloadCodes,
    "print": function () { window.print(); }
  };

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-action]");
    if (button && actions[button.getAttribute("data-action")]) {
      actions[button.getAttribute("data-action")](button);
    }
  });

  // Buttons that only work with JavaScript stay hidden without it.
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-action]").forEach(function (node) { node.hidden = false; });
  });
})();
