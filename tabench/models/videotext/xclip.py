"""X-CLIP (Ni et al., "Expanding Language-Image Pretrained Models for General Video Recognition", ECCV 2022) on
the shared core. Its three mechanisms:

* cross-frame communication: in every ViT block each frame's [CLS] token is turned into a message token, the
  messages of all frames of a video attend to each other (a small transformer over time), and each frame's
  message joins that frame's spatial attention as one extra token (dropped again before the MLP);
* multi-frame integration transformer (MIT): a transformer over the frame embeddings, residual, averaged;
* video-specific prompt generator: the class text embeddings attend (cross-attention, 2 layers) to the video's
  patch tokens, and the result, scaled by a learnable alpha (0.1 at start), is added to the text embeddings; so
  each video gets its own text embeddings and logits are per-video dot products.

We build it from CLIP weights like the original (which initialises from CLIP); `transformers.XCLIPModel` would
fix the text tower to CLIP's, whereas the CPU configuration here uses MiniLM captions.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tabench.models.videotext._register import build, register_video_text
from tabench.models.videotext.core import TemporalTransformer, VideoTextModel

PAPER = "Ni et al., Expanding Language-Image Pretrained Models for General Video Recognition (ECCV 2022)"


class PromptGeneratorLayer(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.cross_attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(dim, dim * 4), nn.GELU(), nn.Linear(dim * 4, dim))

    def forward(self, text, visual):
        q = self.norm1(text)
        text = text + self.cross_attn(q, visual, visual, need_weights=False)[0]
        return text + self.mlp(self.norm2(text))


class VideoSpecificPrompt(nn.Module):
    """Class texts (B, K, D) attend to the video's patch tokens (B, N, D); returns alpha * the attended texts."""

    def __init__(self, dim: int, layers: int = 2, alpha: float = 0.1):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.layers = nn.ModuleList(PromptGeneratorLayer(dim, max(1, dim // 64)) for _ in range(layers))
        self.alpha = nn.Parameter(torch.full((dim,), float(alpha)))

    def forward(self, text, visual):
        visual = self.norm(visual)
        for layer in self.layers:
            text = layer(text, visual)
        return self.alpha * text


class XCLIP(VideoTextModel):
    method = "xclip"

    def __init__(self, visual, text, *, mit_layers: int = 1, prompt_layers: int = 2, prompt_alpha: float = 0.1, **kw):
        super().__init__(visual, text, **kw)
        w, n = visual.width, len(visual.layers)
        self.message_fc = nn.ModuleList(nn.Linear(w, w) for _ in range(n))
        self.message_ln = nn.ModuleList(nn.LayerNorm(w) for _ in range(n))
        self.message_attn = nn.ModuleList(nn.MultiheadAttention(w, visual.heads, batch_first=True) for _ in range(n))
        self.mit = TemporalTransformer(self.embed_dim, mit_layers, heads=max(1, self.embed_dim // 64))
        self.prompt = VideoSpecificPrompt(self.embed_dim, prompt_layers, prompt_alpha)

    def encode_video(self, x):
        b, t = x.shape[0], x.shape[2]
        tokens = self.visual.embed(self.frames(x))  # (B*T, L, W)
        length = tokens.shape[1]
        for i in range(len(self.visual.layers)):
            msg = self.message_fc[i](tokens[:, 0]).view(b, t, -1)
            q = self.message_ln[i](msg)
            msg = msg + self.message_attn[i](q, q, q, need_weights=False)[0]  # frames talk to each other
            h = torch.cat([tokens, msg.reshape(b * t, 1, -1)], 1)
            h = h + self.visual.attn(i, h)  # each frame sees its own message token
            tokens = h[:, :length]
            tokens = tokens + self.visual.mlp(i, tokens)
        out = self.visual.head(tokens)  # (B*T, L, D)
        self._patches = out[:, 1:].reshape(b, t, length - 1, -1).mean(1)  # (B, N, D), for the prompt generator
        return self.mit(out[:, 0].reshape(b, t, -1))

    def video_text_logits(self, video, text):
        texts = text.unsqueeze(0).expand(video.shape[0], -1, -1)
        texts = F.normalize(texts + self.prompt(texts, self._patches), dim=-1)
        return torch.einsum("bd,bkd->bk", video, texts)


@register_video_text(paper=PAPER, default_frames=8, default_size=64, cpu_sized=True, text="minilm")
def xclip_minilm_tiny(num_classes=None, class_texts=None, pretrained=None, train_text=0, frames=8, **kw):
    """X-CLIP at CPU size: tiny ViT with message tokens, 1-layer MIT, prompt generator over MiniLM captions."""
    return build(XCLIP, size="tiny", pretrained=pretrained, text="minilm", train_text=train_text, frames=frames,
                 class_texts=class_texts, **kw)


@register_video_text(paper=PAPER, default_frames=8, default_size=224, cpu_sized=False, text="clip")
def xclip_b16(num_classes=None, class_texts=None, pretrained=None, train_text=True, frames=8, **kw):
    """X-CLIP-B/16 (8 frames, 1-layer MIT, 2-layer prompt generator); needs CLIP weights (pretrained=DIR_OR_FILE)."""
    return build(XCLIP, size="b16", pretrained=pretrained, text="clip", train_text=train_text, frames=frames,
                 class_texts=class_texts, **kw)
