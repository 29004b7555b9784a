// Schedule and rota forms: the "For" / "Where" select can hold every region, school and workshop
// under the user's reach (grouped by kind); a text box above it filters the options by name.
(function () {
  "use strict";
  function setup(sel) {
    var input = document.createElement("input");
    input.type = "search";
    input.className = "form-control form-control-sm mb-1";
    input.placeholder = sel.dataset.filter;
    input.setAttribute("aria-label", sel.dataset.filter);
    sel.parentNode.insertBefore(input, sel);
    input.addEventListener("input", function () {
      var q = input.value.trim().toLowerCase();
      var first = null;
      sel.querySelectorAll("optgroup").forEach(function (g) {
        var any = false;
        g.querySelectorAll("option").forEach(function (o) {
          var show = !q || o.textContent.toLowerCase().indexOf(q) >= 0;
          o.hidden = !show;
          o.disabled = !show;
          if (show) { any = true; if (!first) first = o; }
        });
        g.hidden = !any;
      });
      if (first && sel.selectedOptions[0] && sel.selectedOptions[0].hidden) sel.value = first.value;
    });
  }
  function init() { document.querySelectorAll("select[data-filter]").forEach(setup); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
