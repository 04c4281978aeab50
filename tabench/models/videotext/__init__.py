"""Video-text models: the label space is a list of texts, so a model trained on one set's fine captions
recognises the other set's unseen fine classes zero-shot (the paper's Tab. 3). A shared core (`core.py`) and
five methods as thin files on it (ActionCLIP, X-CLIP, ViFi-CLIP, EZ-CLIP, FROSTER), each at CPU size (tiny ViT,
MiniLM text, offline) and at the paper's ViT-B/16 size (needs CLIP weights: `pretrained=DIR_OR_FILE`).
See docs/models-videotext.md."""
from tabench.models.videotext import actionclip, baseline, coco, ezclip, froster, vificlip, xclip  # noqa: F401

# The video-text model `tabench demo --level fine` uses: trains offline on a CPU in minutes.
DEFAULT_VIDEO_TEXT_MODEL = "vt_minilm_tiny"
VIDEO_TEXT_METHODS = ("actionclip", "xclip", "vificlip", "ezclip", "froster")
