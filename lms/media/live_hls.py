"""Live ingest adapter: a browser's MediaRecorder WebM chunks piped through ffmpeg into live HLS.

One ffmpeg process per broadcast reads the WebM stream on stdin and writes 1-second H.264/AAC
segments and an EVENT playlist into a directory under MEDIA_ROOT, so viewers (hls.js) play a few
seconds behind. Chunks may arrive out of order (Socket.IO handles events on several threads):
each carries its index and is written in order. `finish()` closes stdin; ffmpeg writes the last
segment and #EXT-X-ENDLIST, and the playlist is rewritten as a VOD playlist: the replay.

The lms.media package is the only one that runs ffmpeg (DESIGN.md); lms.live calls this module.
"""

import contextlib
import os
import queue
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lms.media.ffmpeg import MediaError, _last_line, ffmpeg_exe

SEGMENT_SECONDS = 1
PLAYLIST = "index.m3u8"
MAX_PENDING = 256  # chunks held while waiting for a missing one, before giving up on it


CONTAINERS = {"webm": "webm", "mp4": "mp4"}  # MediaRecorder's: WebM, or fragmented MP4 (Safari)


def command(out_dir: Path, append: bool = False, container: str = "webm") -> list[str]:
    demuxer = CONTAINERS[container]  # a KeyError for anything else: never an argument from outside
    gop = ["-force_key_frames", f"expr:gte(t,n_forced*{SEGMENT_SECONDS})", "-sc_threshold", "0"]
    return [
        ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-fflags", "+genpts+discardcorrupt", "-f", demuxer, "-i", "pipe:0",
        "-map", "0:v:0", "-map", "0:a:0?",
        "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-profile:v", "main",
        "-pix_fmt", "yuv420p", "-vf", "scale=-2:'min(720,ih)'", "-b:v", "1200k", "-maxrate", "1500k",
        "-bufsize", "1500k", *gop,
        "-c:a", "aac", "-b:a", "96k", "-ac", "2", "-ar", "44100",
        "-f", "hls", "-hls_time", str(SEGMENT_SECONDS), "-hls_list_size", "0",
        "-hls_playlist_type", "event",
        # A restarted broadcast continues the same playlist after a discontinuity. Each segment
        # carries its wall-clock time (#EXT-X-PROGRAM-DATE-TIME): the replay finds the moment an
        # answer started in the video, pauses included (video_offset).
        "-hls_flags", "independent_segments+temp_file+program_date_time"
        + ("+append_list+discont_start" if append else ""),
        "-hls_segment_filename", str(out_dir / "seg_%05d.ts"), str(out_dir / PLAYLIST),
    ]  # fmt: skip


class LiveTranscoder:
    """One running ffmpeg: feed(index, bytes) in any order, finish() to end and get the VOD."""

    def __init__(self, out_dir, append: bool = False, container: str = "webm"):
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        append = append and (self.out_dir / PLAYLIST).is_file()
        # ffmpeg's stdin/stdout/stderr are ours; the arguments are built above, the only outside
        # input is the directory under MEDIA_ROOT.
        self.proc = subprocess.Popen(command(self.out_dir, append, container), stdin=subprocess.PIPE,  # noqa: S603
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
        self._next = 0
        self._pending: dict[int, bytes] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[bytes | None] = queue.Queue()
        self._writer = threading.Thread(target=self._write_loop, daemon=True, name="live-hls-writer")
        self._writer.start()
        self._stderr: list[bytes] = []
        self._reader = threading.Thread(target=self._read_stderr, daemon=True, name="live-hls-stderr")
        self._reader.start()
        self.bytes_in = 0
        self.closed = False

    def _read_stderr(self):
        for line in self.proc.stderr:
            if len(self._stderr) < 50:
                self._stderr.append(line)

    def _write_loop(self):
        while True:
            chunk = self._queue.get()
            if chunk is None:
                break
            try:
                self.proc.stdin.write(chunk)
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError, ValueError):
                break
        with contextlib.suppress(BrokenPipeError, OSError):
            self.proc.stdin.close()

    def feed(self, index: int, data: bytes) -> int:
        """Queue chunk number `index` (0-based); returns how many chunks are written so far."""
        with self._lock:
            if self.closed:
                raise MediaError("broadcast finished")
            if index < self._next or index in self._pending:
                return self._next  # a repeat
            self._pending[index] = data
            if len(self._pending) > MAX_PENDING:
                # A chunk was lost for good: skip the gap (ffmpeg drops the corrupt part).
                self._next = min(self._pending)
            while self._next in self._pending:
                chunk = self._pending.pop(self._next)
                self.bytes_in += len(chunk)
                self._queue.put(chunk)
                self._next += 1
            return self._next

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def playlist(self) -> Path:
        return self.out_dir / PLAYLIST

    @property
    def written(self) -> int:
        return self._next

    def finish(self, timeout: float = 60, vod: bool = True) -> Path:
        """End the stream, wait for ffmpeg, turn the playlist into VOD (unless vod=False: the
        broadcast restarts into the same playlist); returns its path."""
        with self._lock:
            self.closed = True
            self._queue.put(None)
        self._writer.join(timeout)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._reader.join(5)
        playlist = self.playlist()
        if not playlist.is_file():
            raise MediaError(f"ffmpeg produced no playlist: {_last_line(b''.join(self._stderr))} (exit {code})")
        if vod:
            to_vod(playlist)
        else:
            strip_endlist(playlist)
        return playlist

    def stop(self) -> None:
        with self._lock:
            self.closed = True
        if self.running:
            self.proc.kill()
            self.proc.wait()


