"""Generator of the synthetic OCR-VQA demo dataset (see ``cli`` for how to run it)."""
