from lms import access
from lms.access.roles import CAPABILITIES, ROLE_CAPABILITIES
from lms.plugins import PluginAPI


def test_plugin_capability_reaches_named_roles_and_site_admin(app, world):
    api = PluginAPI(app, "demo_plugin")
    try:
        api.add_capability("lessonprep.run", "Run collaborative lesson prep", ["host"])
        assert access.can(world["host"], "lessonprep.run", world.workshop_a)
        assert access.can(world["site_admin"], "lessonprep.run", world.workshop_b)
        assert not access.can(world["member"], "lessonprep.run", world.workshop_a)
    finally:
        CAPABILITIES.pop("lessonprep.run", None)
        for caps in ROLE_CAPABILITIES.values():
            caps.discard("lessonprep.run")


def test_proxy_count_trusts_forwarded_address():
    from flask import Flask, request

    from lms import _trust_proxies

    seen = {}
    for count, expected in ((0, "127.0.0.1"), (1, "203.0.113.9")):
        app = Flask("proxy_test")
        app.config["PROXY_COUNT"] = count
        _trust_proxies(app)
        app.add_url_rule("/", "addr", lambda: seen.__setitem__("addr", request.remote_addr) or "ok")
        app.test_client().get("/", headers={"X-Forwarded-For": "203.0.113.9"})
        assert seen["addr"] == expected