def to_vod(playlist: Path) -> None:
    """An EVENT playlist (ended or not) → a VOD playlist with #EXT-X-ENDLIST, written atomically."""
    lines = playlist.read_text().splitlines()
    out = []
    for line in lines:
        if line.startswith("#EXT-X-PLAYLIST-TYPE"):
            line = "#EXT-X-PLAYLIST-TYPE:VOD"
        out.append(line)
    if not any(line.startswith("#EXT-X-PLAYLIST-TYPE") for line in out):
        out.insert(1, "#EXT-X-PLAYLIST-TYPE:VOD")
    if "#EXT-X-ENDLIST" not in out:
        out.append("#EXT-X-ENDLIST")
    tmp = playlist.with_suffix(".tmp")
    tmp.write_text("\n".join(out) + "\n")
    os.replace(tmp, playlist)


def strip_endlist(playlist: Path) -> None:
    text = playlist.read_text()
    if "#EXT-X-ENDLIST" in text:
        tmp = playlist.with_suffix(".tmp")
        tmp.write_text(text.replace("#EXT-X-ENDLIST\n", "").replace("#EXT-X-ENDLIST", ""))
        os.replace(tmp, playlist)


def segments(playlist: Path) -> list[str]:
    return [ln for ln in playlist.read_text().splitlines() if ln and not ln.startswith("#")]


def timeline(playlist: Path) -> list[tuple[float, datetime | None, float]]:
    """The playlist's segments as (start in the video, wall-clock start or None, duration). A
    #EXT-X-PROGRAM-DATE-TIME names the wall-clock of the next segment; the following ones follow on
    from it, until a discontinuity (a paused or restarted broadcast) without one."""
    out: list[tuple[float, datetime | None, float]] = []
    at, clock, duration = 0.0, None, None
    for line in playlist.read_text().splitlines():
        line = line.strip()
        if line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            clock = _parse_clock(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-DISCONTINUITY") and not line.startswith("#EXT-X-DISCONTINUITY-"):
            clock = None
        elif line.startswith("#EXTINF:"):
            try:
                duration = float(line.split(":", 1)[1].split(",", 1)[0])
            except ValueError:
                duration = None
        elif line and not line.startswith("#") and duration is not None:
            out.append((at, clock, duration))
            at += duration
            clock = clock + timedelta(seconds=duration) if clock is not None else None
            duration = None
    return out


def _parse_clock(text: str) -> datetime | None:
    text = text.strip()
    if len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = f"{text[:-2]}:{text[-2:]}"  # ffmpeg writes +0000; fromisoformat wants +00:00
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def video_offset(segments: list[tuple[float, datetime | None, float]], when: datetime) -> float | None:
    """Where in the recording the wall-clock moment `when` is: inside a segment, its place there;
    during a pause (between segments), the start of what was recorded next; None after the end,
    or when the playlist has no wall-clock times."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    for at, clock, duration in segments:
        if clock is None:
            continue
        if when < clock:
            return at  # before this segment and after the previous one: a pause, or before the first
        if when < clock + timedelta(seconds=duration):
            return at + (when - clock).total_seconds()
    return None
