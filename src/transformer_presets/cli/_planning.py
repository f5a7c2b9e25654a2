"""What ``size`` and ``hooks`` ask about: the preset's plan at a batch, length and dtype.

Both commands read their arguments into the same question (:func:`plan_for`), refuse
the same usage errors, and say the same things about the answer: no hook matched the
glob, the experts' split, a model TransformerLens 3.9 converts.
"""

from __future__ import annotations

import sys

from ..errors import PresetArgumentError, PresetError
from ..planner.hooked import BridgePlan, ModelPlan
from ._output import PROG, clean
from ._quick import registry_for

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from ..registry.registry import PresetRegistry
    from ._quick import Args

__all__ = ["glob_note", "notes", "plan_for", "selected"]


def plan_for(
    args: Args,
) -> tuple[str, dict[str, Any], dict[str, Any], ModelPlan, int, int, str]:
    """(the preset's name, values, derived values, plan, batch, seq, dtype) for the arguments."""
    registry = registry_for(args)
    name = registry.name(args.name)
    values, derived = registry.resolve(name), registry.derived(name)
    kind = BridgePlan if args.model == "bridge" else ModelPlan
    try:
        plan = kind.from_resolved(values, derived)
        dtype = args.dtype or plan.dtype
        if isinstance(plan, BridgePlan) and args.dtype is None:
            plan.layout.check_dtype(dtype)  # the preset's own dtype
    except PresetError as exc:
        raise at_its_origin(exc, registry, name) from None
    if isinstance(plan, BridgePlan) and args.dtype is not None:
        try:
            plan.layout.check_dtype(dtype)
        except PresetError as exc:  # a usage error (status 2)
            raise PresetArgumentError(f"argument --dtype: {exc.reason}") from None
    seq = plan.n_ctx if args.seq is None else args.seq
    if seq > plan.n_ctx:
        # A usage error (status 2).
        raise PresetArgumentError(
            f"argument --seq: {seq} is beyond {name}'s context (n_ctx = {plan.n_ctx})"
        )
    return name, values, derived, plan, args.batch, seq, dtype


def at_its_origin(exc: PresetError, registry: PresetRegistry, name: str) -> PresetError:
    """``exc``, a refusal of one of preset ``name``'s values, naming the file (and line)
    that set the value (or the preset's file, for a value it does not set)."""
    origin = registry.explain(name).get(exc.key or "")
    if origin is not None and origin.file is not None:
        return exc.with_context(preset=name, file=origin.file, line=origin.line)
    return exc.with_context(preset=name, file=registry.info(name).file)


def selected(option: str, question: Callable[[], Any]) -> Any:
    """``question()``, a selection the planner refuses being a usage error of ``option``
    (status 2): the bridge's model-level rotary tables with only some layers' (Gemma 3)."""
    try:
        return question()
    except PresetError as exc:
        if exc.key != "names":
            raise
        raise PresetArgumentError(f"argument {option}: {exc.reason}") from None


def glob_note(glob: str | None, count: int) -> None:
    """Tell stderr that ``glob`` matched no hook."""
    if glob is not None and count == 0:
        sys.stderr.write(clean(f"{PROG}: no hooks match {glob!r}") + "\n")


def notes(plan: ModelPlan, dtype: str) -> list[str]:
    """What the reader of a mixture of experts' numbers should know."""
    said = []
    if plan.experts:
        said.append(
            "Expert hooks: an even split of the routed tokens (the router decides the real one;\n"
            "the totals are the same)."
        )
    if plan._converted(dtype):
        said.append(
            f"TransformerLens 3.9 keeps this model's experts and router in float32 and cannot run\n"
            f"it so in {dtype}: these are the numbers of the model after model.to({dtype})."
        )
    return said
