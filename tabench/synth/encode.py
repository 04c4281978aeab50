"""H.264 mp4 writer (PyAV / libx264): yuv420p, 24 fps by default, written to a temporary file in the same
folder and renamed into place, so a reader (or a resumed run) never sees a half-written video.

x264 runs single-threaded by default: the generator parallelises over videos (one per worker process),
which is faster than threading a small frame and keeps the output bytes deterministic.
"""
from __future__ import annotations

import os
from fractions import Fraction

import numpy as np

from tabench import TabenchError
from tabench.io import atomic_path

DEFAULT_PRESET = "veryfast"
DEFAULT_CRF = 23


def encode_video(path: str | os.PathLike, frames: np.ndarray, fps: int = 24, crf: int = DEFAULT_CRF,
                 preset: str = DEFAULT_PRESET, threads: int = 1) -> None:
    """Write uint8 RGB frames (T, H, W, 3), or RGBA (T, H, W, 4) whose alpha is ignored, as an H.264 mp4; H and W
    must be even (yuv420p). RGBA is the faster input (swscale's 4-byte path), with the same output."""
    import av

    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] not in (3, 4) or frames.dtype != np.uint8:
        raise TabenchError(f"expected uint8 frames of shape (T, H, W, 3) or (T, H, W, 4), got {frames.dtype} "
                           f"{frames.shape}")
    pixel_format = "rgb24" if frames.shape[-1] == 3 else "rgba"
    t, h, w, _ = frames.shape
    if t == 0:
        raise TabenchError("cannot encode a video without frames")
    if h % 2 or w % 2:
        raise TabenchError(f"H.264 with yuv420p needs even frame sizes, got {w}x{h}")
    with atomic_path(path, suffix=".mp4") as tmp:
        with av.open(str(tmp), mode="w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=Fraction(int(fps), 1))
            stream.width, stream.height = w, h
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": str(crf), "preset": preset}
            stream.codec_context.thread_count = threads
            for frame in frames:
                vf = av.VideoFrame.from_ndarray(frame, format=pixel_format)
                for packet in stream.encode(vf):
                    container.mux(packet)
            for packet in stream.encode(None):
                container.mux(packet)
