"""X-CLIP (Ni et al., "Expanding Language-Image Pretrained Models for General Video Recognition", ECCV 2022), as
its official code (github.com/microsoft/VideoX, `X-CLIP/models/{xclip,cct,mit,prompt}.py`) and transformers'
`XCLIPModel` build it:

* cross-frame communication (`encode_video`): in every ViT block each frame's [CLS] goes through `message_fc`,
  the messages of a video attend to each other (`message_ln`, `message_attn`, residual), and each frame's
  message joins its frame's spatial attention as one extra token, dropped again before the MLP;
* multi-frame integration transformer (`mit`): frame embeddings + learned frame positions through CLIP-style
  blocks, added back to the input and averaged over time;
* video-specific prompt generator (`prompts_generator`): the patch tokens of the last block go through
  `prompts_visual_ln` and `prompts_visual_proj` and are averaged over time; the class text embeddings
  cross-attend to them (2 layers) and alpha (0.1 at start) times the result is added to the (unnormalised) text
  embeddings, so each video gets its own class embeddings and logits are per-video dot products.

Following the paper's released configs: the text encoder is frozen (`MODEL.FIX_TEXT: True`, the official
default, which caches the text features), and class texts are fed as they are (template "{}").

Weights: `pretrained=` a CLIP checkpoint (what the official training starts from; the X-CLIP parts then start
as the official initialisation) or a trained X-CLIP, as a Hugging Face directory (`XCLIPModel.save_pretrained`,
with tokenizer files or `bpe_simple_vocab_16e6.txt.gz` next to it) or the official `.pth` checkpoint; both are
loaded with every module mapped (`clip_io.load_xclip`). With such weights `encode_video(x)` on (B, C, T, H, W)
equals transformers' `XCLIPModel.get_video_features` on the same frames in (B, T, C, H, W) (tested).
"""
from __future__ import annotations


import torch
import torch.nn.functional as F
from torch import nn

from tabench.models.videotext._register import build, register_video_text
from tabench.models.videotext.core import CLIPText, VideoTextModel

PAPER = "Ni et al., Expanding Language-Image Pretrained Models for General Video Recognition (ECCV 2022)"


def layer_config(dim: int, heads: int, mlp: int, eps: float = 1e-5):
    """A transformers CLIP config for stand-alone CLIP layers / attentions of the given size (QuickGELU)."""
    from transformers import CLIPVisionConfig

    cfg = CLIPVisionConfig(hidden_size=dim, num_attention_heads=heads, intermediate_size=mlp, hidden_act="quick_gelu",
                           layer_norm_eps=eps)
    cfg._attn_implementation = "sdpa"
    return cfg


def _tensor(out):
    return out[0] if isinstance(out, tuple) else out


