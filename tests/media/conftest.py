import subprocess

import pytest

from lms.media import ffmpeg


def make_clip(path, size="320x240", seconds=3, audio=True):
    cmd = [ffmpeg.ffmpeg_exe(), "-loglevel", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=s={size}:d={seconds}"]
    if audio:
        cmd += ["-f", "lavfi", "-i", f"sine=d={seconds}", "-c:a", "aac"]
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-shortest", str(path)]
    subprocess.run(cmd, check=True)
    return path


@pytest.fixture(scope="session")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("clips")
    return {
        "small": make_clip(d / "small.mp4"),
        "hd": make_clip(d / "hd.mp4", size="1280x720", seconds=2),
        "mute": make_clip(d / "mute.mp4", size="640x360", seconds=2, audio=False),
    }
