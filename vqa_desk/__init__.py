"""VQA Desk: curate, export, fine-tune and review visual question answering data."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("vqa-desk")
except PackageNotFoundError:  # running from a source tree that was never installed (or frozen)
    __version__ = "0.1.0"
