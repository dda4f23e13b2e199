// CUDA launchers. All pointers are device pointers; every launch is asynchronous on `stream`
// and returns the launch status (kernel faults surface at the next synchronisation).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "common/bilinear.h"

namespace streamedit::cuda {

// Barycentric landmark warp (rules in common/barycentric.h). Uses `map` as scratch for the
// winning triangle index of every pixel, so no extra memory is allocated.
//   lm_cur, lm_ref: (n, 2) float32   triangles: (t, 3) int32
//   map: (h, w, 2) float32 out       mask: (h, w) uint8 out
cudaError_t launch_barycentric_warp(const float* lm_cur, const float* lm_ref, int n,
                                    const int32_t* triangles, int t, int h, int w, float* map,
                                    uint8_t* mask, cudaStream_t stream);

// Grid-sample with fallback (rules in common/bilinear.h). channels in 1..4.
template <typename T>
cudaError_t launch_grid_sample(const GridSampleArgs<T>& args, int channels, cudaStream_t stream);

// Lucas-Kanade refinement of `map` in place (rules in cpu/lk_refine.cpp, same arithmetic).
//   cur, ref: (h, w) float32 grey   map: (h, w, 2) float32 reference px, updated in place
//   scratch: lk_refine_scratch_floats(h, w) floats of device memory the call may overwrite
cudaError_t launch_lk_refine(const float* cur, const float* ref, int h, int w, float* map,
                             int iterations, int window, float damping, float max_step,
                             float* scratch, cudaStream_t stream);
size_t lk_refine_scratch_floats(int h, int w);

}  // namespace streamedit::cuda
