"""ActionCLIP (Wang et al., "ActionCLIP: A New Paradigm for Video Action Recognition", 2021): "pre-train,
prompt, fine-tune". Its mechanisms here:

* prompt ensemble: 16 text templates; in training each class text gets one template drawn at random per step
  (the official code draws one per sample; here one per class and step, shared by that class's samples);
* temporal fusion transformer ("Transf", `fusion`), as its `modules/Visual_Prompt.py`: learned frame positions
  (`frame_position_embeddings`, an Embedding of 77), 6 CLIP-style blocks (QuickGELU, LayerNorm eps 1e-12, heads
  = width / 64, every Linear/Embedding ~ N(0, 0.02), biases 0), the output added back to its input and averaged
  over time;
* the KL video-text loss (its only training loss: `uses_cross_entropy = False`, as in the official train.py):
  in a batch, video i and the text of video j's class form a positive pair whenever the two videos share a class;
  both directions (video->text, text->video) are pulled by KL divergence to softmax(10 * same-class matrix)
  (`core.kl_video_text_loss`). `auxiliary_loss(targets)` returns it (it needs the batch labels);
* evaluation as the official test.py: one softmax over the classes per template, averaged over the templates
  (`template_scoring = "softmax"`), not an average of the templates' text embeddings.
"""
from __future__ import annotations

import math

import torch

from tabench import TabenchError
from tabench.models.videotext._register import build, register_video_text
from torch import nn

from tabench.models.videotext.core import VideoTextModel, kl_video_text_loss

PAPER = "Wang et al., ActionCLIP: A New Paradigm for Video Action Recognition (arXiv 2021)"

# ActionCLIP's text augmentation templates (its `text_aug`), written for action names and captions.
TEMPLATES = (
    "a photo of action {}", "a picture of action {}", "Human action of {}", "{}, an action", "{} this is an action",
    "{}, a video of action", "Playing action of {}", "{}", "Playing a kind of action, {}",
    "Doing a kind of action, {}", "Look, the human is {}", "Can you recognize the action of {}?",
    "Video classification of {}", "A video of {}", "The man is {}", "The woman is {}",
)


class FusionTransformer(nn.Module):
    """ActionCLIP's "Transf" fusion: frame embeddings (B, T, D) + learned positions -> CLIP blocks -> + input -> mean."""

    def __init__(self, dim: int, layers: int = 6, heads: int | None = None, context: int = 77):
        super().__init__()
        from transformers.models.clip.modeling_clip import CLIPEncoderLayer

        from tabench.models.videotext.xclip import layer_config

        cfg = layer_config(dim, heads or max(1, dim // 64), 4 * dim, eps=1e-12)
        self.frame_position_embeddings = nn.Embedding(context, dim)
        self.layers = nn.ModuleList(CLIPEncoderLayer(cfg) for _ in range(layers))
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = x.shape[1]
        if t > self.frame_position_embeddings.num_embeddings:
            raise TabenchError(f"ActionCLIP's fusion has {self.frame_position_embeddings.num_embeddings} frame "
                               f"positions, got {t} frames")
        h = x + self.frame_position_embeddings(torch.arange(t, device=x.device))
        for layer in self.layers:
            out = layer(h, None)
            h = out[0] if isinstance(out, tuple) else out
        return (h + x).mean(1)


class ActionCLIP(VideoTextModel):
    method = "actionclip"
    uses_cross_entropy = False
    template_scoring = "softmax"

    def __init__(self, visual, text, *, temporal_layers: int = 6, kl_weight: float = 1.0, **kw):
        kw.setdefault("templates", TEMPLATES)
        kw.setdefault("train_templates", "random")
        super().__init__(visual, text, **kw)
        self.fusion = FusionTransformer(self.embed_dim, temporal_layers)
        self.kl_weight = float(kl_weight)

    def frame_embeddings(self, x: torch.Tensor) -> torch.Tensor:
        b, t = x.shape[0], x.shape[2]
        return self.visual(self.frames(x)).view(b, t, -1)

    def encode_video(self, x):
        return self.fusion(self.frame_embeddings(x))

    def auxiliary_loss(self, targets: torch.Tensor | None = None) -> torch.Tensor:
        """The KL video-text loss of the last forward over same-class pairs; needs the batch labels."""
        if not self.training:
            return self.logit_scale.new_zeros(())
        if targets is None:
            raise TabenchError("ActionCLIP's loss needs the batch labels: call model.auxiliary_loss(targets)")
        video, text = self._last
        targets = targets.to(video.device)
        scale = self.logit_scale.clamp(max=math.log(100.0)).exp()
        return self.kl_weight * kl_video_text_loss(video.float(), text.float()[targets], targets, scale)


@register_video_text(paper=PAPER, default_frames=8, default_size=64, cpu_sized=True, text="minilm")
def actionclip_minilm_tiny(num_classes=None, class_texts=None, pretrained=None, train_text=0, temporal_layers=1,
                           frames=8, **kw):
    """ActionCLIP at CPU size: tiny ViT + 1-layer fusion transformer, 16 templates, MiniLM captions, KL loss."""
    return build(ActionCLIP, size="tiny", pretrained=pretrained, text="minilm", train_text=train_text, frames=frames,
                 class_texts=class_texts, temporal_layers=temporal_layers, **kw)


@register_video_text(paper=PAPER, default_frames=8, default_size=224, cpu_sized=False, text="clip")
def actionclip_b16(num_classes=None, class_texts=None, pretrained=None, train_text=True, temporal_layers=6, frames=8,
                   **kw):
    """ActionCLIP ViT-B/16 (8 frames, 6-layer fusion transformer, both encoders fine-tuned); needs CLIP weights."""
    return build(ActionCLIP, size="b16", pretrained=pretrained, text="clip", train_text=train_text, frames=frames,
                 class_texts=class_texts, temporal_layers=temporal_layers, **kw)
