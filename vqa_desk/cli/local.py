"""local info, merge and vllm: the local fine-tuning helpers (device check, merged model, vLLM command)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from vqa_desk.cli.common import EXIT_OK, EXIT_USER, print_json


def cmd_info(args: argparse.Namespace) -> int:
    from vqa_desk.core.providers import get_profile
    from vqa_desk.local import environment

    out: dict[str, Any] = {"missing_packages": environment.missing_packages()}
    if out["missing_packages"]:
        out["install"] = environment.INSTALL_HINT
    else:
        device = environment.detect_device()
        out["device"] = {"kind": device.kind, "name": device.name, "memory_gb": device.memory_gb,
                         "warning": device.warning}
    model = args.model or get_profile("local").finetune_model
    out["model"] = model
    try:
        folder = environment.resolve_base_model(model)
        params = environment.parameter_count(folder)
        out.update(model_path=str(folder), parameters=params, estimated_memory_gb=environment.estimate_memory_gb(
            params, qlora=args.qlora, batch_size=args.batch_size))
    except environment.LocalUnavailable as exc:
        out["model_problem"] = str(exc)
    out["licence"] = environment.KNOWN_MODELS.get(model)
    if args.json:
        print_json(out)
        return EXIT_OK
    print("Local fine-tuning: " + ("ready" if not out["missing_packages"] else
                                   f"not installed ({', '.join(out['missing_packages'])}): {out['install']}"))
    if "device" in out:
        d = out["device"]
        print(f"Device: {d['kind'].upper()} {d['name']}" + (f", {d['memory_gb']:.0f} GB" if d["memory_gb"] else ""))
        if d["warning"]:
            print(f"Warning: {d['warning']}")
    print(f"Base model: {model}" + (f" ({out['licence']})" if out["licence"] else ""))
    if "model_problem" in out:
        print(f"  {out['model_problem']}")
    else:
        print(f"  {out['parameters'] / 1e6:,.0f}M parameters in {out['model_path']}; LoRA training needs about "
              f"{out['estimated_memory_gb']} GB (batch {args.batch_size}{', QLoRA' if args.qlora else ''})")
    return EXIT_OK


def _local_adapter(name: str) -> Path:
    from vqa_desk.core.paths import data_dir
    from vqa_desk.local.environment import LocalUnavailable
    from vqa_desk.local.protocol import find_adapter

    try:
        return find_adapter(name, data_dir() / "local")
    except FileNotFoundError as exc:
        raise LocalUnavailable(str(exc)) from None


def cmd_merge(args: argparse.Namespace) -> int:
    from vqa_desk.local.inference import merge_adapter

    adapter = _local_adapter(args.model)
    print(f"Merging {adapter} into its base model ...", file=sys.stderr)
    print(merge_adapter(adapter, args.out))
    return EXIT_OK


def cmd_vllm(args: argparse.Namespace) -> int:
    import shlex

    from vqa_desk.local import vllm
    from vqa_desk.local.inference import adapter_manifest

    adapters = {name: _local_adapter(name) for name in args.model}
    bases = {str(adapter_manifest(p).get("base_model_path") or adapter_manifest(p).get("base_model"))
             for p in adapters.values()}
    if len(bases) != 1:
        print(f"vqa-desk: one vLLM server serves adapters of one base model; these have {sorted(bases)}.",
              file=sys.stderr)
        return EXIT_USER
    cmd = vllm.serve_command(bases.pop(), adapters, port=args.port)
    if not args.start:
        print(shlex.join(cmd))
        return EXIT_OK
    from vqa_desk.core.paths import data_dir

    proc = vllm.start(cmd, data_dir() / "local" / "vllm.log")
    print(f"vLLM started (pid {proc.pid}); OPENAI_BASE_URL=http://127.0.0.1:{args.port}/v1 — add it as a "
          "'compatible' provider profile. Log: " + str(data_dir() / "local" / "vllm.log"), file=sys.stderr)
    return EXIT_OK
