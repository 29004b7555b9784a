"""Screenshots of a running server's pages, signed in as a demo user, at phone and desktop width.

Usage: python tools/shoot.py http://127.0.0.1:5000 demo_teacher OUTDIR /path1 /path2 ...
(password from LMS_DEMO_PASSWORD, default the demo's). Uses Debian's chromium, never downloads one.
"""

import os
import shutil
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def main(base: str, username: str, outdir: str, *paths: str) -> None:
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=ARGS)
        for device, size in (("phone", (360, 740)), ("desktop", (1280, 800))):
            ctx = browser.new_context(viewport={"width": size[0], "height": size[1]}, is_mobile=device == "phone")
            page = ctx.new_page()
            page.goto(base + "/login")
            page.fill("input[name=identifier]", username)
            page.fill("input[name=password]", os.environ.get("LMS_DEMO_PASSWORD", "Demo2026!"))
            page.click("form:has(#password) button[type=submit]")
            page.wait_for_load_state("networkidle")
            for path in paths:
                page.goto(base + path)
                page.wait_for_load_state("networkidle")
                name = path.strip("/").replace("/", "_") or "home"
                page.screenshot(path=str(out / f"{name}-{device}.png"), full_page=True)
                print(out / f"{name}-{device}.png", page.title())
            ctx.close()
        browser.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
