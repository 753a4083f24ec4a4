"""Run by test_blas_bridge.py in a subprocess: ``python cv2_linalg_probe.py OUT.npz LIBRARY``.

Computes, in float32 and float64, every cv2 operation that reaches BLAS / LAPACK, then calls each routine cv2
takes from its OpenBLAS directly in LIBRARY (cv2's OpenBLAS, or the bridge standing in for it) with cv2's
32-bit integer calling convention, some of which cv2 only calls from code Python cannot reach with a known
input (calib3d's solvers). Everything goes to OUT.npz.
"""

import ctypes
import sys

import cv2
import numpy as np

rng = np.random.default_rng(7)
out = {}

# OpenCV solves small systems itself (getPerspectiveTransform's 8 x 8 among them) and calls LAPACK from about
# 100 unknowns on, BLAS for large products only.
N = 160
for dt in (np.float32, np.float64):
    t = np.dtype(dt).char
    a = rng.standard_normal((N, N)).astype(dt) + N * np.eye(N, dtype=dt)
    spd = (a @ a.T).astype(dt)
    b = rng.standard_normal((N, 3)).astype(dt)
    tall = rng.standard_normal((2 * N, N)).astype(dt)
    rhs = rng.standard_normal((2 * N, 2)).astype(dt)
    out[f"cv2_lu_{t}"] = cv2.solve(a, b, flags=cv2.DECOMP_LU)[1]
    out[f"cv2_inv_{t}"] = cv2.invert(a, flags=cv2.DECOMP_LU)[1]
    out[f"cv2_det_{t}"] = np.array([cv2.determinant(a / N)])  # scaled: a's own determinant overflows
    out[f"cv2_chol_{t}"] = cv2.solve(spd, b, flags=cv2.DECOMP_CHOLESKY)[1]
    out[f"cv2_cholinv_{t}"] = cv2.invert(spd, flags=cv2.DECOMP_CHOLESKY)[1]
    out[f"cv2_qr_{t}"] = cv2.solve(tall, rhs, flags=cv2.DECOMP_QR)[1]
    out[f"cv2_svdsolve_{t}"] = cv2.solve(tall, rhs, flags=cv2.DECOMP_SVD)[1]
    big = rng.standard_normal((256, 256)).astype(dt)
    out[f"cv2_gemm_{t}"] = cv2.gemm(big, big, 1.0, None, 0.0)
    cbig = rng.standard_normal((256, 256, 2)).astype(dt)
    out[f"cv2_cgemm_{t}"] = cv2.gemm(cbig, cbig, 1.0, None, 0.0)
src = np.float32([[0, 0], [100, 3], [98, 40], [2, 38]])
dst = np.float32([[0, 0], [100, 0], [100, 40], [0, 40]])
out["cv2_perspective"] = cv2.getPerspectiveTransform(src, dst)

# Each routine directly, column-major as LAPACK wants.
lib = ctypes.CDLL(sys.argv[2])
i32 = ctypes.c_int


def ptr(x: np.ndarray) -> ctypes.c_void_p:
    return x.ctypes.data_as(ctypes.c_void_p)


def ref(v: int) -> object:
    return ctypes.byref(i32(v))


def col(x: np.ndarray) -> np.ndarray:
    return np.asfortranarray(x.copy())


def with_workspace(routine: object, head: tuple, tail: tuple, dt: type) -> np.ndarray:
    """LAPACK's two calls: ask for the workspace size (lwork = -1), then run with it; [size, info]."""
    query = np.zeros(1, dt)
    routine(*head, ptr(query), ref(-1), *tail)
    work = np.zeros(max(int(query[0]), 1), dt)
    routine(*head, ptr(work), ref(work.size), *tail)
    return np.array([query[0], info.value])


