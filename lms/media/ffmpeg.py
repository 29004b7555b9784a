"""The only module that runs ffmpeg: probe a video, transcode it to an HLS ladder + MP4 + poster.

The binary is the system `ffmpeg`/`ffprobe` when present, else the one bundled by imageio-ffmpeg
(which has no ffprobe: the probe then parses `ffmpeg -i` output).
"""

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import ffmpeg as ffmpeg_python

SEGMENT_SECONDS = 2
#: (name, height, video bitrate, max rate, audio bitrate)
LADDER = [
    ("720p", 720, "1500k", "1800k", "128k"),
    ("360p", 360, "600k", "700k", "96k"),
    ("240p", 240, "300k", "350k", "64k"),
]


class MediaError(Exception):
    """The file is not a video ffmpeg can read, or transcoding failed."""


@dataclass
class ProbeResult:
    duration: float
    width: int
    height: int
    has_audio: bool


def ffmpeg_exe() -> str:
    exe = shutil.which("ffmpeg")
    if exe:
        return exe
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def ffprobe_exe() -> str | None:
    return shutil.which("ffprobe")


def probe(path) -> ProbeResult:
    """Duration (s), size and audio presence; MediaError for a corrupt file or one that is no video."""
    path = str(path)
    if not os.path.isfile(path):
        raise MediaError("file not found")
    probe_exe = ffprobe_exe()
    if probe_exe:
        try:
            info = ffmpeg_python.probe(path, cmd=probe_exe)
        except ffmpeg_python.Error as err:
            raise MediaError(f"not a readable video: {_last_line(err.stderr)}") from None
        streams = info.get("streams", [])
        video = next((s for s in streams if s.get("codec_type") == "video"), None)
        if video is None or video.get("disposition", {}).get("attached_pic"):
            raise MediaError("not a video: no video stream")
        duration = float(info.get("format", {}).get("duration") or video.get("duration") or 0)
        result = ProbeResult(duration, int(video["width"]), int(video["height"]),
                             any(s.get("codec_type") == "audio" for s in streams))  # fmt: skip
    else:
        result = _probe_with_ffmpeg(path)
    if result.duration <= 0 or result.width <= 0 or result.height <= 0:
        raise MediaError("not a video: no duration or size")
    return result


def _probe_with_ffmpeg(path: str) -> ProbeResult:
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", path], capture_output=True, text=True,  # noqa: S603
                          errors="replace", timeout=60)  # fmt: skip
    err = proc.stderr
    video = re.search(r"Stream #\S+.*?: Video: .*?(\d{2,5})x(\d{2,5})", err)
    if not video:
        raise MediaError(f"not a video: {_last_line(err)}")
    dur = re.search(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)", err)
    duration = int(dur[1]) * 3600 + int(dur[2]) * 60 + float(dur[3]) if dur else 0.0
    return ProbeResult(duration, int(video[1]), int(video[2]), bool(re.search(r"Stream #\S+.*?: Audio:", err)))


def _last_line(stderr) -> str:
    if isinstance(stderr, bytes):
        stderr = stderr.decode("utf-8", "replace")
    lines = [ln.strip() for ln in (stderr or "").splitlines() if ln.strip()]
    return lines[-1][:200] if lines else "unknown error"


def rungs_for(height: int) -> list[tuple]:
    """The ladder rungs not above the source height (at least the smallest one)."""
    chosen = [r for r in LADDER if r[1] <= height]
    return chosen or [LADDER[-1]]


@dataclass
class TranscodeResult:
    out_dir: Path
    rungs: list[str]
    duration: float
    master: str = "master.m3u8"
    mp4: str = "video.mp4"
    poster: str = "poster.jpg"


