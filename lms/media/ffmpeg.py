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
#: (name, height, video bitrate, max rate = VBV buffer, audio bitrate). The bottom rung is for a
#: teacher on a 512 kbit/s line: 200k video peak + 48k audio, measured 275-290 kbit/s peak per
#: segment with the MPEG-TS overhead (testsrc2, mandelbrot, cellauto sources), so it declares
#: < 300 kbit/s and leaves room for the page, heartbeats and a line that delivers less than its
#: name. Its audio is mono (speech: 48k mono AAC sounds better than 48k stereo).
LADDER = [
    ("720p", 720, "1500k", "1800k", "128k"),
    ("360p", 360, "600k", "700k", "96k"),
    ("240p", 240, "180k", "200k", "48k"),
]
#: The rung also written as the progressive MP4 (video.mp4) for browsers with neither native HLS
#: nor MediaSource (old Android browsers, some in-app WebViews): those are mostly phones, which
#: cannot switch rungs, so one size has to do for all of them. 360p (~0.8 Mbit/s) keeps slides and
#: blackboard writing readable on a phone and plays on 1 Mbit/s; a slower line buffers it ahead
#: (progressive download). 240p would play on 512k but leave text unreadable. A source below 360p
#: gives its top rung.
MP4_RUNG = "360p"
#: Bytes a TS segment spends besides the audio and video payload (packet and PES headers, padding
#: of each frame's last packet, PAT/PMT): measured 5% at 720p, 12% at the bottom rung, whose frames
#: are small. Declared BANDWIDTH is never below the nominal peak with this margin.
TS_OVERHEAD = 1.12


class MediaError(Exception):
    """The file is not a video ffmpeg can read, or transcoding failed.

    `code` is what the uploader is told (lms.media.services.job_error_message) and whether a retry
    can help (lms.media.tasks.RETRYABLE): "missing", "unreadable" (corrupt, truncated, not a video),
    "disk_full", "failed" (anything else ffmpeg refused). The message keeps ffmpeg's own words, for
    the logs only.
    """

    def __init__(self, message: str, code: str = "failed"):
        super().__init__(message)
        self.code = code


#: ffmpeg's words for input it cannot decode: the same file fails the same way every time.
_UNREADABLE = ("Invalid data found when processing input", "moov atom not found", "partial file",
               "Error while decoding", "Invalid NAL unit", "corrupt", "could not find codec parameters",
               "Error splitting the input")  # fmt: skip


def classify(stderr: str) -> str:
    """The MediaError code of a failed ffmpeg run, from what it printed. "unreadable" (no retry)
    only from its last lines, where the error that stopped it stands: playable phone videos print
    "corrupt decoded frame" or "Invalid NAL unit size" as warnings on the way, and a run that then
    failed for another reason (the disk, a killed encoder) deserves a retry."""
    if "No space left on device" in stderr:
        return "disk_full"
    tail = "\n".join(stderr.strip().splitlines()[-2:]).lower()  # the error, then "Conversion failed!"
    if any(word.lower() in tail for word in _UNREADABLE):
        return "unreadable"
    return "failed"


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
        raise MediaError("file not found", "missing")
    probe_exe = ffprobe_exe()
    if probe_exe:
        try:
            info = ffmpeg_python.probe(path, cmd=probe_exe)
        except ffmpeg_python.Error as err:
            raise MediaError(f"not a readable video: {_last_line(err.stderr)}", "unreadable") from None
        streams = info.get("streams", [])
        video = next((s for s in streams if s.get("codec_type") == "video"), None)
        if video is None or video.get("disposition", {}).get("attached_pic"):
            raise MediaError("not a video: no video stream", "unreadable")
        duration = float(info.get("format", {}).get("duration") or video.get("duration") or 0)
        result = ProbeResult(duration, int(video["width"]), int(video["height"]),
                             any(s.get("codec_type") == "audio" for s in streams))  # fmt: skip
    else:
        result = _probe_with_ffmpeg(path)
    if result.duration <= 0 or result.width <= 0 or result.height <= 0:
        raise MediaError("not a video: no duration or size", "unreadable")
    return result


