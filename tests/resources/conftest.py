"""Fixtures for the resource library tests: tiny real files and resources filed through the services."""

import io
import struct
import zlib

import pytest
from werkzeug.datastructures import FileStorage

from lms.resources import services
from lms.resources.demo import _pdf, _png
from tests.api.conftest import api_as, conforms  # noqa: F401  (fixtures)

PDF = _pdf("Yanxiu test")
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + struct.pack("<HHI", 2, 62, 1) + b"\x00" * 200
PE = b"MZ" + b"\x90\x00" * 29 + b"\x80\x00\x00\x00" + b"\x00" * 64 + b"PE\x00\x00" + b"\x00" * 200


def png() -> bytes:
    import random

    return _png(random.Random(1))


def upload_file(data: bytes = PDF, name: str = "教案.pdf") -> FileStorage:
    return FileStorage(io.BytesIO(data), filename=name)


@pytest.fixture
def make_resource(app):
    """make_resource(user, context=None, **fields) -> Resource uploaded through services.upload."""

    def _make(user, context=None, data: bytes = PDF, name: str = "教案.pdf", **fields):
        fields.setdefault("title", "测试资源")
        with app.test_request_context():
            return services.upload(user, file=upload_file(data, name), context=context, **fields)

    return _make


def ctx(obj):
    return obj.context


__all__ = ["ELF", "PDF", "PE", "png", "upload_file", "zlib"]


@pytest.fixture
def resource_index(app, db):
    from lms.resources import services as resources
    from lms.search import services
    from lms.search.sources import _SOURCES, register_source

    saved = dict(_SOURCES)  # only resources: the other kinds' documents stay out of these tests
    _SOURCES.clear()
    register_source("resource", resources.search_documents)
    ix = services.engine(app)
    ix.put("clear", None)
    ix.flush()
    yield ix
    ix.flush()
    ix.put("clear", None)
    ix.flush()
    _SOURCES.clear()
    _SOURCES.update(saved)
