"""What ``boot_bridge`` builds from, checked before TransformerLens is imported.

The ``config.json`` transformers reads (or the error that stops it), the torch dtype
and device asked for, the weight files of the Hugging Face cache and the revision of a
training checkpoint, and how the weights and the checkpoint's own tying go into the
folder the model is built from.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import PresetArgumentError, PresetError
from .errors import BridgeError

if TYPE_CHECKING:
    import torch

__all__ = [
    "cached_weights",
    "checked_device",
    "checked_dtype",
    "checkpoint_tie",
    "link",
    "transformers_config",
    "with_tie",
]

# A config.json key that makes transformers fetch the model's code from its repository
# (trust_remote_code): boot_bridge runs no downloaded code.
_REMOTE_CODE = "auto_map"


def transformers_config(values: Mapping[str, Any], name: str | None) -> dict[str, Any]:
    """The ``config.json`` boot_bridge builds from, or the error that stops it."""
    from ..hf.exporting import to_hf_config

    try:
        config = to_hf_config(values)
    except PresetError as exc:
        raise exc.with_context(preset=name) from None
    if _REMOTE_CODE in config:
        raise BridgeError(
            f"transformers builds {config['architectures'][0]} only with code from the "
            "model's repository (trust_remote_code); boot_bridge downloads and runs no "
            "code: use TransformerBridge.boot_transformers(name, trust_remote_code=True) online",
            preset=name,
            key="original_architecture",
        )
    return config


# -- the dtype and device ------------------------------------------------------------------------


def checked_dtype(value: Any, values: Mapping[str, Any]) -> torch.dtype:
    """``boot_bridge``'s ``dtype``: a floating-point torch dtype or its name (None: the preset's)."""
    import torch

    from ..common.dtypes import dtype_name

    if value is None:
        value = values["dtype"]
    if isinstance(value, torch.dtype):
        if not value.is_floating_point:
            raise PresetArgumentError(
                f"dtype must be a floating-point type, got {value}", key="dtype"
            )
        return value
    if isinstance(value, str):
        try:
            return getattr(torch, dtype_name(value))  # type: ignore[no-any-return]
        except PresetError as exc:
            raise PresetArgumentError(f"dtype: {exc.reason}", key="dtype") from None
    raise PresetArgumentError(
        f"dtype must be a torch.dtype or its name, got {type(value).__name__}", key="dtype"
    )


def checked_device(value: Any, values: Mapping[str, Any]) -> torch.device:
    """``boot_bridge``'s ``device``: a torch device or its name (None: the preset's, else the CPU)."""
    import torch

    if value is None:
        value = values["device"] or "cpu"
    if isinstance(value, torch.device):
        return value
    if isinstance(value, str):
        try:
            return torch.device(value)
        except RuntimeError as exc:
            raise PresetArgumentError(f"device: {exc}", key="device") from None
    raise PresetArgumentError(
        f"device must be a torch.device or its name, got {type(value).__name__}", key="device"
    )


# -- the weights of the Hugging Face cache -------------------------------------------------------


def cached_weights(values: Mapping[str, Any], name: str | None) -> tuple[str, list[str]]:
    """The snapshot and weight files of the preset's model in the Hugging Face cache."""
    from ..hf.model_folder import cached_weights as find

    repo = name or values["tokenizer_name"]
    if repo is None:
        raise BridgeError(
            "load_weights=True needs a preset name (or tokenizer_name) to find the weights "
            "in the Hugging Face cache",
            key="load_weights",
        )
    try:
        return find(repo, _revision(values, repo))
    except PresetError as exc:
        raise BridgeError(
            exc.reason, file=exc.file, preset=name, key=exc.key or "load_weights"
        ) from None


def _revision(values: Mapping[str, Any], repo: str | None) -> str | None:
    """The Hub revision of a training checkpoint, as TransformerLens names them."""
    if not values["from_checkpoint"] or repo is None:
        return None
    value = values["checkpoint_value"]
    if repo.startswith("EleutherAI/pythia"):
        return f"step{value}"
    if repo.startswith("stanford-crfm"):
        return f"checkpoint-{value}"
    raise BridgeError(
        f"no known Hub revision for a checkpoint of {repo}", preset=repo, key="checkpoint_value"
    )


def link(source: str, target: str) -> None:
    """Put the cached weight file ``source`` at ``target``: a link, else a copy."""
    import shutil

    real = os.path.realpath(source)
    try:
        os.symlink(real, target)
    except OSError:  # a file system (or Windows user) without symbolic links
        shutil.copyfile(real, target)


def checkpoint_tie(snapshot: str) -> bool | None:
    """Whether the checkpoint in ``snapshot`` stores one matrix for embedding and
    unembedding, as its own ``config.json`` says (None: it does not say, or cannot be read)."""
    from ..common.fileio import read_regular

    try:
        own = json.loads(read_regular(os.path.join(snapshot, "config.json"), 16 << 20))
    except (OSError, ValueError):
        return None
    for where in (own, own.get("text_config") if isinstance(own, dict) else None):
        if isinstance(where, dict) and isinstance(where.get("tie_word_embeddings"), bool):
            return bool(where["tie_word_embeddings"])
    return None


def with_tie(config: dict[str, Any], tie: bool | None) -> dict[str, Any]:
    """``config`` with the checkpoint's ``tie_word_embeddings`` (left out when it says none,
    so that the architecture's configuration class gives its default, as for the checkpoint)."""
    out = dict(config)
    if isinstance(out.get("text_config"), dict):
        out["text_config"] = dict(out["text_config"])
    for holder in (out, out.get("text_config")):
        if isinstance(holder, dict):
            holder.pop("tie_word_embeddings", None)
            if tie is not None:
                holder["tie_word_embeddings"] = tie
    return out
