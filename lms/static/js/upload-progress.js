// A form with a big file (a resource upload, up to hundreds of MB on a school's line): checks the
// size before sending anything, then sends the form in the background with a progress bar, so the
// teacher sees it moving and is told at once when the connection drops. Without JavaScript the
// form posts as usual; the server checks everything again.
(function () {
  "use strict";
  document.querySelectorAll("form[data-upload-progress]").forEach(function (form) {
    var input = form.querySelector("input[type=file]");
    var max = Number(form.getAttribute("data-max-bytes")) || 0;
    var box = document.createElement("div");
    box.className = "upload-progress mt-2";
    box.hidden = true;
    box.innerHTML = '<div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax="100">' +
      '<div class="progress-bar"></div></div><p class="small mt-1 mb-0" role="status"></p>';
    input.parentNode.appendChild(box);
    var bar = box.querySelector(".progress-bar");
    var status = box.querySelector("[role=status]");
    var button = form.querySelector("button[type=submit]");

    function say(text, bad) {
      box.hidden = false;
      status.textContent = text;
      status.className = "small mt-1 mb-0" + (bad ? " text-danger" : "");
    }

    form.addEventListener("submit", function (ev) {
      if (ev.defaultPrevented) return;
      var file = input.files && input.files[0];
      if (!file || !window.FormData) return;
      if (max && file.size > max) {
        ev.preventDefault();
        say(form.getAttribute("data-msg-too-big"), true);
        return;
      }
      ev.preventDefault();
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.getAttribute("action") || window.location.href);
      xhr.upload.onprogress = function (e) {
        if (!e.lengthComputable) return;
        var pct = Math.floor((e.loaded / e.total) * 100);
        bar.style.width = pct + "%";
        bar.parentNode.setAttribute("aria-valuenow", pct);
        say(form.getAttribute("data-msg-progress").replace("%(pct)s", pct));
      };
      xhr.onload = function () {
        // Done: the server redirected to the new resource's page (elsewhere than this form).
        if (xhr.status < 400 && xhr.responseURL && new URL(xhr.responseURL).pathname !== window.location.pathname) {
          window.location.assign(xhr.responseURL);
          return;
        }
        // Refused (the form with its messages): show the page the server answered.
        document.open();
        document.write(xhr.responseText);
        document.close();
      };
      xhr.onerror = xhr.onabort = function () {
        button.disabled = false;
        bar.classList.add("bg-danger");
        say(form.getAttribute("data-msg-failed"), true);
      };
      button.disabled = true;
      bar.classList.remove("bg-danger");
      bar.style.width = "0%";
      say(form.getAttribute("data-msg-progress").replace("%(pct)s", 0));
      xhr.send(new FormData(form));
    });
  });
})();
