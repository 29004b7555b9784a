"""Plain-text cleaning: prose keeps its Chinese punctuation; codes and roster cells fold width."""

import pytest

from lms.activities import services as announcements
from lms.core.text import normalize, plain


def test_prose_keeps_full_width_punctuation():
    title = "  分数的意义（第一课时）：教学设计，初稿！  "
    assert plain(title) == "分数的意义（第一课时）：教学设计，初稿！"
    # Codes, phone numbers and ID numbers typed with a Chinese input method still fold.
    assert normalize("１３８００１３８０００") == "13800138000"


@pytest.mark.parametrize(
    ("raw", "multiline", "expected"),
    [
        ("a\x00b\u200bc", False, "a b c"),  # control and invisible format characters become spaces
        ("一行\n\n  两行  \r\n三行", True, "一行\n两行\n三行"),
        ("一行\n两行", False, "一行 两行"),
        ("\u3000全角空格\u3000", False, "全角空格"),
        (None, False, ""),
        ("e\u0301", False, "\u00e9"),  # NFC: one code point for what looks like one letter
    ],
)
def test_plain_cleans(raw, multiline, expected):
    assert plain(raw, multiline=multiline) == expected


def test_plain_caps():
    assert plain("研修" * 10, 5) == "研修研修研"


def test_announcement_title_as_typed(world, db):
    a = announcements.post(world["school_admin"], world.school_a.context, "期中教研（数学组）：安排", "<p>见附件</p>")
    assert a.title == "期中教研（数学组）：安排"


def test_rich_text_from_a_textarea_or_an_editor():
    from lms.core.text import html_to_text, rich_text

    # A plain textarea: paragraphs on blank lines, line breaks kept, "<" that is no tag escaped.
    assert rich_text("第一段\r\n第二行\n\n a < b ") == "<p>第一段<br>第二行</p><p>a &lt; b</p>"
    # HTML from an editor: sanitized, not escaped.
    assert rich_text('<p onclick="x()">好<script>alert(1)</script></p>') == "<p>好</p>"
    assert rich_text("") == "" and rich_text(None) == ""
    html = "<p>研修&amp;日志</p>\n<p>第二段</p>"
    assert html_to_text(html) == "研修&日志\n第二段"
    assert html_to_text(html, collapse=True) == "研修&日志 第二段"
