// The objective form: show the inputs of the chosen credit rule kind, and add or remove
// tier rows in the browser. Without JavaScript every kind's inputs stay visible and the
// "Add a tier" button and "Remove" checkboxes do the same work through the server.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function showRuleKind() {
    var select = document.getElementById("id_rule_kind");
    if (!select) { return; }
    document.querySelectorAll(".rule-kind").forEach(function (section) {
      section.hidden = section.dataset.kind !== select.value;
    });
  }

  function renumber(tbody) {
    var rows = tbody.querySelectorAll("tr.tier-row:not([hidden])");
    rows.forEach(function (row, index) {
      var number = row.querySelector(".tier-number");
      if (number) { number.textContent = String(index + 1); }
    });
  }

  function addTier() {
    var tbody = document.getElementById("tier-rows");
    var template = document.getElementById("tier-template");
    var total = document.getElementById("id_tiers-TOTAL_FORMS");
    if (!tbody || !template || !total) { return; }
    var index = parseInt(total.value, 10) || 0;
    var html = template.innerHTML.replace(/__prefix__/g, String(index));
    tbody.insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
    renumber(tbody);
    var row = tbody.lastElementChild;
    var number = row.querySelector(".tier-number").textContent;
    row.querySelectorAll("label.visually-hidden").forEach(function (label) {
      label.textContent = label.textContent.replace("New tier", "Tier " + number);
    });
    var first = row.querySelector("input[type=text]");
    if (first) { first.focus(); }
  }

  function removeTier(button) {
    var row = button.closest("tr.tier-row");
    var tbody = row.parentElement;
    var remove = row.querySelector("input[type=checkbox][name$='-DELETE']");
    // The row stays in the form, marked for deletion, so the formset's numbering holds.
    if (remove) { remove.checked = true; }
    row.hidden = true;
    renumber(tbody);
    var add = document.getElementById("add-tier");
    if (add) { add.focus(); }
  }

  document.addEventListener("change", function (event) {
    if (event.target && event.target.id === "id_rule_kind") { showRuleKind(); }
  });
  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("button") : null;
    if (!target) { return; }
    if (target.id === "add-tier") {
      event.preventDefault();
      addTier();
    } else if (target.classList.contains("tier-remove")) {
      event.preventDefault();
      removeTier(target);
    }
  });
  document.addEventListener("DOMContentLoaded", showRuleKind);
  // After htmx swaps in the re-rendered form (preview), apply the kind again.
  document.addEventListener("htmx:afterSettle", showRuleKind);
})();
