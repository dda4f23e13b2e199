// Blend-edit: the edited output pixel, shared by the C++ kernel and the numpy reference.
//
// For an output pixel with the edit's difference d[C] (float32, intensity levels):
//   base = the frame's own pixel                       without a source image, else
//          the grid-sample rule (common/bilinear.h) of src at map, before rounding, with the
//          frame as fallback and `valid`
//   led  = the same at edit_map (only where one is given)
//   w    = min(max_c |d[c]| * inv_full, 1)             how much the edit changes the pixel
//   v    = base + w * (led - base) + d                  (without edit_map: base + d)
//   out  = floor(clamp(v + 0.5, 0, 255))                uint8, rounded half up
// The paper's propagation (§3.3): the reference warped onto the frame, its edited part by the
// edit's map and the rest by the correspondence, with the carried edit added once on top.
#pragma once

#include "common/bilinear.h"

namespace streamedit {

// Everything the blend needs. sample: the grid-sample's arguments (uint8 source, the
// correspondence map, the frame as fallback, valid; out unused), src == nullptr for the frame
// itself; edit_map: (h, w, 2) float32 or null; delta: (h, w, C) float32; out: (h, w, C) uint8.
struct BlendEditArgs {
    GridSampleArgs<uint8_t> sample;
    const float* edit_map;
    const float* delta;
    float inv_full;  // 1 / the levels from which a pixel counts as wholly edited
    uint8_t* out;
};

// w = min(max_c |d[c]| * inv_full, 1): how much the edit d[C] changes its pixel (0..1).
template <int C>
SE_HD float edit_weight_value(const float* d, float inv_full) {
    float m = 0.0f;
    for (int c = 0; c < C; ++c) {
        const float a = d[c] < 0.0f ? -d[c] : d[c];
        m = a > m ? a : m;
    }
    const float p = m * inv_full;
    return p < 1.0f ? p : 1.0f;
}

template <int C>
SE_HD void blend_edit_value(const float* base, const float* led, const float* d, float inv_full,
                            uint8_t* o) {
    if (led == nullptr) {
        for (int c = 0; c < C; ++c) o[c] = from_float<uint8_t>(base[c] + d[c]);
        return;
    }
    const float w = edit_weight_value<C>(d, inv_full);
    for (int c = 0; c < C; ++c) o[c] = from_float<uint8_t>(base[c] + w * (led[c] - base[c]) + d[c]);
}

}  // namespace streamedit
