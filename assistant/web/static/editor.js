// The draft editor: re-check the tone while the consultant types. The page works without
// this file (Save re-checks); with it, findings follow the text within half a second.
(function () {
  "use strict";
  var form = document.getElementById("editor");
  var text = document.getElementById("text");
  if (!form || !text || text.readOnly) { return; }
  var timer = null;
  var sent = 0;

  function recheck() {
    var mine = ++sent;
    var body = new URLSearchParams();
    body.set("csrf", form.elements.csrf.value);
    body.set("text", text.value);
    fetch(form.dataset.check, {method: "POST", body: body, credentials: "same-origin"})
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null || mine !== sent) { return; }
        var holder = document.createElement("div");
        holder.innerHTML = html;   // our own server's escaped fragment
        var fresh = holder.querySelector("#findings");
        var old = document.getElementById("findings");
        if (fresh && old) { old.replaceWith(fresh); }
        var anyway = document.getElementById("anyway");
        if (anyway && fresh) { anyway.hidden = fresh.dataset.count === "0"; }
      })
      .catch(function () { /* offline for a moment: Save still checks */ });
  }

  function soon() {
    clearTimeout(timer);
    timer = setTimeout(recheck, 400);
  }

  text.addEventListener("input", soon);
  // Typed before this file arrived (a slow line, a busy machine): catch up once.
  if (text.value !== text.defaultValue) { soon(); }
}());
