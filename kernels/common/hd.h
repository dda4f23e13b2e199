// Host/device helpers shared by the C++ and CUDA kernels.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define SE_HD __host__ __device__ __forceinline__
#else
// Forced: these run once per pixel, and an out-of-line call (through the PLT in a shared
// library) costs more than the arithmetic.
#define SE_HD inline __attribute__((always_inline))
#endif

namespace streamedit {

SE_HD bool is_finite(float v) {
#if defined(__CUDA_ARCH__)
    return isfinite(v);
#else
    return std::isfinite(v);
#endif
}

// floor for |v| < 2^31. Not std::floor: without SSE4.1 that is a libm call per pixel.
SE_HD int floor_to_int(float v) {
#if defined(__CUDA_ARCH__)
    return __float2int_rd(v);
#else
    const int i = static_cast<int>(v);  // truncates toward zero
    return i - (v < static_cast<float>(i) ? 1 : 0);
#endif
}

template <typename T>
SE_HD T clamp_value(T v, T lo, T hi) { return v < lo ? lo : (v > hi ? hi : v); }

}  // namespace streamedit
