/* Question bank pages: the editor shows the parts the chosen type uses, offers option rows
   one at a time, and images' Markdown can be copied. Everything works without it. */
(function () {
  "use strict";

  var SINGLE_ANSWER_TYPES = ["single_choice", "true_false"];

  function editorType() {
    var select = document.getElementById("type");
    return select ? select.value : "";
  }

  // Show the fieldsets meant for the chosen type; hidden ones are still submitted but the
  // server ignores what does not belong to the type.
  function showPartsFor(kind) {
    document.querySelectorAll(".question-editor [data-types]").forEach(function (part) {
      part.hidden = part.getAttribute("data-types").split(" ").indexOf(kind) === -1;
    });
    if (kind === "true_false") {
      var texts = document.querySelectorAll(".option-row textarea[name='option_text']");
      var empty = Array.prototype.every.call(texts, function (t) { return !t.value.trim(); });
      if (empty && texts.length >= 2) {
        texts[0].value = "True";
        texts[1].value = "False";
      }
    }
  }

  function spareRows() {
    return document.querySelectorAll(".option-row[data-spare]");
  }

  function hideSpareRows() {
    var spares = spareRows();
    spares.forEach(function (row) { row.hidden = true; });
    var add = document.querySelector("[data-action='add-option']");
    if (add) { add.hidden = spares.length === 0; }
  }

  function addOption(button) {
    var next = document.querySelector(".option-row[data-spare][hidden]");
    if (!next) { return; }
    next.hidden = false;
    next.removeAttribute("data-spare");
    var text = next.querySelector("textarea");
    if (text) { text.focus(); }
    if (!document.querySelector(".option-row[data-spare][hidden]")) { button.hidden = true; }
  }

  // One correct option for single choice and true/false: ticking one clears the others.
  function onCorrectTicked(box) {
    if (!box.checked || SINGLE_ANSWER_TYPES.indexOf(editorType()) === -1) { return; }
    document.querySelectorAll("input[name='option_correct']").forEach(function (other) {
      if (other !== box) { other.checked = false; }
    });
  }

  function copyMarkdown(button) {
    var input = document.getElementById(button.getAttribute("data-target"));
    var status = document.getElementById("images-status");
    if (!input) { return; }
    function done(message) { if (status) { status.textContent = message; } }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(input.value).then(
        function () { done("Markdown copied."); },
        function () { input.select(); done("Press Ctrl+C (or Cmd+C) to copy the selected Markdown."); }
      );
    } else {
      input.select();
      done("Press Ctrl+C (or Cmd+C) to copy the selected Markdown.");
    }
  }

  var actions = { "add-option": addOption, "copy-markdown": copyMarkdown };

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-action]");
    if (button && actions[button.getAttribute("data-action")]) {
      actions[button.getAttribute("data-action")](button);
    }
  });

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.id === "type" && target.closest(".question-editor")) { showPartsFor(target.value); }
    if (target.name === "option_correct") { onCorrectTicked(target); }
  });

  function init() {
    if (document.querySelector(".question-editor")) {
      hideSpareRows();
      showPartsFor(editorType());
    }
    document.querySelectorAll("[data-action='copy-markdown']").forEach(function (node) {
      node.hidden = false;
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
