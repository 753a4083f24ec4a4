"""The bundle replaces OpenCV's own OpenBLAS by a bridge to numpy's (tools/blas_bridge.py): cv2 must compute
exactly what it computes with its original library, through every routine it takes from it.

The bridge is built here as build.spec builds it (with a trace of each call), and loaded ahead of cv2's
library (LD_PRELOAD: a library with the same soname then serves cv2's link). A probe runs the cv2 operations
that reach BLAS / LAPACK and calls every routine directly, once with the original and once with the bridge.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tools import blas_bridge

cv2 = pytest.importorskip("cv2", reason="OpenCV comes with RapidOCR, a default dependency")

pytestmark = [
    pytest.mark.packaging,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the bridge is built for Linux bundles"),
]

PROBE = Path(__file__).with_name("cv2_linalg_probe.py")


def _libraries() -> tuple[Path, Path, Path]:
    """cv2's extension module, its OpenBLAS and numpy's, from the installed wheels."""
    cv2_dir = Path(cv2.__file__).parent
    module = sorted(cv2_dir.glob("cv2*.so"))
    ours = sorted((cv2_dir.parent / "opencv_python_headless.libs").glob("libopenblas*.so*"))
    theirs = sorted((Path(np.__file__).parent.parent / "numpy.libs").glob("libscipy_openblas64_*.so"))
    if len(module) != 1 or len(ours) != 1 or len(theirs) != 1:
        # The bundle then keeps cv2's own OpenBLAS (40 MB more). In CI that is a dependency change to look
        # at, not a reason to stop testing.
        message = f"this OpenCV / numpy pair does not carry the libraries the bridge joins: {ours} {theirs}"
        if os.environ.get("CI"):
            pytest.fail(message + " (update CV2_BLAS / NUMPY_BLAS in build.spec, or pin the wheels)")
        pytest.skip(message)
    return module[0], ours[0], theirs[0]


def _run_probe(tmp_path: Path, name: str, library: Path, preload: bool) -> tuple[dict[str, np.ndarray], str]:
    """The probe's results with ``library`` (loaded ahead of cv2's own with ``preload``), and its stderr."""
    env = {**os.environ, **({"LD_PRELOAD": str(library)} if preload else {})}
    out = tmp_path / f"{name}.npz"
    done = subprocess.run([sys.executable, str(PROBE), str(out), str(library)], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    with np.load(out) as data:
        return {k: data[k] for k in data.files}, done.stderr


def test_cv2_computes_the_same_through_the_bridge_to_numpys_openblas(tmp_path: Path) -> None:
    compiler = shutil.which("gcc") or shutil.which("cc")
    if not (compiler and shutil.which("readelf")):
        pytest.fail("the bundle's stand-ins need gcc and binutils (readelf): apt-get install gcc binutils")
    module, original, numpy_blas = _libraries()
    routines = blas_bridge.routines_used([module], original)
    assert {"cblas_sgemm", "sgesv_", "dgesdd_"} <= routines, routines
    bridge = blas_bridge.build(tmp_path / "bridge" / original.name, soname=original.name, wanted=routines,
                               numpy_blas=numpy_blas, rpath=str(numpy_blas.parent), compiler=compiler, trace=True)

    expected, _ = _run_probe(tmp_path, "original", original, preload=False)
    got, trace = _run_probe(tmp_path, "bridge", bridge, preload=True)

    called = set(re.findall(r"^blas-bridge: (\S+)$", trace, flags=re.M))
    assert called == routines, f"never called through the bridge: {sorted(routines - called)}"
    # cv2 itself went through the bridge: its own calls come before the probe calls routines directly.
    assert "blas-bridge: sgesv_" in trace.split("blas-bridge: cblas_zgemm")[0]
    assert got.keys() == expected.keys()
    assert all(np.isfinite(v).all() for k, v in expected.items() if v.dtype.kind == "f"), "a comparison of infs"
    assert (expected["getrf_piv_40x60_d"][40:] == -7).all()  # the probe would see a pivot written past min(m, n)
    for key, want in expected.items():
        # cv2.determinant gives a float32 matrix's determinant as a float64: the key says the precision.
        single = want.dtype in (np.float32, np.complex64) or key.endswith(("_f", "_s"))
        tolerance = 1e-4 if single else 1e-10
        np.testing.assert_allclose(got[key], want, rtol=tolerance, atol=tolerance, err_msg=key)


def test_a_routine_without_a_wrapper_is_refused() -> None:
    with pytest.raises(ValueError, match="no wrapper for dsyev_"):
        blas_bridge.source(["cblas_sgemm", "dsyev_"])
