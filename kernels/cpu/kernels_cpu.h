// C++ (CPU) kernels. Multi-threaded with OpenMP when it is available; num_threads <= 0 means
// "all threads OpenMP would use" (OMP_NUM_THREADS or the core count).
#pragma once

#include <cstdint>

#include "common/bilinear.h"
#include "common/blend.h"

namespace streamedit::cpu {

// Barycentric landmark warp (see common/barycentric.h for the rules).
//   lm_cur, lm_ref: (n, 2) float32, px      triangles: (t, 3) int32 landmark indices
//   map:  (h, w, 2) float32 out, absolute reference px; NaN where no triangle covers the pixel
//   mask: (h, w) uint8 out, 1 where a triangle covers the pixel
void barycentric_warp(const float* lm_cur, const float* lm_ref, int n, const int32_t* triangles,
                      int t, int h, int w, float* map, uint8_t* mask, int num_threads);

// Grid-sample with fallback (see common/bilinear.h). channels in 1..4.
template <typename T>
void grid_sample(const GridSampleArgs<T>& args, int channels, int num_threads);

// Blend-edit (see common/blend.h): the edited uint8 frame in one pass. channels in 1..4.
void blend_edit(const BlendEditArgs& args, int channels, int num_threads);
// out[i] = edit_weight_value (common/blend.h) of the n pixels of delta (n x channels float32).
void edit_weight(const float* delta, int64_t n, int channels, float inv_full, float* out,
                 int num_threads);

// Lucas-Kanade refinement of a map in place (rules in cpu/lk_refine.cpp).
//   cur, ref: (h, w) float32 grey;  map: (h, w, 2) float32, reference px, updated in place
void lk_refine(const float* cur, const float* ref, int h, int w, float* map, int iterations,
               int window, float damping, float max_step, int num_threads);

// Number of threads a call with num_threads <= 0 uses.
int default_num_threads();

}  // namespace streamedit::cpu
