// Radiogram's pages work without this script; it only saves a few clicks.
(function () {
  "use strict";

  // Preselect the browser's time zone on a blank sign-up form. The server
  // marks that field with data-guess-zone; it never overrides a choice.
  var zone = document.querySelector("input[data-guess-zone]");
  if (zone) {
    try {
      var guess = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (guess && zone.value === zone.defaultValue) {
        zone.value = guess;
      }
    } catch (e) {
      // An old browser without Intl keeps the default, UTC.
    }
  }

  // Take keyboard users straight to what went wrong when a form comes back
  // with an error; the summary links to each field at fault.
  var summary = document.querySelector(".error-summary");
  if (summary) {
    summary.focus();
  }

  // Show the day of the week only when it matters: for a weekly digest.
  var day = document.getElementById("day-field");
  var frequencies = document.querySelectorAll('input[name="frequency"]');
  if (day && frequencies.length) {
    var sync = function () {
      var chosen = document.querySelector('input[name="frequency"]:checked');
      day.hidden = !chosen || chosen.value !== "weekly";
    };
    for (var i = 0; i < frequencies.length; i++) {
      frequencies[i].addEventListener("change", sync);
    }
    sync();
  }
})();
