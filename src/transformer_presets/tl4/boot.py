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
imported, so a bad preset gets its own error whichever TransformerLens is installed.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import PresetArgumentError, PresetError
from .fields import (
    DROPPED,
    FIELD_DECISIONS,
    NATIVE_ACTIVATIONS,
    native_problems,
)

if TYPE_CHECKING:
    import torch
    from transformer_lens.config import TransformerBridgeConfig
    from transformer_lens.model_bridge import TransformerBridge

    from ..config.hooked import HookedTransformerConfig

__all__ = ["MIN_TL_VERSION", "BridgeError", "boot_bridge", "to_bridge_config"]

#: The oldest TransformerLens these functions work with (4.3: ``boot_native`` and
#: ``boot_transformers(hf_model=...)`` as used here).
MIN_TL_VERSION = (4, 3)
_INSTALL = "pip install 'transformer-lens>=4.3,<5'"
# A config.json key that makes transformers fetch the model's code from its repository
# (trust_remote_code): boot_bridge runs no downloaded code.
_REMOTE_CODE = "auto_map"


class BridgeError(PresetError):
    """A preset cannot become a TransformerLens 4 model the way it was asked for."""


# -- the preset's values ----------------------------------------------------------------------


def _preset_values(
    preset: str | Mapping[str, Any] | HookedTransformerConfig, overrides: Mapping[str, Any]
) -> tuple[dict[str, Any], str | None]:
    """Every field of the preset with ``overrides`` applied (checked, derived values
    filled in, as a built config holds them), and its official name (None for a config)."""
    from ..config.hooked import HookedTransformerConfig

    if isinstance(preset, str):
        from ..registry.registry import default_registry

        registry = default_registry()
        name = registry.name(preset)
        return registry.get(name, **overrides).to_dict(), name
    if isinstance(preset, HookedTransformerConfig):
        if not overrides:
            return preset.to_dict(), None
        given = {k: v for k, v in preset.to_dict().items() if k != "n_params"}
    elif isinstance(preset, Mapping):
        given = dict(preset)
    else:
        raise PresetArgumentError(
            "expected a preset name, a HookedTransformerConfig or a mapping of field values, "
            f"got {type(preset).__name__}"
        )
    return HookedTransformerConfig.from_dict({**given, **overrides}).to_dict(), None


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list) and len(value) > 4:
        return f"[{', '.join(map(repr, value[:4]))}, ... ({len(value)} entries)]"
    return repr(value)


# -- TransformerLens 4 --------------------------------------------------------------------------


def _require_tl4(what: str) -> None:
    """Raise :class:`BridgeError` unless TransformerLens >= 4.3 is installed.

    The version comes from the installed distribution's metadata, so TransformerLens 3
    is never imported to find out.
    """
    import importlib.metadata

    try:
        found = importlib.metadata.version("transformer-lens")
    except importlib.metadata.PackageNotFoundError:
        raise BridgeError(
            f"{what} needs TransformerLens 4 (TransformerBridge), which is not installed: "
            f"{_INSTALL}"
        ) from None
    version = _version_tuple(found)
    if version < MIN_TL_VERSION:
        has = (
            "which has only HookedTransformer (get_preset gives its config)"
            if version[0] < 4
            else "whose loaders differ from what these functions use"
        )
        raise BridgeError(
            f"{what} needs TransformerLens {'.'.join(map(str, MIN_TL_VERSION))} or later "
            f"(TransformerBridge); found transformer-lens {found}, {has}: {_INSTALL}"
        )


def _version_tuple(version: str) -> tuple[int, int]:
    """The major and minor numbers of a version string (``"4.3.0rc1"`` -> ``(4, 3)``).

    >>> _version_tuple("4.3.0rc1"), _version_tuple("3.9.0"), _version_tuple("4.10"), _version_tuple("x")
    ((4, 3), (3, 9), (4, 10), (0, 0))
    """
    numbers = []
    for part in [*version.split("."), "0", "0"][:2]:
        digits = ""
        for char in part:
            if not char.isdigit():
                break
            digits += char
        numbers.append(int(digits) if digits else 0)
    return numbers[0], numbers[1]


