"""H.264 mp4 writer (PyAV / libx264): yuv420p, 24 fps by default, written to a temporary file in the same
folder and renamed into place, so a reader (or a resumed run) never sees a half-written video.

x264 runs single-threaded by default: the generator parallelises over videos (one per worker process),
which is faster than threading a small frame and keeps the output bytes deterministic.

On a CPU with AVX-512, x264's AVX-512 code reads memory it has not initialised: the same frames then encode
to different bytes (and pixels) depending on what the process did before, which broke docs/synth.md's promise
of identical videos whatever the workers or shards. There x264 is limited to its AVX2 code (the same output
from every process; asm=0 would be too, but slow).
"""
from __future__ import annotations

import functools
import os
from fractions import Fraction

import numpy as np

from tabench import TabenchError
from tabench.io import atomic_path

DEFAULT_PRESET = "veryfast"
DEFAULT_CRF = 23
# x264's CPU flags up to AVX2 (every CPU with AVX-512 has them); see the module docstring
_X264_AVX2 = "MMX2,SSE,SSE2,SSE3,SSSE3,SSE4,SSE4.2,LZCNT,AVX,FMA3,BMI1,BMI2,AVX2"


@functools.lru_cache(maxsize=1)
def _x264_asm() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return None
    return _X264_AVX2 if "avx512f" in flags and "avx2" in flags else None


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
            asm = _x264_asm()
            if asm:
                stream.options = {**stream.options, "x264-params": f"asm={asm}"}
            stream.codec_context.thread_count = threads
            for frame in frames:
                vf = av.VideoFrame.from_ndarray(frame, format=pixel_format)
                for packet in stream.encode(vf):
                    container.mux(packet)
            for packet in stream.encode(None):
                container.mux(packet)
