// Grid-sample: the per-pixel rule, shared by the C++ and CUDA kernels.
//
// out[y, x] for a map point (mx, my) in source pixels (centres on integers):
//   1. map not finite, or valid[y, x] == 0      -> fallback[y, x], or 0 without fallback
//   2. point outside the source footprint
//      [-0.5, Ws - 0.5] x [-0.5, Hs - 0.5]     -> fallback[y, x]; without fallback, rule 3
//      (an empty source has no footprint: fallback, or 0 without fallback)
//   3. otherwise bilinear interpolation of the 4 neighbours; a neighbour outside the image is
//      the nearest edge pixel (border = replicate) or 0 (border = zero).
// uint8 output is rounded half up: floor(v + 0.5), clamped to [0, 255]; float32 is not rounded.
#pragma once

#include "common/hd.h"

namespace streamedit {

enum class Border : int { kReplicate = 0, kZero = 1 };

template <typename T>
SE_HD T from_float(float v);

template <>
SE_HD float from_float<float>(float v) { return v; }

template <>
SE_HD uint8_t from_float<uint8_t>(float v) {
    const float r = clamp_value(v + 0.5f, 0.0f, 255.0f);
    return static_cast<uint8_t>(r);  // truncation of a non-negative value == floor
}

// Everything one output pixel needs; pointers may be null where the argument was not given.
template <typename T>
struct GridSampleArgs {
    const T* src;           // (hs, ws, C)
    int hs, ws;
    const float* map;       // (h, w, 2): x, y in source pixels
    const T* fallback;      // (h, w, C) or null
    const uint8_t* valid;   // (h, w) or null
    T* out;                 // (h, w, C)
    int h, w;
    Border border;
};

// The rule's value for one output pixel as floats, before the uint8 rounding: v[C] is the
// bilinear blend, or the fallback (0 without one) where rules 1-2 take it. Returns true where
// the value came from the fallback (or 0).
template <typename T, int C>
SE_HD bool sample_pixel_float(const GridSampleArgs<T>& a, int64_t idx, float* v) {
    const float mx = a.map[2 * idx], my = a.map[2 * idx + 1];
    const bool usable = is_finite(mx) && is_finite(my) && (a.valid == nullptr || a.valid[idx] != 0);
    const bool empty_src = a.ws <= 0 || a.hs <= 0;
    const bool inside = usable && !empty_src && mx >= -0.5f && my >= -0.5f &&
                        mx <= a.ws - 0.5f && my <= a.hs - 0.5f;
    if (!inside && (a.fallback != nullptr || !usable || empty_src)) {
        for (int c = 0; c < C; ++c)
            v[c] = a.fallback != nullptr ? static_cast<float>(a.fallback[idx * C + c]) : 0.0f;
        return true;
    }
    // A point whose four neighbours all lie outside the image (a map's "off the reference"
    // points, far away) reads only zeros with border zero: the sum below would be 0 too.
    if (a.border == Border::kZero &&
        (mx < -1.0f || my < -1.0f || mx >= static_cast<float>(a.ws) ||
         my >= static_cast<float>(a.hs))) {
        for (int c = 0; c < C; ++c) v[c] = 0.0f;
        return false;
    }
    // Clamp far-away points (only reached without fallback) so the integer maths cannot overflow;
    // the result is the same for both border modes.
    const float x = clamp_value(mx, -2.0f, static_cast<float>(a.ws) + 1.0f);
    const float y = clamp_value(my, -2.0f, static_cast<float>(a.hs) + 1.0f);
    const int x0 = floor_to_int(x), y0 = floor_to_int(y);
    const float fx = x - static_cast<float>(x0), fy = y - static_cast<float>(y0);
    const float w00 = (1.0f - fx) * (1.0f - fy), w10 = fx * (1.0f - fy);
    const float w01 = (1.0f - fx) * fy, w11 = fx * fy;
    const int x1 = x0 + 1, y1 = y0 + 1;
    if (x0 >= 0 && y0 >= 0 && x1 < a.ws && y1 < a.hs) {  // fast path: all four inside
        const T* p00 = a.src + (static_cast<int64_t>(y0) * a.ws + x0) * C;
        const T* p01 = p00 + static_cast<int64_t>(a.ws) * C;
        for (int c = 0; c < C; ++c)
            v[c] = w00 * static_cast<float>(p00[c]) + w10 * static_cast<float>(p00[C + c]) +
                   w01 * static_cast<float>(p01[c]) + w11 * static_cast<float>(p01[C + c]);
        return false;
    }
    const bool zero = a.border == Border::kZero;
    const int xs[2] = {x0, x1}, ys[2] = {y0, y1};
    const float ws[4] = {w00, w10, w01, w11};
    for (int c = 0; c < C; ++c) v[c] = 0.0f;
    for (int k = 0; k < 4; ++k) {
        int xx = xs[k & 1], yy = ys[k >> 1];
        const bool out_of_image = xx < 0 || yy < 0 || xx >= a.ws || yy >= a.hs;
        if (out_of_image && zero) continue;
        xx = clamp_value(xx, 0, a.ws - 1);
        yy = clamp_value(yy, 0, a.hs - 1);
        const T* p = a.src + (static_cast<int64_t>(yy) * a.ws + xx) * C;
        for (int c = 0; c < C; ++c) v[c] += ws[k] * static_cast<float>(p[c]);
    }
    return false;
}

template <typename T, int C>
SE_HD void grid_sample_pixel(const GridSampleArgs<T>& a, int64_t idx) {
    float v[C];
    T* o = a.out + idx * C;
    if (sample_pixel_float<T, C>(a, idx, v)) {  // the fallback's own values, not re-rounded
        for (int c = 0; c < C; ++c) o[c] = a.fallback != nullptr ? a.fallback[idx * C + c] : T(0);
        return;
    }
    for (int c = 0; c < C; ++c) o[c] = from_float<T>(v[c]);
}

}  // namespace streamedit
