// The SLA schedule's "Print" button (the browser's own Print command works as well).
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  document.addEventListener("click", function (event) {
    if (event.target && event.target.id === "print-schedule") { window.print(); }
  });
})();
