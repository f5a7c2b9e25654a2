"""TransformerLens 4: a preset as a ``TransformerBridge``, offline.

TransformerLens 4 removed ``HookedTransformer`` and its config. It builds models two
ways, and each function here feeds one:

- :func:`to_bridge_config` gives the ``TransformerBridgeConfig`` for
  ``TransformerBridge.boot_native``, TransformerLens's own small pre-norm decoder
  (for training from scratch). It carries every value the native model reads, or
  refuses with a :class:`BridgeError` naming the field by which the native model
  would build another model than the preset describes (:mod:`.fields` holds the
  decision for every field).
- :func:`boot_bridge` builds the preset's real architecture through transformers and
  wraps it, as ``TransformerBridge.boot_transformers`` does, without downloading
  anything.

Only calling these imports TransformerLens 4 (and torch, transformers); importing this
module does not, and the rest of the library keeps working with TransformerLens 3.
Every check of the preset and of the Hugging Face cache runs before TransformerLens is
imported, so a bad preset gets its own error whichever TransformerLens is installed:
those checks live in the private modules beside this one (``_preset``, ``_native``,
``_inputs``, ``_memory``); this module alone imports TransformerLens and transformers.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import PresetArgumentError, PresetError
from ._inputs import (
    cached_weights,
    checked_device,
    checked_dtype,
    checkpoint_tie,
    link,
    transformers_config,
    with_tie,
)
from ._memory import check_memory, weight_size
from ._native import bridge_config_values, refuse_native
from ._preset import INSTALL, MIN_TL_VERSION, preset_values, require_tl4
from .errors import BridgeError

if TYPE_CHECKING:
    import torch
    from transformer_lens.config import TransformerBridgeConfig
    from transformer_lens.model_bridge import TransformerBridge

    from ..config.hooked import HookedTransformerConfig

__all__ = ["MIN_TL_VERSION", "BridgeError", "boot_bridge", "to_bridge_config"]


# -- boot_native --------------------------------------------------------------------------------


def to_bridge_config(
    preset: str | Mapping[str, Any] | HookedTransformerConfig, /, **overrides: Any
) -> TransformerBridgeConfig:
    """TransformerLens 4's ``TransformerBridgeConfig`` of a preset, for ``boot_native``.

    ``preset`` is a preset name (or alias), a :class:`HookedTransformerConfig` or a
    mapping of field values; ``overrides`` are config fields, checked as
    :func:`get_preset` checks them. The config carries every value the native model
    reads, including those ``TransformerBridgeConfig.__init__`` takes no parameter
    for: the exact ``rotary_base`` and the rotary scaling as ``rope_scaling``
    (NTK-by-parts as ``llama3``, a linear ``rotary_scaling_factor`` as ``linear``).

    >>> from transformer_lens.model_bridge import TransformerBridge  # doctest: +SKIP
    >>> bridge = TransformerBridge.boot_native(to_bridge_config("attn-only-2l"))  # doctest: +SKIP

    The native model allocates an ``n_ctx`` x ``n_ctx`` causal mask and ``n_ctx``-long
    rotary tables when it is built, on the CPU (``boot_native`` builds there, then
    moves the model): a 131,072-token preset takes 16 GiB for the mask alone, so
    pass a shorter context, ``to_bridge_config(name, n_ctx=4096)``, or build under
    ``with torch.device("meta"):`` to see the model without memory. It builds in
    float32 unless ``boot_native(cfg, dtype=cfg.dtype)``.

    Raises :class:`BridgeError` naming the field (and its value) by which the native
    model would build another model than the preset (a parallel block, local
    attention, Q/K norms, ...), and whether :func:`boot_bridge` builds it instead;
    :class:`PresetError` for an unknown preset or a bad override; :class:`BridgeError`
    when TransformerLens 4.3 or later is not installed.
    """
    values, name = preset_values(preset, overrides)
    refuse_native(values, name)
    require_tl4("to_bridge_config")
    from transformer_lens.config import TransformerBridgeConfig

    arguments, attributes = bridge_config_values(values)
    try:
        cfg = TransformerBridgeConfig(**arguments)
    except (ValueError, TypeError) as exc:  # what TransformerLens says about these values
        raise BridgeError(
            f"TransformerBridgeConfig refuses this preset: {type(exc).__name__}: {exc}",
            preset=name,
        ) from None
    for attribute, value in attributes.items():
        setattr(cfg, attribute, value)
    return cfg


# -- boot_bridge --------------------------------------------------------------------------------


def boot_bridge(
    preset: str | Mapping[str, Any] | HookedTransformerConfig,
    /,
    *,
    device: str | torch.device | None = None,
    dtype: str | torch.dtype | None = None,
    load_weights: bool = False,
    **overrides: Any,
) -> TransformerBridge:
    """A ``TransformerBridge`` of the preset's real architecture, built through transformers
    as ``TransformerBridge.boot_transformers`` builds it, with nothing downloaded.

    How it builds:

    1. the preset (with ``overrides``) becomes a ``config.json`` (:func:`to_hf_config`,
       which refuses what the architecture cannot express, naming the field), written
       into a temporary folder with ``"dtype"`` set, beside a tokenizer: the model's own
       (``tokenizer_name``, else the preset's name) when the Hugging Face cache holds it,
       otherwise the stand-in of :mod:`.hf._model_folder` (byte-level, ids 0 to 256);
    2. the model class is TransformerLens 4.3's choice for the architecture
       (``AutoModelForCausalLM``, or the masked-LM, sequence-to-sequence or
       image-text-to-text class), with ``attn_implementation="eager"`` as
       TransformerLens forces it, built with ``from_config`` directly on ``device`` (under
       ``with torch.device(device)``: no copy through the CPU, and nothing allocated on
       ``"meta"``) in ``dtype``; or, with ``load_weights=True``, with ``from_pretrained``
       from the snapshot's weight files in the Hugging Face cache, then moved to
       ``device`` (a weight the checkpoint lacks, or one of another shape, is an error,
       never a silently random part);
    3. ``TransformerBridge.boot_transformers(folder, hf_model=model, ...)`` wraps it; the
       folder is removed afterwards and ``bridge.cfg.model_name`` set to the preset's;
    4. the bridge is put in eval mode (``bridge.eval()``, which reaches the transformers
       model), whatever ``load_weights`` is.

    Eval mode because the two ways of building differ there: ``from_pretrained`` leaves a
    model in eval mode and ``from_config`` in training mode, and a bridge whose dropout
    runs, and whose hooks cache other tensors (a dropout in training mode makes a new
    tensor where eval mode passes the same one on), only with random weights would be two
    models under one name. ``bridge.train()`` turns dropout on for training.

    ``device`` defaults to the preset's (``cuda``, then ``mps``, then ``cpu``, as
    TransformerLens 3 chose) and ``dtype`` to the preset's (float32): every parameter of
    the bridge is in ``dtype``, and so is every floating-point buffer but transformers'
    rotary tables (``inv_freq``, ``original_inv_freq``, GPT-J's ``embed_positions``),
    which stay float32. ``device="meta"`` builds without allocating weights (Mixtral 8x7B
    in seconds), except where TransformerLens 4.3 reads weight values at boot: it splits
    fused Q/K/V projections (GPT-2, Phi-3, ...), which it refuses on meta; that is a
    :class:`BridgeError` saying so, and ``device="cpu"`` builds it for real. On the CPU, a
    model whose weights alone exceed the memory available now (Linux's ``MemAvailable``)
    is a :class:`BridgeError` before anything is built, not the out-of-memory killer after.

    With ``load_weights=True`` the weights come only from the local cache (the preset's
    name as the repository, at its checkpoint's revision for a training checkpoint); a
    cache without them is a :class:`BridgeError` saying where it looked. The model's
    ``tie_word_embeddings`` then follows the checkpoint's ``config.json``, since that is
    how its weights are stored.

    Raises :class:`PresetError` for an unknown preset or a bad override,
    :class:`~transformer_presets.hf.errors.HFExportError` for what transformers cannot
    express, :class:`BridgeError` for remote code (Qwen-1, SantaCoder), a missing cache,
    the meta device where TransformerLens refuses it, or TransformerLens < 4.3.
    """
    if not isinstance(load_weights, bool):
        raise PresetArgumentError(
            f"load_weights must be True or False, got {type(load_weights).__name__}",
            key="load_weights",
        )
    values, name = preset_values(preset, overrides)
    torch_dtype = checked_dtype(dtype, values)
    torch_device = checked_device(device, values)
    if load_weights and torch_device.type == "meta":
        raise BridgeError(
            "load_weights=True loads nothing onto the meta device: pass another device",
            preset=name,
            key="device",
        )
    config = transformers_config(values, name)
    snapshot, weights = cached_weights(values, name) if load_weights else (None, [])
    if torch_device.type == "cpu":
        check_memory(values, torch_dtype, name)
    require_tl4("boot_bridge")
    with _offline():
        bridge = _boot(
            config,
            values,
            name=name,
            tokenizer_repo=values["tokenizer_name"] or name,
            device=torch_device,
            dtype=torch_dtype,
            snapshot=snapshot,
            weights=weights,
        )
    bridge.cfg.model_name = values["model_name"]
    # from_pretrained leaves eval mode, from_config training mode: one model either way.
    bridge.eval()
    return bridge


def _tl4_module(name: str) -> Any:
    """A module of TransformerLens 4's loader that ``boot_bridge`` uses (4.3's layout)."""
    import importlib

    try:
        return importlib.import_module(f"transformer_lens.{name}")
    except ImportError as exc:  # a later 4.x that moved it
        raise BridgeError(
            f"boot_bridge uses transformer_lens.{name}, which this TransformerLens "
            f"does not have ({exc}); it was written for 4.3: {INSTALL}"
        ) from None


@contextlib.contextmanager
def _offline() -> Iterator[None]:
    """Nothing downloaded while the bridge is built, whatever the environment says.

    transformers and the packages it imports reach for the Hub on their own: importing
    a model's module asks the ``kernels`` package for FlashAttention kernels, and
    TransformerLens pip-installs torchvision when a multimodal processor fails to load.
    Hugging Face's offline switch (``huggingface_hub.constants.HF_HUB_OFFLINE``, which
    they read on each call, and the environment variables, for what is imported now)
    is on for the duration, ``kernels``' note that it is offline is not shown, and the
    torchvision installer is replaced by a refusal. All are restored afterwards.
    """
    import logging

    import huggingface_hub.constants as hub

    helpers = _tl4_module("model_bridge.sources.transformers.helpers")

    saved_env = {k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    saved_flag = hub.HF_HUB_OFFLINE
    saved_install = helpers._ensure_torchvision
    kernels_log = logging.getLogger("kernels")
    saved_level = kernels_log.level
    os.environ.update({k: "1" for k in saved_env})
    hub.HF_HUB_OFFLINE = True
    helpers._ensure_torchvision = lambda: False
    kernels_log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        kernels_log.setLevel(saved_level)
        helpers._ensure_torchvision = saved_install
        hub.HF_HUB_OFFLINE = saved_flag
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _boot(
    config: dict[str, Any],
    values: Mapping[str, Any],
    *,
    name: str | None,
    tokenizer_repo: str | None,
    device: torch.device,
    dtype: torch.dtype,
    snapshot: str | None,
    weights: list[str],
) -> TransformerBridge:
    import tempfile

    import torch
    from transformer_lens.model_bridge import TransformerBridge
    from transformers import AutoConfig

    from ..hf.model_folder import write_tokenizer

    hf_format = _tl4_module("model_bridge.sources._hf_format")
    helpers = _tl4_module("model_bridge.sources.transformers.helpers")

    arch = config["architectures"][0]
    with tempfile.TemporaryDirectory(prefix="transformer-presets-") as folder:
        config = dict(config)
        config["dtype"] = str(dtype).removeprefix("torch.")
        if snapshot is not None:
            config = with_tie(config, checkpoint_tie(snapshot))
            for path in weights:
                link(path, os.path.join(folder, os.path.basename(path)))
        with open(os.path.join(folder, "config.json"), "w", encoding="utf-8") as f:
            json.dump(config, f)
        text = config.get("text_config", config)
        tokenizer = write_tokenizer(
            folder,
            repo=tokenizer_repo,
            d_vocab=int(text.get("vocab_size") or values["d_vocab"]),
            n_ctx=values["n_ctx"],
        )
        if snapshot is not None and not tokenizer.startswith("the tokenizer of"):
            import warnings

            # Real weights read a stand-in's ids as other tokens: text in, nonsense out.
            warnings.warn(
                f"boot_bridge({name!r}, load_weights=True): {tokenizer}; its token ids are "
                "not the model's, so pass token ids, not text",
                UserWarning,
                stacklevel=4,
            )
        try:
            # output_attentions as boot_transformers loads the config itself.
            hf_config = AutoConfig.from_pretrained(folder, output_attentions=True)
            model_class = helpers.get_hf_model_class_for_architecture(
                hf_format.determine_architecture_from_hf_config(hf_config)
            )
            if snapshot is None:
                with torch.device(device):
                    model = model_class.from_config(
                        hf_config, dtype=dtype, attn_implementation="eager"
                    )
            else:
                model = _load(model_class, folder, hf_config, dtype, name).to(device)
        except PresetError:
            raise
        except Exception as exc:  # what transformers says about these values
            raise BridgeError(
                f"transformers cannot build {arch} from this preset on {device}: "
                f"{type(exc).__name__}: {exc}",
                preset=name,
            ) from None
        try:
            return TransformerBridge.boot_transformers(
                folder, hf_model=model, device=device, dtype=dtype
            )
        except Exception as exc:  # what TransformerLens says about this model
            if device.type == "meta" and isinstance(exc, NotImplementedError):
                raise BridgeError(
                    f"TransformerLens 4 cannot boot {arch} on the meta device: it reads the "
                    f"weights' values at boot ({exc}); boot it on the CPU with "
                    f"device='cpu' ({weight_size(values, dtype)} of weights)",
                    preset=name,
                    key="device",
                ) from None
            raise BridgeError(
                f"TransformerLens 4 cannot boot {arch} from this preset: "
                f"{type(exc).__name__}: {exc}",
                preset=name,
            ) from None


def _load(model_class: Any, folder: str, hf_config: Any, dtype: Any, name: str | None) -> Any:
    """The model with the checkpoint's weights; a weight it lacks or shapes differently
    is an error, never a randomly initialised part."""
    try:
        model, info = model_class.from_pretrained(
            folder,
            config=hf_config,
            dtype=dtype,
            attn_implementation="eager",
            local_files_only=True,
            output_loading_info=True,
        )
    except Exception as exc:  # a checkpoint that does not fit these values
        message = str(exc).strip().splitlines()
        raise BridgeError(
            "the checkpoint in the Hugging Face cache does not fit this preset's model: "
            f"{type(exc).__name__}: {' '.join(line.strip() for line in message[:3])}",
            preset=name,
            key="load_weights",
        ) from None
    for key, what in (
        ("missing_keys", "lacks"),
        ("mismatched_keys", "has another shape for"),
    ):
        found = sorted(map(str, info.get(key) or ()))
        if found:
            shown = ", ".join(found[:5]) + (f", ... ({len(found)})" if len(found) > 5 else "")
            raise BridgeError(
                f"the checkpoint in the Hugging Face cache {what} weights of this preset's "
                f"model: {shown}",
                preset=name,
                key="load_weights",
            )
    return model
