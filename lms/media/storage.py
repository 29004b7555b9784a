"""The filesystem adapter: uploads stream to a temporary file and are moved into place atomically.

Nothing else in the code base writes under MEDIA_ROOT directly.
"""

import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import tempfile
import time
from pathlib import Path

CHUNK = 1024 * 1024


def root(config) -> Path:
    return Path(config["MEDIA_ROOT"])


def tmp_dir(config) -> Path:
    # On the same filesystem as the destination, so os.replace is an atomic rename.
    d = root(config) / "tmp"
    d.mkdir(parents=True, exist_ok=True)
    return d


def new_relpath(prefix: str, ext: str) -> str:
    token = secrets.token_hex(16)
    return f"{prefix}/{token[:2]}/{token[2:4]}/{token}{ext}"


class TooLarge(Exception):
    pass


def receive(stream, config, max_bytes: int) -> tuple[Path, int, str, bytes]:
    """Copy a stream into a temporary file in chunks; returns (path, size, sha256, first bytes).

    Memory stays at one chunk whatever the file size. Raises TooLarge (and removes the temporary
    file) as soon as more than max_bytes arrive.
    """
    digest = hashlib.sha256()
    head = b""
    size = 0
    fd, name = tempfile.mkstemp(dir=tmp_dir(config), prefix="up-")
    try:
        with os.fdopen(fd, "wb") as out:
            while True:
                chunk = stream.read(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge(max_bytes)
                if len(head) < 8192:
                    head += chunk[: 8192 - len(head)]
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name), size, digest.hexdigest(), head


def reader(path: Path):
    """read_at(offset, size) on a received file, for checks that need bytes past its head."""

    def read_at(offset: int, size: int) -> bytes:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read(size)

    return read_at


def place(tmp: Path, config, relpath: str) -> Path:
    dest = root(config) / relpath
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, dest)
    # mkstemp made it 0600: with X-Accel-Redirect the proxy's workers (another user) read it.
    dest.chmod(0o644)
    return dest


def absolute(config, relpath: str) -> Path:
    p = (root(config) / relpath).resolve()
    if root(config).resolve() not in p.parents:
        raise ValueError("path outside MEDIA_ROOT")
    return p


def etag(st: os.stat_result) -> str:
    """A strong entity tag of a file under MEDIA_ROOT: its size and modification time. Files are
    never rewritten in place (uploads and transcodes are moved into place, under a new name), so
    the same tag means the same bytes; every path that serves a file sends this one."""
    return f"{st.st_size:x}-{st.st_mtime_ns:x}"


def remove(config, relpath: str) -> None:
    absolute(config, relpath).unlink(missing_ok=True)


def remove_tree(config, relpath: str) -> None:
    """Remove a folder under MEDIA_ROOT (a transcode's output) with everything in it; never the root."""
    path = absolute(config, relpath)
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)


# --- resumable chunked uploads ----------------------------------------------------------------
# An upload in progress is two files in tmp/: `<id>.part` (the bytes so far: its size is the
# offset to resume from, whatever happened to the connection) and `<id>.json` (who, what, how big).

_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")


class OffsetMismatch(Exception):
    """The chunk does not start where the received bytes end; `offset` is where it should."""

    def __init__(self, offset: int):
        super().__init__(offset)
        self.offset = offset


def _chunk_paths(config, upload_id: str) -> tuple[Path, Path]:
    if not _UPLOAD_ID.match(upload_id or ""):
        raise KeyError(upload_id)
    d = tmp_dir(config)
    return d / f"chunk-{upload_id}.part", d / f"chunk-{upload_id}.json"


@contextlib.contextmanager
def chunk_lock(config):
    """Exclusive across processes while uploads are listed and one is opened (the limits in
    lms.media.services.begin_chunked are then checked once, not raced by two requests)."""
    with open(tmp_dir(config) / "chunks.lock", "a") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def chunk_list(config) -> list[tuple[str, dict, int]]:
    """(id, meta, bytes received) of every upload in progress."""
    out = []
    for info in tmp_dir(config).glob("chunk-*.json"):
        upload_id = info.stem.removeprefix("chunk-")
        state = chunk_state(config, upload_id)
        if state is not None:
            out.append((upload_id, *state))
    return out


