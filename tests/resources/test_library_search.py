"""The library pages' box searches through the index: Chinese words, pinyin, descriptions."""

from lms.search import services as search


def _titles(html: str, *titles: str) -> list[str]:
    return [t for t in titles if t in html]


def test_library_box_finds_words_pinyin_and_descriptions(world, make_resource, login_as):
    ctx = world.workshop_a.context
    make_resource(world["member"], ctx, title="信息技术与学科融合课例", description="<p>用信息技术支持课堂</p>",
                  kind="case")  # fmt: skip
    make_resource(world["member"], ctx, title="勾股定理课件", description="<p>课堂实录与反思</p>", kind="courseware")
    make_resource(world["member"], ctx, title="古诗词朗读", tags="语文")
    search.flush()
    client = login_as(world["member"])
    for q, expected in [("信息技术 融合", ["信息技术与学科融合课例"]), ("xinxijishu", ["信息技术与学科融合课例"]),
                        ("课堂实录", ["勾股定理课件"])]:  # fmt: skip
        html = client.get(f"/resources/libraries/{ctx.id}", query_string={"q": q}).get_data(as_text=True)
        assert _titles(html, "信息技术与学科融合课例", "勾股定理课件", "古诗词朗读") == expected, q
    # The main page's box too, with a kind filter narrowing it.
    html = client.get("/resources", query_string={"q": "课堂"}).get_data(as_text=True)
    assert _titles(html, "信息技术与学科融合课例", "勾股定理课件") == ["信息技术与学科融合课例", "勾股定理课件"]
    html = client.get("/resources", query_string={"q": "课堂", "kind": "courseware"}).get_data(as_text=True)
    assert _titles(html, "信息技术与学科融合课例", "勾股定理课件") == ["勾股定理课件"]


def test_library_box_never_shows_what_the_user_may_not_see(world, make_resource, login_as):
    make_resource(world["teacher_b"], world.school_b.context, title="乙校信息技术教案")
    make_resource(world["member"], world.workshop_a.context, title="甲坊信息技术教案")
    search.flush()
    html = login_as(world["member"]).get("/resources", query_string={"q": "信息技术"}).get_data(as_text=True)
    assert "甲坊信息技术教案" in html and "乙校信息技术教案" not in html