def _probe_with_ffmpeg(path: str) -> ProbeResult:
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", path], capture_output=True, text=True,  # noqa: S603
                          errors="replace", timeout=60)  # fmt: skip
    err = proc.stderr
    video = re.search(r"Stream #\S+.*?: Video: .*?(\d{2,5})x(\d{2,5})", err)
    if not video:
        raise MediaError(f"not a video: {_last_line(err)}", "unreadable")
    dur = re.search(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)", err)
    duration = int(dur[1]) * 3600 + int(dur[2]) * 60 + float(dur[3]) if dur else 0.0
    return ProbeResult(duration, int(video[1]), int(video[2]), bool(re.search(r"Stream #\S+.*?: Audio:", err)))


def _last_line(stderr) -> str:
    if isinstance(stderr, bytes):
        stderr = stderr.decode("utf-8", "replace")
    lines = [ln.strip() for ln in (stderr or "").splitlines() if ln.strip()]
    return lines[-1][:200] if lines else "unknown error"


def rungs_for(height: int) -> list[tuple]:
    """The ladder rungs not above the source height. A source smaller than the bottom rung is
    never upscaled: one rung at its own (even) height, with the bottom rung's rates."""
    chosen = [r for r in LADDER if r[1] <= height]
    if chosen:
        return chosen
    h = max(2, height - height % 2)
    return [(f"{h}p", h, *LADDER[-1][2:])]


def mp4_rung(rungs: list[tuple]) -> int:
    """Index of the rung the MP4 fallback is written from (MP4_RUNG, else the top one)."""
    return next((i for i, r in enumerate(rungs) if r[0] == MP4_RUNG), 0)


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
        cmd = _command(str(Path(src).resolve()), work, info)
        _run(cmd, info.duration, on_progress, cwd=work)
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


#: x264 speed/quality trade-off, measured with benchmarks/transcode.py (20 s 1080p testsrc2 clip, full
#: ladder) on the shared 2-core machine: "veryfast" took ~21 CPU-seconds (2 idle cores: ~1.9x real
#: time), "superfast" ~18 (it drops CABAC-quality motion search and blurs motion visibly at 300-600
#: kbit/s), "faster" ~30. veryfast is the usual choice for ABR ladders at capped bitrates.
X264_PRESET = "veryfast"
#: Threads per encoder (top rung first). Each encoder needs >= 2: with 1, libx264 encodes inside
#: ffmpeg's main thread (ffmpeg 5.x), serialising it with decoding and the other encoders (measured
#: 0.53x vs 1.14x real time). x264's default (1.5 x cores each, 3 encoders) oversubscribes 2 cores
#: and measured no faster than 2 each.
X264_THREADS = (2, 2, 2)


