// todokede: small enhancements only. Every page works without this file (the forms post to the
// server, which answers with the page); CSP allows this one script of our own and no other.
"use strict";

// 返信欄に挿入: the chosen template, filled for this report by the server, goes into the reply
// field at the cursor, and what was typed stays. Without JavaScript (or if the fetch fails) the
// button posts the draft and the server answers with the template appended to it.
(function () {
  var used = new WeakSet(); // fields the analyst has been in: their cursor means something
  document.addEventListener("focusin", function (ev) {
    if (ev.target instanceof HTMLTextAreaElement) used.add(ev.target);
  });

  function insert(field, text) {
    var start = field.value.length, end = start;
    if (used.has(field)) {
      start = field.selectionStart;
      end = field.selectionEnd;
    }
    // On lines of its own, a blank line away from the draft around it.
    var before = field.value.slice(0, start), after = field.value.slice(end);
    if (before.trim() !== "") text = (before.endsWith("\n\n") ? "" : before.endsWith("\n") ? "\n" : "\n\n") + text;
    if (after.trim() !== "") text += after.startsWith("\n") ? "\n" : "\n\n";
    field.setRangeText(text, start, end, "end");
    used.add(field);
    field.focus();
    field.dispatchEvent(new Event("input", { bubbles: true }));
  }

  document.addEventListener("click", function (ev) {
    var button = ev.target instanceof Element && ev.target.closest("button[data-insert-into]");
    if (!button || !button.form) return;
    var field = document.getElementById(button.getAttribute("data-insert-into"));
    var select = button.form.querySelector("select[name=template]");
    if (!field || !select || !select.value) return;
    ev.preventDefault();
    var url = button.getAttribute("data-template-url") + "?template=" + encodeURIComponent(select.value);
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/plain" } })
      .then(function (res) {
        if (!res.ok) throw new Error(res.status);
        return res.text();
      })
      .then(function (text) { insert(field, text); })
      .catch(function () { button.form.requestSubmit(button); }); // the server's way
  });
})();
