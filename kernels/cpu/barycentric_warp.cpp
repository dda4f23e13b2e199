#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "common/barycentric.h"
#include "cpu/kernels_cpu.h"

#if defined(STREAMEDIT_HAVE_OPENMP)
#include <omp.h>
#endif

namespace streamedit::cpu {

int default_num_threads() {
#if defined(STREAMEDIT_HAVE_OPENMP)
    return omp_get_max_threads();
#else
    return 1;
#endif
}

namespace {

constexpr int kBandRows = 16;  // rows per work item: few bounding-box tests, enough items

// Columns [x_begin, x_end) of row y that may lie inside the triangle. Conservative by one
// pixel on each side: the exact per-pixel test (shared with CUDA) decides.
void row_span(const TriangleSetup& t, float y, int w, int* x_begin, int* x_end) {
    // l1 = i00 * x + k1, l2 = i10 * x + k2, l0 = 1 - l1 - l2; each must be >= -eps.
    // Computed in double: only an estimate of the span, which must not lose pixels.
    const double dy = double(y) - t.cy;
    const double k1 = double(t.i01) * dy - double(t.i00) * t.cx;
    const double k2 = double(t.i11) * dy - double(t.i10) * t.cx;
    const double slopes[3] = {t.i00, t.i10, -(double(t.i00) + t.i10)};
    const double offsets[3] = {k1, k2, 1.0 - k1 - k2};
    // Start from the bounding box [floor(xmin), ceil(xmax)] clipped to the frame, as the CUDA
    // kernel does, so both consider the same pixels.
    double lo = std::max<double>(std::floor(t.xmin), 0.0);
    double hi = std::min<double>(std::ceil(t.xmax), w - 1.0);
    const int bx0 = static_cast<int>(lo), bx1 = static_cast<int>(std::max(hi, lo - 1.0)) + 1;
    for (int k = 0; k < 3; ++k) {
        const double s = slopes[k], bound = -kInsideEps - offsets[k];
        if (std::fabs(s) < 1e-20) {
            if (offsets[k] < -kInsideEps - 1e-3) { *x_begin = *x_end = 0; return; }
        } else if (s > 0) {
            lo = std::max(lo, bound / s);
        } else {
            hi = std::min(hi, bound / s);
        }
    }
    if (!(lo <= hi + 2.0)) { *x_begin = *x_end = 0; return; }
    *x_begin = std::max(bx0, static_cast<int>(std::floor(lo)) - 1);
    *x_end = std::min(bx1, static_cast<int>(std::ceil(hi)) + 2);
}

void rasterize_band(const std::vector<TriangleSetup>& setups, int y_begin, int y_end, int w,
                    float* map, uint8_t* mask) {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::fill(map + int64_t(y_begin) * w * 2, map + int64_t(y_end) * w * 2, nan);
    std::fill(mask + int64_t(y_begin) * w, mask + int64_t(y_end) * w, uint8_t(0));
    for (const TriangleSetup& t : setups) {  // index order: the lowest index wins
        if (!t.valid || t.ymax < y_begin - 1.0f || t.ymin > y_end + 0.0f) continue;
        // Bounding-box rows, clamped in float first (vertices may lie far outside the frame).
        const int r0 = static_cast<int>(std::max<float>(y_begin, std::floor(t.ymin)));
        const int r1 = static_cast<int>(std::min<float>(y_end, std::ceil(t.ymax) + 1.0f));
        for (int y = r0; y < r1; ++y) {
            int xb, xe;
            row_span(t, static_cast<float>(y), w, &xb, &xe);
            uint8_t* mrow = mask + int64_t(y) * w;
            float* prow = map + int64_t(y) * w * 2;
            for (int x = xb; x < xe; ++x) {
                if (mrow[x]) continue;
                float l1, l2;
                if (!barycentric(t, static_cast<float>(x), static_cast<float>(y), &l1, &l2)) continue;
                reference_point(t, l1, l2, &prow[2 * x], &prow[2 * x + 1]);
                mrow[x] = 1;
            }
        }
    }
}

}  // namespace

void barycentric_warp(const float* lm_cur, const float* lm_ref, int n, const int32_t* triangles,
                      int t, int h, int w, float* map, uint8_t* mask, int num_threads) {
    std::vector<TriangleSetup> setups(static_cast<size_t>(t));
    for (int i = 0; i < t; ++i) setups[i] = setup_triangle(lm_cur, lm_ref, n, triangles + 3 * i);
    const int bands = (h + kBandRows - 1) / kBandRows;
    const int threads = num_threads > 0 ? num_threads : default_num_threads();
    (void)threads;
#if defined(STREAMEDIT_HAVE_OPENMP)
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
#endif
    for (int b = 0; b < bands; ++b) {
        rasterize_band(setups, b * kBandRows, std::min(h, (b + 1) * kBandRows), w, map, mask);
    }
}

}  // namespace streamedit::cpu
