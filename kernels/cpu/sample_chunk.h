// The grid-sample's CPU scheduling, shared by the kernels that sample (grid_sample.cpp,
// blend_edit.cpp): phase 1 classifies a chunk of a row (which pixels take the fast path, their
// top-left neighbour and fractional offsets) without branches; phase 2 blends.
#pragma once

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "common/bilinear.h"

namespace streamedit::cpu {

namespace {

constexpr int kChunk = 64;  // pixels per phase-1 batch: fits in L1 with the map slice

// Phase 1 for pixels [i_begin, n) of a chunk, scalar. fast[i] is 1 or 0.
template <bool HasValid>
SE_HD void classify_scalar(const float* map, const uint8_t* valid, int i_begin, int n,
                           float max_x, float max_y, int ws, int hs, int32_t* fast, int32_t* x0s,
                           int32_t* y0s, float* fxs, float* fys) {
    for (int i = i_begin; i < n; ++i) {
        const float mx = map[2 * i], my = map[2 * i + 1];
        // Comparisons with NaN are false: non-finite points never take the fast path.
        int f = (mx >= -0.5f) & (my >= -0.5f) & (mx <= max_x) & (my <= max_y);
        if (HasValid) f &= valid[i] != 0;
        const float cx = f ? mx : 0.0f, cy = f ? my : 0.0f;
        const int ix = static_cast<int>(cx), iy = static_cast<int>(cy);
        const int x0 = ix - (cx < static_cast<float>(ix) ? 1 : 0);
        const int y0 = iy - (cy < static_cast<float>(iy) ? 1 : 0);
        fast[i] = f & (x0 >= 0) & (y0 >= 0) & (x0 + 1 < ws) & (y0 + 1 < hs);
        x0s[i] = x0;
        y0s[i] = y0;
        fxs[i] = cx - static_cast<float>(x0);
        fys[i] = cy - static_cast<float>(y0);
    }
}

// Phase 1, four pixels per step with SSE2 (part of every x86-64 CPU); same results as scalar.
template <bool HasValid>
void classify(const float* map, const uint8_t* valid, int n, int ws, int hs, int32_t* fast,
              int32_t* x0s, int32_t* y0s, float* fxs, float* fys) {
    const float max_x = static_cast<float>(ws) - 0.5f, max_y = static_cast<float>(hs) - 0.5f;
    int i = 0;
#if defined(__SSE2__)
    const __m128 lo = _mm_set1_ps(-0.5f), hx = _mm_set1_ps(max_x), hy = _mm_set1_ps(max_y);
    const __m128i zero = _mm_setzero_si128(), one = _mm_set1_epi32(1);
    const __m128i wlim = _mm_set1_epi32(ws - 1), hlim = _mm_set1_epi32(hs - 1);
    for (; i + 4 <= n; i += 4) {
        const __m128 a = _mm_loadu_ps(map + 2 * i), b = _mm_loadu_ps(map + 2 * i + 4);
        const __m128 mx = _mm_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
        const __m128 my = _mm_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1));
        __m128 m = _mm_and_ps(_mm_and_ps(_mm_cmpge_ps(mx, lo), _mm_cmpge_ps(my, lo)),
                              _mm_and_ps(_mm_cmple_ps(mx, hx), _mm_cmple_ps(my, hy)));
        if (HasValid) {
            int32_t v[4];
            for (int k = 0; k < 4; ++k) v[k] = valid[i + k] != 0 ? -1 : 0;
            m = _mm_and_ps(m, _mm_castsi128_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(v))));
        }
        const __m128 cx = _mm_and_ps(m, mx), cy = _mm_and_ps(m, my);  // NaN -> 0 where not fast
        __m128i ix = _mm_cvttps_epi32(cx), iy = _mm_cvttps_epi32(cy);
        // floor: subtract 1 where truncation went up (negative non-integers); mask is -1 there.
        ix = _mm_add_epi32(ix, _mm_castps_si128(_mm_cmplt_ps(cx, _mm_cvtepi32_ps(ix))));
        iy = _mm_add_epi32(iy, _mm_castps_si128(_mm_cmplt_ps(cy, _mm_cvtepi32_ps(iy))));
        __m128i f = _mm_castps_si128(m);
        f = _mm_andnot_si128(_mm_cmplt_epi32(ix, zero), f);
        f = _mm_andnot_si128(_mm_cmplt_epi32(iy, zero), f);
        f = _mm_and_si128(_mm_cmplt_epi32(ix, wlim), f);  // x0 + 1 < ws
        f = _mm_and_si128(_mm_cmplt_epi32(iy, hlim), f);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(fast + i), _mm_and_si128(f, one));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(x0s + i), ix);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(y0s + i), iy);
        _mm_storeu_ps(fxs + i, _mm_sub_ps(cx, _mm_cvtepi32_ps(ix)));
        _mm_storeu_ps(fys + i, _mm_sub_ps(cy, _mm_cvtepi32_ps(iy)));
    }
