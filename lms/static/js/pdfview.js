// PDF previews drawn in the page with pdf.js: phones' browsers (WeChat's among them) show nothing
// for a PDF in a frame. Pages are drawn when they come near the screen, at the width of the page
// and the screen's pixel density; without JavaScript or on an error the link to the file remains.
(function () {
  "use strict";
  var boxes = document.querySelectorAll(".res-pdf-view[data-src]");
  if (!boxes.length) return;
  var MAX_PAGES = 50; // a long document: the first pages here, the rest by download

  function draw(pdfjs, box) {
    var status = box.querySelector(".res-pdf-status");
    var task = pdfjs.getDocument({
      url: box.dataset.src,
      cMapUrl: box.dataset.cmaps,
      cMapPacked: true,
      standardFontDataUrl: box.dataset.fonts,
      isEvalSupported: false,
    });
    task.promise.then(function (doc) {
      var n = Math.min(doc.numPages, MAX_PAGES);
      status.textContent = box.dataset.msgPages.replace("%(n)s", doc.numPages);
      var seen = new IntersectionObserver(function (entries) {
        entries.forEach(function (e) {
          if (!e.isIntersecting) return;
          seen.unobserve(e.target);
          render(doc, e.target);
        });
      }, { rootMargin: "600px 0px" });
      for (var i = 1; i <= n; i++) {
        var canvas = document.createElement("canvas");
        canvas.className = "res-pdf-page";
        canvas.dataset.page = i;
        canvas.setAttribute("aria-label", box.dataset.msgPage.replace("%(n)s", i));
        box.appendChild(canvas);
        seen.observe(canvas);
      }
      if (doc.numPages > n) {
        var more = document.createElement("p");
        more.className = "small text-muted px-3";
        more.textContent = box.dataset.msgMore.replace("%(n)s", n);
        box.appendChild(more);
      }
    }).catch(function () {
      status.textContent = box.dataset.msgError;
    });
  }

  function render(doc, canvas) {
    doc.getPage(Number(canvas.dataset.page)).then(function (page) {
      var width = canvas.parentNode.clientWidth || 360;
      var base = page.getViewport({ scale: 1 });
      var ratio = Math.min(window.devicePixelRatio || 1, 2);
      var view = page.getViewport({ scale: (width / base.width) * ratio });
      canvas.width = Math.floor(view.width);
      canvas.height = Math.floor(view.height);
      canvas.style.width = "100%";
      return page.render({ canvasContext: canvas.getContext("2d"), viewport: view }).promise;
    }).then(function () {
      canvas.dataset.drawn = "1";
    }).catch(function () {
      canvas.dataset.drawn = "error";
    });
  }

  var first = boxes[0];
  import(first.dataset.lib).then(function (pdfjs) {
    pdfjs.GlobalWorkerOptions.workerSrc = first.dataset.worker;
    boxes.forEach(function (box) { draw(pdfjs, box); });
  }).catch(function () {
    boxes.forEach(function (box) {
      box.querySelector(".res-pdf-status").textContent = box.dataset.msgError;
    });
  });
})();
