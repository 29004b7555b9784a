"""The words inside uploaded files reach the search index: PDF, Word, PowerPoint, Excel, text."""

import io
import zipfile

from lms.extensions import db
from lms.resources import textract
from lms.resources.models import Resource
from lms.search import services as search
from tests.resources.conftest import PDF

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
A = "http://schemas.openxmlformats.org/drawingml/2006/main"


def ooxml(kind: str, text: str) -> bytes:
    """A minimal Word, PowerPoint or Excel 2007+ file holding `text`."""
    types = {"docx": "word/document.xml", "pptx": "ppt/slides/slide1.xml", "xlsx": "xl/sharedStrings.xml"}
    body = {
        "docx": f'<w:document xmlns:w="{W}"><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>',
        "pptx": f'<p:sld xmlns:p="p" xmlns:a="{A}"><a:p><a:r><a:t>{text}</a:t></a:r></a:p></p:sld>',
        "xlsx": f'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>{text}</t></si></sst>',
    }[kind]
    main = {"docx": "word/document.xml", "pptx": "ppt/presentation.xml", "xlsx": "xl/workbook.xml"}[kind]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        if main != types[kind]:
            z.writestr(main, "<x/>")
        z.writestr(types[kind], body)
    return buf.getvalue()


def pdf_with(browser_text: str) -> bytes:
    """A real PDF with a Chinese text layer, printed by Chromium when it is here, else None."""
    import shutil

    if not shutil.which("chromium"):
        return b""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox", "--disable-gpu"])
        page = b.new_page()
        page.set_content(f"<p>{browser_text}</p>")
        data = page.pdf()
        b.close()
    return data


def test_words_inside_office_and_text_files_are_searchable(world, make_resource):
    ctx = world.workshop_a.context
    make_resource(world["member"], ctx, data=ooxml("docx", "大单元作业设计的评价量规"), name="a.docx", title="文档一")
    make_resource(world["member"], ctx, data=ooxml("pptx", "勾股定理的证明方法"), name="b.pptx", title="课件二")
    make_resource(world["member"], ctx, data=ooxml("xlsx", "期中成绩统计分析"), name="c.xlsx", title="表格三")
    make_resource(world["member"], ctx, data="古诗词朗读指导".encode("gb18030"), name="d.txt", title="文本四")
    assert search.flush()
    for q, title in [("评价量规", "文档一"), ("勾股定理", "课件二"), ("成绩统计", "表格三"), ("朗读指导", "文本四")]:
        hits = search.search(world["member"], q).hits
        assert [h["title"] for h in hits] == [title], q
        assert "<mark>" in hits[0]["snippet_html"]


def test_words_inside_a_pdf_are_searchable(world, make_resource):
    data = pdf_with("信息技术与学科融合的课堂实践")
    if not data:
        import pytest

        pytest.skip("Chromium prints the test PDF; not installed here")
    r = make_resource(world["member"], world.workshop_a.context, data=data, name="实践.pdf", title="实践报告")
    assert "课堂实践" in r.file_text
    assert search.flush()
    assert [h["title"] for h in search.search(world["member"], "学科融合").hits] == ["实践报告"]


def test_unreadable_files_upload_with_no_text(world, make_resource, tmp_path):
    damaged = b"%PDF-1.4\n" + bytes(range(256)) * 8
    r = make_resource(world["member"], world.workshop_a.context, data=damaged, name="坏.pdf", title="损坏的PDF")
    assert r.file_text == ""  # nothing readable: the upload goes through, the title is still indexed
    assert "Yanxiu test" in make_resource(world["member"], data=PDF, title="有字的PDF").file_text
    bomb = tmp_path / "x.docx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/document.xml", "<a>" + "x" * (25 * 2**20) + "</a>")
    assert textract.extract(bomb, textract._DOCX) == ""  # an oversized part is skipped, not parsed


def test_resources_from_before_are_read_by_the_command(app, world, make_resource):
    r = make_resource(world["member"], world.workshop_a.context, data=ooxml("docx", "校本研修方案"), name="a.docx",
                      title="旧资源")  # fmt: skip
    r.file_text = None  # as uploaded before files were read
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["lms", "resources-read-files"])
    assert result.exit_code == 0 and "1 resources read" in result.output
    db.session.expire_all()
    assert "校本研修方案" in db.session.get(Resource, r.id).file_text
    assert search.flush()
    assert [h["title"] for h in search.search(world["member"], "校本研修").hits] == ["旧资源"]
    assert "0 resources read" in app.test_cli_runner().invoke(args=["lms", "resources-read-files"]).output
