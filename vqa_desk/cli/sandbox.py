"""sandbox: serve the offline OpenAI-compatible sandbox (and the local models) until stopped."""

from __future__ import annotations

import argparse


def cmd_sandbox(args: argparse.Namespace) -> int:
    from vqa_desk.sandbox.server import serve

    if args.local:
        from vqa_desk.local.environment import require

        require()
    return serve(args.host, args.port, allow_remote=args.allow_remote, state_dir=args.state_dir,
                 step_delay=args.step_delay, local=args.local)