# -- boot_native --------------------------------------------------------------------------------


def _rope_scaling(v: Mapping[str, Any]) -> dict[str, Any] | None:
    """The native model's ``rope_scaling`` for what HookedTransformer scales, or None."""
    if v["positional_embedding_type"] != "rotary":
        return None
    if v["use_NTK_by_parts_rope"]:
        return {
            "rope_type": "llama3",
            "factor": float(v["NTK_by_parts_factor"]),
            "low_freq_factor": float(v["NTK_by_parts_low_freq_factor"]),
            "high_freq_factor": float(v["NTK_by_parts_high_freq_factor"]),
            "original_max_position_embeddings": int(v["NTK_original_ctx_len"]),
        }
    if not v["use_yarn_rope"] and v["rotary_scaling_factor"] != 1.0:
        return {"rope_type": "linear", "factor": float(v["rotary_scaling_factor"])}
    return None


def bridge_config_values(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(arguments, attributes)``: what ``TransformerBridgeConfig(**arguments)`` takes for
    ``values``, and what is set on it after construction (``rotary_base``, whose
    ``__init__`` truncates it with ``int()``, and ``rope_scaling``, which it does not take).

    ``values`` must be a preset the native model builds (:func:`native_problems` empty).
    """
    arguments: dict[str, Any] = {}
    for field, decision in FIELD_DECISIONS.items():
        if decision.kind == DROPPED or not decision.tl4_field:
            continue
        value = values[field]
        if field == "act_fn":
            value = NATIVE_ACTIVATIONS.get(value, value) if value is not None else None
        elif field == "final_rms":
            value = bool(value) and values["normalization_type"] in ("LN", "LNPre")
        elif field == "rotary_adjacent_pairs":
            value = True
        elif field == "rotary_base":
            value = int(value)  # set exactly below
        elif field == "tokenizer_prepends_bos" and value is None:
            continue
        arguments[field] = value
    attributes: dict[str, Any] = {"rotary_base": values["rotary_base"]}
    scaling = _rope_scaling(values)
    if scaling is not None:
        attributes["rope_scaling"] = scaling
    return arguments, attributes


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
    values, name = _preset_values(preset, overrides)
    problems = native_problems(values)
    if problems:
        (field, reason), *others = problems
        also = sorted({f for f, _ in others} - {field})
        more = f" (also: {', '.join(also)})" if also else ""
        raise BridgeError(
            f"TransformerLens 4's native model cannot build this preset: {field} = "
            f"{_show(values[field])}: {reason}{more}; {_instead(values, name)}",
            preset=name,
            key=field,
        )
    _require_tl4("to_bridge_config")
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


def _instead(values: Mapping[str, Any], name: str | None) -> str:
    """Where to go instead of the native model: boot_bridge, if it builds this preset."""
    try:
        _transformers_config(values, name)
    except PresetError as exc:
        if exc.key == "original_architecture" and "cannot export" in exc.reason:
            reason = f"transformers has no {values['original_architecture']} architecture"
        else:
            reason = exc.reason
        return f"nor can boot_bridge, which builds through transformers: {reason}"
    called = f"boot_bridge({name!r})" if name else "boot_bridge(...)"
    return f"{called} builds it through transformers"


def _transformers_config(values: Mapping[str, Any], name: str | None) -> dict[str, Any]:
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


# -- boot_bridge --------------------------------------------------------------------------------


def _dtype(value: Any, values: Mapping[str, Any]) -> torch.dtype:
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


def _device(value: Any, values: Mapping[str, Any]) -> torch.device:
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
    values, name = _preset_values(preset, overrides)
    torch_dtype = _dtype(dtype, values)
    torch_device = _device(device, values)
    if load_weights and torch_device.type == "meta":
        raise BridgeError(
            "load_weights=True loads nothing onto the meta device: pass another device",
            preset=name,
            key="device",
        )
    config = _transformers_config(values, name)
    snapshot, weights = _cached_weights(values, name) if load_weights else (None, [])
    if torch_device.type == "cpu":
        _check_memory(values, torch_dtype, name)
    _require_tl4("boot_bridge")
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


def _cached_weights(values: Mapping[str, Any], name: str | None) -> tuple[str, list[str]]:
    """The snapshot and weight files of the preset's model in the Hugging Face cache."""
    from ..hf.model_folder import cached_weights

    repo = name or values["tokenizer_name"]
    if repo is None:
        raise BridgeError(
            "load_weights=True needs a preset name (or tokenizer_name) to find the weights "
            "in the Hugging Face cache",
            key="load_weights",
        )
    try:
        return cached_weights(repo, _revision(values, repo))
    except PresetError as exc:
        raise BridgeError(
            exc.reason, file=exc.file, preset=name, key=exc.key or "load_weights"
        ) from None


def _tl4_module(name: str) -> Any:
    """A module of TransformerLens 4's loader that ``boot_bridge`` uses (4.3's layout)."""
    import importlib

    try:
        return importlib.import_module(f"transformer_lens.{name}")
    except ImportError as exc:  # a later 4.x that moved it
        raise BridgeError(
            f"boot_bridge uses transformer_lens.{name}, which this TransformerLens "
            f"does not have ({exc}); it was written for 4.3: {_INSTALL}"
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
            config = _with_tie(config, _checkpoint_tie(snapshot))
            for path in weights:
                _link(path, os.path.join(folder, os.path.basename(path)))
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
                    f"device='cpu' ({_weight_size(values, dtype)} of weights)",
                    preset=name,
                    key="device",
                ) from None
            raise BridgeError(
                f"TransformerLens 4 cannot boot {arch} from this preset: "
                f"{type(exc).__name__}: {exc}",
                preset=name,
            ) from None


def _link(source: str, target: str) -> None:
    """Put the cached weight file ``source`` at ``target``: a link, else a copy."""
    import shutil

    real = os.path.realpath(source)
    try:
        os.symlink(real, target)
    except OSError:  # a file system (or Windows user) without symbolic links
        shutil.copyfile(real, target)


def _weight_size(values: Mapping[str, Any], dtype: torch.dtype) -> str:
    from ..fields.params import total_params

    return "about " + _bytes(total_params(values) * dtype.itemsize)


def _bytes(size: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.1f} {unit}" if unit != "bytes" else f"{size:.0f} bytes"
        size /= 1024
    raise AssertionError  # pragma: no cover


def _check_memory(values: Mapping[str, Any], dtype: torch.dtype, name: str | None) -> None:
    """Refuse a CPU build whose weights alone exceed the memory available now.

    Linux hands out memory it does not have (overcommit) and kills the process that
    touches too much of it: better a clear error before than the OOM killer after.
    """
    from ..fields.params import total_params

    needed = total_params(values) * dtype.itemsize
    available = _available_memory()
    if available is not None and needed > available:
        raise BridgeError(
            f"its weights take about {_bytes(needed)} in {str(dtype).removeprefix('torch.')}, "
            f"more than the {_bytes(available)} this machine has available: build it with "
            "device='meta' (no memory), on a GPU, or smaller (overrides such as n_layers=2)",
            preset=name,
            key="device",
        )


def _available_memory() -> int | None:
    """The memory available for new allocations (Linux's MemAvailable), or None if unknown."""
    from ..common.fileio import read_regular

    try:
        text = read_regular("/proc/meminfo", 1 << 16).decode("ascii", "replace")
    except OSError:
        return None
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] == "MemAvailable:" and fields[1].isdigit():
            return int(fields[1]) * 1024
    return None


def _checkpoint_tie(snapshot: str) -> bool | None:
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


def _with_tie(config: dict[str, Any], tie: bool | None) -> dict[str, Any]:
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
