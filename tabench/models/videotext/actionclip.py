"""ActionCLIP (Wang et al., "ActionCLIP: A New Paradigm for Video Action Recognition", 2021): "pre-train,
prompt, fine-tune". Its mechanisms here:

* prompt ensemble: 16 text templates; in training each class text gets one template drawn at random per step,
  at evaluation the class embedding is the average over all templates;
* temporal fusion transformer ("Transf"): a transformer over the frame embeddings with learned frame positions,
  its output added back to its input and averaged over time;
* the KL video-text loss: in a batch, video i and the text of video j's class form a positive pair whenever the
  two videos share a class (so several positives per row); the softmax over the batch similarities is pulled to
  that uniform-over-positives target in both directions (video->text and text->video), symmetric KL.
  `auxiliary_loss(targets)` returns it (it needs the batch labels).
"""
from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F

from tabench.models.videotext._register import build, register_video_text
from tabench.models.videotext.core import TemporalVideoText

PAPER = "Wang et al., ActionCLIP: A New Paradigm for Video Action Recognition (arXiv 2021)"

# ActionCLIP's text augmentation templates (its `text_aug`), written for action names and captions.
TEMPLATES = (
    "a photo of action {}", "a picture of action {}", "Human action of {}", "{}, an action", "{} this is an action",
    "{}, a video of action", "Playing action of {}", "{}", "Playing a kind of action, {}",
    "Doing a kind of action, {}", "Look, the human is {}", "Can you recognize the action of {}?",
    "Video classification of {}", "A video of {}", "The man is {}", "The woman is {}",
)


def kl_video_text_loss(video: torch.Tensor, text: torch.Tensor, targets: torch.Tensor, scale: torch.Tensor):
    """ActionCLIP's loss for normalised video (B, D) and class text (K, D) embeddings and labels (B,)."""
    pair_text = text[targets]  # the text of each video's class
    logits = scale * video @ pair_text.t()  # (B videos, B texts)
    same = (targets[:, None] == targets[None, :]).to(logits.dtype)
    truth = same / same.sum(1, keepdim=True)
    v2t = F.kl_div(F.log_softmax(logits, 1), truth, reduction="batchmean")
    t2v = F.kl_div(F.log_softmax(logits.t(), 1), truth, reduction="batchmean")
    return (v2t + t2v) / 2


class ActionCLIP(TemporalVideoText):
    method = "actionclip"

    def __init__(self, visual, text, *, kl_weight: float = 1.0, **kw):
        kw.setdefault("templates", TEMPLATES)
        kw.setdefault("train_templates", "random")
        super().__init__(visual, text, **kw)
        self.kl_weight = float(kl_weight)
        self._warned = False

    def auxiliary_loss(self, targets: torch.Tensor | None = None) -> torch.Tensor:
        """The KL video-text loss of the last forward over same-class pairs; needs the batch labels."""
        zero = self.logit_scale.new_zeros(())
        if not self.training or self.kl_weight == 0:
            return zero
        if targets is None:
            if not self._warned:
                warnings.warn("ActionCLIP's KL loss needs the batch labels: call model.auxiliary_loss(targets); "
                              "training with cross-entropy only", stacklevel=2)
                self._warned = True
            return zero
        video, text = self._last
        scale = self.logit_scale.clamp(max=4.6052).exp()
        return self.kl_weight * kl_video_text_loss(video, text, targets.to(video.device), scale)


@register_video_text(paper=PAPER, default_frames=8, default_size=64, cpu_sized=True, text="minilm")
def actionclip_minilm_tiny(num_classes=None, class_texts=None, pretrained=None, train_text=0, temporal_layers=1,
                           frames=8, **kw):
    """ActionCLIP at CPU size: tiny ViT + 1-layer fusion transformer, 16-template ensemble of MiniLM captions."""
    return build(ActionCLIP, size="tiny", pretrained=pretrained, text="minilm", train_text=train_text, frames=frames,
                 class_texts=class_texts, temporal_layers=temporal_layers, **kw)


@register_video_text(paper=PAPER, default_frames=8, default_size=224, cpu_sized=False, text="clip")
def actionclip_b16(num_classes=None, class_texts=None, pretrained=None, train_text=True, temporal_layers=6, frames=8,
                   **kw):
    """ActionCLIP ViT-B/16 (8 frames, 6-layer fusion transformer, both encoders fine-tuned); needs CLIP weights."""
    return build(ActionCLIP, size="b16", pretrained=pretrained, text="clip", train_text=train_text, frames=frames,
                 class_texts=class_texts, temporal_layers=temporal_layers, **kw)
