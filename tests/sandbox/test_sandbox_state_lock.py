"""One sandbox engine per state folder: a second would resume and train the same jobs twice."""

from pathlib import Path

import pytest

from vqa_desk.sandbox import SandboxServer
from vqa_desk.sandbox.errors import SandboxError


def test_a_second_server_on_the_same_state_is_refused(tmp_path: Path) -> None:
    with SandboxServer(step_delay=0, state_dir=tmp_path / "state"):
        with pytest.raises(SandboxError, match="in use by another VQA Desk process"):
            SandboxServer(step_delay=0, state_dir=tmp_path / "state").start()
        with SandboxServer(step_delay=0, state_dir=tmp_path / "other") as other:
            assert other.running
    with SandboxServer(step_delay=0, state_dir=tmp_path / "state") as again:  # released on stop
        assert again.running
