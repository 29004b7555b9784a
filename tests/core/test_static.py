"""Versioned static URLs (lms.core.static) and deploy/nginx-static.conf: assets cached a year under
URLs that change with their content, so pages on a slow line revalidate nothing."""

import http.client
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from flask import url_for

from lms.core.static import IMMUTABLE

ROOT = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def test_pages_link_static_files_with_their_content_hash(app, client):
    html = client.get("/accounts/login").get_data(as_text=True)
    links = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)
    assert links and all(re.search(r"\?v=[0-9a-f]{12}$", u) for u in links), links
    css = next(u for u in links if "css/app.css" in u)
    r = client.get(css)
    assert r.status_code == 200 and r.headers["Cache-Control"] == IMMUTABLE and "Expires" not in r.headers
    assert css.endswith("?v=" + __import__("hashlib").sha256(r.get_data()).hexdigest()[:12])


def test_unversioned_or_stale_urls_revalidate(app, client):
    for url in ("/static/css/app.css", "/static/css/app.css?v=0123456789ab"):
        r = client.get(url)
        assert r.status_code == 200 and r.headers["Cache-Control"] == "no-cache", url
        etag = r.headers["ETag"]
        assert client.get(url, headers={"If-None-Match": etag}).status_code == 304


def test_a_changed_file_gets_a_new_url(app, monkeypatch, tmp_path):
    static = Path(app.static_folder)
    name = "css/_version_probe.css"
    path = static / name
    try:
        path.write_text("a{}")
        app.debug = True  # a changed modification time is hashed again (in production: a restart)
        with app.test_request_context():
            first = url_for("static", filename=name)
            path.write_text("b{}")
            import os

            st = path.stat()
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
            second = url_for("static", filename=name)
            assert first != second and "?v=" in second
            assert url_for("static", filename="no/such.css") == "/static/no/such.css"
    finally:
        app.debug = False
        path.unlink(missing_ok=True)


def test_templates_use_url_for_for_static_files():
    for tpl in (ROOT / "templates").rglob("*.html"):
        text = tpl.read_text(encoding="utf-8")
        assert not re.search(r"""(?:href|src)=["']/static/""", text), tpl


def test_templates_have_no_inline_styles():
    """The CSP (style-src 'self') blocks style attributes: the browser drops them and logs an error,
    so the look they meant is lost (the project page's description once lost its line breaks)."""
    for tpl in (ROOT / "templates").rglob("*.html"):
        text = tpl.read_text(encoding="utf-8")
        assert not re.search(r"""<[^>]*\sstyle=["']""", text), tpl


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx-light)")
def test_nginx_static_conf(app, tmp_path):
    """deploy/nginx-static.conf for real, with the static folder it is meant to alias."""
    conf = (ROOT / "deploy" / "nginx-static.conf").read_text()
    http_part, server_part = conf.split("# ---- server {} ----")
    server_part = server_part.replace("/srv/yanxiu/app/lms/static/", str(Path(app.static_folder).resolve()) + "/")
    port = _free_port()
    (tmp_path / "logs").mkdir()
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/logs/error.log; daemon off;\n"
        f"events {{}}\nhttp {{ access_log off; client_body_temp_path {tmp_path}; proxy_temp_path {tmp_path};\n"
        f"fastcgi_temp_path {tmp_path}; uwsgi_temp_path {tmp_path}; scgi_temp_path {tmp_path};\n"
        f"{http_part}\nserver {{ listen 127.0.0.1:{port};\n{server_part}\n}} }}\n"
    )
    proc = subprocess.Popen([NGINX, "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)])  # noqa: S603
    try:
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        with app.test_request_context():
            versioned = url_for("static", filename="css/app.css")

        def get(path):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", path)
            r = c.getresponse()
            return r.status, dict(r.getheaders()), r.read()

        status, headers, body = get(versioned)
        assert status == 200 and headers["Cache-Control"] == IMMUTABLE
        assert body == (Path(app.static_folder) / "css" / "app.css").read_bytes()
        status, headers, _body = get("/static/css/app.css")
        assert status == 200 and headers["Cache-Control"] == "no-cache" and headers.get("ETag")
        # pdf.js modules: only run by browsers when sent as JavaScript, still cached by version.
        pdfjs = Path(app.static_folder) / "vendor" / "pdfjs" / "pdf.min.mjs"
        if pdfjs.exists():
            with app.test_request_context():
                module = url_for("static", filename="vendor/pdfjs/pdf.min.mjs")
            status, headers, body = get(module)
            assert status == 200 and headers["Content-Type"] == "text/javascript"
            assert headers["Cache-Control"] == IMMUTABLE and body == pdfjs.read_bytes()
    finally:
        proc.send_signal(signal.SIGQUIT)
        proc.wait(timeout=10)
