// C++ grid-sample. The rules are those of common/bilinear.h (grid_sample_pixel, shared with
// CUDA); this file only schedules them for a CPU:
//   phase 1, branch-free and vectorisable: for a chunk of a row, which pixels take the fast
//            path (usable map point inside the footprint, all four neighbours in the image),
//            their top-left neighbour and their fractional offsets;
//   phase 2: the bilinear blend of the fast pixels, with the same float operations in the same
//            order as grid_sample_pixel, so results are bit-identical; every other pixel goes
//            through grid_sample_pixel itself.
#include <stdexcept>

#include "cpu/kernels_cpu.h"
#include "cpu/sample_chunk.h"

namespace streamedit::cpu {

namespace {

template <typename T, int C, bool HasValid>
void sample_row(const GridSampleArgs<T>& a, int y) {
    const int64_t row = int64_t(y) * a.w;
    int32_t fast[kChunk], x0s[kChunk], y0s[kChunk];
    float fxs[kChunk], fys[kChunk];
    const T* end = src_end<T, C>(a);
    for (int x_begin = 0; x_begin < a.w; x_begin += kChunk) {
        const int n = a.w - x_begin < kChunk ? a.w - x_begin : kChunk;
        classify<HasValid>(a.map + 2 * (row + x_begin), HasValid ? a.valid + row + x_begin : nullptr,
                           n, a.ws, a.hs, fast, x0s, y0s, fxs, fys);
        for (int i = 0; i < n; ++i) {  // phase 2
            if (!fast[i]) {
                grid_sample_pixel<T, C>(a, row + x_begin + i);
                continue;
            }
            float v[C];
            bilinear_fast<T, C>(a.src, a.ws, end, x0s[i], y0s[i], fxs[i], fys[i], v);
            T* o = a.out + (row + x_begin + i) * C;
            for (int c = 0; c < C; ++c) o[c] = from_float<T>(v[c]);
        }
    }
}

template <typename T, int C>
void grid_sample_impl(const GridSampleArgs<T>& args, int threads) {
    (void)threads;
#if defined(STREAMEDIT_HAVE_OPENMP)
#pragma omp parallel num_threads(threads)
#endif
    {
        // A thread-local copy: stores through a uint8_t output may alias any memory, so with a
        // shared struct every field would be reloaded after each store.
        const GridSampleArgs<T> a = args;
#if defined(STREAMEDIT_HAVE_OPENMP)
#pragma omp for schedule(static)
#endif
        for (int y = 0; y < a.h; ++y) {
            if (a.valid != nullptr)
                sample_row<T, C, true>(a, y);
            else
                sample_row<T, C, false>(a, y);
        }
    }
}

}  // namespace

template <typename T>
void grid_sample(const GridSampleArgs<T>& args, int channels, int num_threads) {
    const int threads = num_threads > 0 ? num_threads : default_num_threads();
    switch (channels) {
        case 1: grid_sample_impl<T, 1>(args, threads); break;
        case 2: grid_sample_impl<T, 2>(args, threads); break;
        case 3: grid_sample_impl<T, 3>(args, threads); break;
        case 4: grid_sample_impl<T, 4>(args, threads); break;
        default: throw std::invalid_argument("grid_sample: channels must be 1..4");
    }
}

template void grid_sample<uint8_t>(const GridSampleArgs<uint8_t>&, int, int);
template void grid_sample<float>(const GridSampleArgs<float>&, int, int);

}  // namespace streamedit::cpu
