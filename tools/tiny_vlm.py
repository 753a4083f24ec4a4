"""A tiny, randomly initialised SmolVLM-architecture (Idefics3) model and processor, built from configs.

Nothing is downloaded: the tokenizer is a byte-level BPE trained in milliseconds on a small corpus, the chat
template is SmolVLM's own. The tests of local fine-tuning (tests/local) and the offline screenshots use it; it
learns the mechanics (loss falls, adapters save, reload and generate), not good answers.

    python tools/tiny_vlm.py OUT_DIR      # writes a model folder usable as a base model (--model OUT_DIR)
"""

from __future__ import annotations

import sys
from pathlib import Path

# SmolVLM's chat template (HuggingFaceTB/SmolVLM-*-Instruct), which TRL recognises to mask the loss to the
# assistant's answers.
SMOLVLM_CHAT_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}"
    "{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}"
    "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}"
    "{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}<end_of_utterance>\n"
    "{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
)

_CORPUS = [
    "What is the title of this book?", "Who wrote this book?", "What is the genre of this book?",
    "Is this a romantic book?", "Is this a historical book?", "Is this book related to Cookbooks, Food & Wine?",
    "Yes", "No", "Romance", "History", "Mystery, Thriller & Suspense", "Science Fiction & Fantasy",
    "Children's Books", "Cookbooks, Food & Wine", "Travel", "Literature & Fiction", "Biographies & Memoirs",
    "The Quiet Harbour", "A Winter in Lisbon", "Margaret A. Holloway", "John R. R. Tolkien", "James Patterson",
    "User: Assistant: You answer questions about book covers. Answer with the text printed on the cover.",
    "0123456789 ,.:;!?'&-()",
]
IMAGE_SIZE = 64
PATCH_SIZE = 16
SCALE_FACTOR = 2
IMAGE_SEQ_LEN = (IMAGE_SIZE // PATCH_SIZE) ** 2 // SCALE_FACTOR**2


def build_processor(vocab_size: int = 600):  # type: ignore[no-untyped-def]
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import Idefics3ImageProcessor, Idefics3Processor, PreTrainedTokenizerFast

    special = ["<|endoftext|>", "<|im_start|>", "<end_of_utterance>", "<image>", "<fake_token_around_image>",
               "<global-img>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=special,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(_CORPUS * 4, trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|im_start|>", eos_token="<end_of_utterance>",
                                        pad_token="<|endoftext|>", unk_token="<|endoftext|>")
    image_processor = Idefics3ImageProcessor(
        do_image_splitting=False, size={"longest_edge": IMAGE_SIZE}, max_image_size={"longest_edge": IMAGE_SIZE})
    return Idefics3Processor(image_processor=image_processor, tokenizer=tokenizer, image_seq_len=IMAGE_SEQ_LEN,
                             chat_template=SMOLVLM_CHAT_TEMPLATE)


def build_model(processor, seed: int = 0):  # type: ignore[no-untyped-def]
    import torch
    from transformers import Idefics3Config, Idefics3ForConditionalGeneration

    tokenizer = processor.tokenizer
    config = Idefics3Config(
        vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
                       "image_size": IMAGE_SIZE, "patch_size": PATCH_SIZE},
        text_config={"model_type": "llama", "vocab_size": len(tokenizer), "hidden_size": 64,
                     "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
                     "num_key_value_heads": 2, "max_position_embeddings": 2048,
                     "pad_token_id": tokenizer.pad_token_id, "bos_token_id": tokenizer.bos_token_id,
                     "eos_token_id": tokenizer.eos_token_id},
        scale_factor=SCALE_FACTOR, image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
        pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = Idefics3ForConditionalGeneration(config)
    # With the usual 0.02 initialisation a model this narrow has almost flat logits (entropy ~ln(vocab)) that
    # LoRA on its attention and MLP cannot sharpen; a wider output layer lets a few steps show real learning.
    with torch.no_grad():
        model.lm_head.weight.normal_(0.0, 1.0)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model


def write_tiny_vlm(out_dir: str | Path, seed: int = 0) -> Path:
    """Save a tiny model + processor into ``out_dir`` (a folder ``from_pretrained`` loads)."""
    out = Path(out_dir)
    processor = build_processor()
    model = build_model(processor, seed)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    print(write_tiny_vlm(sys.argv[1]))
