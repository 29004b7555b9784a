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


# --- notification channels from plugins (plugins/sms_log) --------------------------------------


def _sms_plugin(app, **settings):
    import plugins.sms_log as sms_log

    for key, value in settings.items():
        app.config[f"SMS_LOG_{key}"] = value
    sms_log.setup(PluginAPI(app, "sms_log"))
    return app.extensions.get("sms_log")


def _drop_sms(app):
    from lms.notifications.services import unregister_channel

    unregister_channel("sms_log.sms")
    app.extensions.pop("sms_log", None)
    for key in ("KINDS", "SIGNATURE", "SITE_URL"):
        app.config.pop(f"SMS_LOG_{key}", None)


def test_sms_plugin_is_off_unless_configured(app, monkeypatch):
    from lms.notifications.services import channels

    assert "sms_log" in app.extensions["lms_plugins"]  # loaded with the others...
    assert "sms_log.sms" not in channels()  # ...but without LMS_SMS_LOG_KINDS it adds nothing
    monkeypatch.setenv("LMS_SMS_LOG_KINDS", "announcement")
    try:
        notifier = _sms_plugin(app)
        assert "sms_log.sms" in channels() and notifier.kinds == {"announcement"}
    finally:
        _drop_sms(app)


def test_sms_plugin_receives_the_kinds_it_asked_for(app, world, db, caplog):
    import logging

    from lms.notifications.services import notify

    member, teacher = world["member"], world["teacher"]
    member.phone, teacher.phone = "13812345678", None
    db.session.commit()
    notifier = _sms_plugin(app, KINDS="announcement, activity_marked", SITE_URL="https://yanxiu.example.cn/")
    try:
        with caplog.at_level(logging.INFO, logger="plugins.sms_log"):
            notify([member, teacher], "announcement", "新公告：暑期研修安排", url="/announcements/7")
            notify([member], "post_liked", "有人赞了你的帖子")  # a kind it did not ask for
        # Only the member has a phone number; only the announcement was wanted.
        assert list(notifier.outbox) == [
            ("13812345678", "【研修】新公告：暑期研修安排 https://yanxiu.example.cn/announcements/7")
        ]
        # The log names the kind and a masked number, never the text or the whole number.
        logged = " ".join(r.getMessage() for r in caplog.records if r.name == "plugins.sms_log")
        assert "138****5678" in logged and "13812345678" not in logged and "暑期" not in logged
        # Long texts are cut to two SMS segments, signature and link included.
        notify([member], "activity_marked", "长" * 400, url="/activities/1")
        text = notifier.outbox[-1][1]
        assert (
            len(text) == 140
            and text.startswith("【研修】长")
            and text.endswith("… https://yanxiu.example.cn/activities/1")
        )
    finally:
        _drop_sms(app)


def test_a_failing_notifier_does_not_stop_in_app_delivery(app, world, db):
    from lms.notifications.services import channels, notify, unread_count, unregister_channel
    from lms.plugins import Notifier

    class Broken(Notifier):
        def send(self, messages):
            raise RuntimeError("gateway down")

    name = PluginAPI(app, "broken").register_notification_channel("sms", Broken())
    try:
        assert name == "broken.sms" and name in channels()
        notify([world["member"]], "announcement", "仍然送达")
        assert unread_count(world["member"]) == 1
    finally:
        unregister_channel(name)


def test_plugins_import_only_the_plugin_api_and_signals():
    """DESIGN.md: plugins see lms.plugins and lms.signals only, so the core can change beneath them."""
    import ast

    from lms.config import BASE_DIR

    for path in (BASE_DIR / "plugins").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            for name in names:
                if name == "lms" or name.startswith("lms."):
                    assert name in ("lms.plugins", "lms.signals"), (path, name)
