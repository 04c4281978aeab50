"""Atomic file writes: a reader never sees a half-written file, and an interrupted write loses nothing.
Written files get the usual permissions (0644 minus the umask), not the 0600 of the private temporary file they
are written through, so datasets and runs in shared folders are readable by others."""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None):
    """Yield a temporary path in the same folder; on success it replaces `path` atomically.
    `suffix` keeps a meaningful extension on the temporary file (e.g. '.mp4' for encoders that need it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or ".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o644 & ~mask)
        os.replace(tmp, path)
    except BaseException as e:
        full = _no_space(e, path.parent)  # measured before the partial file is removed: the disk is full now
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if full:
            from tabench import TabenchError

            raise TabenchError(f"no space left on {path.parent} (writing {path.name})") from None
        raise


def _no_space(e: BaseException, folder: Path) -> bool:
    """A write that failed because the disk is full: ENOSPC, or a RuntimeError of torch.save's zip writer
    ('file write failed', or 'unexpected pos' when a short write went unnoticed) with no room left."""
    import errno
    import shutil

    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if isinstance(e, RuntimeError) and ("write failed" in str(e) or "unexpected pos" in str(e)):
        with contextlib.suppress(OSError):
            return shutil.disk_usage(folder).free < 1 << 20
    return False


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def atomic_write_json(path: str | os.PathLike, obj) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def torch_load_reason(e: BaseException) -> str:
    """One short line for why `torch.load(weights_only=True)` refused a file; torch's own message is a dozen
    lines with terminal colour codes, and its one useful line (what it refused) comes last."""
    import re

    text = re.sub(r"\x1b\[[0-9;]*m", "", str(e)).strip()
    if not text:
        return type(e).__name__
    if "WeightsUnpickler error:" in text:
        detail = next((ln.strip() for ln in text.split("WeightsUnpickler error:", 1)[1].splitlines() if ln.strip()),
                      "")
        detail = detail.split(". Please use", 1)[0]
        return f"weights_only loading refuses it: {detail}"[:200]
    return text.splitlines()[0][:200]