def _command(src: str, work: Path, info: ProbeResult) -> list[str]:
    """ffmpeg arguments (run with cwd=work: every output path is relative) for the whole job.

    The source is decoded once. The filter graph scales it to the top rung and cascades each smaller
    rung from the one above (cheaper than scaling the full-size source again); one branch of the top
    rung becomes the poster. Each rung is encoded ONCE: the MP4_RUNG's packets go through the tee
    muxer both into its HLS playlist and into the MP4 fallback (faststart), so nothing is encoded twice.
    """
    rungs = rungs_for(info.height)
    n = len(rungs)
    mp4_at = mp4_rung(rungs)
    gop = ["-g", str(25 * SEGMENT_SECONDS), "-keyint_min", str(25 * SEGMENT_SECONDS), "-sc_threshold", "0",
           "-force_key_frames", f"expr:gte(t,n_forced*{SEGMENT_SECONDS})"]  # fmt: skip
    poster_at = min(1.0, info.duration / 2)
    parts = []
    prev = "[0:v]fps=25,"
    for i, (_name, h, *_rest) in enumerate(rungs):
        outs = f"[v{i}]" + (f"[s{i}]" if i < n - 1 else "") + ("[vp]" if i == 0 else "")
        k = outs.count("[")
        parts.append(f"{prev}scale=-2:{h}" + (f",split={k}{outs}" if k > 1 else outs))
        prev = f"[s{i}]"
    parts.append(f"[vp]trim=start={poster_at:.3f},setpts=PTS-STARTPTS[vpo]")
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-i", src,
           "-filter_complex", ";".join(parts), "-progress", "pipe:1", "-nostats"]  # fmt: skip
    for i, (name, _h, rate, maxrate, arate) in enumerate(rungs):
        cmd += ["-map", f"[v{i}]"]
        if info.has_audio:
            cmd += ["-map", "0:a:0"]
        cmd += ["-c:v", "libx264", "-preset", X264_PRESET, "-threads", str(X264_THREADS[min(i, 2)]),
                "-profile:v", "main", "-pix_fmt", "yuv420p", "-b:v", rate, "-maxrate", maxrate,
                "-bufsize", maxrate, *gop]  # fmt: skip
        if info.has_audio:
            cmd += ["-c:a", "aac", "-b:a", arate, "-ac", "1" if int(arate[:-1]) < 64 else "2"]
        (work / name).mkdir()
        hls = ["-hls_time", str(SEGMENT_SECONDS), "-hls_playlist_type", "vod",
               "-hls_segment_filename", f"{name}/seg_%04d.ts"]  # fmt: skip
        if i == mp4_at:
            # MP4 needs the codec headers out of band (global header); the TS segments still carry
            # them in band (the mpegts muxer repeats them before each keyframe).
            tee_hls = ":".join(f"{k[1:]}={v}" for k, v in zip(hls[::2], hls[1::2], strict=True))
            cmd += ["-flags", "+global_header", "-f", "tee",
                    f"[f=hls:{tee_hls}]{name}/index.m3u8|[f=mp4:movflags=+faststart]video.mp4"]  # fmt: skip
        else:
            cmd += ["-f", "hls", *hls, f"{name}/index.m3u8"]
    cmd += ["-map", "[vpo]", "-frames:v", "1", "-q:v", "3", "poster.jpg"]
    return cmd


def _run(cmd: list[str], duration: float, on_progress, cwd=None) -> None:
    # The argument list is built here; the only outside input is a path under MEDIA_ROOT.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace",  # noqa: S603
                            cwd=cwd)  # fmt: skip
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
        # Killed (a signal) is no verdict on the file: a retry may succeed.
        raise MediaError(f"ffmpeg failed: {_last_line(stderr)}", classify(stderr) if proc.returncode > 0 else "failed")


def _write_master(work: Path, info: ProbeResult) -> None:
    """The master playlist. BANDWIDTH is the peak bit rate of the rung's segments as written
    (bytes × 8 / duration, the most demanding 2 s of the video), never less than the nominal peak
    (max rate + audio, with TS overhead): a player picks a rung a line can really carry.
    AVERAGE-BANDWIDTH is the whole rung's mean."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:3"]
    codecs = "avc1.4d401f,mp4a.40.2" if info.has_audio else "avc1.4d401f"
    for name, h, _rate, maxrate, arate in rungs_for(info.height):
        nominal = int(maxrate[:-1]) * 1000 + (int(arate[:-1]) * 1000 if info.has_audio else 0)
        peak, average = segment_rates(work / name / "index.m3u8")
        bw = max(round(nominal * TS_OVERHEAD), peak)
        w = round(info.width * h / info.height / 2) * 2
        lines.append(f"#EXT-X-STREAM-INF:BANDWIDTH={bw},AVERAGE-BANDWIDTH={min(average, bw) or bw},"
                     f'RESOLUTION={w}x{h},CODECS="{codecs}"')  # fmt: skip
        lines.append(f"{name}/index.m3u8")
    (work / "master.m3u8").write_text("\n".join(lines) + "\n")


def segment_rates(playlist: Path) -> tuple[int, int]:
    """(peak, average) bit rate of a media playlist's segments, in bit/s; (0, 0) when it has none.

    A segment shorter than one second (the last one) counts as one second long: its few packets
    would otherwise make a peak no player ever has to sustain."""
    peak = total_bits = total_seconds = 0.0
    duration = None
    for line in playlist.read_text().splitlines():
        if line.startswith("#EXTINF:"):
            duration = float(line[8:].split(",", 1)[0])
        elif line and not line.startswith("#") and duration is not None:
            bits = (playlist.parent / line).stat().st_size * 8
            peak = max(peak, bits / max(duration, 1.0))
            total_bits += bits
            total_seconds += duration
            duration = None
    return round(peak), round(total_bits / total_seconds) if total_seconds else 0
