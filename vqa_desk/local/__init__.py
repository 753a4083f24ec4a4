"""Local fine-tuning: LoRA on an open vision-language model with TRL + PEFT, served for evaluation.

The path that survives OpenAI's shutdown of self-serve fine-tuning (no new jobs after 2027-01-06). It needs
the optional extra ``vqa-desk[local]`` (torch, transformers, trl, peft, accelerate); the modules here that
say "torch-free" can be imported without it, the others import it lazily. See docs/local-finetuning.md.

- ``environment``: is the extra installed, which device, which base model folder, how much memory.
- ``protocol``: the job folder a training process and the server that started it share (spec, events, state).
- ``messages``: OpenAI chat messages (with data-URL images) as the processor's messages + images.
- ``train``: the training process (``python -m vqa_desk.local.train JOB_DIR``), never the GUI's.
- ``inference``: generate with a base model + adapter; merge an adapter into a standalone model.
- ``vllm``: the ``vllm serve`` command for a base model and its adapters.
"""
