"""Profile editing: validation, saved values, and no script smuggled through name or bio."""

import pytest

from lms.accounts.models import User
from lms.extensions import db as _db
from tests.access.dom import live_markup, parse, tag_counts
from tests.accounts.test_auth import alerts, field_errors


def _form(**over):
    # 138…: tests.factories gives users 139 + an 8-digit sequence number, which reaches any 139 number
    # once enough users have been made in the run.
    data = {"name": "李老师", "phone": "13800002222", "email": "li@example.org", "subject": "math",
            "stage": "primary", "bio": "热爱教学。"}  # fmt: skip
    data.update(over)
    return data


def _reload(user) -> User:
    _db.session.expire_all()
    return _db.session.get(User, user.id)


def test_profile_saves_values(world, login_as):
    client = login_as(world["member"])
    resp = client.post("/account/profile", data=_form(bio="  第一行\n第二行  "))
    assert resp.status_code == 302 and resp.headers["Location"] == "/account/profile"
    user = _reload(world["member"])
    assert (user.name, user.phone, user.email, user.subject, user.stage, user.bio) == (
        "李老师",
        "13800002222",
        "li@example.org",
        "math",
        "primary",
        "第一行\n第二行",
    )
    page = client.get("/account/profile")
    assert "个人资料已保存。" in alerts(page)
    doc = parse(page.get_data(as_text=True))
    assert doc.find("input", name="phone").attrs["value"] == "13800002222"
    assert doc.find("textarea", name="bio").text.strip() == "第一行\n第二行"


def test_profile_clears_optional_fields(world, login_as):
    client = login_as(world["member"])
    assert client.post("/account/profile", data=_form(phone="", email="", subject="", stage="")).status_code == 302
    user = _reload(world["member"])
    assert (user.phone, user.email, user.subject, user.stage) == (None, None, None, None)


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"phone": "12345"}, "请输入 11 位大陆手机号码。"),
        ({"phone": "1390000222a"}, "请输入 11 位大陆手机号码。"),
        ({"phone": "23900002222"}, "请输入 11 位大陆手机号码。"),
        ({"name": "   "}, "该字段是必填字段。"),
        ({"name": "名" * 65}, "字段长度不能超过 64 个字符。"),
        ({"email": "not-an-email"}, "请输入有效的电子邮件地址。"),
        ({"subject": "astrology"}, "不是有效的选择。"),
    ],
)
def test_profile_validation(world, login_as, over, message):
    client = login_as(world["member"])
    before = _reload(world["member"])
    snapshot = (before.name, before.phone, before.email, before.bio)
    resp = client.post("/account/profile", data=_form(**over))
    assert resp.status_code == 200
    assert message in field_errors(resp) + alerts(resp)
    after = _reload(world["member"])
    assert (after.name, after.phone, after.email, after.bio) == snapshot


def test_phone_taken_by_another_account(world, login_as):
    client = login_as(world["member"])
    taken = world["teacher"].phone
    resp = client.post("/account/profile", data=_form(phone=taken))
    assert resp.status_code == 200
    assert "该手机号已被其他账号使用。" in field_errors(resp) + alerts(resp)
    assert _reload(world["member"]).phone != taken
    # Keeping one's own number is fine.
    own = world["member"].phone
    assert client.post("/account/profile", data=_form(phone=own)).status_code == 302


def test_profile_shows_masked_id_card_only(world, login_as):
    user = world["teacher"]
    doc = parse(login_as(user).get("/account/profile").get_data(as_text=True))
    assert user.id_card not in doc.text
    assert user.id_card[:4] in doc.text and "*" in doc.text


# --- XSS: every payload through name and bio, judged on the parsed pages ------------------------------


def _pages(world):
    return ["/me", "/account/profile", f"/workshops/{world.workshop_a.id}", f"/schools/{world.school_a.id}"]


def _render_all(client, world, name, bio):
    resp = client.post("/account/profile", data=_form(name=name, bio=bio, phone="", email=""))
    assert resp.status_code == 302, (name, field_errors(resp), alerts(resp))
    return {url: parse(client.get(url).get_data(as_text=True)) for url in _pages(world)}


def test_xss_payloads_stay_text(world, login_as, xss_payloads):
    client = login_as(world["member"])
    baseline = {url: tag_counts(doc) for url, doc in _render_all(client, world, "李老师", "简介").items()}
    for url, doc in _render_all(client, world, "李老师", "简介").items():
        assert live_markup(doc) == [], url
    failures = []
    for payload in xss_payloads:
        name = payload[:64].strip()
        docs = _render_all(client, world, name, payload)
        # The payload did reach the pages, as text.
        assert docs["/account/profile"].find("textarea", name="bio").text.strip() == payload.strip()
        assert name in " ".join(td.text for td in docs[f"/workshops/{world.workshop_a.id}"].iter("td"))
        for url, doc in docs.items():
            problems = live_markup(doc)
            if tag_counts(doc) != baseline[url]:
                problems.append("element structure changed")
            if problems:
                failures.append((payload, url, problems))
    assert failures == []


def test_the_checker_itself_finds_live_markup(xss_payloads):
    """Guard against a checker that passes everything: raw payloads must mostly be caught."""
    flagged = [p for p in xss_payloads if live_markup(parse(f"<html><body><p>{p}</p></body></html>"))]
    assert len(flagged) >= 0.85 * len(xss_payloads)
    for snippet in (
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        '<a href=" JaVaScRiPt:alert(1)">x</a>',
        '<script src="https://evil.example/x.js"></script>',
        '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
        "<iframe src=/></iframe>",
        "<style>body{}</style>",
    ):
        assert live_markup(parse(snippet)), snippet
    assert live_markup(parse('<script src="/static/vendor/x.js" defer></script><a href="/me">me</a>')) == []
