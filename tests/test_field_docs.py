"""Every config field has a description, and the table names no field that does not exist."""

from __future__ import annotations

import dataclasses

from transformer_presets.config.hooked import HookedTransformerConfig
from transformer_presets.fields.docs import FIELD_DOCS


def test_every_field_is_documented_and_no_stray_name() -> None:
    fields = [f.name for f in dataclasses.fields(HookedTransformerConfig)]
    assert sorted(set(fields) - set(FIELD_DOCS)) == []
    assert sorted(set(FIELD_DOCS) - set(fields)) == []


def test_descriptions_are_single_sentences_of_plain_text() -> None:
    for name, text in FIELD_DOCS.items():
        # Shown as one line in an editor's hover: no layout, a capital, a full stop.
        assert text == text.strip() and "\n" not in text, name
        assert text[0].isupper() or text[0] in "'-", name
        assert text.endswith((".", ")")), name
        assert 20 <= len(text) <= 260, name


def test_the_class_docstring_points_at_the_table() -> None:
    assert "FIELD_DOCS" in (HookedTransformerConfig.__doc__ or "")
