"""Token counts and training cost: text tokens, image tokens per model, and the fine-tuning price table.

Text is counted with the real ``o200k_base`` encoding (GPT-4o and later) through ``tiktoken``, built from the
vocabulary file we ship in ``vqa_desk/resources/tokenizers``. ``tiktoken.get_encoding`` would download that
file on first use, which fails on an offline desktop; constructing the ``Encoding`` ourselves never touches
the network and gives exactly the counts ``tiktoken`` gives online.

Image tokens follow OpenAI's documented tile formula with per-model numbers kept in a table, and prices in
another table that records the day they were read: both change, and a stale figure must be visible as such.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from vqa_desk.core.errors import VQADeskError

DEFAULT_MODEL = "gpt-4o-2024-08-06"
ENCODING_NAME = "o200k_base"
# The hash tiktoken itself pins for o200k_base (tiktoken_ext/openai_public.py): a different file is refused.
_O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
# o200k_base's pre-tokenisation pattern and special tokens, as tiktoken defines them (checked by a test
# against tiktoken's own definition, so an upstream change cannot drift past us unnoticed).
_O200K_PATTERN = "|".join([
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""\p{N}{1,3}""",
    r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
    r"""\s*[\r\n]+""",
    r"""\s+(?!\S)""",
    r"""\s+""",
])
_O200K_SPECIAL = {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}

# Chat formatting around each message, counted the way OpenAI's cookbook counts it (num_tokens_from_messages):
# 3 tokens per message plus its role, and 3 that prime the reply.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_EXAMPLE = 3
# Longer examples are truncated by OpenAI's fine-tuning (REFERENCE.md §3), so they are charged at most this.
MAX_TOKENS_PER_EXAMPLE = 65_536


class TokenizerError(VQADeskError):
    """The bundled tokenizer data is missing or damaged (a broken installation)."""


# ----- text ---------------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def encoding() -> Any:
    """The ``o200k_base`` ``tiktoken.Encoding``, built offline from the bundled vocabulary (~0.3 s, once)."""
    import tiktoken

    ref = resources.files("vqa_desk") / "resources" / "tokenizers" / "o200k_base.tiktoken.gz"
    try:
        raw = gzip.decompress(ref.read_bytes())
    except (OSError, EOFError) as exc:
        raise TokenizerError(
            f"The bundled tokenizer file {ref} cannot be read ({exc}). Reinstall VQA Desk."
        ) from exc
    if hashlib.sha256(raw).hexdigest() != _O200K_SHA256:
        raise TokenizerError(f"The bundled tokenizer file {ref} is damaged (wrong checksum). Reinstall VQA Desk.")
    ranks: dict[bytes, int] = {}
    for line in raw.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return tiktoken.Encoding(ENCODING_NAME, pat_str=_O200K_PATTERN, mergeable_ranks=ranks,
                             special_tokens=_O200K_SPECIAL)


@lru_cache(maxsize=65_536)
def count_text_tokens(text: str) -> int:
    """Tokens of ``text`` in o200k_base. Special-token strings in user text count as plain text, as the API
    treats them. Cached: exports repeat the same system prompt and question templates on every line."""
    return len(encoding().encode_ordinary(text))


def message_text_tokens(messages: Iterable[Mapping[str, Any]]) -> int:
    """Text tokens of one chat example, formatting included (image parts count separately)."""
    total = TOKENS_PER_EXAMPLE
    for message in messages:
        total += TOKENS_PER_MESSAGE + count_text_tokens(str(message.get("role", "")))
        content = message.get("content")
        if isinstance(content, str):
            total += count_text_tokens(content)
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, Mapping) and part.get("type") == "text" and isinstance(part.get("text"), str):
                    total += count_text_tokens(part["text"])
    return total


# ----- images -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ImageTokenRule:
    """OpenAI's tile formula: fit within ``fit``x``fit``, shrink so the short side is at most ``short_side``,
    then ``base + tile * tiles`` with ``tile_size`` px tiles; ``detail: low`` costs ``base`` alone."""

    base: int
    tile: int
    fit: int = 2048
    short_side: int = 768
    tile_size: int = 512


# Longest matching prefix wins, so dated snapshots and fine-tuned names ("ft:gpt-4o-2024-08-06:org::id")
# find their family. Source: REFERENCE.md §3 (OpenAI vision documentation).
IMAGE_TOKEN_RULES: dict[str, ImageTokenRule] = {
    "gpt-4o": ImageTokenRule(base=85, tile=170),
    "gpt-4o-mini": ImageTokenRule(base=2833, tile=5667),
    "gpt-5": ImageTokenRule(base=70, tile=140),
}
_FALLBACK_FAMILY = "gpt-4o"


def base_model(model: str) -> str:
    """``ft:gpt-4o-2024-08-06:org:suffix:id`` -> ``gpt-4o-2024-08-06``; other names unchanged."""
    return model.split(":")[1] if model.startswith("ft:") else model


def image_rule(model: str) -> tuple[str, ImageTokenRule, bool]:
    """(family, rule, known) for a model name; unknown models get GPT-4o's rule and ``known=False``."""
    name = base_model(model)
    matches = [family for family in IMAGE_TOKEN_RULES if name == family or name.startswith(family + "-")]
    if not matches:
        return _FALLBACK_FAMILY, IMAGE_TOKEN_RULES[_FALLBACK_FAMILY], False
    family = max(matches, key=len)
    return family, IMAGE_TOKEN_RULES[family], True


