// Lucas-Kanade refinement on the GPU: the rules and the float operations of cpu/lk_refine.cpp,
// in the same order (no FMA contraction: --fmad=false), so both give the same map bit for bit.
// Per iteration, four launches on `stream`:
//   1. grid-sample the reference at the map (border replicate) -> warped
//   2. one thread per pixel: Sobel gradients of warped and the five products -> planes
//   3. one thread per (plane, pixel): box sum along the row, terms in the order j = -r..r
//   4. one thread per pixel: box sum down the column of the five planes, the damped 2x2
//      solve and the clipped update of the map.
#include <cstdint>

#include "cuda/kernels_cuda.h"

namespace streamedit::cuda {

namespace {

constexpr int kPlanes = 5;

__device__ __forceinline__ int clampi(int v, int lo, int hi) {
    return v < lo ? lo : (v > hi ? hi : v);
}

__global__ void products_kernel(const float* __restrict__ wp, const float* __restrict__ cur,
                                int h, int w, float* __restrict__ planes) {
    const int x = blockIdx.x * blockDim.x + threadIdx.x;
    const int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= w || y >= h) return;
    const int64_t n = static_cast<int64_t>(h) * w;
    const float* up = wp + static_cast<int64_t>(clampi(y - 1, 0, h - 1)) * w;
    const float* mid = wp + static_cast<int64_t>(y) * w;
    const float* dn = wp + static_cast<int64_t>(clampi(y + 1, 0, h - 1)) * w;
    const int xm = clampi(x - 1, 0, w - 1), xp = clampi(x + 1, 0, w - 1);
    const float gx = ((up[xp] - up[xm]) + 2.0f * (mid[xp] - mid[xm]) + (dn[xp] - dn[xm])) *
                     0.125f;
    const float gy = ((dn[xm] - up[xm]) + 2.0f * (dn[x] - up[x]) + (dn[xp] - up[xp])) * 0.125f;
    const int64_t i = static_cast<int64_t>(y) * w + x;
    const float gt = mid[x] - cur[i];
    planes[i] = gx * gx;
    planes[n + i] = gx * gy;
    planes[2 * n + i] = gy * gy;
    planes[3 * n + i] = gx * gt;
    planes[4 * n + i] = gy * gt;
}

// rows[k][y][x] = sum_{j=-r..r} planes[k][y][clamp(x + j)], k = blockIdx.z.
__global__ void box_row_kernel(const float* __restrict__ planes, int h, int w, int r,
                               float* __restrict__ rows) {
    const int x = blockIdx.x * blockDim.x + threadIdx.x;
    const int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= w || y >= h) return;
    const int64_t off = (static_cast<int64_t>(blockIdx.z) * h + y) * w;
    const float* in = planes + off;
    float s = 0.0f;
    for (int j = -r; j <= r; ++j) s += in[clampi(x + j, 0, w - 1)];
    rows[off + x] = s;
}

__global__ void solve_kernel(const float* __restrict__ rows, int h, int w, int r, float norm,
                             float damping, float max_step, float* __restrict__ map) {
    const int x = blockIdx.x * blockDim.x + threadIdx.x;
    const int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= w || y >= h) return;
    const int64_t n = static_cast<int64_t>(h) * w;
    float s[kPlanes];
    for (int k = 0; k < kPlanes; ++k) {
        const float* plane = rows + k * n;
        float acc = 0.0f;
        for (int j = -r; j <= r; ++j) acc += plane[static_cast<int64_t>(clampi(y + j, 0, h - 1)) * w + x];
        s[k] = acc;
    }
    const int64_t i = static_cast<int64_t>(y) * w + x;
    const float a = s[0] * norm + damping, b = s[1] * norm;
    const float c = s[2] * norm + damping;
    const float p = s[3] * norm, q = s[4] * norm;
    const float det = a * c - b * b;
    const float dx = (b * q - c * p) / det, dy = (b * p - a * q) / det;
    map[2 * i] += fminf(fmaxf(dx, -max_step), max_step);
    map[2 * i + 1] += fminf(fmaxf(dy, -max_step), max_step);
}

}  // namespace

size_t lk_refine_scratch_floats(int h, int w) {
    return static_cast<size_t>(1 + 2 * kPlanes) * static_cast<size_t>(h) * static_cast<size_t>(w);
}

cudaError_t launch_lk_refine(const float* cur, const float* ref, int h, int w, float* map,
                             int iterations, int window, float damping, float max_step,
                             float* scratch, cudaStream_t stream) {
    if (h <= 0 || w <= 0 || iterations <= 0) return cudaSuccess;
    const int64_t n = static_cast<int64_t>(h) * w;
    float* warped = scratch;
    float* planes = scratch + n;
    float* rows = scratch + (1 + kPlanes) * n;
    const int r = window / 2;
    // The CPU computes 1 / (window * window) in float; so does this.
    const float norm = 1.0f / static_cast<float>(window * window);
    GridSampleArgs<float> gs{};
    gs.src = ref;
    gs.hs = h;
    gs.ws = w;
    gs.map = map;
    gs.out = warped;
    gs.h = h;
    gs.w = w;
    gs.border = Border::kReplicate;
    const dim3 block(32, 8);
    const dim3 grid((w + block.x - 1) / block.x, (h + block.y - 1) / block.y);
    const dim3 grid_planes(grid.x, grid.y, kPlanes);
    for (int it = 0; it < iterations; ++it) {
        cudaError_t err = launch_grid_sample<float>(gs, 1, stream);
        if (err != cudaSuccess) return err;
        products_kernel<<<grid, block, 0, stream>>>(warped, cur, h, w, planes);
        box_row_kernel<<<grid_planes, block, 0, stream>>>(planes, h, w, r, rows);
        solve_kernel<<<grid, block, 0, stream>>>(rows, h, w, r, norm, damping, max_step, map);
        err = cudaGetLastError();
        if (err != cudaSuccess) return err;
    }
    return cudaSuccess;
}

}  // namespace streamedit::cuda
