"""Pinyin (full, spaced, initials) finds Chinese titles and tags; English words work as words."""

from lms.search import services
from lms.search.whoosh_index import analyze, pinyin_forms


def _titles(r):
    return sorted(h["title"] for h in r.hits)


def test_pinyin_forms_of_a_title():
    forms = pinyin_forms("信息技术与学科融合")
    for f in ("xinxi", "jishu", "xinxijishu", "xxjs", "xueke", "ronghe", "xkrh", "xinxijishuyuxuekeronghe"):
        assert f in forms, f
    assert "yu" not in forms  # 与 is a stop word
    assert pinyin_forms("Python programming") == []
    assert "lvse" in pinyin_forms("绿色学校")


def test_pinyin_queries_find_chinese_titles(world, index, announce):
    admin, ctx = world["county_admin"], world.county_a.context
    announce(admin, ctx, "信息技术与学科融合案例", "课堂教学中的应用")
    announce(admin, ctx, "班级管理经验交流", "家校沟通")
    announce(admin, ctx, "校本研修通知", "关于信息的说明")  # 信息 only in the body: pinyin covers titles
    services.flush()
    teacher = world["teacher"]
    for q in ("xinxijishu", "xinxi jishu", "XXJS", "xxjs", "xinxijishuyuxuekerongheanli", "xueke ronghe", "xkrh"):
        assert _titles(services.search(teacher, q)) == ["信息技术与学科融合案例"], q
    assert _titles(services.search(teacher, "banji guanli")) == ["班级管理经验交流"]
    assert _titles(services.search(teacher, "xiaoben")) == ["校本研修通知"]
    # pinyin mixed with Chinese: every word must match
    assert _titles(services.search(teacher, "xinxi 案例")) == ["信息技术与学科融合案例"]
    assert services.search(teacher, "xinxi 班级").total == 0
    # the Chinese words the pinyin stands for are highlighted
    hit = services.search(teacher, "xxjs").hits[0]
    assert "<mark>信息技术</mark>" in hit["title_html"]
    # permissions hold for pinyin as for Chinese
    assert services.search(world["teacher_b"], "xinxijishu").total == 0


def test_resource_tags_are_searchable_in_pinyin(app, world, db):
    from lms.resources import services as resources
    from lms.search.sources import _SOURCES, register_source
    from tests.resources.conftest import upload_file

    saved = dict(_SOURCES)
    _SOURCES.clear()
    register_source("resource", resources.search_documents)
    ix = services.engine(app)
    ix.put("clear", None)
    try:
        with app.test_request_context():
            resources.upload(world["county_admin"], file=upload_file(), context=world.county_a.context,
                             title="一节数学课", tags="微课 大单元")  # fmt: skip
        assert services.flush()
        assert _titles(services.search(world["teacher"], "weike")) == ["一节数学课"]
        assert _titles(services.search(world["teacher"], "dadanyuan")) == ["一节数学课"]
        assert _titles(services.search(world["teacher"], "微课")) == ["一节数学课"]
    finally:
        ix.put("clear", None)
        ix.flush()
        _SOURCES.clear()
        _SOURCES.update(saved)


def test_english_words(world, index, announce):
    admin, ctx = world["county_admin"], world.county_a.context
    announce(admin, ctx, "STEM跨学科学习设计", "Project-based learning with Scratch and micro:bit")
    announce(admin, ctx, "英语听说课例 English Speaking", "Role play in the classroom")
    announce(admin, ctx, "PPT课件制作技巧", "PowerPoint animations")
    services.flush()
    teacher = world["teacher"]
    assert analyze("STEM跨学科")[:1] == ["stem"]
    assert _titles(services.search(teacher, "stem")) == ["STEM跨学科学习设计"]
    assert _titles(services.search(teacher, "Scratch")) == ["STEM跨学科学习设计"]
    assert _titles(services.search(teacher, "english speaking")) == ["英语听说课例 English Speaking"]
    assert _titles(services.search(teacher, "role play")) == ["英语听说课例 English Speaking"]
    assert _titles(services.search(teacher, "ppt 课件")) == ["PPT课件制作技巧"]
    assert _titles(services.search(teacher, "powerpoint")) == ["PPT课件制作技巧"]
    assert _titles(services.search(teacher, "learning")) == ["STEM跨学科学习设计"]
    assert services.search(teacher, "the").total == 0  # a stop word alone is no query
    hit = services.search(teacher, "english").hits[0]
    assert "<mark>English</mark>" in hit["title_html"]


def test_the_last_word_is_a_prefix_while_typing(world, index, announce):
    admin, ctx = world["county_admin"], world.county_a.context
    announce(admin, ctx, "信息技术与学科融合案例", "课堂教学中的应用")
    announce(admin, ctx, "信任与合作", "班主任工作")
    announce(admin, ctx, "PowerPoint动画技巧", "课件制作")
    services.flush()
    teacher = world["teacher"]
    # pinyin typed part way: the last word stands for every pinyin word it begins
    assert _titles(services.search(teacher, "xinxiji")) == ["信息技术与学科融合案例"]
    assert _titles(services.search(teacher, "xueke rong")) == ["信息技术与学科融合案例"]
    assert _titles(services.search(teacher, "xin")) == ["信任与合作", "信息技术与学科融合案例"]
    assert _titles(services.search(teacher, "xxj")) == ["信息技术与学科融合案例"]
    # English words too, in titles
    assert _titles(services.search(teacher, "powerp")) == ["PowerPoint动画技巧"]
    # only the last word: an unfinished word earlier in the query matches nothing
    assert services.search(teacher, "xinxiji ronghe").total == 0
    # one letter is too short to stand for anything
    assert services.search(teacher, "x").total == 0
    # the shortest word the prefix begins is highlighted, not the whole title
    hit = services.search(teacher, "xinxiji").hits[0]
    assert "<mark>信息技术</mark>" in hit["title_html"]
    assert "<mark>信息技术与学科融合案例</mark>" not in hit["title_html"]
    # permissions hold as for whole words
    assert services.search(world["teacher_b"], "xinxiji").total == 0
