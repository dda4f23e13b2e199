// Lucas-Kanade refinement of a dense map (forward-additive Gauss-Newton, box window).
// The rules, which the numpy reference (streamedit_sdk/kernels/reference.py: lk_refine)
// follows with the same float operations in the same order:
//   warped = grid_sample(ref, map), border replicate (common/bilinear.h)
//   gx = ((w[y-1][x+1] - w[y-1][x-1]) + 2 (w[y][x+1] - w[y][x-1]) + (w[y+1][x+1] - w[y+1][x-1]))
//        * 0.125, gy likewise (Sobel 3x3 / 8), pixels outside the image replicated
//   gt = warped - cur
//   a, b, c, p, q = box means (window x window, rows then columns, pixels outside replicated)
//                   of gx*gx, gx*gy, gy*gy, gx*gt, gy*gt
//   det = (a + damping) (c + damping) - b b
//   step = ((b q - (c + damping) p) / det, (b p - (a + damping) q) / det), each clipped to
//          [-max_step, max_step];   map += step
// One pass per stage, each parallel over rows (OpenMP); 11 planes of scratch, kept per thread.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "cpu/kernels_cpu.h"

#if defined(STREAMEDIT_HAVE_OPENMP)
#include <omp.h>
#endif

namespace streamedit::cpu {

namespace {

constexpr int kPlanes = 5;

inline int clampi(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

// gx*gx, gx*gy, gy*gy, gx*gt, gy*gt of pixel x of row y into planes (plane k at k * n).
inline void products_pixel(const float* up, const float* mid, const float* dn, const float* cr,
                           int x, int xm, int xp, int64_t i, int64_t n, float* planes) {
    const float gx = ((up[xp] - up[xm]) + 2.0f * (mid[xp] - mid[xm]) + (dn[xp] - dn[xm])) *
                     0.125f;
    const float gy = ((dn[xm] - up[xm]) + 2.0f * (dn[x] - up[x]) + (dn[xp] - up[xp])) * 0.125f;
    const float gt = mid[x] - cr[x];
    planes[i] = gx * gx;
    planes[n + i] = gx * gy;
    planes[2 * n + i] = gy * gy;
    planes[3 * n + i] = gx * gt;
    planes[4 * n + i] = gy * gt;
}

void products_row(const float* wp, const float* cur, int h, int w, int y, int64_t n,
                  float* planes) {
    const float* up = wp + static_cast<int64_t>(clampi(y - 1, 0, h - 1)) * w;
    const float* mid = wp + static_cast<int64_t>(y) * w;
    const float* dn = wp + static_cast<int64_t>(clampi(y + 1, 0, h - 1)) * w;
    const float* cr = cur + static_cast<int64_t>(y) * w;
    const int64_t row = static_cast<int64_t>(y) * w;
    products_pixel(up, mid, dn, cr, 0, 0, w > 1 ? 1 : 0, row, n, planes);
    for (int x = 1; x < w - 1; ++x)  // interior: no clamping, vectorisable
        products_pixel(up, mid, dn, cr, x, x - 1, x + 1, row + x, n, planes);
    if (w > 1) products_pixel(up, mid, dn, cr, w - 1, w - 2, w - 1, row + w - 1, n, planes);
}

// Sum over [x - r, x + r] along a row (replicated ends), for every x; the terms are added in
// the order j = -r..r, as the reference does, with the interior loop free of clamping.
void box_row(const float* in, float* out, int w, int r) {
    const int lo = std::min(r, w), hi = std::max(lo, w - r);  // interior: [lo, hi)
    for (int x = 0; x < w; ++x) out[x] = 0.0f;
    for (int j = -r; j <= r; ++j) {
        for (int x = 0; x < lo; ++x) out[x] += in[clampi(x + j, 0, w - 1)];
        const float* src = in + j;
        for (int x = lo; x < hi; ++x) out[x] += src[x];
        for (int x = hi; x < w; ++x) out[x] += in[clampi(x + j, 0, w - 1)];
    }
}

// Sum over rows [y - r, y + r] (replicated ends) of one plane, row y.
void box_column(const float* in, float* out, int h, int w, int y, int r) {
    float* o = out + static_cast<int64_t>(y) * w;
    std::fill(o, o + w, 0.0f);
    for (int j = -r; j <= r; ++j) {
        const float* src = in + static_cast<int64_t>(clampi(y + j, 0, h - 1)) * w;
        for (int x = 0; x < w; ++x) o[x] += src[x];
    }
}

}  // namespace

void lk_refine(const float* cur, const float* ref, int h, int w, float* map, int iterations,
               int window, float damping, float max_step, int num_threads) {
    if (h <= 0 || w <= 0 || iterations <= 0) return;
    const int nt = num_threads > 0 ? num_threads : default_num_threads();
    const int64_t n = static_cast<int64_t>(h) * w;
    const int r = window / 2;
    const float norm = 1.0f / static_cast<float>(window * window);
    // Scratch reused from call to call on this thread (every stage writes all of it before
    // reading): a fresh 11 planes at 512x512 cost more than an iteration in page faults.
    thread_local std::vector<float> warped, planes, rows;
    if (warped.size() < static_cast<size_t>(n)) {
        warped.resize(n);
        planes.resize(kPlanes * n);
        rows.resize(kPlanes * n);
    }
    GridSampleArgs<float> gs{};
    gs.src = ref;
    gs.hs = h;
    gs.ws = w;
    gs.map = map;
    gs.out = warped.data();
    gs.h = h;
    gs.w = w;
    gs.border = Border::kReplicate;
    float* pl = planes.data();
    float* rw = rows.data();
    const float* wp = warped.data();
    (void)nt;
    for (int it = 0; it < iterations; ++it) {
        grid_sample<float>(gs, 1, num_threads);
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int y = 0; y < h; ++y) products_row(wp, cur, h, w, y, n, pl);
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int k = 0; k < kPlanes * h; ++k) {
            const int64_t off = static_cast<int64_t>(k) * w;  // plane k / h, row k % h
            box_row(pl + off, rw + off, w, r);
        }
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int k = 0; k < kPlanes * h; ++k) {
            const int plane = k / h, y = k % h;
            box_column(rw + plane * n, pl + plane * n, h, w, y, r);
        }
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int y = 0; y < h; ++y) {
            for (int x = 0; x < w; ++x) {
                const int64_t i = static_cast<int64_t>(y) * w + x;
                const float a = pl[i] * norm + damping, b = pl[n + i] * norm;
                const float c = pl[2 * n + i] * norm + damping;
                const float p = pl[3 * n + i] * norm, q = pl[4 * n + i] * norm;
                const float det = a * c - b * b;
                const float dx = (b * q - c * p) / det, dy = (b * p - a * q) / det;
                map[2 * i] += std::min(std::max(dx, -max_step), max_step);
                map[2 * i + 1] += std::min(std::max(dy, -max_step), max_step);
            }
        }
    }
}

}  // namespace streamedit::cpu