def chunk_touched(config, upload_id: str) -> float:
    """When the upload last received bytes (or began): its part file's modification time."""
    try:
        return _chunk_paths(config, upload_id)[0].stat().st_mtime
    except OSError:
        return 0.0


def free_bytes(config) -> int:
    """Free space on the filesystem uploads are received on (and placed: the same one)."""
    return shutil.disk_usage(tmp_dir(config)).free


def chunk_begin(config, meta: dict) -> str:
    upload_id = secrets.token_hex(16)
    part, info = _chunk_paths(config, upload_id)
    part.touch()
    meta = {**meta, "created": time.time()}
    tmp = info.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(meta), encoding="utf-8")
    os.replace(tmp, info)
    return upload_id


def chunk_state(config, upload_id: str) -> tuple[dict, int] | None:
    """(meta, bytes received) of an upload in progress, or None."""
    try:
        part, info = _chunk_paths(config, upload_id)
        meta = json.loads(info.read_text(encoding="utf-8"))
        return meta, part.stat().st_size
    except (KeyError, OSError, ValueError):
        return None


def chunk_append(config, upload_id: str, stream, start: int, limit: int) -> int:
    """Append a chunk read from `stream` (at most `limit` bytes) if it starts at the current offset.

    Holds an exclusive lock on the part file, so two requests for one upload cannot interleave.
    Returns the new offset. A dropped connection leaves what arrived: the client resumes from there.
    """
    part, _info = _chunk_paths(config, upload_id)
    with open(part, "ab") as out:
        fcntl.flock(out.fileno(), fcntl.LOCK_EX)
        try:
            offset = os.fstat(out.fileno()).st_size
            if start != offset:
                raise OffsetMismatch(offset)
            left = limit
            while left > 0:
                chunk = stream.read(min(CHUNK, left))
                if not chunk:
                    break
                out.write(chunk)
                left -= len(chunk)
            out.flush()
            return os.fstat(out.fileno()).st_size
        finally:
            fcntl.flock(out.fileno(), fcntl.LOCK_UN)


def chunk_take(config, upload_id: str) -> tuple[Path, int, str, bytes]:
    """Finish an upload: (path of the complete temporary file, size, sha256, first bytes).

    The caller places or removes the file; the upload's metadata is gone afterwards.
    """
    part, info = _chunk_paths(config, upload_id)
    digest = hashlib.sha256()
    size = 0
    head = b""
    with open(part, "rb") as f:
        while True:
            chunk = f.read(CHUNK)
            if not chunk:
                break
            if len(head) < 8192:
                head += chunk[: 8192 - len(head)]
            digest.update(chunk)
            size += len(chunk)
    info.unlink(missing_ok=True)
    return part, size, digest.hexdigest(), head


def chunk_discard(config, upload_id: str) -> None:
    try:
        part, info = _chunk_paths(config, upload_id)
    except KeyError:
        return
    part.unlink(missing_ok=True)
    info.unlink(missing_ok=True)


def chunk_purge(config, max_age_seconds: float = 3 * 86400) -> int:
    """Remove uploads nobody resumed for `max_age_seconds` (since the last chunk arrived, or since
    the upload began when none did), and parts left without their metadata; returns how many."""
    n = 0
    now = time.time()
    d = tmp_dir(config)
    for info in d.glob("chunk-*.json"):
        upload_id = info.stem.removeprefix("chunk-")
        try:
            created = json.loads(info.read_text(encoding="utf-8")).get("created", 0)
        except (OSError, ValueError):
            created = 0
        try:
            last = max(created, (d / f"chunk-{upload_id}.part").stat().st_mtime)
        except OSError:
            last = created
        if now - last > max_age_seconds:
            chunk_discard(config, upload_id)
            n += 1
    for part in d.glob("chunk-*.part"):
        try:
            orphan = not part.with_suffix(".json").exists() and now - part.stat().st_mtime > max_age_seconds
        except OSError:
            continue
        if orphan:
            part.unlink(missing_ok=True)
            n += 1
    return n
