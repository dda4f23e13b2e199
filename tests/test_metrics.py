"""PSNR, SSIM and Spearman against scikit-image / SciPy, which the protocol is defined by."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from scipy.stats import spearmanr
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from streamedit_sdk.apps import metrics


def _pair(rng, shape, noise):
    a = cv2.GaussianBlur(rng.integers(0, 256, shape, dtype=np.uint8), (7, 7), 2)
    b = np.clip(a.astype(np.int16) + rng.integers(-noise, noise + 1, shape), 0, 255)
    return a, b.astype(np.uint8)


@pytest.mark.parametrize("shape, noise", [((64, 80, 3), 3), ((97, 61, 3), 25), ((50, 70), 10)])
def test_ssim_matches_scikit_image(rng, shape, noise):
    a, b = _pair(rng, shape, noise)
    ours = metrics.ssim(a, b)
    ref = structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
                                use_sample_covariance=False, data_range=255,
                                channel_axis=-1 if len(shape) == 3 else None)
    assert ours == pytest.approx(ref, abs=1e-4)
    assert metrics.ssim(a, a) == pytest.approx(1.0, abs=1e-6)


def test_psnr_matches_scikit_image_and_is_capped(rng):
    a, b = _pair(rng, (40, 30, 3), 12)
    assert metrics.psnr(b, a) == pytest.approx(peak_signal_noise_ratio(a, b, data_range=255),
                                               abs=1e-4)
    assert metrics.psnr(a, a) == metrics.PSNR_CAP_DB
    with pytest.raises(ValueError, match="differ in shape"):
        metrics.psnr(a, b[:-1])


def test_spearman_matches_scipy_with_ties(rng):
    x = rng.normal(size=500)
    y = x + rng.normal(size=500)
    y[:80] = 0.0  # ties get mean ranks
    x[100:150] = 1.0
    assert metrics.spearman(x, y) == pytest.approx(spearmanr(x, y).statistic, abs=1e-12)
    assert metrics.spearman(x, -x) == pytest.approx(-1.0)
    assert np.isnan(metrics.spearman(np.ones(10), x[:10]))
    with pytest.raises(ValueError, match="length"):
        metrics.spearman(x, y[:-1])
