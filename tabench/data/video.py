"""Video decoding with PyAV: open once, know the frame count, decode only up to the frames a clip needs.

Frames are addressed by their index in presentation order (0 = first frame). Decoding goes forward from
the start, or, for a clip that starts late in a long video, from the keyframe before it after a seek; frames
that are not needed are decoded (inter-coded video requires it) but never converted to RGB, which is where
most of the per-frame cost goes. Conversion and resizing happen in one swscale call (`VideoFrame.reformat`),
straight to the short side the clip pipeline wants (see benchmarks/README.md, "Data loading").

Every failure (missing file, not a video, truncated stream) is raised as a TabenchError naming the file.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import av

from tabench import TabenchError

# Seek only when the first needed frame is this many frames past the start; below that, decoding
# forward from frame 0 is as cheap as a seek plus the decode from the previous keyframe.
SEEK_MIN_FRAMES = 48
# Decoder threads (thread_type AUTO) pay off only on larger frames: on Syn-TA-sized video (112-224 px) they
# were 10-20 % slower per clip than one thread, at 340x256 10-40 % faster (2 shared cores; see
# benchmarks/README.md, "Data loading"). "adaptive" turns them on from this frame area.
THREADS_MIN_PIXELS = 320 * 240
VIDEO_EXTENSIONS = (".mp4", ".webm", ".mkv", ".avi", ".mov", ".m4v")


@dataclass(frozen=True)
class VideoInfo:
    num_frames: int  # from the container when it says, else estimated as duration x fps
    fps: float
    width: int
    height: int
    exact: bool  # True when num_frames came from the container's frame count


def short_side_size(width: int, height: int, short_side: int) -> tuple[int, int]:
    """(width, height) scaled so that min(width, height) == short_side, rounded to even-free integers."""
    if width <= height:
        return short_side, max(1, int(round(height * short_side / width)))
    return max(1, int(round(width * short_side / height))), short_side


class VideoReader:
    """An open video file. Use as a context manager; `info` is cheap (container metadata only).
    `threads`: the decoder's thread_type ("AUTO", "FRAME", "SLICE"), None for one thread, or "adaptive"
    (AUTO for frames of at least THREADS_MIN_PIXELS, else one thread)."""

    def __init__(self, path: str | os.PathLike, threads: str | None = "adaptive"):
        self.path = Path(path)
        if not self.path.is_file():
            raise TabenchError(f"{self.path}: video file not found")
        try:
            self._container = av.open(str(self.path), metadata_errors="ignore")
        except (av.FFmpegError, UnicodeDecodeError, ValueError) as e:
            raise TabenchError(f"{self.path}: unreadable video ({_reason(e)})") from None
        streams = self._container.streams.video
        if not streams:
            self.close()
            raise TabenchError(f"{self.path}: unreadable video (no video stream)")
        self._stream = streams[0]
        self.info = self._probe_info()
        if threads == "adaptive":
            threads = "AUTO" if self.info.width * self.info.height >= THREADS_MIN_PIXELS else None
        if threads:
            self._stream.thread_type = threads

    # ----- metadata -----
    def _probe_info(self) -> VideoInfo:
        s = self._stream
        rate = s.average_rate or s.guessed_rate or s.base_rate
        fps = float(rate) if rate else 0.0
        cc = s.codec_context
        width, height = int(cc.width or 0), int(cc.height or 0)
        if width <= 0 or height <= 0:
            self.close()
            raise TabenchError(f"{self.path}: unreadable video (no frame size in the stream header)")
        n = int(s.frames or 0)
        if n > 0:
            return VideoInfo(n, fps, width, height, True)
        duration = None
        if s.duration is not None and s.time_base is not None:
            duration = float(s.duration * s.time_base)
        elif self._container.duration is not None:
            duration = self._container.duration / av.time_base
        if duration is None or fps <= 0:
            self.close()
            raise TabenchError(f"{self.path}: unreadable video (neither frame count nor duration is known)")
        return VideoInfo(max(1, int(round(duration * fps))), fps, width, height, False)

    # ----- decoding -----
    def read(self, indices, short_side: int | None = None, interpolation: str = "BILINEAR") -> np.ndarray:
        """Frames at `indices` (any order, repeats allowed) as uint8 (T, H, W, 3) RGB.

        With `short_side`, frames are resized so that their shorter side has that length. An index past
        the real end of the stream (when the container's frame count was an estimate, within
        `_count_tolerance`) gives the last frame; a stream that ends earlier than that is a truncated file and
        raises TabenchError.
        """
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        if idx.size == 0:
            raise ValueError("no frame indices")
        if idx.min() < 0:
            raise ValueError(f"negative frame index {int(idx.min())}")
        wanted = np.unique(idx)
        w, h = self.info.width, self.info.height
        if short_side:
            w, h = short_side_size(w, h, short_side)
        got: dict[int, np.ndarray] = {}
        tail = None  # the last frame decoded, for indices past the real end
        last = -1  # index of the last frame decoded
        ended = True  # the stream ran out before every wanted frame was seen
        try:
            for i, frame in self._frames_from(int(wanted[0])):
                tail, last = frame, i
                if i > wanted[-1]:
                    ended = False
                    break
                pos = np.searchsorted(wanted, i)
                if pos < len(wanted) and wanted[pos] == i and i not in got:
                    got[i] = frame.to_ndarray(width=w, height=h, format="rgb24", interpolation=interpolation)
                    if len(got) == len(wanted):
                        ended = False
                        break
        except av.FFmpegError as e:
            raise TabenchError(f"{self.path}: unreadable video ({_reason(e)})") from None
        if tail is None:
            raise TabenchError(f"{self.path}: unreadable video (no frame could be decoded)")
        if ended and last + 1 < self.info.num_frames - self._count_tolerance():
            # fewer frames than the container says: a truncated file, never padded with its last frame
            raise TabenchError(f"{self.path}: truncated video (decoded {last + 1} of the "
                               f"{self.info.num_frames} frames its header gives)")
        if len(got) < len(wanted):
            # the frame count was estimated from the duration and is a little high, or a seek landed after an
            # index: an index takes the nearest decoded frame before it, or the last frame of the stream
            end = tail.to_ndarray(width=w, height=h, format="rgb24", interpolation=interpolation)
            have = np.array(sorted(got), dtype=np.int64)
            for i in wanted:
                if int(i) not in got:
                    p = np.searchsorted(have, i, side="right") - 1
                    got[int(i)] = got[int(have[max(p, 0)])] if len(have) else end
        out = np.empty((idx.size, h, w, 3), dtype=np.uint8)
        for k, i in enumerate(idx):
            out[k] = got[int(i)]
        return out

    def _count_tolerance(self) -> int:
        """Frames a stream may fall short of `info.num_frames` without being truncated: none when the container
        stores the count; when it is estimated from duration x fps, rounding and container padding make it a
        little high (a few frames), never by a tenth of the video."""
        return 0 if self.info.exact else max(2, self.info.num_frames // 10)

    def _frames_from(self, first: int):
        """Yield (index, frame) in presentation order, starting at or before `first`."""
        s = self._stream
        start_index = 0
        if first >= SEEK_MIN_FRAMES and self.info.fps > 0 and s.time_base:
            target_sec = (first - 1) / self.info.fps
            offset = s.start_time or 0
            self._container.seek(offset + int(target_sec / s.time_base), stream=s, backward=True, any_frame=False)
            start_index = None  # the first decoded frame's index comes from its timestamp
        tb = s.time_base
        base = s.start_time or 0
        i = start_index
        for frame in self._container.decode(s):
            if i is None:
                if frame.pts is None or tb is None:
                    raise TabenchError(f"{self.path}: unreadable video (frames carry no timestamps after a seek)")
                i = max(0, int(round(float((frame.pts - base) * tb) * self.info.fps)))
            yield i, frame
            i += 1

    def close(self) -> None:
        c = getattr(self, "_container", None)
        if c is not None:
            c.close()
            self._container = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _reason(e: BaseException) -> str:
    msg = getattr(e, "strerror", None) or str(e) or type(e).__name__
    return msg.splitlines()[0][:200]


def probe(path: str | os.PathLike) -> VideoInfo:
    """Container metadata of a video; raises TabenchError naming the file when it cannot be opened."""
    with VideoReader(path, threads=None) as r:
        return r.info


def check_readable(path: str | os.PathLike) -> str | None:
    """None when the video opens, its first frame decodes and its stream holds the frames its header lists;
    otherwise the reason, as one line. The packet count (demuxed, not decoded: about as cheap as decoding one
    frame) catches a file truncated on disk, which a first-frame probe calls fine; decoding every frame is
    `tabench data check`'s job (too slow for a build of 240k videos). A worker function of the builders'
    parallel probe, so it never raises."""
    try:
        with VideoReader(path, threads=None) as r:
            r.read([0], short_side=None)
        with VideoReader(path, threads=None) as r:  # a fresh reader: demux from the start
            n, packets = r.info.num_frames, 0
            try:
                for packet in r._container.demux(r._stream):
                    packets += packet.size > 0
            except av.FFmpegError as e:
                return f"truncated: reading stopped after {packets} of {n} frames ({_reason(e)})"
            if packets < n - r._count_tolerance():
                return (f"truncated: {packets} of the {n} frames its header "
                        f"{'lists' if r.info.exact else 'implies'} are in the file")
        return None
    except TabenchError as e:
        reason = str(e).split(": ", 1)[-1]
        if reason.startswith("unreadable video (") and reason.endswith(")"):
            reason = reason[len("unreadable video ("):-1]
        return reason
    except Exception as e:  # noqa: BLE001 - a probe reports every failure instead of crashing the pool
        return f"{type(e).__name__}: {_reason(e)}"


def read_frames(path: str | os.PathLike, indices, short_side: int | None = None,
                threads: str | None = "adaptive") -> np.ndarray:
    """Open, read `indices` (see VideoReader.read) and close."""
    with VideoReader(path, threads=threads) as r:
        return r.read(indices, short_side)


def write_video(path: str | os.PathLike, frames: np.ndarray, fps: int = 25, codec: str | None = None,
                options: dict | None = None) -> None:
    """Encode uint8 (T, H, W, 3) RGB frames (atomically). The codec follows the extension unless given:
    .mp4/.mkv -> libx264 (yuv420p, so H and W must be even), .webm -> libvpx-vp9."""
    path = Path(path)
    frames = np.asarray(frames, dtype=np.uint8)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be (T, H, W, 3), got {frames.shape}")
    ext = path.suffix.lower()
    codec = codec or {".webm": "libvpx-vp9"}.get(ext, "libx264")
    opts = dict(options or {})
    if codec == "libx264":
        opts.setdefault("preset", "veryfast")
        opts.setdefault("crf", "18")
    from tabench.io import atomic_path

    with atomic_path(path, suffix=ext) as tmp:
        with av.open(str(tmp), "w") as out:
            st = out.add_stream(codec, rate=fps, options=opts)
            st.width, st.height = frames.shape[2], frames.shape[1]
            st.pix_fmt = "yuv420p"
            for f in frames:
                for packet in st.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                    out.mux(packet)
            for packet in st.encode():
                out.mux(packet)
