"""ActionCLIP (Wang et al., "ActionCLIP: A New Paradigm for Video Action Recognition", 2021): "pre-train,
prompt, fine-tune". Its mechanisms here:

* prompt ensemble: 16 text templates; in training each class text gets one template drawn at random per step
  (the official code draws one per sample; here one per class and step, shared by that class's samples);
* temporal fusion transformer ("Transf"): a transformer over the frame embeddings with learned frame positions,
  its output added back to its input and averaged over time;
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
from tabench.models.videotext.core import TemporalVideoText, kl_video_text_loss

PAPER = "Wang et al., ActionCLIP: A New Paradigm for Video Action Recognition (arXiv 2021)"

# ActionCLIP's text augmentation templates (its `text_aug`), written for action names and captions.
TEMPLATES = (
    "a photo of action {}", "a picture of action {}", "Human action of {}", "{}, an action", "{} this is an action",
    "{}, a video of action", "Playing action of {}", "{}", "Playing a kind of action, {}",
    "Doing a kind of action, {}", "Look, the human is {}", "Can you recognize the action of {}?",
    "Video classification of {}", "A video of {}", "The man is {}", "The woman is {}",
)


class ActionCLIP(TemporalVideoText):
    method = "actionclip"
    uses_cross_entropy = False
    template_scoring = "softmax"

    def __init__(self, visual, text, *, kl_weight: float = 1.0, **kw):
        kw.setdefault("templates", TEMPLATES)
        kw.setdefault("train_templates", "random")
        super().__init__(visual, text, **kw)
        self.kl_weight = float(kl_weight)

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
    """ActionCLIP at CPU size: tiny ViT + 1-layer fusion transformer, 16-template ensemble of MiniLM captions."""
    return build(ActionCLIP, size="tiny", pretrained=pretrained, text="minilm", train_text=train_text, frames=frames,
                 class_texts=class_texts, temporal_layers=temporal_layers, **kw)


@register_video_text(paper=PAPER, default_frames=8, default_size=224, cpu_sized=False, text="clip")
def actionclip_b16(num_classes=None, class_texts=None, pretrained=None, train_text=True, temporal_layers=6, frames=8,
                   **kw):
    """ActionCLIP ViT-B/16 (8 frames, 6-layer fusion transformer, both encoders fine-tuned); needs CLIP weights."""
    return build(ActionCLIP, size="b16", pretrained=pretrained, text="clip", train_text=train_text, frames=frames,
                 class_texts=class_texts, temporal_layers=temporal_layers, **kw)
