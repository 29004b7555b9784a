"""Type sniffing of the formats filetype misses: Office 97-2003 (OLE) files whose first sector is not
the document stream, plain text (UTF-8, GB18030), RTF; and what must still be refused."""

import struct

import pytest

from lms.core.uploads import OLE_MIME, sniff

FREE, END, FATSECT = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD
MSI_CLSID = bytes.fromhex("84100C0000000000C000000000000046")  # {000C1084-0000-0000-C000-000000000046}


def _entry(name: str, kind: int, start: int, size: int, clsid: bytes = bytes(16), child: int = FREE) -> bytes:
    encoded = (name + "\0").encode("utf-16-le")
    return (
        encoded.ljust(64, b"\0")
        + struct.pack("<HBB", len(encoded), kind, 1)  # name length, type, colour (black)
        + struct.pack("<III", FREE, FREE, child)  # left, right, child
        + clsid
        + bytes(4 + 16)  # state bits, created, modified
        + struct.pack("<IQ", start, size)
    )


def ole_file(
    stream: str = "WordDocument", clsid: bytes = bytes(16), body: bytes = b"", fat_first: bool = False
) -> bytes:
    """A valid OLE compound file (version 3, 512-byte sectors): the directory and the FAT in sectors
    0 and 1 (in either order: writers differ), the stream after them. Neither puts the Word/Excel/
    PowerPoint stream at offset 512, where filetype looks for it."""
    body = body.ljust(4096, b"\0")  # at the mini-stream cutoff: kept in ordinary sectors
    n_stream = len(body) // 512 + (len(body) % 512 > 0)
    fat_at, dir_at = (0, 1) if fat_first else (1, 0)
    fat = [0] * 2
    fat[fat_at], fat[dir_at] = FATSECT, END
    fat += [3 + i if i < n_stream - 1 else END for i in range(n_stream)]
    fat += [FREE] * (128 - len(fat))
    header = (
        bytes.fromhex("D0CF11E0A1B11AE1")
        + bytes(16)
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)  # minor, major, byte order, sector, mini shifts
        + bytes(6)
        + struct.pack("<IIIIIIIII", 0, 1, dir_at, 0, 4096, END, 0, END, 0)
        + struct.pack("<I", fat_at)  # DIFAT[0]: where the FAT is
        + struct.pack("<I", FREE) * 108
    )
    assert len(header) == 512
    directory = (
        _entry("Root Entry", 5, END, 0, clsid, child=1)
        + _entry(stream, 2, 2, len(body))
        + bytes(128) * 2  # unused entries
    )
    sectors = [struct.pack("<128I", *fat), directory] if fat_first else [directory, struct.pack("<128I", *fat)]
    return header + b"".join(sectors) + body.ljust(n_stream * 512, b"\0")


@pytest.mark.parametrize(
    "stream, name, mime",
    [
        ("WordDocument", "教案.doc", "application/msword"),
        ("Workbook", "成绩.XLS", "application/vnd.ms-excel"),
        ("PowerPoint Document", "课件.ppt", "application/vnd.ms-powerpoint"),
    ],
)
def test_old_office_files_filetype_misses_are_recognised(stream, name, mime):
    import filetype

    data = ole_file(stream)
    assert filetype.guess(data) is None  # the library alone refused these valid files
    assert sniff(data[:8192], name) == mime
    fat_first = ole_file(stream, fat_first=True)
    assert filetype.guess(fat_first).mime == "application/vnd.ms-powerpoint"  # whatever it is
    assert sniff(fat_first, name) == mime


def test_a_nameless_ole_file_keeps_filetypes_word_signature():
    word = bytearray(ole_file(fat_first=True))
    word[512:516] = b"\xec\xa5\xc1\x00"  # the Word stream's first bytes at offset 512
    assert sniff(bytes(word), None) == "application/msword"


def test_an_ole_file_with_another_name_is_not_an_office_document():
    assert sniff(ole_file(), "setup.exe") == OLE_MIME
    assert sniff(ole_file(), None) == OLE_MIME


