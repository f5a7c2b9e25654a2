"""One module per architecture family, each holding both directions side by side.

A family module's docstring says what its models have and lack; its ``ARCHITECTURES``
are the Hugging Face classes it reads (``config.json`` -> the values TransformerLens
3.9 builds) and writes (preset -> ``config.json``), each an
:class:`~transformer_presets.hf._family.Architecture`. Family modules use the shared
modules of :mod:`transformer_presets.hf` and never each other.

Adding an architecture is a new module here, and its ``ARCHITECTURES`` imported and
listed in ``_FAMILIES`` below (the README's "Adding an architecture" walks through one).
"""

from __future__ import annotations

from .._family import Architecture
from .apertus import ARCHITECTURES as APERTUS
from .bert import ARCHITECTURES as BERT
from .bloom import ARCHITECTURES as BLOOM
from .gemma import ARCHITECTURES as GEMMA
from .gpt2 import ARCHITECTURES as GPT2
from .gpt_neo import ARCHITECTURES as GPT_NEO
from .gpt_neox import ARCHITECTURES as GPT_NEOX
from .gpt_oss import ARCHITECTURES as GPT_OSS
from .gptj import ARCHITECTURES as GPTJ
from .llama import ARCHITECTURES as LLAMA
from .olmo import ARCHITECTURES as OLMO
from .opt import ARCHITECTURES as OPT
from .phi import ARCHITECTURES as PHI
from .qwen import ARCHITECTURES as QWEN
from .t5 import ARCHITECTURES as T5

__all__ = ["ARCHITECTURES"]

_FAMILIES = (
    APERTUS,
    BERT,
    BLOOM,
    GEMMA,
    GPT2,
    GPT_NEO,
    GPT_NEOX,
    GPT_OSS,
    GPTJ,
    LLAMA,
    OLMO,
    OPT,
    PHI,
    QWEN,
    T5,
)

#: Every architecture both bridges know, by its Hugging Face class name.
ARCHITECTURES: dict[str, Architecture] = {
    arch.name: arch for family in _FAMILIES for arch in family
}
