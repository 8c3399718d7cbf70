// The console works without this script; it only smooths a few edges.
(function () {
  "use strict";

  // A form marked data-once sends once: a second click while the first is
  // on its way would only repeat it. (The server is idempotent anyway.)
  var forms = document.querySelectorAll("form[data-once]");
  for (var i = 0; i < forms.length; i++) {
    forms[i].addEventListener("submit", function (event) {
      var form = event.currentTarget;
      if (form.dataset.sent) {
        event.preventDefault();
        return;
      }
      form.dataset.sent = "yes";
      var buttons = form.querySelectorAll("button[type=submit]");
      for (var j = 0; j < buttons.length; j++) {
        buttons[j].setAttribute("aria-disabled", "true");
      }
    });
  }

  // Take keyboard users straight to what went wrong.
  var summary = document.querySelector(".error-summary");
  if (summary) {
    summary.focus();
  }

  // Choosing a topic or typing an address picks its recipient option.
  var pairs = [["topic", "target-topic"], ["email", "target-subscriber"]];
  for (var k = 0; k < pairs.length; k++) {
    var field = document.getElementById(pairs[k][0]);
    var radio = document.getElementById(pairs[k][1]);
    if (field && radio) {
      field.addEventListener("focus", (function (r) {
        return function () { r.checked = true; };
      })(radio));
    }
  }
})();