def _init_official(module: nn.Module) -> None:
    """X-CLIP's `_init_weights` for its new parts: Linear ~ trunc_normal(0.02), zero bias; LayerNorm 1 / 0."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


class MultiframeIntegration(nn.Module):
    """Frame embeddings (B, T, D) -> video embedding (B, D): + frame positions, CLIP blocks, residual, mean."""

    def __init__(self, dim: int, layers: int = 1, heads: int | None = None, frames: int = 8, mlp: int | None = None,
                 eps: float = 1e-5):
        super().__init__()
        from transformers.models.clip.modeling_clip import CLIPEncoderLayer

        cfg = layer_config(dim, heads or max(1, dim // 64), mlp or 4 * dim, eps)
        self.position_embedding = nn.Parameter(torch.zeros(1, frames, dim))
        self.layers = nn.ModuleList(CLIPEncoderLayer(cfg) for _ in range(layers))
        _init_official(self)
        nn.init.trunc_normal_(self.position_embedding, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t, pos = x.shape[1], self.position_embedding
        if t != pos.shape[1]:  # other clip lengths: the learned positions, resampled
            pos = F.interpolate(pos.transpose(1, 2), size=t, mode="linear", align_corners=False).transpose(1, 2)
        h = x + pos
        for layer in self.layers:
            h = _tensor(layer(h, None))
        return (h + x).mean(1)


class CrossAttention(nn.Module):
    """The prompt generator's attention: q/k/v projections without bias, an output projection with one."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.q_proj, self.k_proj, self.v_proj = (nn.Linear(dim, dim, bias=False) for _ in range(3))
        self.proj = nn.Linear(dim, dim)

    def forward(self, q, k, v):
        b, n, d = q.shape
        split = lambda z: z.view(b, z.shape[1], self.heads, d // self.heads).transpose(1, 2)  # noqa: E731
        out = F.scaled_dot_product_attention(split(self.q_proj(q)), split(self.k_proj(k)), split(self.v_proj(v)))
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class PromptGeneratorLayer(nn.Module):
    def __init__(self, dim: int, heads: int, eps: float = 1e-5):
        super().__init__()
        self.cross_attn = CrossAttention(dim, heads)
        self.norm1, self.norm3 = nn.LayerNorm(dim, eps=eps), nn.LayerNorm(dim, eps=eps)
        self.mlp = nn.Sequential(nn.Linear(dim, dim * 4), QuickGELU(), nn.Dropout(0.0), nn.Linear(dim * 4, dim))

    def forward(self, text, visual):
        text = text + self.cross_attn(self.norm1(text), visual, visual)
        return text + self.mlp(self.norm3(text))


class VideoSpecificPrompt(nn.Module):
    """Class texts (B, K, D) attend to the video's projected patch tokens (B, N, D); returns alpha * the result."""

    def __init__(self, dim: int, layers: int = 2, alpha: float = 0.1, heads: int | None = None, eps: float = 1e-5):
        super().__init__()
        self.layernorm = nn.LayerNorm(dim, eps=eps)
        self.decoder = nn.ModuleList(PromptGeneratorLayer(dim, heads or max(1, dim // 64), eps) for _ in range(layers))
        self.alpha = nn.Parameter(torch.full((dim,), float(alpha)))
        _init_official(self)

    def forward(self, text, visual):
        visual = self.layernorm(visual)
        for layer in self.decoder:
            text = layer(text, visual)
        return self.alpha * text


class XCLIP(VideoTextModel):
    method = "xclip"

    def __init__(self, visual, text, *, mit_layers: int = 1, mit_heads: int | None = None, mit_mlp: int | None = None,
                 prompt_layers: int = 2, prompt_alpha: float = 0.1, prompt_heads: int | None = None, **kw):
        kw.setdefault("templates", ("{}",))
        super().__init__(visual, text, **kw)
        from transformers.models.clip.modeling_clip import CLIPAttention

        w, n, d = visual.width, len(visual.layers), self.embed_dim
        cfg = layer_config(w, visual.heads, 4 * w)
        self.message_fc = nn.ModuleList(nn.Linear(w, w) for _ in range(n))
        self.message_ln = nn.ModuleList(nn.LayerNorm(w) for _ in range(n))
        self.message_attn = nn.ModuleList(CLIPAttention(cfg) for _ in range(n))
        _init_official(self.message_fc)
        self.mit = MultiframeIntegration(d, mit_layers, mit_heads, self.default_frames, mit_mlp)
        self.prompts_visual_ln = nn.LayerNorm(w)
        self.prompts_visual_proj = nn.Parameter(torch.randn(w, d))
        self.prompts_generator = VideoSpecificPrompt(d, prompt_layers, prompt_alpha, prompt_heads)
        self._patches: torch.Tensor | None = None

    def encode_video(self, x):
        b, t = x.shape[0], x.shape[2]
        vis = self.visual
        tokens = vis.embed(self.frames(x))  # (B*T, L, W)
        length = tokens.shape[1]
        for i in range(len(vis.layers)):
            msg = self.message_fc[i](tokens[:, 0]).view(b, t, -1)
            msg = msg + self.message_attn[i](self.message_ln[i](msg))[0]  # the frames' messages talk to each other
            h = torch.cat([tokens, msg.reshape(b * t, 1, -1)], 1)
            h = h + vis.attn(i, h)  # each frame also sees its own message token
            tokens = h[:, :length]
            tokens = tokens + vis.mlp(i, tokens)
        cls = vis.head(tokens[:, 0]).view(b, t, -1)
        patches = self.prompts_visual_ln(tokens[:, 1:]) @ self.prompts_visual_proj
        self._patches = patches.view(b, t, length - 1, -1).mean(1)  # (B, N, D), for the prompt generator
        return self.mit(cls)

    def class_embeddings(self) -> torch.Tensor:
        """(K, D) class text embeddings, *not* normalised: X-CLIP adds the video-specific prompt to the raw text
        projection and normalises afterwards."""
        if isinstance(self.text, CLIPText):
            from tabench.models.videotext.core import fill_template

            prompts = [fill_template(tp, c) for c in self.class_texts or () for tp in self.templates]
            if not prompts:
                return super().class_embeddings()
            with torch.set_grad_enabled(torch.is_grad_enabled() and self.text.trainable):
                feats = torch.cat([self.text(prompts[i:i + 256]) for i in range(0, len(prompts), 256)]).float()
            return feats.view(len(self.class_texts), len(self.templates), -1).mean(1).to(self.logit_scale.device)
        return self.text_proj(self.text_features().to(self.logit_scale.device))

    def video_text_logits(self, video, text):
        texts = text.unsqueeze(0).expand(video.shape[0], -1, -1)
        texts = F.normalize(texts + self.prompts_generator(texts, self._patches), dim=-1)
        return torch.einsum("bd,bkd->bk", video, texts)


def _build(size, pretrained, text, train_text, frames, class_texts, **kw):
    from tabench.models.videotext import clip_io

    if pretrained is not None and clip_io.xclip_layout(pretrained):
        return clip_io.load_xclip(pretrained, XCLIP, text=text, train_text=train_text, class_texts=class_texts, **kw)
    return build(XCLIP, size=size, pretrained=pretrained, text=text, train_text=train_text, frames=frames,
                 class_texts=class_texts, **kw)


@register_video_text(paper=PAPER, default_frames=8, default_size=64, cpu_sized=True, text="minilm")
def xclip_minilm_tiny(num_classes=None, class_texts=None, pretrained=None, train_text=0, frames=8, **kw):
    """X-CLIP at CPU size: tiny ViT with message tokens, 1-layer MIT, prompt generator over MiniLM captions."""
    return _build("tiny", pretrained, "minilm", train_text, frames, class_texts, **kw)


@register_video_text(paper=PAPER, default_frames=8, default_size=224, cpu_sized=False, text="clip")
def xclip_b16(num_classes=None, class_texts=None, pretrained=None, train_text=False, frames=8, **kw):
    """X-CLIP-B/16 (8 frames, 1-layer MIT, 2-layer prompt generator, frozen text); pretrained= CLIP or X-CLIP weights."""
    return _build("b16", pretrained, "clip", train_text, frames, class_texts, **kw)
