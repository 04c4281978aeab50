"""`vt_minilm_tiny`: the offline video-text model anyone can train on a CPU. A tiny CLIP-style ViT (random init)
per frame, a one-layer temporal transformer, and frozen all-MiniLM-L6-v2 captions (cached) with a learned
projection. It is the default model of `tabench demo --level fine`."""
from __future__ import annotations

from tabench.models.videotext._register import build, register_video_text
from tabench.models.videotext.core import TemporalVideoText


@register_video_text(paper="tabench core: CLIP-style ViT + temporal transformer + all-MiniLM-L6-v2 text",
                     default_frames=8, default_size=112, cpu_sized=True, text="minilm")
def vt_minilm_tiny(num_classes=None, class_texts=None, pretrained=None, train_text=0, temporal_layers=1, frames=8,
                   **kw):
    """Tiny ViT (4 layers, width 192) + temporal transformer + frozen MiniLM captions; trains on CPU in minutes."""
    return build(TemporalVideoText, size="tiny", pretrained=pretrained, text="minilm", train_text=train_text,
                 frames=frames, class_texts=class_texts, temporal_layers=temporal_layers, **kw)
