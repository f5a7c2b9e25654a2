"""``hooks NAME [GLOB]``: every hook ``run_with_cache`` fills, with its shape and bytes.

For HookedTransformer, or with ``--model bridge`` for TransformerLens 4.3's
``TransformerBridge``: the planner lays out only the hooks the glob can match.
"""

from __future__ import annotations

import sys

from ..planner.hooked import BridgePlan, held_bytes
from ._output import DIM, EXIT_OK, Style, emit, print_json, table
from ._planning import glob_note, notes, plan_for, selected
from ._units import format_bytes

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._quick import Args

__all__ = ["cmd_hooks"]


def cmd_hooks(args: Args) -> int:

    name, _, _, plan, batch, seq, dtype = plan_for(args)
    # Hooks the glob cannot match (every expert's, for hook_embed) are never laid out.
    specs = selected("GLOB", lambda: plan.hook_specs(batch, seq, dtype, names=args.glob))
    total = held_bytes(specs)
    if args.json:
        print_json(
            {
                "name": name,
                "model": args.model,
                "batch": batch,
                "seq": seq,
                "dtype": dtype,
                "pattern": args.glob,
                "hooks": [s.to_dict() for s in specs],
                "total_bytes": total,
            }
        )
        return EXIT_OK

    style = Style(sys.stdout)
    listed = {s.name for s in specs}
    rows = []
    for s in specs:
        shared = s.same_as is not None and s.same_as in listed
        note = f"same tensor as {s.same_as}" if shared else ""
        if not shared and s.storage_bytes is not None:
            note = (
                f"a view of {format_bytes(s.storage_bytes)}"
                if s.storage_bytes
                else "a view of a model buffer"
            )
        rows.append(
            [
                s.name,
                "[" + ", ".join(map(str, s.shape)) + "]",
                s.dtype,
                format_bytes(s.nbytes),
                note,
            ]
        )

    def colour(_row: int, col: int, text: str) -> str | None:
        return DIM if col == 4 and text else None

    lines = table(
        ["HOOK", "SHAPE", "DTYPE", "BYTES", "NOTE"], rows, right=(3,), style=style, colours=colour
    )
    lines.append(
        f"{len(specs)} hooks, {format_bytes(total)} ({total:,} bytes; "
        f"batch {batch} x seq {seq}, a tensor under two names counted once)"
    )
    lines += [style(note, DIM) for note in notes(plan, dtype)]
    if isinstance(plan, BridgePlan):
        if plan.layout.rotary_varies and any(
            s.name.endswith(("hook_cos", "hook_sin")) for s in specs
        ):
            lines.append(style(plan.layout.rotary_note(), DIM))
        lines.append(style(f"TransformerLens 4.3 TransformerBridge: {plan.architecture}", DIM))
    emit(lines)
    glob_note(args.glob, len(specs))
    return EXIT_OK