def transcode(src, out_dir, on_progress: Callable[[float], None] | None = None,
              info: ProbeResult | None = None) -> TranscodeResult:  # fmt: skip
    """One ffmpeg pass: HLS ladder (2 s segments, aligned keyframes), master playlist, MP4, poster.

    Everything is written to a temporary directory beside out_dir that is renamed into place only
    when ffmpeg succeeded, so a half-written output is never published. on_progress gets 0..100.
    """
    info = info or probe(src)
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}-tmp-"))
    # mkdtemp makes it 0700: with X-Accel-Redirect the proxy's workers (another user) read these files.
    work.chmod(0o755)
    try:
        cmd = _command(str(src), work, info)
        _run(cmd, info.duration, on_progress)
        _write_master(work, info)
        if not (work / "poster.jpg").is_file() or not (work / "video.mp4").is_file():
            raise MediaError("transcoding produced no output")
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}-old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out_dir, old)
            os.replace(work, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(work, out_dir)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    if on_progress:
        on_progress(100.0)
    return TranscodeResult(out_dir, [r[0] for r in rungs_for(info.height)], info.duration)


def _command(src: str, work: Path, info: ProbeResult) -> list[str]:
    rungs = rungs_for(info.height)
    n = len(rungs)
    gop = ["-g", "50", "-keyint_min", "50", "-sc_threshold", "0",
           "-force_key_frames", f"expr:gte(t,n_forced*{SEGMENT_SECONDS})"]  # fmt: skip
    # Split the decoded video once: one branch per rung, one for the MP4, one for the poster.
    labels = [f"[v{i}]" for i in range(n)]
    top_h = rungs[0][1]
    fc = f"[0:v]fps=25,split={n + 2}{''.join(labels)}[vmp4][vposter];"
    fc += ";".join(f"[v{i}]scale=-2:{r[1]}[v{i}o]" for i, r in enumerate(rungs))
    fc += f";[vmp4]scale=-2:{top_h}[vmp4o];[vposter]trim=start={min(1.0, info.duration / 2):.3f},scale=-2:{top_h}[vp]"
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-i", src,
           "-filter_complex", fc, "-progress", "pipe:1", "-nostats"]  # fmt: skip
    for i, (name, _h, rate, maxrate, arate) in enumerate(rungs):
        cmd += ["-map", f"[v{i}o]"]
        if info.has_audio:
            cmd += ["-map", "0:a:0"]
        cmd += ["-c:v", "libx264", "-preset", "veryfast", "-profile:v", "main", "-pix_fmt", "yuv420p",
                "-b:v", rate, "-maxrate", maxrate, "-bufsize", maxrate, *gop]  # fmt: skip
        if info.has_audio:
            cmd += ["-c:a", "aac", "-b:a", arate, "-ac", "2"]
        (work / name).mkdir()
        cmd += ["-f", "hls", "-hls_time", str(SEGMENT_SECONDS), "-hls_playlist_type", "vod",
                "-hls_segment_filename", str(work / name / "seg_%04d.ts"), str(work / name / "index.m3u8")]  # fmt: skip
    top = rungs[0]
    cmd += ["-map", "[vmp4o]"]
    if info.has_audio:
        cmd += ["-map", "0:a:0", "-c:a", "aac", "-b:a", top[4], "-ac", "2"]
    cmd += ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-b:v", top[2],
            "-maxrate", top[3], "-bufsize", top[3], *gop,
            "-movflags", "+faststart", str(work / "video.mp4")]  # fmt: skip
    cmd += ["-map", "[vp]", "-frames:v", "1", "-q:v", "3", str(work / "poster.jpg")]
    return cmd


def _run(cmd: list[str], duration: float, on_progress) -> None:
    # The argument list is built here; the only outside input is a path under MEDIA_ROOT.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace")  # noqa: S603
    last = -1.0
    assert proc.stdout is not None
    for line in proc.stdout:
        key, _, value = line.strip().partition("=")
        if key in ("out_time_ms", "out_time_us") and on_progress and duration > 0:
            try:
                pct = min(99.0, int(value) / 1_000_000 / duration * 100)
            except ValueError:
                continue
            if pct - last >= 1:
                last = pct
                on_progress(round(pct, 1))
    stderr = proc.stderr.read() if proc.stderr else ""
    if proc.wait() != 0:
        raise MediaError(f"ffmpeg failed: {_last_line(stderr)}")


def _write_master(work: Path, info: ProbeResult) -> None:
    lines = ["#EXTM3U", "#EXT-X-VERSION:3"]
    codecs = "avc1.4d401f,mp4a.40.2" if info.has_audio else "avc1.4d401f"
    for name, h, _rate, maxrate, arate in rungs_for(info.height):
        bw = int(maxrate[:-1]) * 1000 + (int(arate[:-1]) * 1000 if info.has_audio else 0)
        w = round(info.width * h / info.height / 2) * 2
        lines.append(f'#EXT-X-STREAM-INF:BANDWIDTH={bw},RESOLUTION={w}x{h},CODECS="{codecs}"')
        lines.append(f"{name}/index.m3u8")
    (work / "master.m3u8").write_text("\n".join(lines) + "\n")
