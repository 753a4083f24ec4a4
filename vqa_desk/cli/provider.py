"""What the commands that send work to a provider share (finetune, evaluate, grade): a client for a profile,
and the export folder to send."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from vqa_desk.cli.common import ProgressBar


def provider_client(name: str, stack: Any) -> tuple[Any, Any, bool]:
    """The profile, an openai client, and whether the provider is a sandbox living only in this command."""
    from dataclasses import replace

    from vqa_desk.core.paths import data_dir
    from vqa_desk.core.providers import ProviderKind, get_profile, make_client

    profile = get_profile(name)
    key = None
    in_process = profile.kind in (ProviderKind.SANDBOX, ProviderKind.LOCAL) and not profile.base_url
    if in_process:
        from vqa_desk.sandbox.server import SandboxServer

        local = profile.kind == ProviderKind.LOCAL
        if local:
            from vqa_desk.local.environment import require

            require()
        server = stack.enter_context(SandboxServer(state_dir=data_dir() / ("local" if local else "sandbox"),
                                                   local=local))
        profile, key = replace(profile, base_url=server.base_url), server.token
    client = make_client(profile, key=key)
    stack.callback(client.close)
    return profile, client, in_process


def export_folder(workspace: Path, given: Path | None) -> Path:
    """The export to use: the given folder, or <workspace>-export beside it, exported now if it is missing."""
    from vqa_desk.core.export import export_workspace

    folder = given or workspace.with_name(f"{workspace.stem}-export")
    if not (folder / "train.jsonl").exists():
        print(f"Exporting to {folder} first ...", file=sys.stderr)
        with ProgressBar("export", quiet=False) as bar:
            export_workspace(workspace, folder, progress=bar.update, cancel=bar.cancel)
    return folder
