"""A stand-in for OpenCV's own OpenBLAS (37 MB in the bundle) that forwards to numpy's.

OpenCV's wheel links a full OpenBLAS (every CPU's kernels) for 19 routines: four GEMMs (large products) and
the LAPACK solvers behind ``cv2.solve``, ``invert``, ``determinant`` and ``SVDecomp`` for large systems
(OpenCV solves small ones itself) and calib3d's essential-matrix solvers. numpy already bundles an OpenBLAS,
but a 64-bit-integer build (ILP64) whose names carry a ``scipy_`` prefix and a ``64_`` suffix. The bridge has
cv2's library file name and soname, and each of its functions copies the 32-bit integer arguments into 64-bit
ones (integer arrays both ways) and calls numpy's routine. build.spec builds it; tests/e2e/test_blas_bridge.py
checks every routine against the original library, through cv2 and directly.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path

# LAPACK routines by family (the s/d prefix only changes the element type, which is passed through as a
# pointer). Argument kinds: i = integer scalar, c = character (Fortran passes its length as a hidden argument
# at the end), p = data pointer, o = the info result, ivec:N = integer array of N that the routine writes
# (pivots), iwork:N = integer workspace of N.
LAPACK = {
    "gesv": "i:n i:nrhs p:a i:lda ivec:n_ p:b i:ldb o:info",
    "getrf": "i:m i:n p:a i:lda ivec:MIN(m_,n_) o:info",
    "posv": "c:uplo i:n i:nrhs p:a i:lda p:b i:ldb o:info",
    "potrf": "c:uplo i:n p:a i:lda o:info",
    "geqrf": "i:m i:n p:a i:lda p:tau p:work i:lwork o:info",
    "gels": "c:trans i:m i:n i:nrhs p:a i:lda p:b i:ldb p:work i:lwork o:info",
    "gesdd": "c:jobz i:m i:n p:a i:lda p:s p:u i:ldu p:vt i:ldvt p:work i:lwork iwork:8*MIN(m_,n_) o:info",
    "geev": "c:jobvl c:jobvr i:n p:a i:lda p:wr p:wi p:vl i:ldvl p:vr i:ldvr p:work i:lwork o:info",
}
GEMM_SCALAR = {"s": "float", "d": "double", "c": "const void *", "z": "const void *"}

_PRELUDE = """\
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#define MIN(a, b) ((a) < (b) ? (a) : (b))
typedef int64_t i64;
#ifdef BLAS_BRIDGE_TRACE  /* tests: name each routine as it is called */
#define TRACE(name) fputs("blas-bridge: " name "\\n", stderr)
#else
#define TRACE(name)
#endif
static i64 *int_array(i64 n) {
    i64 *p = malloc(sizeof(i64) * (size_t)(n > 0 ? n : 1));
    if (!p) { fputs("vqa-desk: out of memory in the BLAS bridge\\n", stderr); abort(); }
    return p;
}
"""


def _lapack(name: str, spec: str) -> str:
    params, calls, before, after, hidden = [], [], [], [], []
    for arg in spec.split():
        kind, _, what = arg.partition(":")
        if kind == "i":
            params.append(f"const int *{what}")
            before.append(f"i64 {what}_ = *{what};")
            calls.append((f"&{what}_", "const i64 *"))
        elif kind == "c":
            params.append(f"const char *{what}")
            calls.append((what, "const char *"))
            hidden.append(("1", "size_t"))
        elif kind == "p":
            params.append(f"void *{what}")
            calls.append((what, "void *"))
        elif kind == "o":
            params.append("int *info")
            before.append("i64 info_ = 0;")
            calls.append(("&info_", "i64 *"))
            after.append("*info = (int)info_;")
        elif kind in ("ivec", "iwork"):
            array = "ipiv" if kind == "ivec" else "iwork"
            params.append(f"int *{array}")
            before.append(f"i64 {array}_n = {what}; i64 *{array}_ = int_array({array}_n);")
            calls.append((f"{array}_", "i64 *"))
            if kind == "ivec":
                after.append(f"for (i64 k = 0; k < {array}_n; k++) {array}[k] = (int){array}_[k];")
            after.append(f"free({array}_);")
        else:
            raise ValueError(f"unknown argument kind {arg!r}")
    calls += hidden
    # Scalars are declared before the arrays whose sizes use them.
    before.sort(key=lambda line: "int_array" in line)
    target = f"scipy_{name}_64_"
    return "\n".join([
        f"extern void {target}({', '.join(t for _, t in calls)});",
        f"void {name}_({', '.join(params)}) {{",
        f'    TRACE("{name}_");',
        *(f"    {line}" for line in before),
        f"    {target}({', '.join(c for c, _ in calls)});",
        *(f"    {line}" for line in after),
        "}",
    ])


def _gemm(prefix: str) -> str:
    scalar = GEMM_SCALAR[prefix]
    ptr = "float" if prefix == "s" else "double" if prefix == "d" else "void"
    mine = (f"int order, int ta, int tb, int m, int n, int k, {scalar} alpha, const {ptr} *a, int lda, "
            f"const {ptr} *b, int ldb, {scalar} beta, {ptr} *c, int ldc")
    theirs = (f"int order, int ta, int tb, i64 m, i64 n, i64 k, {scalar} alpha, const {ptr} *a, i64 lda, "
              f"const {ptr} *b, i64 ldb, {scalar} beta, {ptr} *c, i64 ldc")
    return "\n".join([
        f"extern void scipy_cblas_{prefix}gemm64_({theirs});",
        f"void cblas_{prefix}gemm({mine}) {{",
        f'    TRACE("cblas_{prefix}gemm");',
        f"    scipy_cblas_{prefix}gemm64_(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);",
        "}",
    ])


def source(wanted: Iterable[str]) -> str:
    """The C source of the bridge for these symbols; ValueError for one it has no wrapper for."""
    parts = [_PRELUDE]
    for name in sorted(set(wanted)):
        if name.startswith("cblas_") and name[6:] in {f"{p}gemm" for p in GEMM_SCALAR}:
            parts.append(_gemm(name[6]))
        elif name.endswith("_") and name[0] in "sd" and name[1:-1] in LAPACK:
            parts.append(_lapack(name[:-1], LAPACK[name[1:-1]]))
        else:
            raise ValueError(f"the BLAS bridge has no wrapper for {name}")
    return "\n\n".join(parts) + "\n"


def _dynamic_symbols(path: Path, *, defined: bool) -> set[str]:
    out = subprocess.run(["readelf", "--wide", "--dyn-syms", str(path)], capture_output=True, text=True,
                         check=True).stdout
    names = set()
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 8 and f[0].rstrip(":").isdigit() and (f[6] != "UND") == defined:
            names.add(f[7].partition("@")[0])
    return names


def routines_used(users: Iterable[Path], library: Path) -> set[str]:
    """The symbols of ``library`` that the binaries linking against it import (readelf)."""
    wanted = set().union(*(_dynamic_symbols(u, defined=False) for u in users))
    return wanted & _dynamic_symbols(library, defined=True)


def build(target: Path, *, soname: str, wanted: Iterable[str], numpy_blas: Path, rpath: str,
          compiler: str, trace: bool = False) -> Path:
    """Compile the bridge to ``target``, linked against numpy's ILP64 OpenBLAS (found through ``rpath`` at run
    time). A routine numpy's library lacks fails the link (``-z defs``), so a bridge that builds is complete.
    ``trace`` (tests) prints each routine's name to stderr as it is called."""
    target.parent.mkdir(parents=True, exist_ok=True)
    code = target.with_name(target.name + ".c")
    code.write_text(source(wanted))
    cmd = [compiler, "-shared", "-fPIC", "-O2", "-s", "-o", str(target), str(code), f"-Wl,-soname,{soname}",
           "-Wl,-z,defs", f"-L{numpy_blas.parent}", f"-l:{numpy_blas.name}", f"-Wl,-rpath,{rpath}"]
    cmd += ["-DBLAS_BRIDGE_TRACE"] if trace else []
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise ValueError(done.stderr.strip()[-2000:])
    return target
