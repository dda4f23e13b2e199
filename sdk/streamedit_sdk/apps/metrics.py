"""Image-quality and ranking metrics of the evaluation protocol (``streamedit eval``)."""

from __future__ import annotations

import cv2
import numpy as np

PSNR_CAP_DB = 100.0  # PSNR of an exact prediction (MSE 0), so means stay finite

# SSIM constants of Wang et al. 2004: Gaussian window sigma 1.5 px, 11 x 11, K1 0.01, K2 0.03.
_SSIM_WINDOW, _SSIM_SIGMA = 11, 1.5
_C1, _C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2


def psnr(prediction: np.ndarray, target: np.ndarray) -> float:
    """PSNR in dB of two uint8 images of one shape (peak 255), capped at :data:`PSNR_CAP_DB`."""
    _same_shape(prediction, target)
    diff = prediction.astype(np.float32) - target.astype(np.float32)
    mse = float(np.mean(diff * diff))
    if mse <= 0.0:
        return PSNR_CAP_DB
    return min(PSNR_CAP_DB, 10.0 * np.log10(255.0 ** 2 / mse))


def ssim(prediction: np.ndarray, target: np.ndarray) -> float:
    """Mean SSIM (Wang et al. 2004) of two uint8 images, averaged over channels.

    Gaussian-weighted 11 x 11 window (sigma 1.5), data range 255, population covariances, the
    border of half a window left out: the same number as scikit-image's
    ``structural_similarity(..., gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=255, channel_axis=-1)``, several times faster.
    """
    _same_shape(prediction, target)
    a = prediction.astype(np.float32)
    b = target.astype(np.float32)

    def blur(x: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(x, (_SSIM_WINDOW, _SSIM_WINDOW), _SSIM_SIGMA,
                                borderType=cv2.BORDER_REFLECT)

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a * mu_a
    var_b = blur(b * b) - mu_b * mu_b
    cov = blur(a * b) - mu_a * mu_b
    num = (2.0 * mu_a * mu_b + _C1) * (2.0 * cov + _C2)
    den = (mu_a * mu_a + mu_b * mu_b + _C1) * (var_a + var_b + _C2)
    r = _SSIM_WINDOW // 2
    return float(np.mean((num / den)[r:-r, r:-r]))


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rank correlation of two equally long 1-D samples (ties get mean ranks).

    NaN when either sample is constant (no ranking to correlate).
    """
    from scipy.stats import rankdata

    x = np.asarray(x, np.float64).ravel()
    y = np.asarray(y, np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"samples differ in length: {x.size} and {y.size}")
    if x.size < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(np.corrcoef(rankdata(x), rankdata(y))[0, 1])


def _same_shape(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} and {b.shape}")
