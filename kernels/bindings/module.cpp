#include "bindings/bindings.h"

PYBIND11_MODULE(_kernels, m) {
    m.doc() = "StreamEdit C++/CUDA kernels (use streamedit_sdk.kernels, which checks arguments)";
    streamedit::bindings::register_cpu(m);
#if defined(STREAMEDIT_HAVE_CUDA)
    streamedit::bindings::register_cuda(m);
    m.attr("built_with_cuda") = true;
#else
    m.attr("built_with_cuda") = false;
#endif
#if defined(STREAMEDIT_HAVE_OPENMP)
    m.attr("built_with_openmp") = true;
#else
    m.attr("built_with_openmp") = false;
#endif
}
