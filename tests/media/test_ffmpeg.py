import re
import subprocess
import tempfile
from pathlib import Path

import pytest

from lms.media import ffmpeg
from tests.media.conftest import make_clip


def test_probe(clips):
    info = ffmpeg.probe(clips["small"])
    assert (info.width, info.height, info.has_audio) == (320, 240, True)
    assert info.duration == pytest.approx(3, abs=0.2)
    assert ffmpeg.probe(clips["mute"]).has_audio is False


def test_probe_without_ffprobe(clips, monkeypatch):
    monkeypatch.setattr(ffmpeg, "ffprobe_exe", lambda: None)
    info = ffmpeg.probe(clips["hd"])
    assert (info.width, info.height, info.has_audio) == (1280, 720, True)
    assert info.duration == pytest.approx(2, abs=0.2)


@pytest.mark.parametrize("no_ffprobe", [False, True])
def test_corrupt_and_non_video_files_are_refused(tmp_path, clips, monkeypatch, no_ffprobe):
    if no_ffprobe:
        monkeypatch.setattr(ffmpeg, "ffprobe_exe", lambda: None)
    text = tmp_path / "notes.mp4"
    text.write_text("just some text, not a video\n" * 50)
    corrupt = tmp_path / "broken.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 20)
    for bad in (text, corrupt):
        with pytest.raises(ffmpeg.MediaError, match="not a"):
            ffmpeg.probe(bad)
    with pytest.raises(ffmpeg.MediaError):
        ffmpeg.transcode(corrupt, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_ladder_rungs_follow_source_height():
    assert [r[0] for r in ffmpeg.rungs_for(1080)] == ["720p", "360p", "240p"]
    assert [r[0] for r in ffmpeg.rungs_for(720)] == ["720p", "360p", "240p"]
    assert [r[0] for r in ffmpeg.rungs_for(480)] == ["360p", "240p"]
    assert [r[0] for r in ffmpeg.rungs_for(240)] == ["240p"]
    # Below the bottom rung: the source's own height, never upscaled, at the bottom rung's rates.
    assert ffmpeg.rungs_for(144) == [("144p", 144, *ffmpeg.LADDER[-1][2:])]
    assert ffmpeg.rungs_for(181)[0][:2] == ("180p", 180)  # an even height for the encoder


def test_the_bottom_rung_fits_a_512_kbit_line():
    """Video max rate + audio with the TS overhead stays under 300 kbit/s: room on a 512k line."""
    _name, _h, rate, maxrate, arate = ffmpeg.LADDER[-1]
    assert int(rate[:-1]) <= int(maxrate[:-1])
    assert (int(maxrate[:-1]) + int(arate[:-1])) * 1000 * ffmpeg.TS_OVERHEAD <= 300_000


def _segments(playlist):
    return [float(x) for x in re.findall(r"#EXTINF:([\d.]+),", playlist.read_text())]


def test_transcode_hd(clips, tmp_path):
    seen = []
    result = ffmpeg.transcode(clips["hd"], tmp_path / "out", seen.append)
    out = tmp_path / "out"
    assert result.rungs == ["720p", "360p", "240p"]
    master = (out / "master.m3u8").read_text()
    assert master.count("#EXT-X-STREAM-INF") == 3
    assert "RESOLUTION=1280x720" in master and "RESOLUTION=640x360" in master and "RESOLUTION=426x240" in master
    for rung in result.rungs:
        segs = _segments(out / rung / "index.m3u8")
        assert sum(segs) == pytest.approx(2, abs=0.2)
        assert all(s <= 2.1 for s in segs)
        assert (out / rung / "seg_0000.ts").stat().st_size > 0
    assert seen and seen[-1] == 100.0 and seen == sorted(seen)
    # Poster: a JPEG of the top rung's height.
    assert (out / "poster.jpg").read_bytes()[:3] == b"\xff\xd8\xff"
    assert ffmpeg.probe(out / "poster.jpg").height == 720
    # MP4 fallback with +faststart: the moov atom precedes mdat. 360p: the phones that need it
    # cannot switch rungs (ffmpeg.MP4_RUNG).
    mp4 = (out / "video.mp4").read_bytes()
    assert 0 < mp4.find(b"moov") < mp4.find(b"mdat")
    assert ffmpeg.probe(out / "video.mp4").height == 360
    # Declared BANDWIDTH covers each rung's most demanding segment; the bottom one stays < 300 kbit/s.
    declared = [int(x) for x in re.findall(r"BANDWIDTH=(\d+),AVERAGE", master)]
    for rung, bw in zip(result.rungs, declared, strict=True):
        peak, average = ffmpeg.segment_rates(out / rung / "index.m3u8")
        assert 0 < average <= peak <= bw, rung
    assert declared[-1] <= 300_000
    assert f"AVERAGE-BANDWIDTH={ffmpeg.segment_rates(out / '240p' / 'index.m3u8')[1]}," in master
    # Nothing left behind from the temporary directory.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_transcode_small_has_only_the_rungs_below_its_height(clips, tmp_path):
    result = ffmpeg.transcode(clips["small"], tmp_path / "out")
    assert result.rungs == ["240p"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["240p", "master.m3u8", "poster.jpg", "video.mp4"]
    segs = _segments(tmp_path / "out" / "240p" / "index.m3u8")
    assert segs[0] == pytest.approx(2, abs=0.1) and sum(segs) == pytest.approx(3, abs=0.2)


def test_a_source_below_the_bottom_rung_is_not_upscaled(tmp_path):
    src = make_clip(tmp_path / "tiny.mp4", size="176x144", seconds=2)
    result = ffmpeg.transcode(src, tmp_path / "out")
    out = tmp_path / "out"
    assert result.rungs == ["144p"]
    assert "RESOLUTION=176x144" in (out / "master.m3u8").read_text()
    for f in (out / "144p" / "seg_0000.ts", out / "video.mp4", out / "poster.jpg"):
        info = ffmpeg.probe(f)
        assert (info.width, info.height) == (176, 144), f.name


def test_transcode_without_audio(clips, tmp_path):
    result = ffmpeg.transcode(clips["mute"], tmp_path / "out")
    assert result.rungs == ["360p", "240p"]
    assert 'CODECS="avc1.4d401f"' in (tmp_path / "out" / "master.m3u8").read_text()


def _ffprobe(*args):
    exe = ffmpeg.ffprobe_exe()
    if exe is None:
        pytest.skip("ffprobe is not installed")
    return subprocess.run([exe, "-v", "error", *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def ladder(tmp_path_factory):
    """A 5 s 640x360 clip with sound through the real ladder (360p and 240p rungs)."""
    d = tmp_path_factory.mktemp("ladder")
    src = make_clip(d / "src.mp4", size="640x360", seconds=5)
    result = ffmpeg.transcode(src, d / "out")
    return result


def test_each_rung_is_encoded_once_from_one_decode(clips):
    info = ffmpeg.probe(clips["hd"])
    with tempfile.TemporaryDirectory() as work:
        cmd = ffmpeg._command(str(clips["hd"]), Path(work), info)
    assert cmd.count("-i") == 1  # one input, decoded once
    assert cmd.count("libx264") == 3  # one encoder per rung: the MP4 reuses the 360p encoder's packets
    second = cmd.index("libx264", cmd.index("libx264") + 1)
    assert cmd[cmd.index("-f", second) + 1] == "tee" and cmd.count("tee") == 1
    assert "360p/index.m3u8" in cmd[cmd.index("tee") + 1]
    assert "video.mp4" in cmd[cmd.index("tee") + 1] and "movflags=+faststart" in cmd[cmd.index("tee") + 1]
    assert cmd.count("-sc_threshold") == 3 and cmd[cmd.index("-sc_threshold") + 1] == "0"


def test_ladder_rung_sizes_and_keyframes_every_two_seconds(ladder):
    out = ladder.out_dir
    assert ladder.rungs == ["360p", "240p"]
    for rung, size in (("360p", "640,360"), ("240p", "426,240")):
        segs = sorted((out / rung).glob("seg_*.ts"))
        assert len(segs) == 3
        for seg in segs:
            # Each segment stands alone: its own codec headers, decodable by itself.
            assert set(_ffprobe("-select_streams", "v", "-show_entries", "stream=width,height", "-of", "csv=p=0",
                                str(seg)).split()) == {size}  # fmt: skip
        keyframes = [float(line.split(",")[0]) for line in _ffprobe(
            "-select_streams", "v", "-show_entries", "packet=pts_time,flags", "-of", "csv=p=0",
            str(out / rung / "index.m3u8")).splitlines() if ",K" in line]  # fmt: skip
        gaps = [round(b - a, 2) for a, b in zip(keyframes, keyframes[1:], strict=False)]
        assert gaps == [2.0, 2.0], gaps  # 0, 2, 4 s: no scene-cut keyframes in between


def test_mp4_fallback_plays_from_the_start(ladder):
    mp4 = ladder.out_dir / "video.mp4"
    data = mp4.read_bytes()
    assert 0 < data.find(b"moov") < data.find(b"mdat")  # faststart
    streams = _ffprobe("-show_entries", "stream=codec_name,width,height", "-of", "csv=p=0", str(mp4)).split()
    assert streams == ["h264,640,360", "aac"]
    # The bottom rung's 48k audio is mono; the others stereo.
    assert set(_ffprobe("-select_streams", "a", "-show_entries", "stream=channels", "-of", "csv=p=0",
                    str(ladder.out_dir / "240p" / "seg_0000.ts")).split()) == {"1"}  # fmt: skip
    assert ffmpeg.probe(mp4).duration == pytest.approx(5, abs=0.2)
    # Decodes to the end without errors.
    proc = subprocess.run([ffmpeg.ffmpeg_exe(), "-v", "error", "-i", str(mp4), "-f", "null", "-"],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0 and proc.stderr.strip() == ""


def test_poster_is_a_frame_of_the_top_rung(ladder):
    poster = ladder.out_dir / "poster.jpg"
    assert poster.read_bytes()[:3] == b"\xff\xd8\xff"
    info = ffmpeg.probe(poster)
    assert (info.width, info.height) == (640, 360)


def test_a_failure_is_unreadable_only_by_its_last_words():
    """Decoder warnings on the way do not make a later, other failure final (no retry)."""
    from lms.media.ffmpeg import classify

    warnings = "[h264 @ 0x1] Invalid NAL unit size (1234 > 99).\n[h264 @ 0x1] corrupt decoded frame\n" * 50
    assert classify(warnings + "av_interleaved_write_frame(): Input/output error\nConversion failed!") == "failed"
    assert classify("moov atom not found\nx.mp4: Invalid data found when processing input") == "unreadable"
    assert classify(warnings + "Error writing trailer: No space left on device") == "disk_full"
