"""The files transformers reads beside a ``config.json``: a tokenizer, and the weights.

``TransformerBridge.boot_transformers(FOLDER)`` (TransformerLens 4) loads a
tokenizer from the model's folder, and the weights too when asked. This module
finds them in the Hugging Face hub cache, offline, and writes them into a folder:

- the model's own tokenizer files when its cache folder holds them (copied);
- otherwise a **stand-in tokenizer**: byte-level BPE without merges (every byte of
  UTF-8 text is one token, with GPT-2's byte-to-character table), ids 0 to 255 for
  the bytes and 256 for ``<|endoftext|>``, which is its BOS, EOS and padding. It
  encodes any text, round-trips it exactly, and every id fits the model's
  vocabulary; with a vocabulary under 257 ids, the bytes from ``d_vocab - 1`` up
  map to ``<|endoftext|>`` (its id is then ``d_vocab - 1``). It is written as
  ``tokenizer.json`` for the ``tokenizers`` library, which transformers reads
  without downloading anything; a trained model's ids mean other things, so it is
  for models with fresh weights;
- the weights (``*.safetensors``, or ``pytorch_model*.bin``) of the snapshot,
  linked.

Pure Python: nothing here imports transformers or torch, so the command line can
write a folder too (``export-hf --tokenizer``).
"""

from __future__ import annotations

import json
import os
import stat

from ..common.fileio import kind_of, read_regular
from ..common.filewrite import write_file
from ..errors import PresetError
from .hub_cache import snapshot_folder

__all__ = [
    "MAX_TOKENIZER_FILE_BYTES",
    "STAND_IN_NOTE",
    "STAND_IN_SPECIAL",
    "TOKENIZER_FILES",
    "cached_tokenizer",
    "cached_weights",
    "stand_in_tokenizer",
    "tokenizer_files",
    "write_tokenizer",
]

#: The files that make a tokenizer, as transformers' tokenizer classes look for them.
TOKENIZER_FILES: tuple[str, ...] = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.json",
    "merges.txt",
    "vocab.txt",
    "tokenizer.model",
    "spiece.model",
    "qwen.tiktoken",
    "chat_template.jinja",
)
# Without one of these there is no vocabulary to read, only settings.
_VOCABULARY_FILES = frozenset(
    {
        "tokenizer.json",
        "vocab.json",
        "vocab.txt",
        "tokenizer.model",
        "spiece.model",
        "qwen.tiktoken",
    }
)

#: The largest tokenizer file copied (Gemma 3's tokenizer.json is 33 MiB).
MAX_TOKENIZER_FILE_BYTES = 256 << 20

#: The stand-in's one special token: its BOS, EOS, padding and (for small vocabularies) unknown.
STAND_IN_SPECIAL = "<|endoftext|>"

#: What the stand-in is, written beside it (``TOKENIZER-STAND-IN.txt``).
STAND_IN_NOTE = (
    "This tokenizer is a stand-in written by transformer-presets, because the Hugging Face\n"
    "cache holds no tokenizer for this model: byte-level BPE without merges, one token per\n"
    "byte of UTF-8 text (ids 0-255), and <|endoftext|> (id 256, or d_vocab - 1 in a smaller\n"
    "vocabulary) as BOS, EOS and padding. It encodes any text without downloading anything;\n"
    "its ids are not the model's own, so use it with fresh weights, not a trained model.\n"
)


def _byte_characters() -> list[str]:
    """GPT-2's printable character for each byte value, in byte order."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1)]
    printable += range(ord("®"), ord("ÿ") + 1)
    chars = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in chars:
            chars[b] = chr(256 + extra)
            extra += 1
    return [chars[b] for b in range(256)]


def stand_in_tokenizer(d_vocab: int, n_ctx: int) -> dict[str, str]:
    """The stand-in tokenizer's files (name -> text) for a vocabulary of ``d_vocab`` ids.

    >>> files = stand_in_tokenizer(50257, 1024)
    >>> sorted(files)
    ['TOKENIZER-STAND-IN.txt', 'tokenizer.json', 'tokenizer_config.json']
    >>> json.loads(files["tokenizer.json"])["added_tokens"][0]["id"]
    256
    """
    if not isinstance(d_vocab, int) or d_vocab < 2:
        raise PresetError(
            f"the stand-in tokenizer needs a vocabulary of at least 2 ids, got {d_vocab}",
            key="d_vocab",
        )
    n_bytes = min(256, d_vocab - 1)
    special = n_bytes
    vocab = {char: i for i, char in enumerate(_byte_characters()[:n_bytes])}
    vocab[STAND_IN_SPECIAL] = special
    byte_level = {"add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    tokenizer: dict[str, object] = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {
                "id": special,
                "content": STAND_IN_SPECIAL,
                "single_word": False,
                "lstrip": False,
                "rstrip": False,
                "normalized": False,
                "special": True,
            }
        ],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", **byte_level},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", **byte_level},
        "model": {
            "type": "BPE",
            "dropout": None,
            # Bytes past a small vocabulary become the special token.
            "unk_token": STAND_IN_SPECIAL if n_bytes < 256 else None,
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": False,
            "byte_fallback": False,
            "ignore_merges": False,
            "vocab": vocab,
            "merges": [],
        },
    }
    settings = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": STAND_IN_SPECIAL,
        "eos_token": STAND_IN_SPECIAL,
        "unk_token": STAND_IN_SPECIAL,
        "pad_token": STAND_IN_SPECIAL,
        "model_max_length": n_ctx,
        "clean_up_tokenization_spaces": False,
    }
    return {
        "tokenizer.json": json.dumps(tokenizer, ensure_ascii=False) + "\n",
        "tokenizer_config.json": json.dumps(settings, indent=2) + "\n",
        "TOKENIZER-STAND-IN.txt": STAND_IN_NOTE,
    }


def _regular_size(path: str) -> int | None:
    """The size of the regular file ``path`` (links followed), or None if it is none."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size if stat.S_ISREG(st.st_mode) else None


