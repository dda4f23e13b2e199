// C++ blend-edit: the rule of common/blend.h, scheduled for a CPU a chunk of a row at a time
// (the two samples through sample_chunk.h, then the blend), one pass over the output instead
// of a pass per step (sample, sample, weight, mix, add). And the rule's edit weight alone.
#include <cstring>
#include <stdexcept>

#include "common/blend.h"
#include "cpu/kernels_cpu.h"
#include "cpu/sample_chunk.h"

namespace streamedit::cpu {

namespace {

#if defined(__SSE2__)
// blend_edit_value with the channels in the lanes of one vector: the same float operations
// in the same order (abs, max, min and the clamp agree with the scalar compares on every
// non-NaN value), so results are bit-identical. base and led hold at least 4 floats.
template <int C>
inline void blend_lanes(const float* base, const float* led, const float* d, const float* d_end,
                        float inv_full, uint8_t* o) {
    const __m128 b = _mm_loadu_ps(base);
    const __m128 dv = pixel_lanes(d, d_end, C);
    __m128 v;
    if (led == nullptr) {
        v = _mm_add_ps(b, dv);
    } else {
        const __m128 a = _mm_andnot_ps(_mm_set1_ps(-0.0f), dv);  // |d|
        float lanes[4];
        _mm_storeu_ps(lanes, a);
        float m = 0.0f;
        for (int c = 0; c < C; ++c) m = lanes[c] > m ? lanes[c] : m;
        const float p = m * inv_full;
        const __m128 w = _mm_set1_ps(p < 1.0f ? p : 1.0f);
        v = _mm_add_ps(_mm_add_ps(b, _mm_mul_ps(w, _mm_sub_ps(_mm_loadu_ps(led), b))), dv);
    }
    v = _mm_min_ps(_mm_max_ps(_mm_add_ps(v, _mm_set1_ps(0.5f)), _mm_setzero_ps()),
                   _mm_set1_ps(255.0f));
    const __m128i i32 = _mm_cvttps_epi32(v);
    const __m128i u8 = _mm_packus_epi16(_mm_packs_epi32(i32, i32), i32);
    const int32_t bits = _mm_cvtsi128_si32(u8);
    std::memcpy(o, &bits, C);  // exactly C bytes: the next pixel may be another thread's
}
#endif

// True when all of d[0 .. n) are zero (no edit on these pixels).
inline bool unedited(const float* d, int n) {
    for (int i = 0; i < n; ++i)
        if (d[i] != 0.0f) return false;
    return true;
}

template <int C, bool HasValid>
void blend_row(const BlendEditArgs& a, int y) {
    const int64_t row = int64_t(y) * a.sample.w;
    float base[kChunk * C + 4], led[kChunk * C + 4];  // + 4: a pixel's lanes read 4 floats
    const float* d_end = a.delta + int64_t(a.sample.h) * a.sample.w * C;
    GridSampleArgs<uint8_t> at_edit = a.sample;
    at_edit.map = a.edit_map;
    const bool with_edit_map = a.sample.src != nullptr && a.edit_map != nullptr;
    for (int x_begin = 0; x_begin < a.sample.w; x_begin += kChunk) {
        const int n = a.sample.w - x_begin < kChunk ? a.sample.w - x_begin : kChunk;
        const int64_t first = row + x_begin;
        if (a.sample.src != nullptr) {
            sample_chunk_float<uint8_t, C, HasValid>(a.sample, row, x_begin, n, base);
        } else {
            for (int i = 0; i < n * C; ++i) base[i] = as_float(a.sample.fallback[first * C + i]);
        }
        // the edit's map is sampled only where it can change a pixel: off the face it is the
        // correspondence itself (the same sample), and where the edit is nil its weight is 0
        // (base + 0 * (led - base) + 0 is base, as without it): bit-identical either way
        const bool led_needed = with_edit_map && !unedited(a.delta + first * C, n * C) &&
                                std::memcmp(a.sample.map + first * 2, a.edit_map + first * 2,
                                            sizeof(float) * 2 * n) != 0;
        if (led_needed) sample_chunk_float<uint8_t, C, HasValid>(at_edit, row, x_begin, n, led);
        for (int i = 0; i < n; ++i) {
            const float* l = led_needed ? led + i * C : nullptr;
#if defined(__SSE2__)
            if (C > 1) {
                blend_lanes<C>(base + i * C, l, a.delta + (first + i) * C, d_end, a.inv_full,
                               a.out + (first + i) * C);
                continue;
            }
#endif
            blend_edit_value<C>(base + i * C, l, a.delta + (first + i) * C, a.inv_full,
                                a.out + (first + i) * C);
        }
    }
}

template <int C>
void blend_edit_impl(const BlendEditArgs& args, int threads) {
    (void)threads;
#if defined(STREAMEDIT_HAVE_OPENMP)
#pragma omp parallel num_threads(threads)
#endif
    {
        const BlendEditArgs a = args;  // thread-local: see grid_sample.cpp
#if defined(STREAMEDIT_HAVE_OPENMP)
#pragma omp for schedule(static)
#endif
        for (int y = 0; y < a.sample.h; ++y) {
            if (a.sample.valid != nullptr)
                blend_row<C, true>(a, y);
            else
                blend_row<C, false>(a, y);
        }
    }
}

template <int C>
void edit_weight_impl(const float* delta, int64_t n, float inv_full, float* out, int threads) {
    (void)threads;
#if defined(STREAMEDIT_HAVE_OPENMP)
#pragma omp parallel for schedule(static) num_threads(threads)
#endif
    for (int64_t i = 0; i < n; ++i) out[i] = edit_weight_value<C>(delta + i * C, inv_full);
}

}  // namespace

void edit_weight(const float* delta, int64_t n, int channels, float inv_full, float* out,
                 int num_threads) {
    const int threads = num_threads > 0 ? num_threads : default_num_threads();
    switch (channels) {
        case 1: edit_weight_impl<1>(delta, n, inv_full, out, threads); break;
        case 2: edit_weight_impl<2>(delta, n, inv_full, out, threads); break;
        case 3: edit_weight_impl<3>(delta, n, inv_full, out, threads); break;
        case 4: edit_weight_impl<4>(delta, n, inv_full, out, threads); break;
        default: throw std::invalid_argument("edit_weight: channels must be 1..4");
    }
}

void blend_edit(const BlendEditArgs& args, int channels, int num_threads) {
    const int threads = num_threads > 0 ? num_threads : default_num_threads();
    switch (channels) {
        case 1: blend_edit_impl<1>(args, threads); break;
        case 2: blend_edit_impl<2>(args, threads); break;
        case 3: blend_edit_impl<3>(args, threads); break;
        case 4: blend_edit_impl<4>(args, threads); break;
        default: throw std::invalid_argument("blend_edit: channels must be 1..4");
    }
}

}  // namespace streamedit::cpu
