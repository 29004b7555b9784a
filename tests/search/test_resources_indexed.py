"""Resources (lms.resources, helper 7b) reach the index end to end: upload → signal → writer → search."""

from lms.resources import services as resources
from lms.search import services
from tests.resources.conftest import upload_file


def _upload(app, user, context, title, description=""):
    with app.test_request_context():
        return resources.upload(user, file=upload_file(), context=context, title=title, description=description)


def test_uploaded_resources_are_searchable_within_permissions(app, world, resource_index):
    _upload(app, world["county_admin"], world.county_a.context, "信息技术与学科融合课例", "交互式白板在数学课堂的应用")
    _upload(app, world["county_admin_b"], world.county_b.context, "西湖区信息技术培训课件", "")
    assert services.flush()
    r = services.search(world["teacher"], "信息技术")
    assert [h["title"] for h in r.hits] == ["信息技术与学科融合课例"]
    assert r.hits[0]["kind"] == "resource" and r.hits[0]["url"].startswith("/")
    assert services.search(world["teacher_b"], "学科融合").total == 0
    assert services.search(world["city_admin"], "信息技术", {"kind": "resource"}).total == 2
    # reindex from the database gives the same index
    before = resource_index.keys()
    assert services.reindex() == {"resource": 2}
    assert resource_index.keys() == before


def test_removed_resource_leaves_the_index(app, world, resource_index):
    r = _upload(app, world["county_admin"], world.county_a.context, "校本研修资源包")
    assert services.flush()
    assert services.search(world["teacher"], "校本研修").total == 1
    with app.test_request_context():
        resources.remove(world["county_admin"], r)
    assert services.flush()
    assert services.search(world["teacher"], "校本研修").total == 0


def test_hits_say_where_they_live_and_who_wrote_them_and_filter_by_resource_kind(app, world, resource_index,
                                                                                  login_as):  # fmt: skip
    with app.test_request_context():
        resources.upload(world["county_admin"], file=upload_file(), context=world.county_a.context,
                         title="课程学习心得", kind="reflection")  # fmt: skip
        resources.upload(world["member"], file=upload_file(), context=world.workshop_a.context,
                         title="课程学习心得", kind="courseware")  # fmt: skip
    assert services.flush()
    hits = services.search(world["county_admin"], "课程学习心得").hits
    assert {(h["place"], h["author"]) for h in hits} == {(world.county_a.name, world["county_admin"].name),
                                                          (world.workshop_a.name, world["member"].name)}  # fmt: skip
    html = login_as(world["county_admin"]).get("/search", query_string={"q": "课程学习心得"}).get_data(as_text=True)
    assert world.workshop_a.name in html and world["member"].name in html
    only = services.search(world["county_admin"], "课程学习心得", {"type": "courseware"}).hits
    assert [(h["place"], h["type"]) for h in only] == [(world.workshop_a.name, "courseware")]
    html = login_as(world["county_admin"]).get("/search", query_string={"q": "课程学习心得", "type": "courseware"})
    assert 'name="type"' in html.get_data(as_text=True)


def test_stage_and_subject_names_find_documents_whose_words_do_not_say_them(app, world, resource_index):
    with app.test_request_context():
        resources.upload(world["member"], file=upload_file(), context=world.workshop_a.context, title="勾股定理课件",
                         stage="junior", subject="math")  # fmt: skip
    assert services.flush()
    for q in ("数学", "math", "Mathematics", "shuxue", "初中 勾股定理"):
        assert [h["title"] for h in services.search(world["member"], q).hits] == ["勾股定理课件"], q


def test_snippets_show_the_documents_words_not_the_stage_and_subject_labels(app, world, resource_index):
    """The labels are indexed so that 数学 or math finds the document; they are not its words, and a
    snippet ending "…初中 Junior secondary junior 数学 Mathematics math" read as garbage in either UI."""
    with app.test_request_context():
        resources.upload(world["member"], file=upload_file(), context=world.workshop_a.context, title="勾股定理课件",
                         description="用拼图证明勾股定理", stage="junior", subject="math")  # fmt: skip
    assert services.flush()
    for q in ("勾股定理", "math", "数学"):
        (hit,) = services.search(world["member"], q).hits
        assert "用拼图证明" in hit["snippet_html"], q
        for label in ("Mathematics", "Junior secondary", "junior", "初中"):
            assert label not in hit["snippet_html"], (q, label)
