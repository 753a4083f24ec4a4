"""The offline OpenAI-compatible sandbox: files, fine-tuning jobs, chat completions and batches, served by
real small models (``sandbox-ocr``) — an offline baseline for dry runs and tests, not a stand-in for GPT-4o.

Qt-free; may use ``vqa_desk.core`` but never the GUI or the CLI (an import-linter contract checks it).
"""

from vqa_desk.sandbox.engine import SandboxSettings
from vqa_desk.sandbox.errors import SandboxError
from vqa_desk.sandbox.faults import Fault, FaultInjector
from vqa_desk.sandbox.server import SandboxServer, serve
from vqa_desk.sandbox.vqa_model import BASE_MODEL

__all__ = ["BASE_MODEL", "Fault", "FaultInjector", "SandboxError", "SandboxServer", "SandboxSettings", "serve"]
