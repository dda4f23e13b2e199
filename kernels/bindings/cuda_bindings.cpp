// CUDA entry points. Python passes raw device pointers read from __cuda_array_interface__;
// every pointer is checked to be device-accessible before a kernel sees it.
#include <cuda_runtime_api.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "bindings/bindings.h"
#include "cuda/kernels_cuda.h"

namespace py = pybind11;

namespace streamedit::bindings {

namespace {

void check(cudaError_t err, const char* what) {
    if (err != cudaSuccess) {
        cudaGetLastError();  // clear a sticky launch error so the next call starts clean
        throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(err));
    }
}

// Raises ValueError unless `ptr` is memory the GPU can read (device or managed).
void require_device_pointer(std::uintptr_t ptr, const char* name) {
    if (ptr == 0) throw py::value_error(std::string(name) + ": null device pointer");
    cudaPointerAttributes attr{};
    const cudaError_t err = cudaPointerGetAttributes(&attr, reinterpret_cast<const void*>(ptr));
    if (err != cudaSuccess) {
        cudaGetLastError();
        throw py::value_error(std::string(name) + ": not a CUDA pointer (" +
                              cudaGetErrorString(err) + ")");
    }
    if (attr.type != cudaMemoryTypeDevice && attr.type != cudaMemoryTypeManaged)
        throw py::value_error(std::string(name) + ": host memory where device memory is needed");
}

cudaStream_t as_stream(std::uintptr_t handle) { return reinterpret_cast<cudaStream_t>(handle); }

// Device memory owned by the extension; exposes __cuda_array_interface__ (version 3), so torch,
// CuPy and the kernels here take it without a copy. Used when no array library is at hand.
class DeviceBuffer {
public:
    DeviceBuffer(std::vector<py::ssize_t> shape, std::string typestr)
        : shape_(std::move(shape)), typestr_(std::move(typestr)) {
        const py::ssize_t item = py::dtype(typestr_).itemsize();
        nbytes_ = static_cast<size_t>(item);
        for (py::ssize_t s : shape_) {
            if (s < 0) throw py::value_error("DeviceBuffer: negative dimension");
            nbytes_ *= static_cast<size_t>(s);
        }
        if (nbytes_ > 0) check(cudaMalloc(&ptr_, nbytes_), "cudaMalloc");
    }
    ~DeviceBuffer() {
        if (ptr_ != nullptr) cudaFree(ptr_);
    }
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;

    std::uintptr_t ptr() const { return reinterpret_cast<std::uintptr_t>(ptr_); }
    size_t nbytes() const { return nbytes_; }
    py::tuple shape() const { return py::tuple(py::cast(shape_)); }

    py::dict interface() const {
        py::dict d;
        d["shape"] = shape();
        d["typestr"] = typestr_;
        d["data"] = py::make_tuple(ptr(), false);
        d["strides"] = py::none();
        d["version"] = 3;
        return d;
    }

    void copy_from_host(const py::array& a, std::uintptr_t stream) {
        if (!(a.flags() & py::array::c_style) || static_cast<size_t>(a.nbytes()) != nbytes_)
            throw py::value_error("copy_from_host: need a C-contiguous array of the same size");
        if (nbytes_ == 0) return;
        check(cudaMemcpyAsync(ptr_, a.data(), nbytes_, cudaMemcpyHostToDevice, as_stream(stream)),
              "cudaMemcpyAsync");
        check(cudaStreamSynchronize(as_stream(stream)), "cudaStreamSynchronize");
    }

    py::array to_host(std::uintptr_t stream) const {
        py::array out(py::dtype(typestr_), shape_);
        if (nbytes_ == 0) return out;
        check(cudaStreamSynchronize(as_stream(stream)), "cudaStreamSynchronize");
        check(cudaMemcpy(out.mutable_data(), ptr_, nbytes_, cudaMemcpyDeviceToHost), "cudaMemcpy");
        return out;
    }

private:
    std::vector<py::ssize_t> shape_;
    std::string typestr_;
    size_t nbytes_ = 0;
    void* ptr_ = nullptr;
};

int device_count() {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError();
        return 0;
    }
    return n;
}

void barycentric_warp(std::uintptr_t lm_cur, std::uintptr_t lm_ref, int n,
                      std::uintptr_t triangles, int t, std::uintptr_t map, std::uintptr_t mask,
                      int height, int width, std::uintptr_t stream) {
    if (n < 0 || t < 0 || height < 0 || width < 0) throw py::value_error("negative size");
    if (n > 0) {
        require_device_pointer(lm_cur, "lm_cur");
        require_device_pointer(lm_ref, "lm_ref");
    }
    if (t > 0) require_device_pointer(triangles, "triangles");
    if (int64_t(height) * width > 0) {
        require_device_pointer(map, "map");
        require_device_pointer(mask, "mask");
    }
    cudaError_t err;
    {
        py::gil_scoped_release release;
        err = cuda::launch_barycentric_warp(
            reinterpret_cast<const float*>(lm_cur), reinterpret_cast<const float*>(lm_ref), n,
            reinterpret_cast<const int32_t*>(triangles), t, height, width,
            reinterpret_cast<float*>(map), reinterpret_cast<uint8_t*>(mask), as_stream(stream));
    }
    check(err, "barycentric_warp (CUDA)");
}

