"""Generate the synthetic OCR-VQA demo dataset shipped in ``vqa_desk/resources/demo``.

The output mirrors the layout of the Hugging Face dataset ``howard-hou/OCR-VQA`` (one parquet
file per split, same columns and features) so that every code path of VQA Desk can be exercised
without downloading gigabytes of Amazon covers. The covers are drawn with Pillow, and a known set
of label problems and broken images is planted; ``planted.json`` records where, so tests and demos
can check that the curation tools find them.

Usage::

    .venv/bin/python tools/make_demo.py [--out vqa_desk/resources/demo]
    .venv/bin/python -m tools.make_demo [--out vqa_desk/resources/demo]

The run is deterministic: a fixed seed, fonts shipped in ``tools/fonts`` and Pillow's basic text
layout, so regenerating gives identical metadata columns and ``planted.json``.
"""
