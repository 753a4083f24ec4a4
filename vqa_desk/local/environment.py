"""Is local fine-tuning possible here, on which device, from which base model, with how much memory.

Torch-free to import: the GUI and the CLI ask these questions before anything heavy is loaded.
"""

from __future__ import annotations

import importlib.util
import json
import re
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

from vqa_desk.core.errors import VQADeskError

PACKAGES = ("torch", "transformers", "trl", "peft", "accelerate")
INSTALL_HINT = ("pip install 'vqa-desk[local]' (in a source checkout: make local), then restart VQA Desk. On a "
                "machine with an NVIDIA GPU, install the CUDA build of torch first (https://pytorch.org).")
DEFAULT_BASE_MODEL = "HuggingFaceTB/SmolVLM-256M-Instruct"

# Open models that fit this workflow, with their licences (docs/local-finetuning.md).
KNOWN_MODELS = {
    "HuggingFaceTB/SmolVLM-256M-Instruct": "Apache-2.0",
    "HuggingFaceTB/SmolVLM-500M-Instruct": "Apache-2.0",
    "HuggingFaceTB/SmolVLM-Instruct": "Apache-2.0 (2.2B)",
    "Qwen/Qwen3-VL-2B-Instruct": "Apache-2.0",
    "Qwen/Qwen3-VL-4B-Instruct": "Apache-2.0",
    "Qwen/Qwen2.5-VL-3B-Instruct": "Qwen research licence: not for commercial use",
}
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


class LocalUnavailable(VQADeskError):
    """Local fine-tuning cannot run here; the message says what to install or download."""


def missing_packages() -> list[str]:
    def absent(name: str) -> bool:
        try:
            return importlib.util.find_spec(name) is None
        except (ImportError, ValueError):  # a broken or blocked install counts as missing
            return True

    return [name for name in PACKAGES if absent(name)]


def require() -> None:
    """Raise LocalUnavailable, saying exactly how to enable local fine-tuning, when the extra is missing."""
    missing = missing_packages()
    if not missing:
        return
    if getattr(sys, "frozen", False):
        raise LocalUnavailable("Local fine-tuning is not part of the desktop executable (it needs PyTorch, several "
                               "GB). Install VQA Desk from source with the local extra: " + INSTALL_HINT)
    raise LocalUnavailable(f"Local fine-tuning needs {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'}"
                           f" not installed. Install it with: {INSTALL_HINT}")


def looks_like_base_model(name: str) -> bool:
    """A folder holding a model, or a hub id (``org/name``): what a local job may start from."""
    return (Path(name).expanduser() / "config.json").is_file() or bool(_HUB_ID.match(name))


def resolve_base_model(name: str) -> Path:
    """The folder of the base model: the folder itself, or the hub id's copy in the local hub cache.

    Weights are never downloaded here: the user fetches them once (they are the user's, under their licence).
    """
    folder = Path(name).expanduser()
    if (folder / "config.json").is_file():
        return folder.resolve()
    if folder.exists() or not _HUB_ID.match(name):
        raise LocalUnavailable(f"{name} is not a model folder (no config.json in it). Give the folder a model was "
                               "downloaded to, or a hub id such as " + DEFAULT_BASE_MODEL + ".")
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(name, local_files_only=True))
    except Exception:
        raise LocalUnavailable(
            f"The base model {name} is not on this machine, and VQA Desk does not download weights. Download it "
            f"once (with a network): hf download {name} --local-dir ~/models/{name.split('/')[-1]} and give that "
            "folder as the model, or run the same download without --local-dir to fill the hub cache."
        ) from None


@dataclass(frozen=True)
class DeviceInfo:
    kind: str  # cuda / mps / cpu
    name: str
    memory_gb: float | None  # accelerator memory (None: unknown / system memory)
    bf16: bool = False

    @property
    def warning(self) -> str | None:
        if self.kind == "cpu":
            return ("No GPU found: training on the CPU is for tiny test models only; a real model would take days. "
                    "Use a machine with an NVIDIA GPU (CUDA) or Apple silicon (MPS).")
        return None

    def describe(self) -> str:
        memory = f", {self.memory_gb:.0f} GB" if self.memory_gb else ""
        return f"{self.kind.upper()}: {self.name}{memory}"


def detect_device() -> DeviceInfo:
    """The device training and serving use: CUDA, then Apple's MPS, then the CPU. Imports torch."""
    require()
    import torch

    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        return DeviceInfo("cuda", props.name, props.total_memory / 2**30, bool(torch.cuda.is_bf16_supported()))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return DeviceInfo("mps", "Apple GPU", None)
    import platform

    return DeviceInfo("cpu", platform.processor() or platform.machine(), None)


def parameter_count(model_dir: Path) -> int:
    """Parameters in the folder's safetensors files, read from their headers (no weights loaded)."""
    total = 0
    for file in sorted(model_dir.glob("*.safetensors")):
        with file.open("rb") as fh:
            size = struct.unpack("<Q", fh.read(8))[0]
            header = json.loads(fh.read(size))
        for key, info in header.items():
            if key != "__metadata__":
                n = 1
                for dim in info.get("shape", []):
                    n *= int(dim)
                total += n
    return total


def estimate_memory_gb(parameters: int, *, qlora: bool, batch_size: int, gradient_checkpointing: bool = True) -> float:
    """A rough peak accelerator memory for LoRA training, in GB.

    Frozen weights (bf16, or 4-bit with QLoRA) + activations, which scale with the batch and the model width
    and are not reduced by quantization + ~1 GB of runtime. Calibrated on the published figures in
    REFERENCE.md §6 (0.5B < 6 GB; 2-3B 8-12 GB bf16, 6-8 GB QLoRA; 7-8B 16-24 / 8-12 GB); it is a guide for
    choosing a model and a batch size, not a promise.
    """
    billions = parameters / 1e9
    weights = billions * (0.55 if qlora else 2.0)
    # Activations grow with width x depth, i.e. slower than the parameter count (~ its square root).
    activations = 0.52 * billions**0.5 * max(1, batch_size) * (1.0 if gradient_checkpointing else 3.0)
    return round(weights + activations + 1.0, 1)
