"""SMS gateway stub 短信网关示例: formats notifications as SMS texts and logs them instead of sending.

Off unless configured: set LMS_SMS_LOG_KINDS (or app.config["SMS_LOG_KINDS"]) to the notification
kinds worth a text message, comma-separated, e.g. "announcement,activity_marked". Optional:
LMS_SMS_LOG_SIGNATURE, the bracketed sender name carriers require first (default 【研修】), and
LMS_SMS_LOG_SITE_URL, prefixed to the notification's link (e.g. https://yanxiu.example.cn).

A real gateway replaces `SmsLogNotifier.transmit` with its HTTP call. Uses only lms.plugins, as
plugins must.
"""

import logging
from collections import deque

from lms.plugins import Notifier, OutgoingNotification, PluginAPI

log = logging.getLogger(__name__)

#: Characters of one SMS in UCS-2 (any Chinese); longer texts are cut to MAX_SEGMENTS of them.
SEGMENT = 70
MAX_SEGMENTS = 2


def mask(phone: str) -> str:
    """138****5678: enough to tell numbers apart in a log, not enough to call."""
    return phone[:3] + "*" * max(len(phone) - 7, 0) + phone[-4:] if len(phone) > 7 else "*" * len(phone)


def format_sms(message: OutgoingNotification, signature: str = "【研修】", site_url: str = "") -> str:
    link = f" {site_url.rstrip('/')}{message.url}" if site_url and message.url else ""
    budget = SEGMENT * MAX_SEGMENTS - len(signature) - len(link)
    text = message.text if len(message.text) <= budget else message.text[: max(budget - 1, 0)] + "…"
    return f"{signature}{text}{link}"


class SmsLogNotifier(Notifier):
    def __init__(self, kinds, signature: str = "【研修】", site_url: str = "", keep: int = 100):
        self.kinds = frozenset(kinds)
        self.signature, self.site_url = signature, site_url
        #: The last texts "sent" (phone, text): for a look in a shell or a test, never persisted.
        self.outbox: deque[tuple[str, str]] = deque(maxlen=keep)

    def send(self, messages):
        for m in messages:
            if not m.phone:
                continue  # no number on the profile: the in-site notification is all they get
            self.transmit(m.phone, format_sms(m, self.signature, self.site_url), m)

    def transmit(self, phone: str, text: str, message: OutgoingNotification) -> None:
        self.outbox.append((phone, text))
        # Kind, masked number and length only: the text may carry personal data.
        log.info("sms %s to %s (%s characters, notification %s)", message.kind, mask(phone), len(text), message.id)


def setup(api: PluginAPI) -> None:
    kinds = [k.strip() for k in str(api.setting("KINDS", "") or "").split(",") if k.strip()]
    if not kinds:
        return  # not configured: the plugin stays off
    notifier = SmsLogNotifier(kinds, signature=api.setting("SIGNATURE", "【研修】"),
                              site_url=api.setting("SITE_URL", "") or "")  # fmt: skip
    api.register_notification_channel("sms", notifier)
    api.app.extensions["sms_log"] = notifier
