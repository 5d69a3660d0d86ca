"""The one interpolation between two vectors (latents): spherical, with a linear fallback.

Slerp keeps an interpolated latent at the typical distance from the origin of a Gaussian latent
space, where a straight line would pass through the less likely centre. When the two vectors are
nearly parallel (or one is zero) slerp's formula divides by ~0, so we fall back to a straight line.
"""

from __future__ import annotations

import numpy as np

PARALLEL_EPS = 1e-4  # |sin(angle)| below this counts as parallel


def slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """The point a fraction `t` of the way from `a` (t=0) to `b` (t=1), float32."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"slerp: shapes differ: {a.shape} vs {b.shape}")
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0.0 or nb == 0.0:
        return lerp(a, b, t)
    cos = float(np.clip(np.dot(a.ravel(), b.ravel()) / (na * nb), -1.0, 1.0))
    omega = np.arccos(cos)
    sin = np.sin(omega)
    if abs(sin) < PARALLEL_EPS:
        return lerp(a, b, t)
    out = (np.sin((1.0 - t) * omega) * a + np.sin(t * omega) * b) / sin
    return out.astype(np.float32)


def lerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return ((1.0 - t) * a + t * b).astype(np.float32)
