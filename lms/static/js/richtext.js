// Rich-text fields: each textarea[data-rich] gets a Quill editor (headings, bold, lists, quote,
// link). The textarea stays in the form, hidden, and always holds the editor's HTML, so the form
// posts as before; without JavaScript, or if Quill does not load, the plain textarea is used (the
// server turns plain text into paragraphs and sanitizes whatever HTML arrives either way).
// Quill is only fetched on pages that have such a field.
(function () {
  "use strict";
  var me = document.currentScript;
  var fields = document.querySelectorAll("textarea[data-rich]");
  if (!fields.length || !me) return;

  var TOOLBARS = {
    full: [
      [{ header: [2, 3, false] }],
      ["bold", "italic", "underline"],
      [{ list: "ordered" }, { list: "bullet" }],
      ["blockquote", "link"],
      ["clean"]
    ],
    // data-rich="compact": replies, where one short row fits a phone.
    compact: [["bold", "italic"], [{ list: "ordered" }, { list: "bullet" }], ["link"]]
  };
  // What the server keeps (lms.core.text.ALLOWED_TAGS); anything else pasted in is dropped here too.
  var FORMATS = ["header", "bold", "italic", "underline", "list", "blockquote", "link"];

  function looksLikeHtml(s) { return /<[a-zA-Z\/!]/.test(s); }

  function enhance(ta) {
    var compact = ta.getAttribute("data-rich") === "compact";
    var box = document.createElement("div");
    box.className = compact ? "rich-editor rich-editor-compact" : "rich-editor";
    var host = document.createElement("div");
    box.appendChild(host);
    ta.parentNode.insertBefore(box, ta);
    var quill = new window.Quill(host, {
      theme: "snow",
      modules: { toolbar: TOOLBARS[compact ? "compact" : "full"] },
      formats: FORMATS,
      placeholder: ta.getAttribute("placeholder") || ""
    });
    var text = ta.value;
    if (text) {
      if (looksLikeHtml(text)) quill.clipboard.dangerouslyPasteHTML(text);  // our own sanitized HTML
      else quill.setText(text);
    }
    // The hidden textarea can no longer take focus: the editor does its required check.
    var required = ta.required;
    // A reply may be only an image: its text is needed unless a file is attached.
    var orFiles = ta.hasAttribute("data-required-unless-files");
    ta.required = false;
    ta.removeAttribute("maxlength");
    ta.hidden = true;
    var editor = host.querySelector(".ql-editor");
    if (ta.id) {
      editor.setAttribute("aria-labelledby", ta.id + "-label");
      var label = document.querySelector('label[for="' + ta.id + '"]');
      if (label) {
        label.id = label.id || ta.id + "-label";
        label.addEventListener("click", function (ev) { ev.preventDefault(); quill.focus(); });
      }
    }
    editor.setAttribute("role", "textbox");
    editor.setAttribute("aria-multiline", "true");
    if (ta.classList.contains("is-invalid")) box.classList.add("is-invalid");
    // Quill 2.0.3's getSemanticHTML writes every space as &nbsp;, which would keep English lines
    // from wrapping: plain spaces again.
    function sync() {
      ta.value = quill.getText().trim() ? quill.getSemanticHTML().replace(/&nbsp;/g, " ") : "";
    }
    sync();
    // The message an empty required field shows under the editor (the browser's own bubble cannot
    // point at a hidden textarea).
    var feedback = document.createElement("div");
    feedback.className = "invalid-feedback";
    feedback.setAttribute("role", "alert");
    box.appendChild(feedback);
    quill.on("text-change", function () { sync(); box.classList.remove("is-invalid"); feedback.textContent = ""; });
    if (ta.form) {
      ta.form.addEventListener("submit", function (ev) {
        sync();
        var files = orFiles && Array.prototype.some.call(ta.form.querySelectorAll("input[type=file]"),
          function (input) { return input.files && input.files.length > 0; });
        if ((required || orFiles) && !ta.value && !files) {
          ev.preventDefault();
          box.classList.add("is-invalid");
          feedback.textContent = me.getAttribute("data-msg-required") || "";
          quill.focus();
        }
      });
      ta.form.addEventListener("reset", function () { quill.setText(""); });
    }
    return quill;
  }

  // A field inside a closed <details> (a reply box under every post) gets its editor when the box
  // is first opened, so a long discussion does not build dozens of editors nobody uses.
  function enhanceWhenShown(ta) {
    var closed = ta.closest("details:not([open])");
    if (!closed) { enhance(ta); return; }
    closed.addEventListener("toggle", function opened() {
      if (!closed.open) return;
      closed.removeEventListener("toggle", opened);
      enhance(ta).focus();
    });
  }

  function loadCss(href) {
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = href;
    document.head.appendChild(link);
  }

  loadCss(me.getAttribute("data-quill-css"));
  var s = document.createElement("script");
  s.src = me.getAttribute("data-quill-js");
  s.onload = function () { fields.forEach(enhanceWhenShown); };
  document.head.appendChild(s);
})();
