"""Serving local adapters with vLLM (when installed): the command line, and starting it. Torch-free.

vLLM applies LoRA to the language model only, which is what local training adapts; the adapter's keys carry
the model's own module names (``...text_model.layers...`` / ``...language_model.layers...``).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from vqa_desk.local.environment import LocalUnavailable
from vqa_desk.local.inference import adapter_manifest

VLLM_LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)


def serve_command(base_model: str, adapters: dict[str, Path], *, port: int = 8000, max_lora_rank: int = 16,
                  host: str = "127.0.0.1") -> list[str]:
    """``vllm serve BASE --enable-lora --lora-modules NAME=PATH ...``: each NAME is then a model id."""
    cmd = ["vllm", "serve", base_model, "--host", host, "--port", str(port)]
    if adapters:
        ranks = [int(adapter_manifest(p).get("hyperparameters", {}).get("lora_r", 16)) for p in adapters.values()]
        wanted = max(max_lora_rank, *ranks)
        rank = next((r for r in VLLM_LORA_RANKS if r >= wanted), wanted)  # vLLM takes only these values
        cmd += ["--enable-lora", "--max-lora-rank", str(rank), "--lora-modules",
                *(f"{name}={path}" for name, path in adapters.items())]
    return cmd


def start(cmd: list[str], log: Path) -> subprocess.Popen[bytes]:
    if shutil.which(cmd[0]) is None:
        raise LocalUnavailable("vLLM is not installed (pip install vllm, on Linux with an NVIDIA GPU). Without it, "
                               "VQA Desk serves local models itself (the 'local' provider). The command would be: "
                               + " ".join(cmd))
    fh = log.open("ab")
    return subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
