"""ViFi-CLIP (Rasheed et al., "Fine-tuned CLIP Models are Efficient Video Learners", CVPR 2023): no temporal
module at all; CLIP's image encoder is applied to every frame, the frame embeddings are averaged over time, and
both encoders are fully fine-tuned with cross-entropy over the class texts."""
from __future__ import annotations

from tabench.models.videotext._register import build, register_video_text
from tabench.models.videotext.core import MeanPoolVideoText

PAPER = "Rasheed et al., Fine-tuned CLIP Models are Efficient Video Learners (CVPR 2023)"


class ViFiCLIP(MeanPoolVideoText):
    """Full fine-tuning of image and text encoders; temporal mean pooling of frame embeddings."""

    method = "vificlip"


@register_video_text(paper=PAPER, default_frames=8, default_size=64, cpu_sized=True, text="minilm")
def vificlip_minilm_tiny(num_classes=None, class_texts=None, pretrained=None, train_text=0, frames=8, **kw):
    """ViFi-CLIP at CPU size: tiny ViT fully trained, mean pooling, MiniLM captions (frozen by default)."""
    return build(ViFiCLIP, size="tiny", pretrained=pretrained, text="minilm", train_text=train_text, frames=frames,
                 class_texts=class_texts, **kw)


@register_video_text(paper=PAPER, default_frames=16, default_size=224, cpu_frames=8, cpu_size=224, cpu_sized=False,
                     text="clip")
def vificlip_b16(num_classes=None, class_texts=None, pretrained=None, train_text=True, frames=16, **kw):
    """ViFi-CLIP ViT-B/16 (16 frames): both CLIP encoders fine-tuned; needs CLIP weights (pretrained=DIR_OR_FILE)."""
    return build(ViFiCLIP, size="b16", pretrained=pretrained, text="clip", train_text=train_text, frames=frames,
                 class_texts=class_texts, **kw)
