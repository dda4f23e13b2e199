// Grid-sample on the GPU: one thread per output pixel, the per-pixel rule shared with the CPU.
#include "cuda/kernels_cuda.h"

namespace streamedit::cuda {

namespace {

template <typename T, int C>
__global__ void grid_sample_kernel(const GridSampleArgs<T> a) {
    const int x = blockIdx.x * blockDim.x + threadIdx.x;
    const int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= a.w || y >= a.h) return;
    grid_sample_pixel<T, C>(a, static_cast<int64_t>(y) * a.w + x);
}

template <typename T, int C>
cudaError_t launch(const GridSampleArgs<T>& a, cudaStream_t stream) {
    const dim3 block(32, 8);
    const dim3 grid((a.w + block.x - 1) / block.x, (a.h + block.y - 1) / block.y);
    grid_sample_kernel<T, C><<<grid, block, 0, stream>>>(a);
    return cudaGetLastError();
}

}  // namespace

template <typename T>
cudaError_t launch_grid_sample(const GridSampleArgs<T>& args, int channels, cudaStream_t stream) {
    if (args.h <= 0 || args.w <= 0) return cudaSuccess;
    switch (channels) {
        case 1: return launch<T, 1>(args, stream);
        case 2: return launch<T, 2>(args, stream);
        case 3: return launch<T, 3>(args, stream);
        case 4: return launch<T, 4>(args, stream);
        default: return cudaErrorInvalidValue;
    }
}

template cudaError_t launch_grid_sample<uint8_t>(const GridSampleArgs<uint8_t>&, int, cudaStream_t);
template cudaError_t launch_grid_sample<float>(const GridSampleArgs<float>&, int, cudaStream_t);

}  // namespace streamedit::cuda