def image_tokens(width: int, height: int, detail: str | None = None, model: str = DEFAULT_MODEL) -> int:
    """Tokens one image costs. ``auto`` and no detail are counted as ``high``: the API may choose either, and
    an estimate should not come out low."""
    _, rule, _ = image_rule(model)
    if detail == "low":
        return rule.base
    if width <= 0 or height <= 0:
        return rule.base
    w, h = float(width), float(height)
    if max(w, h) > rule.fit:
        scale = rule.fit / max(w, h)
        w, h = w * scale, h * scale
    # Only shrinking: a small cover is not blown up to 768 px (a 300x450 cover is one tile, 255 tokens).
    if min(w, h) > rule.short_side:
        scale = rule.short_side / min(w, h)
        w, h = w * scale, h * scale
    tiles = math.ceil(round(w, 6) / rule.tile_size) * math.ceil(round(h, 6) / rule.tile_size)
    return rule.base + rule.tile * tiles


# ----- prices and the estimate ----------------------------------------------------------------------------

@dataclass(frozen=True)
class FineTunePrice:
    """US dollars per 1M tokens for fine-tuning one model, and when and where the figures were read."""

    training: float
    input: float
    cached_input: float
    output: float
    read: str
    source: str


PRICES_READ = "2026-11-26"
PRICES: dict[str, FineTunePrice] = {
    "gpt-4o-2024-08-06": FineTunePrice(
        training=25.0, input=3.75, cached_input=1.875, output=15.0, read=PRICES_READ,
        source="OpenAI fine-tuning prices as collected in shared/REFERENCE.md §3",
    ),
}


def price_for(model: str) -> FineTunePrice | None:
    return PRICES.get(base_model(model))


def default_epochs(n_train: int) -> int:
    """What ``n_epochs: auto`` is likely to pick, by the rule of OpenAI's data-preparation cookbook: 3 epochs,
    more for tiny sets (about 100 examples seen), fewer for huge ones (about 25,000 seen)."""
    if n_train <= 0:
        return 3
    if n_train * 3 < 100:
        return min(25, 100 // n_train)
    if n_train * 3 > 25_000:
        return max(1, 25_000 // n_train)
    return 3


@dataclass
class SplitTokens:
    """Token figures of one split's examples."""

    examples: int = 0
    images: int = 0
    text_tokens: int = 0
    image_tokens: int = 0
    max_example_tokens: int = 0
    over_limit: int = 0  # examples above MAX_TOKENS_PER_EXAMPLE, which OpenAI truncates
    charged_tokens: int = 0  # what training bills: each example up to the limit

    def add(self, text: int, image: int, n_images: int) -> None:
        total = text + image
        self.examples += 1
        self.images += n_images
        self.text_tokens += text
        self.image_tokens += image
        self.max_example_tokens = max(self.max_example_tokens, total)
        self.over_limit += total > MAX_TOKENS_PER_EXAMPLE
        self.charged_tokens += min(total, MAX_TOKENS_PER_EXAMPLE)

    @property
    def total_tokens(self) -> int:
        return self.text_tokens + self.image_tokens

    def to_dict(self) -> dict[str, int]:
        return {**asdict(self), "total_tokens": self.total_tokens}


@dataclass
class Estimate:
    """Tokens per split and the training cost: training tokens x epochs x price (validation is not billed)."""

    model: str
    epochs: int
    epochs_auto: bool
    splits: dict[str, SplitTokens]
    price: FineTunePrice | None
    training_tokens: int
    training_cost_usd: float | None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "tokenizer": ENCODING_NAME,
            "epochs": self.epochs,
            "epochs_auto": self.epochs_auto,
            "splits": {name: s.to_dict() for name, s in self.splits.items()},
            "training_tokens": self.training_tokens,
            "billed_training_tokens": self.training_tokens * self.epochs,
            "training_price_per_1m_usd": self.price.training if self.price else None,
            "prices_read": self.price.read if self.price else None,
            "price_source": self.price.source if self.price else None,
            "training_cost_usd": self.training_cost_usd,
            "notes": list(self.notes),
        }


def make_estimate(splits: Mapping[str, SplitTokens], *, model: str = DEFAULT_MODEL,
                  epochs: int | None = None) -> Estimate:
    train = splits.get("train", SplitTokens())
    auto = epochs is None
    n_epochs = default_epochs(train.examples) if epochs is None else epochs
    price = price_for(model)
    notes: list[str] = []
    family, _, known = image_rule(model)
    if not known:
        notes.append(f"No image token rule for {model}; {family}'s was used. Add one to tokens.IMAGE_TOKEN_RULES.")
    if price is None:
        notes.append(f"No fine-tuning price for {model} in tokens.PRICES; the cost is not estimated.")
    if auto:
        notes.append(f"Epochs: {n_epochs}, what 'auto' is likely to choose for {train.examples} training examples.")
    if train.over_limit:
        notes.append(f"{train.over_limit} training examples exceed {MAX_TOKENS_PER_EXAMPLE:,} tokens and will be "
                     "truncated; they are counted up to the limit.")
    tokens = train.charged_tokens
    cost = None if price is None else round(tokens * n_epochs * price.training / 1_000_000, 2)
    return Estimate(model, n_epochs, auto, dict(splits), price, tokens, cost, notes)
