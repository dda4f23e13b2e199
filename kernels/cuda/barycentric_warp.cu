// Barycentric landmark warp on the GPU, in two passes over the same arithmetic as the CPU:
//   1. one block per (triangle, row chunk) tests the pixels of the triangle's bounding box and
//      records the lowest covering triangle index with atomicMin (deterministic overlap rule);
//   2. one thread per pixel turns the winning index into the reference point and the mask.
// The winning index lives in the first channel of `map` (reinterpreted as uint32) between the
// passes; 0xFFFFFFFF (a NaN bit pattern) means "no triangle".
#include <cstdint>

#include "common/barycentric.h"
#include "cuda/kernels_cuda.h"

namespace streamedit::cuda {

namespace {

constexpr unsigned kNoTriangle = 0xFFFFFFFFu;
constexpr int kRasterThreads = 256;
constexpr int kRowChunks = 8;  // blocks per triangle along y: large anchor triangles spread out

__global__ void rasterize_kernel(const float* __restrict__ lm_cur,
                                 const float* __restrict__ lm_ref, int n,
                                 const int32_t* __restrict__ triangles, int h, int w,
                                 unsigned* __restrict__ owner /* map, stride 2 */) {
    const int tri = blockIdx.x;
    const TriangleSetup t = setup_triangle(lm_cur, lm_ref, n, triangles + 3 * tri);
    if (!t.valid) return;
    const float fy0 = fmaxf(0.0f, floorf(t.ymin)), fy1 = fminf(h - 1.0f, ceilf(t.ymax));
    const float fx0 = fmaxf(0.0f, floorf(t.xmin)), fx1 = fminf(w - 1.0f, ceilf(t.xmax));
    if (fy0 > fy1 || fx0 > fx1) return;
    const int y0 = static_cast<int>(fy0), y1 = static_cast<int>(fy1);
    const int x0 = static_cast<int>(fx0), x1 = static_cast<int>(fx1);
    const int bw = x1 - x0 + 1;
    const int rows = y1 - y0 + 1;
    const int chunk = (rows + gridDim.y - 1) / gridDim.y;
    const int r_begin = y0 + blockIdx.y * chunk;
    const int r_end = min(y1 + 1, r_begin + chunk);
    if (r_begin >= r_end) return;
    const int64_t count = static_cast<int64_t>(r_end - r_begin) * bw;
    for (int64_t k = threadIdx.x; k < count; k += blockDim.x) {
        const int y = r_begin + static_cast<int>(k / bw);
        const int x = x0 + static_cast<int>(k % bw);
        float l1, l2;
        if (barycentric(t, static_cast<float>(x), static_cast<float>(y), &l1, &l2)) {
            atomicMin(owner + 2 * (static_cast<int64_t>(y) * w + x), static_cast<unsigned>(tri));
        }
    }
}

__global__ void resolve_kernel(const float* __restrict__ lm_cur, const float* __restrict__ lm_ref,
                               int n, const int32_t* __restrict__ triangles, int h, int w,
                               float* __restrict__ map, uint8_t* __restrict__ mask) {
    const int x = blockIdx.x * blockDim.x + threadIdx.x;
    const int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= w || y >= h) return;
    const int64_t idx = static_cast<int64_t>(y) * w + x;
    const unsigned tri = __float_as_uint(map[2 * idx]);
    if (tri == kNoTriangle) {
        map[2 * idx] = __uint_as_float(0x7FC00000u);  // canonical quiet NaN
        map[2 * idx + 1] = __uint_as_float(0x7FC00000u);
        mask[idx] = 0;
        return;
    }
    const TriangleSetup t = setup_triangle(lm_cur, lm_ref, n, triangles + 3 * tri);
    float l1, l2;
    barycentric(t, static_cast<float>(x), static_cast<float>(y), &l1, &l2);
    reference_point(t, l1, l2, &map[2 * idx], &map[2 * idx + 1]);
    mask[idx] = 1;
}

}  // namespace

cudaError_t launch_barycentric_warp(const float* lm_cur, const float* lm_ref, int n,
                                    const int32_t* triangles, int t, int h, int w, float* map,
                                    uint8_t* mask, cudaStream_t stream) {
    if (h <= 0 || w <= 0) return cudaSuccess;
    cudaError_t err = cudaMemsetAsync(map, 0xFF, static_cast<size_t>(h) * w * 2 * sizeof(float),
                                      stream);
    if (err != cudaSuccess) return err;
    if (t > 0) {
        rasterize_kernel<<<dim3(t, kRowChunks), kRasterThreads, 0, stream>>>(
            lm_cur, lm_ref, n, triangles, h, w, reinterpret_cast<unsigned*>(map));
        err = cudaGetLastError();
        if (err != cudaSuccess) return err;
    }
    const dim3 block(32, 8);
    const dim3 grid((w + block.x - 1) / block.x, (h + block.y - 1) / block.y);
    resolve_kernel<<<grid, block, 0, stream>>>(lm_cur, lm_ref, n, triangles, h, w, map, mask);
    return cudaGetLastError();
}

}  // namespace streamedit::cuda
