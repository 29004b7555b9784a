// Assignment editor: show only the fields of the chosen criteria form (rubric levels, or the
// weighted form's maximum and weight). The server reads only the chosen kind's fields anyway.
(function () {
  "use strict";
  var select = document.getElementById("form_kind");
  if (!select) return;
  function show() {
    var kind = select.value;
    document.querySelectorAll("[data-hw-kind]").forEach(function (el) {
      el.hidden = el.getAttribute("data-hw-kind") !== kind;
    });
  }
  select.addEventListener("change", show);
  show();
})();
