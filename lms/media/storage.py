"""The filesystem adapter: uploads stream to a temporary file and are moved into place atomically.

Nothing else in the code base writes under MEDIA_ROOT directly.
"""

import hashlib
import os
import secrets
import tempfile
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


def remove(config, relpath: str) -> None:
    absolute(config, relpath).unlink(missing_ok=True)
