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
// Per iteration: the warp, then one streamed pass per thread over its rows (refine_rows):
// a few rows of scratch per thread instead of eleven whole planes.
#include <algorithm>
#include <cstdint>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "cpu/kernels_cpu.h"

#if defined(STREAMEDIT_HAVE_OPENMP)
#include <omp.h>
#endif

namespace streamedit::cpu {

namespace {

constexpr int kPlanes = 5;

inline int clampi(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

// gx*gx, gx*gy, gy*gy, gx*gt, gy*gt of pixel x of one row into planes (plane k at k * w).
inline void products_pixel(const float* up, const float* mid, const float* dn, const float* cr,
                           int x, int xm, int xp, int w, float* planes) {
    const float gx = ((up[xp] - up[xm]) + 2.0f * (mid[xp] - mid[xm]) + (dn[xp] - dn[xm])) *
                     0.125f;
    const float gy = ((dn[xm] - up[xm]) + 2.0f * (dn[x] - up[x]) + (dn[xp] - up[xp])) * 0.125f;
    const float gt = mid[x] - cr[x];
    planes[x] = gx * gx;
    planes[w + x] = gx * gy;
    planes[2 * w + x] = gy * gy;
    planes[3 * w + x] = gx * gt;
    planes[4 * w + x] = gy * gt;
}

// The five products of row y into planes (kPlanes x w).
void products_row(const float* wp, const float* cur, int h, int w, int y, float* planes) {
    const float* up = wp + static_cast<int64_t>(clampi(y - 1, 0, h - 1)) * w;
    const float* mid = wp + static_cast<int64_t>(y) * w;
    const float* dn = wp + static_cast<int64_t>(clampi(y + 1, 0, h - 1)) * w;
    const float* cr = cur + static_cast<int64_t>(y) * w;
    products_pixel(up, mid, dn, cr, 0, 0, w > 1 ? 1 : 0, w, planes);
    for (int x = 1; x < w - 1; ++x)  // interior: no clamping, vectorisable
        products_pixel(up, mid, dn, cr, x, x - 1, x + 1, w, planes);
    if (w > 1) products_pixel(up, mid, dn, cr, w - 1, w - 2, w - 1, w, planes);
}

// Sum over [x - r, x + r] along a row (replicated ends), for every x; the terms are added in
// the order j = -r..r, as the reference does, with the interior free of clamping and summed
// in registers, four pixels at a time with SSE2 (the same additions in the same order).
// R > 0: the radius known at compile time (r == R), so the window's loop unrolls.
template <int R>
void box_row(const float* in, float* out, int w, int r_runtime) {
    const int r = R > 0 ? R : r_runtime;
    const int lo = std::min(r, w), hi = std::max(lo, w - r);  // interior: [lo, hi)
    auto clamped = [&](int x) {
        float sum = 0.0f;
        for (int j = -r; j <= r; ++j) sum += in[clampi(x + j, 0, w - 1)];
        return sum;
    };
    for (int x = 0; x < lo; ++x) out[x] = clamped(x);
    int x = lo;
#if defined(__SSE2__)
    for (; x + 4 <= hi; x += 4) {
        __m128 sum = _mm_setzero_ps();
        for (int j = -r; j <= r; ++j) sum = _mm_add_ps(sum, _mm_loadu_ps(in + x + j));
        _mm_storeu_ps(out + x, sum);
    }
#endif
    for (; x < hi; ++x) {
        float sum = 0.0f;
        for (int j = -r; j <= r; ++j) sum += in[x + j];
        out[x] = sum;
    }
    for (x = hi; x < w; ++x) out[x] = clamped(x);
}

// out[x] = the sum of rows[0..count)[x], added in that order (SSE2 as in box_row); R > 0:
// count is 2R + 1, known at compile time.
template <int R>
void sum_rows(const float* const* rows, int count_runtime, int w, float* out) {
    const int count = R > 0 ? 2 * R + 1 : count_runtime;
    int x = 0;
#if defined(__SSE2__)
    for (; x + 4 <= w; x += 4) {
        __m128 sum = _mm_setzero_ps();
        for (int j = 0; j < count; ++j) sum = _mm_add_ps(sum, _mm_loadu_ps(rows[j] + x));
        _mm_storeu_ps(out + x, sum);
    }
#endif
    for (; x < w; ++x) {
        float sum = 0.0f;
        for (int j = 0; j < count; ++j) sum += rows[j][x];
        out[x] = sum;
    }
}

// One thread's rows [ya, yb) of one iteration, streamed: the products of each needed row are
// box-summed along the row into a ring of the last 2r + 1 rows (all a box's column needs),
// then each output row's column sums, the 2x2 solve and the map's step follow at once. The
// float operations and their order are those of the whole-plane passes of the reference.
template <int R>
void refine_rows(const float* wp, const float* cur, int h, int w, int r, float norm,
                 float damping, float max_step, float* map, int ya, int yb, float* scratch) {
    const int slots = 2 * r + 1;
    float* products = scratch;                          // kPlanes x w
    float* sums = products + kPlanes * w;               // kPlanes x w, the column sums
    float* ring = sums + kPlanes * w;                   // slots x kPlanes x w
    auto slot = [&](int row, int plane) {
        return ring + (static_cast<int64_t>(row % slots) * kPlanes + plane) * w;
    };
    std::vector<const float*> rows(slots);  // the rows of one plane a column sum adds
    int next = std::max(ya - r, 0);  // the next row whose row sums go into the ring
    for (int y = ya; y < yb; ++y) {
        for (const int last = std::min(y + r, h - 1); next <= last; ++next) {
            products_row(wp, cur, h, w, next, products);
            for (int k = 0; k < kPlanes; ++k) box_row<R>(products + k * w, slot(next, k), w, r);
        }
        for (int k = 0; k < kPlanes; ++k) {
            for (int j = -r; j <= r; ++j) rows[j + r] = slot(clampi(y + j, 0, h - 1), k);
            sum_rows<R>(rows.data(), slots, w, sums + k * w);
        }
        float* m = map + 2 * static_cast<int64_t>(y) * w;
        for (int x = 0; x < w; ++x) {
            const float a = sums[x] * norm + damping, b = sums[w + x] * norm;
            const float c = sums[2 * w + x] * norm + damping;
            const float p = sums[3 * w + x] * norm, q = sums[4 * w + x] * norm;
            const float det = a * c - b * b;
            const float dx = (b * q - c * p) / det, dy = (b * p - a * q) / det;
            m[2 * x] += std::min(std::max(dx, -max_step), max_step);
            m[2 * x + 1] += std::min(std::max(dy, -max_step), max_step);
        }
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
    // The warped reference, reused from call to call on this thread (a fresh plane at 512x512
    // costs page faults every call).
    thread_local std::vector<float> warped;
    if (warped.size() < static_cast<size_t>(n)) warped.resize(n);
    GridSampleArgs<float> gs{};
    gs.src = ref;
    gs.hs = h;
    gs.ws = w;
    gs.map = map;
    gs.out = warped.data();
    gs.h = h;
    gs.w = w;
    gs.border = Border::kReplicate;
    const float* wp = warped.data();
    const size_t scratch_size = static_cast<size_t>(2 * kPlanes + (2 * r + 1) * kPlanes) * w;
    (void)nt;
    for (int it = 0; it < iterations; ++it) {
        grid_sample<float>(gs, 1, num_threads);  // all of it: a row's gradients read its neighbours
#if defined(STREAMEDIT_HAVE_OPENMP)
#pragma omp parallel num_threads(nt)
#endif
        {
#if defined(STREAMEDIT_HAVE_OPENMP)
            const int t = omp_get_thread_num(), threads = omp_get_num_threads();
#else
            const int t = 0, threads = 1;
#endif
            thread_local std::vector<float> scratch;  // per pool thread, kept between calls
            if (scratch.size() < scratch_size) scratch.resize(scratch_size);
            const int ya = static_cast<int>(static_cast<int64_t>(h) * t / threads);
            const int yb = static_cast<int>(static_cast<int64_t>(h) * (t + 1) / threads);
            // the windows the SDK uses (3 px at full resolution, 5 at work size) unrolled
            auto rows = r == 1 ? refine_rows<1> : r == 2 ? refine_rows<2>
                      : r == 3 ? refine_rows<3> : refine_rows<0>;
            rows(wp, cur, h, w, r, norm, damping, max_step, map, ya, yb, scratch.data());
        }
    }
}

}  // namespace streamedit::cpu
