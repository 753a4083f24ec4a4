"""Token counting offline, the image token table, prices and the cost estimate."""

from __future__ import annotations

import socket

import pytest

from vqa_desk.core import tokens
from vqa_desk.core.tokens import (
    PRICES,
    SplitTokens,
    count_text_tokens,
    default_epochs,
    image_rule,
    image_tokens,
    make_estimate,
    message_text_tokens,
)


def test_bundled_encoding_is_tiktokens_o200k_definition(monkeypatch: pytest.MonkeyPatch) -> None:
    """Same pattern and special tokens as tiktoken's own o200k_base (its vocabulary download is stubbed out)."""
    import tiktoken_ext.openai_public as public

    monkeypatch.setattr(public, "load_tiktoken_bpe", lambda *a, **k: {})
    upstream = public.o200k_base()
    assert upstream["pat_str"] == tokens._O200K_PATTERN
    assert upstream["special_tokens"] == tokens._O200K_SPECIAL


def test_counts_work_with_the_network_and_tiktoken_cache_unavailable(
        monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "empty-cache"))
    tokens.encoding.cache_clear()
    count_text_tokens.cache_clear()
    try:
        enc = tokens.encoding()
        # Reference ids of o200k_base, as tiktoken.get_encoding("o200k_base") gives them online.
        assert enc.encode_ordinary("hello world") == [24912, 2375]
        assert enc.n_vocab == 200_019
        assert count_text_tokens("What is the title of this book?") == 8
        assert enc.decode(enc.encode_ordinary("Hervé Tullet — 12 ½")) == "Hervé Tullet — 12 ½"
    finally:
        tokens.encoding.cache_clear()
        count_text_tokens.cache_clear()
    assert not (tmp_path / "empty-cache").exists()  # nothing was fetched or cached


def test_special_token_text_counts_as_plain_text() -> None:
    assert count_text_tokens("<|endoftext|>") > 1


def test_message_formatting_tokens() -> None:
    messages = [{"role": "user", "content": [{"type": "text", "text": "hello world"},
                                             {"type": "image_url", "image_url": {"url": "data:..."}}]},
                {"role": "assistant", "content": "hello world"}]
    # 3 per example + per message (3 + role) + content; the image part costs no text tokens.
    assert message_text_tokens(messages) == 3 + (3 + 1 + 2) + (3 + 1 + 2)


@pytest.mark.parametrize(("size", "detail", "expected"), [
    ((1024, 1024), "high", 765),  # OpenAI's documented example: 768x768 -> 4 tiles
    ((2048, 4096), "high", 1105),  # fit 2048 -> 1024x2048 -> short side 768 -> 768x1536 -> 6 tiles
    ((300, 450), None, 255),  # a cover is one tile; small images are not enlarged
    ((300, 450), "auto", 255),
    ((4096, 8192), "low", 85),
])
def test_gpt4o_image_tokens(size: tuple[int, int], detail: str | None, expected: int) -> None:
    assert image_tokens(*size, detail, "gpt-4o-2024-08-06") == expected


def test_image_rules_come_from_the_table() -> None:
    assert image_tokens(1024, 1024, "low", "gpt-4o-mini-2024-07-18") == 2833
    assert image_tokens(1024, 1024, "high", "gpt-4o-mini") == 2833 + 4 * 5667
    assert image_tokens(512, 512, "high", "gpt-5") == 70 + 140
    assert image_rule("ft:gpt-4o-2024-08-06:acme::abc123")[:1] == ("gpt-4o",)
    family, _, known = image_rule("llava-next")
    assert family == "gpt-4o" and not known


@pytest.mark.parametrize(("n", "epochs"), [(10, 10), (20, 5), (721, 3), (10_000, 2), (0, 3)])
def test_auto_epochs_rule(n: int, epochs: int) -> None:
    assert default_epochs(n) == epochs


def test_training_cost_is_tokens_times_epochs_times_price() -> None:
    train = SplitTokens()
    for _ in range(1000):
        train.add(text=700, image=300, n_images=1)
    validation = SplitTokens()
    validation.add(5000, 0, 0)
    est = make_estimate({"train": train, "validation": validation}, model="gpt-4o-2024-08-06", epochs=3)
    assert est.training_tokens == 1_000_000
    assert est.training_cost_usd == pytest.approx(75.0)  # 1M tokens x 3 epochs x $25 per 1M; validation is free
    out = est.to_dict()
    assert out["prices_read"] == PRICES["gpt-4o-2024-08-06"].read and out["billed_training_tokens"] == 3_000_000
    assert out["splits"]["train"]["total_tokens"] == 1_000_000


def test_examples_over_the_limit_are_charged_up_to_it() -> None:
    train = SplitTokens()
    train.add(text=70_000, image=0, n_images=0)
    est = make_estimate({"train": train}, epochs=1)
    assert train.over_limit == 1 and est.training_tokens == 65_536
    assert any("truncated" in n for n in est.notes)


def test_unknown_model_has_no_price_but_says_so() -> None:
    train = SplitTokens()
    train.add(100, 0, 0)
    est = make_estimate({"train": train}, model="my-local-llava")
    assert est.training_cost_usd is None
    assert any("No fine-tuning price" in n for n in est.notes)
    assert any("No image token rule" in n for n in est.notes)