@pytest.mark.parametrize("fat_first", [False, True])
def test_an_installer_named_doc_is_refused(fat_first):
    msi = ole_file("!_StringPool", clsid=MSI_CLSID, fat_first=fat_first)
    assert sniff(msi, "教案.doc") == OLE_MIME
    assert sniff(msi, "课件.ppt") == OLE_MIME
    assert sniff(msi, None) == OLE_MIME


def test_a_broken_ole_header_is_not_office():
    data = bytearray(ole_file())
    data[28:30] = b"\x00\x00"  # byte order mark
    assert sniff(bytes(data), "a.doc") == OLE_MIME
    assert sniff(ole_file()[:300], "a.doc") == OLE_MIME


@pytest.mark.parametrize(
    "text, encoding",
    [
        ("《分数的意义》教学设计\r\n一、教学目标\t理解分数\n", "utf-8"),
        ("\ufeff带 BOM 的教案\n", "utf-8"),
        ("《分数的意义》教学设计\r\n一、教学目标\n", "gb18030"),
        ("Lesson plan: fractions\n", "ascii"),
    ],
)
def test_text_files_named_txt(text, encoding):
    data = text.encode(encoding)
    assert sniff(data, "教案.txt") == "text/plain"
    assert sniff(data, "教案.TXT") == "text/plain"
    assert sniff(data, "教案.html") is None  # text only when the name says .txt
    assert sniff(data, None) is None


def test_the_head_of_a_long_text_may_end_inside_a_character():
    data = ("分数的意义" * 2000).encode("utf-8")
    assert sniff(data[:8191], "长教案.txt") == "text/plain"  # cut in the middle of a character


@pytest.mark.parametrize(
    "data",
    [
        b"plain text with a NUL \x00 inside",
        b"\x01\x02\x03 binary-ish",
        "UTF-16 教案".encode("utf-16"),
        bytes(range(256)),
        b"\xff\xfe\xfd\x80\x80 not a text",
    ],
)
def test_binary_named_txt_is_not_text(data):
    assert sniff(data, "notes.txt") is None


def test_rtf():
    assert sniff(rb"{\rtf1\ansi\ansicpg936 {\fonttbl\f0 SimSun;}\f0 \'b7\'d6\'ca\'fd}", "教案.rtf") == "application/rtf"


def test_a_program_named_txt_or_doc_stays_a_program():
    elf = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + struct.pack("<HHI", 2, 62, 1) + b"\x00" * 200
    assert sniff(elf, "教案.txt") == "application/x-executable"
    assert sniff(elf, "教案.doc") == "application/x-executable"


def _directory_far(data: bytes, sector: int = 40) -> bytes:
    """The same file with its directory moved to a sector past the first 8 KB (large files)."""
    out = bytearray(data)
    directory = bytes(out[512:1024])  # ole_file() puts the directory in sector 0 by default
    out[48:52] = struct.pack("<I", sector)
    out = out.ljust((sector + 2) * 512, b"\0")
    out[(sector + 1) * 512 : (sector + 2) * 512] = directory
    return bytes(out)


@pytest.mark.parametrize("clsid, expected", [(MSI_CLSID, OLE_MIME), (bytes(16), "application/msword")])
def test_the_directory_past_the_first_8_kb_is_read_from_the_file(tmp_path, clsid, expected):
    """An installer renamed .doc whose directory lies past the sniffed head is still refused: the
    check reads the root entry from the received file; without the file, no Office type is given."""
    from lms.media import storage

    data = _directory_far(ole_file("WordDocument" if expected != OLE_MIME else "!_StringPool", clsid=clsid))
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    assert sniff(data[:8192], "教案.doc") == OLE_MIME
    assert sniff(data[:8192], "教案.doc", read_at=storage.reader(path)) == expected


def test_an_installer_named_doc_is_refused_through_the_upload(app, tmp_path):
    from io import BytesIO

    from werkzeug.datastructures import FileStorage

    from lms.core.uploads import UploadError
    from lms.media.services import DOCUMENTS, save_upload

    msi = _directory_far(ole_file("!_StringPool", clsid=MSI_CLSID))
    with app.test_request_context(), pytest.raises(UploadError, match="type:"):
        save_upload(FileStorage(BytesIO(msi), filename="教案.doc"), allowed=DOCUMENTS)