n, m = 40, 60
for dt, p in ((np.float32, "s"), (np.float64, "d")):
    sq = rng.standard_normal((n, n)).astype(dt)
    spd = (sq @ sq.T + n * np.eye(n)).astype(dt)
    tall = rng.standard_normal((m, n)).astype(dt)
    info = i32(0)

    a, b, piv = col(sq), col(rng.standard_normal((n, 2)).astype(dt)), np.zeros(n, np.int32)
    getattr(lib, f"{p}gesv_")(ref(n), ref(2), ptr(a), ref(n), ptr(piv), ptr(b), ref(n), ctypes.byref(info))
    out[f"gesv_{p}"], out[f"gesv_piv_{p}"], out[f"gesv_info_{p}"] = b, piv, np.array([info.value])

    for rows, cols in ((m, n), (n, m)):  # tall and wide: min(m, n) pivots, and not one more
        a, piv = col(rng.standard_normal((rows, cols)).astype(dt)), np.full(max(rows, cols) + 4, -7, np.int32)
        getattr(lib, f"{p}getrf_")(ref(rows), ref(cols), ptr(a), ref(rows), ptr(piv), ctypes.byref(info))
        out[f"getrf_{rows}x{cols}_{p}"], out[f"getrf_piv_{rows}x{cols}_{p}"] = a, piv
        out[f"getrf_info_{rows}x{cols}_{p}"] = np.array([info.value])

    a, b = col(spd), col(rng.standard_normal((n, 3)).astype(dt))
    getattr(lib, f"{p}posv_")(b"U", ref(n), ref(3), ptr(a), ref(n), ptr(b), ref(n), ctypes.byref(info))
    out[f"posv_{p}"], out[f"posv_info_{p}"] = b, np.array([info.value])

    a = col(spd)
    getattr(lib, f"{p}potrf_")(b"L", ref(n), ptr(a), ref(n), ctypes.byref(info))
    out[f"potrf_{p}"], out[f"potrf_info_{p}"] = np.tril(a), np.array([info.value])

    a, tau = col(tall), np.zeros(n, dt)
    out[f"geqrf_call_{p}"] = with_workspace(getattr(lib, f"{p}geqrf_"), (ref(m), ref(n), ptr(a), ref(m), ptr(tau)),
                                            (ctypes.byref(info),), dt)
    out[f"geqrf_{p}"], out[f"geqrf_tau_{p}"] = a, tau

    a, b = col(tall), col(rng.standard_normal((m, 2)).astype(dt))
    out[f"gels_call_{p}"] = with_workspace(
        getattr(lib, f"{p}gels_"), (b"N", ref(m), ref(n), ref(2), ptr(a), ref(m), ptr(b), ref(m)),
        (ctypes.byref(info),), dt)
    out[f"gels_{p}"] = b[:n]

    a, s = col(tall), np.zeros(n, dt)
    u, vt, iwork = np.zeros((m, m), dt, order="F"), np.zeros((n, n), dt, order="F"), np.zeros(8 * n, np.int32)
    out[f"gesdd_call_{p}"] = with_workspace(
        getattr(lib, f"{p}gesdd_"), (b"A", ref(m), ref(n), ptr(a), ref(m), ptr(s), ptr(u), ref(m), ptr(vt), ref(n)),
        (ptr(iwork), ctypes.byref(info)), dt)
    out[f"gesdd_{p}"], out[f"gesdd_rebuilt_{p}"] = s, (u[:, :n] * s) @ vt

    x, y = rng.standard_normal((n, m)).astype(dt), rng.standard_normal((m, n)).astype(dt)
    c = np.zeros((n, n), dt)
    scalar = ctypes.c_float if p == "s" else ctypes.c_double
    getattr(lib, f"cblas_{p}gemm")(101, 111, 112, n, n, m, scalar(1.5), ptr(x), m, ptr(y.T.copy()), m,
                                   scalar(0.0), ptr(c), n)  # row-major; B given transposed
    out[f"gemm_{p}"] = c

    cx = (rng.standard_normal((n, m)) + 1j * rng.standard_normal((n, m))).astype(
        np.complex64 if p == "s" else np.complex128)
    cc = np.zeros((n, n), cx.dtype)
    alpha, beta = np.array([0.5 - 1j], cx.dtype), np.zeros(1, cx.dtype)
    getattr(lib, f"cblas_{'c' if p == 's' else 'z'}gemm")(101, 111, 113, n, n, m, ptr(alpha), ptr(cx), m,
                                                          ptr(cx), m, ptr(beta), ptr(cc), n)  # B conjugated
    out[f"cgemm_{p}"] = cc

a, wr, wi = col(rng.standard_normal((n, n))), np.zeros(n), np.zeros(n)
vl, vr = np.zeros(1), np.zeros((n, n), order="F")
info = i32(0)


out["geev_call"] = with_workspace(
    lib.dgeev_, (b"N", b"V", ref(n), ptr(a), ref(n), ptr(wr), ptr(wi), ptr(vl), ref(1), ptr(vr), ref(n)),
    (ctypes.byref(info),), np.float64)
out["geev"], out["geev_imag"], out["geev_info"] = wr, wi, np.array([info.value])

np.savez(sys.argv[1], **out)
