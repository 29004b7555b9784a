"""Transcode speed: `python benchmarks/transcode.py [--seconds 20] [--height 1080]`.

Generates a clip with ffmpeg's testsrc2 (and a sine tone) at the given height, then runs the real
ladder of lms.media.ffmpeg.transcode (HLS rungs not above the source, MP4 faststart, poster, in one
ffmpeg pass) and prints the wall time as a multiple of real time (clip seconds / transcode seconds),
with a baseline in the same run: ffmpeg only decoding the same clip (`-f null`), the ceiling any
transcode can reach. Also prints the 1-minute load average (other work on the machine shows there)
and the CPU time ffmpeg used, i.e. the speed the ladder would reach on idle cores.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lms.media import ffmpeg  # noqa: E402


def make_clip(path: Path, seconds: int, height: int) -> None:
    width = height * 16 // 9
    cmd = [ffmpeg.ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
           "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate=30:duration={seconds}",
           "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
           "-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-pix_fmt", "yuv420p",
           "-c:a", "aac", "-b:a", "128k", "-shortest", str(path)]  # fmt: skip
    subprocess.run(cmd, check=True)  # noqa: S603


def decode_only(path: Path) -> float:
    started = time.perf_counter()
    subprocess.run([ffmpeg.ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", str(path),  # noqa: S603
                    "-f", "null", "-"], check=True)  # fmt: skip
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lms-transcode-bench-") as tmp:
        tmp = Path(tmp)
        src = tmp / "src.mp4"
        make_clip(src, args.seconds, args.height)
        info = ffmpeg.probe(src)
        print(f"source: {info.width}x{info.height}, {info.duration:.1f} s, audio={info.has_audio}, "
              f"{src.stat().st_size / 1e6:.1f} MB; ladder: {', '.join(r[0] for r in ffmpeg.rungs_for(info.height))} "
              f"+ MP4 + poster; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")  # fmt: skip
        base = decode_only(src)
        print(f"baseline decode only:    {base:6.2f} s  = {info.duration / base:5.2f}x real time")
        for i in range(args.runs):
            load = os.getloadavg()[0]
            started, cpu0 = time.perf_counter(), os.times()
            result = ffmpeg.transcode(src, tmp / f"out{i}", info=info)
            took, cpu1 = time.perf_counter() - started, os.times()
            cpu = (cpu1.children_user - cpu0.children_user) + (cpu1.children_system - cpu0.children_system)
            segs = sum(1 for _ in (result.out_dir / result.rungs[0]).glob("*.ts"))
            size = sum(p.stat().st_size for p in result.out_dir.rglob("*") if p.is_file()) / 1e6
            print(f"full ladder transcode:   {took:6.2f} s  = {info.duration / took:5.2f}x real time "
                  f"({took / base:.1f}x the decode-only time; {segs} segments per rung, {size:.1f} MB out; "
                  f"load before {load:.2f}, after {os.getloadavg()[0]:.2f})")  # fmt: skip
            ncpu = os.cpu_count() or 1
            print(f"  CPU time {cpu:.1f} s; on {ncpu} idle cores at most {info.duration / (cpu / ncpu):5.2f}x "
                  "real time (what the load of other work leaves out)")  # fmt: skip


if __name__ == "__main__":
    main()
