"""The offline video-text models anyone can train on a CPU, with frozen all-MiniLM-L6-v2 captions (cached) and a
learned projection into the video space:

* `vt_minilm_tiny` (the default of `tabench demo --level fine`): the default CPU model's video encoder
  (RGBDiff-tiny: frame differences, per-frame CNN, temporal convs), or with `encoder="r3d"` R3D-tiny;
* `vt_vit_minilm_tiny`: the core's CLIP-style path, a tiny ViT per frame (random init) + temporal transformer.
"""
from __future__ import annotations

from tabench.models.videotext._register import build, register_video_text
from tabench import TabenchError
from tabench.models.videotext.core import (ConvVideoEncoder, ConvVideoText, DiffGridVideoEncoder, MiniLMText,
                                           TemporalVideoText)

CORE = "tabench core: video encoder + all-MiniLM-L6-v2 caption embeddings, cosine logits"


@register_video_text(paper=CORE, default_frames=8, default_size=48, cpu_sized=True, text="minilm")
def vt_minilm_tiny(num_classes=None, class_texts=None, train_text=0, frames=8, size=48, embed_dim=256,
                   encoder="rgbdiff", widths=(16, 32, 64, 128), **kw):
    """RGBDiff-tiny video encoder (~1M params) + frozen MiniLM captions; learns on 2 CPU cores in minutes."""
    if encoder == "rgbdiff":
        visual = DiffGridVideoEncoder(embed_dim)
    elif encoder == "r3d":
        visual = ConvVideoEncoder(embed_dim, tuple(widths))
    else:
        raise TabenchError(f"vt_minilm_tiny: encoder must be rgbdiff or r3d, got {encoder!r}")
    return ConvVideoText(visual, MiniLMText(train_layers=int(train_text)), default_frames=frames,
                         default_size=size, class_texts=class_texts, **kw)


@register_video_text(paper=CORE, default_frames=8, default_size=64, cpu_sized=True, text="minilm")
def vt_vit_minilm_tiny(num_classes=None, class_texts=None, pretrained=None, train_text=0, temporal_layers=1,
                       frames=8, **kw):
    """Tiny ViT per frame (64 px, patch 16, 4 layers, width 192) + temporal transformer + frozen MiniLM."""
    return build(TemporalVideoText, size="tiny", pretrained=pretrained, text="minilm", train_text=train_text,
                 frames=frames, class_texts=class_texts, temporal_layers=temporal_layers, **kw)
