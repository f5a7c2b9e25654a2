"""The activation functions a ``HookedTransformerConfig`` may name, as torch callables.

This module imports torch; the registry never imports it (it only needs the
names, which live in ``config.ACTIVATION_NAMES``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..fields.rules import ACTIVATION_NAMES

__all__ = ["SUPPORTED_ACTIVATIONS", "gelu_fast", "gelu_new", "relu2", "solu", "xielu"]

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def gelu_new(x: torch.Tensor) -> torch.Tensor:
    """GELU with the tanh approximation, written out as GPT-2's code has it."""
    return 0.5 * x * (1.0 + torch.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * torch.pow(x, 3.0))))


def gelu_fast(x: torch.Tensor) -> torch.Tensor:
    """The same tanh approximation, factored to save a multiplication."""
    return 0.5 * x * (1.0 + torch.tanh(x * _SQRT_2_OVER_PI * (1.0 + 0.044715 * x * x)))


def solu(x: torch.Tensor) -> torch.Tensor:
    """Softmax Linear Unit: ``x * softmax(x)`` over the last dimension.

    ``solu_ln`` uses the same function; the LayerNorm that follows it is a
    separate module of the model, not part of the activation.
    """
    return x * F.softmax(x, dim=-1)


def _gelu_pytorch_tanh(x: torch.Tensor) -> torch.Tensor:
    return F.gelu(x, approximate="tanh")


def xielu(x: torch.Tensor) -> torch.Tensor:
    """xIELU (Huang & Schlag, 2024) with its initial parameters fixed.

    Positive inputs get ``alpha_p * x**2 + beta * x``; negative ones
    ``alpha_n * (expm1(min(x, eps)) - x) + beta * x``, with alpha_p = alpha_n
    = 0.8, beta = 0.5 and eps = -1e-6. In a trained model (Apertus) alpha_p
    and alpha_n are learned per layer; TransformerLens loads those into a
    module, and this function is the parameter-free form.
    """
    alpha_p, alpha_n, beta = 0.8, 0.8, 0.5
    eps = torch.tensor(-1e-6, dtype=x.dtype, device=x.device)
    positive = alpha_p * x * x + beta * x
    negative = alpha_n * (torch.expm1(torch.minimum(x, eps)) - x) + beta * x
    return torch.where(x > 0, positive, negative)


def relu2(x: torch.Tensor) -> torch.Tensor:
    """Squared ReLU, ``relu(x) ** 2`` (Primer; used by Arcee's models)."""
    r = F.relu(x)
    return r * r


SUPPORTED_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "solu": solu,
    "solu_ln": solu,
    "gelu_new": gelu_new,
    "gelu_fast": gelu_fast,
    "silu": F.silu,
    "relu": F.relu,
    "gelu": F.gelu,
    "gelu_pytorch_tanh": _gelu_pytorch_tanh,
    "xielu": xielu,
    "relu2": relu2,
}

# The config module checks names without importing torch; keep both lists one list.
if tuple(SUPPORTED_ACTIVATIONS) != ACTIVATION_NAMES:  # pragma: no cover - guarded by a test
    raise ImportError("SUPPORTED_ACTIVATIONS and ACTIVATION_NAMES disagree")
