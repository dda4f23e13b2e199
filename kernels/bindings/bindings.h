// Registration functions of the extension module streamedit_sdk._kernels.
// The user-facing argument checks (with the messages users read) live in
// streamedit_sdk/kernels; the bindings re-check what memory safety depends on.
#pragma once

#include <pybind11/pybind11.h>

namespace streamedit::bindings {

void register_cpu(pybind11::module_& m);
#if defined(STREAMEDIT_HAVE_CUDA)
void register_cuda(pybind11::module_& m);
#endif

}  // namespace streamedit::bindings