#endif
    classify_scalar<HasValid>(map, valid, i, n, max_x, max_y, ws, hs, fast, x0s, y0s, fxs, fys);
}

// Exact float value of a source element. uint8 goes through a table: one load instead of a
// cvtsi2ss (two uops and a false dependency) per neighbour and channel; same value bit for bit.
struct U8ToFloat {
    float v[256];
    U8ToFloat() {
        for (int i = 0; i < 256; ++i) v[i] = static_cast<float>(i);
    }
};
const U8ToFloat kU8ToFloat;

inline float as_float(uint8_t p) { return kU8ToFloat.v[p]; }
inline float as_float(float p) { return p; }

#if defined(__SSE2__)
// One source pixel's C <= 4 channels as the lanes of a float vector (the lanes past C are
// junk). Four elements are read where they lie inside the image (end: one past its last
// element); the image's last pixel is copied first, so nothing past the image is read.
inline __m128 pixel_lanes(const uint8_t* p, const uint8_t* end, int channels) {
    int32_t bits = 0;
    if (end - p >= 4)
        std::memcpy(&bits, p, 4);  // one 32-bit load
    else
        std::memcpy(&bits, p, static_cast<size_t>(channels));
    const __m128i zero = _mm_setzero_si128();
    const __m128i v = _mm_unpacklo_epi16(_mm_unpacklo_epi8(_mm_cvtsi32_si128(bits), zero), zero);
    return _mm_cvtepi32_ps(v);  // exact: the same value as static_cast<float>(byte)
}

inline __m128 pixel_lanes(const float* p, const float* end, int channels) {
    if (end - p >= 4) return _mm_loadu_ps(p);
    float t[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    std::memcpy(t, p, sizeof(float) * channels);
    return _mm_loadu_ps(t);
}
#endif

// Phase 2 for a fast pixel: the bilinear blend of its four neighbours (all in the image), with
// the float operations of sample_pixel_float in the same order, so results are bit-identical
// (SSE2: the channels in the lanes of one vector, separate multiplies and adds as in the rule).
template <typename T, int C>
inline void bilinear_fast(const T* src, int ws, const T* end, int x0, int y0, float fx, float fy,
                          float* v) {
    const float w00 = (1.0f - fx) * (1.0f - fy), w10 = fx * (1.0f - fy);
    const float w01 = (1.0f - fx) * fy, w11 = fx * fy;
    const T* p00 = src + (static_cast<int64_t>(y0) * ws + x0) * C;
    const T* p01 = p00 + static_cast<int64_t>(ws) * C;
#if defined(__SSE2__)
    if (C > 1) {
        const __m128 s = _mm_add_ps(
            _mm_add_ps(_mm_add_ps(_mm_mul_ps(_mm_set1_ps(w00), pixel_lanes(p00, end, C)),
                                  _mm_mul_ps(_mm_set1_ps(w10), pixel_lanes(p00 + C, end, C))),
                       _mm_mul_ps(_mm_set1_ps(w01), pixel_lanes(p01, end, C))),
            _mm_mul_ps(_mm_set1_ps(w11), pixel_lanes(p01 + C, end, C)));
        float lanes[4];
        _mm_storeu_ps(lanes, s);
        for (int c = 0; c < C; ++c) v[c] = lanes[c];
        return;
    }
#endif
    (void)end;
    for (int c = 0; c < C; ++c)
        v[c] = w00 * as_float(p00[c]) + w10 * as_float(p00[C + c]) + w01 * as_float(p01[c]) +
               w11 * as_float(p01[C + c]);
}

// One past the source's last element.
template <typename T, int C>
inline const T* src_end(const GridSampleArgs<T>& a) {
    return a.src + static_cast<int64_t>(a.hs) * a.ws * C;
}

// Both phases for pixels [x_begin, x_begin + n) of output row `row` (its first pixel's index),
// n <= kChunk: v[i * C + c] is sample_pixel_float's value for pixel x_begin + i.
template <typename T, int C, bool HasValid>
inline void sample_chunk_float(const GridSampleArgs<T>& a, int64_t row, int x_begin, int n,
                               float* v) {
    int32_t fast[kChunk], x0s[kChunk], y0s[kChunk];
    float fxs[kChunk], fys[kChunk];
    classify<HasValid>(a.map + 2 * (row + x_begin), HasValid ? a.valid + row + x_begin : nullptr,
                       n, a.ws, a.hs, fast, x0s, y0s, fxs, fys);
    const T* end = src_end<T, C>(a);
    for (int i = 0; i < n; ++i) {
        if (fast[i])
            bilinear_fast<T, C>(a.src, a.ws, end, x0s[i], y0s[i], fxs[i], fys[i], v + i * C);
        else
            sample_pixel_float<T, C>(a, row + x_begin + i, v + i * C);
    }
}

}  // namespace

}  // namespace streamedit::cpu
