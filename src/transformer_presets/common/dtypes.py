"""The dtype names a config takes, with the size of one element: pure data, no torch."""

from __future__ import annotations

from ..errors import PresetValidationError, did_you_mean

__all__ = ["DTYPE_NAMES", "dtype_name", "dtype_size"]

#: Names accepted for ``dtype``, mapped to the ``torch`` attribute and the size in bytes.
DTYPE_NAMES: dict[str, tuple[str, int]] = {
    "float32": ("float32", 4),
    "float": ("float32", 4),
    "fp32": ("float32", 4),
    "float64": ("float64", 8),
    "double": ("float64", 8),
    "fp64": ("float64", 8),
    "float16": ("float16", 2),
    "half": ("float16", 2),
    "fp16": ("float16", 2),
    "bfloat16": ("bfloat16", 2),
    "bf16": ("bfloat16", 2),
}


def dtype_name(value: str) -> str:
    """The canonical torch attribute name for a dtype name (``"bf16"`` -> ``"bfloat16"``).

    >>> dtype_name("torch.bf16")
    'bfloat16'
    """
    name = value.removeprefix("torch.")
    if name not in DTYPE_NAMES:
        raise PresetValidationError(
            f"{value!r} is not a known dtype{did_you_mean(name, DTYPE_NAMES)}", key="dtype"
        )
    return DTYPE_NAMES[name][0]


def dtype_size(value: object) -> int:
    """Bytes per element of a dtype given by name or as a ``torch.dtype``.

    >>> dtype_size("bf16")
    2
    """
    if isinstance(value, str):
        return DTYPE_NAMES[dtype_name(value)][1]
    # A torch.dtype knows its own size; reading it keeps torch out of this module.
    itemsize = getattr(value, "itemsize", None)
    if isinstance(itemsize, int) and not isinstance(itemsize, bool):
        return itemsize
    raise PresetValidationError(
        f"must be a torch.dtype or its name, got {type(value).__name__}", key="dtype"
    )