def cached_tokenizer(repo: str, revision: str | None = None) -> dict[str, str] | None:
    """The tokenizer files (name -> path) of ``repo``'s snapshot in the hub cache, or None
    when the cache holds no vocabulary for it.

    A file that is a link to nowhere, or is not a regular file (a FIFO, a device), is an
    error naming it, as is one larger than :data:`MAX_TOKENIZER_FILE_BYTES`.
    """
    folder = snapshot_folder(repo, revision)
    if folder is None:
        return None
    found = {}
    for name in TOKENIZER_FILES:
        path = os.path.join(folder, name)
        if not os.path.lexists(path):
            continue
        _check_file(path, MAX_TOKENIZER_FILE_BYTES, what="tokenizer file")
        found[name] = path
    if not _VOCABULARY_FILES & set(found):
        return None
    return found


def _check_file(path: str, limit: int | None, *, what: str) -> None:
    try:
        st = os.stat(path)
    except OSError:
        target = os.readlink(path) if os.path.islink(path) else path
        raise PresetError(
            f"this {what} of the Hugging Face cache is a link to {target}, which does not "
            "exist (download the model again)",
            file=path,
        ) from None
    if not stat.S_ISREG(st.st_mode):
        raise PresetError(f"this {what} is {kind_of(st.st_mode)}, not a regular file", file=path)
    if limit is not None and st.st_size > limit:
        raise PresetError(
            f"this {what} has {st.st_size} bytes, more than the limit of {limit}", file=path
        )


def tokenizer_files(
    repo: str | None, *, d_vocab: int, n_ctx: int, revision: str | None = None
) -> tuple[str, dict[str, bytes]]:
    """``(what, files)``: the tokenizer for a model folder, as file name -> bytes: ``repo``'s
    own from the hub cache, else the stand-in; ``what`` says which, in words."""
    cached = cached_tokenizer(repo, revision) if repo else None
    if cached is not None:
        files = {}
        for name, source in cached.items():
            try:
                files[name] = read_regular(source, MAX_TOKENIZER_FILE_BYTES)
            except OSError as exc:
                raise PresetError(f"cannot read this tokenizer file: {exc}", file=source) from None
        return f"the tokenizer of {repo} from the Hugging Face cache", files
    why = f"no tokenizer of {repo} in the Hugging Face cache" if repo else "no model name"
    files = {k: v.encode("utf-8") for k, v in stand_in_tokenizer(d_vocab, n_ctx).items()}
    return f"the stand-in tokenizer ({why})", files


def write_tokenizer(
    folder: str, *, repo: str | None, d_vocab: int, n_ctx: int, revision: str | None = None
) -> str:
    """Write :func:`tokenizer_files` into ``folder``; returns what was written, in words."""
    what, files = tokenizer_files(repo, d_vocab=d_vocab, n_ctx=n_ctx, revision=revision)
    for name, data in files.items():
        write_file(os.path.join(folder, name), data)
    return what


_WEIGHT_INDEXES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")
_WEIGHT_SINGLES = ("model.safetensors", "pytorch_model.bin")


def cached_weights(repo: str, revision: str | None = None) -> tuple[str, list[str]]:
    """``(snapshot folder, weight files)`` of ``repo`` in the hub cache, offline.

    Safetensors first (an index and its shards, or one file), then PyTorch's ``.bin``.
    Raises :class:`PresetError` saying where it looked when the cache has no snapshot, or
    a snapshot without (complete) weights.
    """
    folder = snapshot_folder(repo, revision)
    where = f"{repo}" + (f" at revision {revision}" if revision else "")
    if folder is None:
        from .hub_cache import hub_cache_dir

        raise PresetError(
            f"the Hugging Face cache ({hub_cache_dir()}) holds no {where}; load_weights=True "
            "reads weights only from it (download them first, e.g. "
            f"huggingface-cli download {repo})",
            key="load_weights",
        )
    for index in _WEIGHT_INDEXES:
        path = os.path.join(folder, index)
        if not os.path.lexists(path):
            continue
        _check_file(path, 64 << 20, what="weight index")
        with open(path, encoding="utf-8") as f:
            try:
                weight_map = json.load(f)["weight_map"]
                shards = sorted(set(weight_map.values()))
            except (ValueError, KeyError, TypeError, AttributeError):
                raise PresetError("is not a weight index (no weight_map)", file=path) from None
        files = [path]
        for shard in shards:
            if not isinstance(shard, str) or os.path.basename(shard) != shard:
                raise PresetError(f"names a shard outside its folder: {shard!r}", file=path)
            shard_path = os.path.join(folder, shard)
            if not os.path.lexists(shard_path):
                raise PresetError(
                    f"the cache of {where} lacks the weight shard {shard} that its index names "
                    "(download the model again)",
                    file=folder,
                )
            _check_file(shard_path, None, what="weight file")
            files.append(shard_path)
        return folder, files
    for single in _WEIGHT_SINGLES:
        path = os.path.join(folder, single)
        if os.path.lexists(path):
            _check_file(path, None, what="weight file")
            return folder, [path]
    raise PresetError(
        f"the Hugging Face cache holds {where} without weights (only its other files); "
        f"load_weights=True reads weights only from the cache (download them first)",
        file=folder,
        key="load_weights",
    )