template <typename T>
cudaError_t grid_sample_typed(std::uintptr_t src, int hs, int ws, int channels,
                              std::uintptr_t map, std::uintptr_t fallback, std::uintptr_t valid,
                              std::uintptr_t out, int height, int width, int border,
                              cudaStream_t stream) {
    GridSampleArgs<T> a{};
    a.src = reinterpret_cast<const T*>(src);
    a.hs = hs;
    a.ws = ws;
    a.map = reinterpret_cast<const float*>(map);
    a.fallback = reinterpret_cast<const T*>(fallback);
    a.valid = reinterpret_cast<const uint8_t*>(valid);
    a.out = reinterpret_cast<T*>(out);
    a.h = height;
    a.w = width;
    a.border = static_cast<Border>(border);
    return cuda::launch_grid_sample<T>(a, channels, stream);
}

// dtype: "uint8" or "float32"; fallback / valid: 0 when not given.
void grid_sample(const std::string& dtype, std::uintptr_t src, int hs, int ws, int channels,
                 std::uintptr_t map, std::uintptr_t fallback, std::uintptr_t valid,
                 std::uintptr_t out, int height, int width, int border, std::uintptr_t stream) {
    if (channels < 1 || channels > 4) throw py::value_error("channels: must be 1..4");
    if (hs < 0 || ws < 0 || height < 0 || width < 0) throw py::value_error("negative size");
    if (border != 0 && border != 1) throw py::value_error("border: must be 0 or 1");
    if (int64_t(height) * width == 0) return;
    if (int64_t(hs) * ws > 0) require_device_pointer(src, "src");
    require_device_pointer(map, "map");
    require_device_pointer(out, "out");
    if (fallback != 0) require_device_pointer(fallback, "fallback");
    if (valid != 0) require_device_pointer(valid, "valid");
    cudaError_t err;
    if (dtype == "uint8") {
        py::gil_scoped_release release;
        err = grid_sample_typed<uint8_t>(src, hs, ws, channels, map, fallback, valid, out, height,
                                         width, border, as_stream(stream));
    } else if (dtype == "float32") {
        py::gil_scoped_release release;
        err = grid_sample_typed<float>(src, hs, ws, channels, map, fallback, valid, out, height,
                                       width, border, as_stream(stream));
    } else {
        throw py::value_error("dtype: must be uint8 or float32");
    }
    check(err, "grid_sample (CUDA)");
}

// map_in is copied into out on `stream`, which is then refined in place; scratch holds
// lk_refine_scratch_floats(height, width) floats.
void lk_refine(std::uintptr_t cur, std::uintptr_t ref, std::uintptr_t map_in, std::uintptr_t out,
               int height, int width, int iterations, int window, float damping,
               float max_step, std::uintptr_t scratch, std::uintptr_t stream) {
    if (height < 0 || width < 0 || iterations < 0) throw py::value_error("negative size");
    if (window < 1 || window % 2 == 0) throw py::value_error("window: must be odd and >= 1");
    if (int64_t(height) * width == 0) return;
    for (auto [p, name] : {std::pair{cur, "cur"}, {ref, "ref"}, {map_in, "map"}, {out, "out"}})
        require_device_pointer(p, name);
    if (iterations > 0) require_device_pointer(scratch, "scratch");
    cudaError_t err;
    {
        py::gil_scoped_release release;
        const size_t bytes = static_cast<size_t>(height) * width * 2 * sizeof(float);
        err = cudaMemcpyAsync(reinterpret_cast<void*>(out), reinterpret_cast<const void*>(map_in),
                              bytes, cudaMemcpyDeviceToDevice, as_stream(stream));
        if (err == cudaSuccess)
            err = cuda::launch_lk_refine(
                reinterpret_cast<const float*>(cur), reinterpret_cast<const float*>(ref), height,
                width, reinterpret_cast<float*>(out), iterations, window, damping, max_step,
                reinterpret_cast<float*>(scratch), as_stream(stream));
    }
    check(err, "lk_refine (CUDA)");
}

}  // namespace

void register_cuda(py::module_& m) {
    py::class_<DeviceBuffer>(m, "DeviceBuffer",
                             "Device memory owned by the extension (__cuda_array_interface__)")
        .def(py::init<std::vector<py::ssize_t>, std::string>(), py::arg("shape"),
             py::arg("typestr"))
        .def_property_readonly("ptr", &DeviceBuffer::ptr)
        .def_property_readonly("nbytes", &DeviceBuffer::nbytes)
        .def_property_readonly("shape", &DeviceBuffer::shape)
        .def_property_readonly("__cuda_array_interface__", &DeviceBuffer::interface)
        .def("copy_from_host", &DeviceBuffer::copy_from_host, py::arg("array"),
             py::arg("stream") = 0)
        .def("to_host", &DeviceBuffer::to_host, py::arg("stream") = 0);
    m.def("cuda_device_count", &device_count, "CUDA devices visible (0 without driver or GPU)");
    m.def("barycentric_warp_cuda", &barycentric_warp);
    m.def("grid_sample_cuda", &grid_sample);
    m.def("lk_refine_cuda", &lk_refine);
    m.def("lk_refine_scratch_floats", &cuda::lk_refine_scratch_floats);
}

}  // namespace streamedit::bindings
