#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>

#include "bindings/bindings.h"
#include "cpu/kernels_cpu.h"

namespace py = pybind11;

namespace streamedit::bindings {

namespace {

template <typename T>
void require(const py::array& a, const char* name, int ndim) {
    // isinstance compares the dtypes by equivalence (PyArray_EquivTypes: kind, size, byte order),
    // not by identity: arrays unpickled from shared memory (Ray, multiprocessing) carry an
    // equal dtype object that is not numpy's own.
    if (!py::isinstance<py::array_t<T>>(a))
        throw py::value_error(std::string(name) + ": wrong dtype");
    if (a.ndim() != ndim) throw py::value_error(std::string(name) + ": wrong number of dimensions");
    if (!(a.flags() & py::array::c_style))
        throw py::value_error(std::string(name) + ": must be C-contiguous");
}

py::tuple barycentric_warp(const py::array& lm_cur, const py::array& lm_ref,
                           const py::array& triangles, int height, int width, int num_threads) {
    require<float>(lm_cur, "lm_cur", 2);
    require<float>(lm_ref, "lm_ref", 2);
    require<int32_t>(triangles, "triangles", 2);
    if (lm_cur.shape(1) != 2 || lm_ref.shape(1) != 2 || lm_cur.shape(0) != lm_ref.shape(0))
        throw py::value_error("lm_cur, lm_ref: expected two (N, 2) arrays");
    if (triangles.shape(1) != 3) throw py::value_error("triangles: expected (T, 3)");
    if (height < 0 || width < 0) throw py::value_error("height, width: must be >= 0");
    py::array_t<float> map({py::ssize_t(height), py::ssize_t(width), py::ssize_t(2)});
    py::array_t<uint8_t> mask({py::ssize_t(height), py::ssize_t(width)});
    const float* cur = static_cast<const float*>(lm_cur.data());
    const float* ref = static_cast<const float*>(lm_ref.data());
    const int32_t* tri = static_cast<const int32_t*>(triangles.data());
    const int n = static_cast<int>(lm_cur.shape(0)), t = static_cast<int>(triangles.shape(0));
    float* map_ptr = map.mutable_data();
    uint8_t* mask_ptr = mask.mutable_data();
    {
        py::gil_scoped_release release;
        cpu::barycentric_warp(cur, ref, n, tri, t, height, width, map_ptr, mask_ptr, num_threads);
    }
    return py::make_tuple(map, mask);
}

template <typename T>
void grid_sample_typed(const py::array& src, const py::array& map,
                       const std::optional<py::array>& fallback,
                       const std::optional<py::array>& valid, py::array& out, int border,
                       int num_threads) {
    const int channels = static_cast<int>(src.shape(2));
    GridSampleArgs<T> a{};
    a.src = static_cast<const T*>(src.data());
    a.hs = static_cast<int>(src.shape(0));
    a.ws = static_cast<int>(src.shape(1));
    a.map = static_cast<const float*>(map.data());
    a.h = static_cast<int>(map.shape(0));
    a.w = static_cast<int>(map.shape(1));
    a.fallback = fallback ? static_cast<const T*>(fallback->data()) : nullptr;
    a.valid = valid ? static_cast<const uint8_t*>(valid->data()) : nullptr;
    a.out = static_cast<T*>(out.mutable_data());
    a.border = static_cast<Border>(border);
    py::gil_scoped_release release;
    cpu::grid_sample<T>(a, channels, num_threads);
}

// src (Hs, Ws, C); map (H, W, 2) float32; fallback (H, W, C) like src; valid (H, W) uint8;
// out (H, W, C) like src, written in place.
void grid_sample(const py::array& src, const py::array& map,
                 const std::optional<py::array>& fallback, const std::optional<py::array>& valid,
                 py::array out, int border, int num_threads) {
    const bool is_u8 = py::isinstance<py::array_t<uint8_t>>(src);  // equivalence, see require
    const bool is_f32 = py::isinstance<py::array_t<float>>(src);
    if (!is_u8 && !is_f32) throw py::value_error("src: dtype must be uint8 or float32");
    if (src.ndim() != 3 || src.shape(2) < 1 || src.shape(2) > 4)
        throw py::value_error("src: expected (Hs, Ws, C) with C in 1..4");
    if (!(src.flags() & py::array::c_style)) throw py::value_error("src: must be C-contiguous");
    require<float>(map, "map", 3);
    if (map.shape(2) != 2) throw py::value_error("map: expected (H, W, 2)");
    auto same_as_out = [&](const py::array& a, const char* name) {
        const bool same_dtype = is_u8 ? py::isinstance<py::array_t<uint8_t>>(a)
                                       : py::isinstance<py::array_t<float>>(a);
        if (!same_dtype || a.ndim() != 3 || a.shape(0) != map.shape(0) ||
            a.shape(1) != map.shape(1) || a.shape(2) != src.shape(2) ||
            !(a.flags() & py::array::c_style))
            throw py::value_error(std::string(name) + ": expected C-contiguous (H, W, C) like src");
    };
    same_as_out(out, "out");
    if (!out.writeable()) throw py::value_error("out: must be writeable");
    if (fallback) same_as_out(*fallback, "fallback");
    if (valid) {
        require<uint8_t>(*valid, "valid", 2);
        if (valid->shape(0) != map.shape(0) || valid->shape(1) != map.shape(1))
            throw py::value_error("valid: expected (H, W)");
    }
    if (border != static_cast<int>(Border::kReplicate) && border != static_cast<int>(Border::kZero))
        throw py::value_error("border: must be 0 (replicate) or 1 (zero)");
    if (is_u8)
        grid_sample_typed<uint8_t>(src, map, fallback, valid, out, border, num_threads);
    else
        grid_sample_typed<float>(src, map, fallback, valid, out, border, num_threads);
}

// frame (H, W, C) uint8; delta (H, W, C) float32; src (Hs, Ws, C) uint8, map and edit_map
// (H, W, 2) float32, valid (H, W) uint8, each optional (map with src); out (H, W, C) uint8.
void blend_edit(const py::array& frame, const py::array& delta, const std::optional<py::array>& src,
                const std::optional<py::array>& map, const std::optional<py::array>& edit_map,
                const std::optional<py::array>& valid, py::array out, float full,
                int num_threads) {
    require<uint8_t>(frame, "frame", 3);
    const py::ssize_t h = frame.shape(0), w = frame.shape(1), c = frame.shape(2);
    if (c < 1 || c > 4) throw py::value_error("frame: expected (H, W, C) with C in 1..4");
    auto same_size = [&](const py::array& a, const char* name, py::ssize_t last) {
        if (a.shape(0) != h || a.shape(1) != w || (last > 0 && a.shape(2) != last))
            throw py::value_error(std::string(name) + ": expected the frame's height and width");
    };
    require<float>(delta, "delta", 3);
    same_size(delta, "delta", c);
    require<uint8_t>(out, "out", 3);
    same_size(out, "out", c);
    if (!out.writeable()) throw py::value_error("out: must be writeable");
    if (src.has_value() != map.has_value()) throw py::value_error("src and map: give both or neither");
    if (edit_map && !src) throw py::value_error("edit_map: needs src and map");
    if (src) {
        require<uint8_t>(*src, "src", 3);
        if (src->shape(2) != c) throw py::value_error("src: expected the frame's channels");
        require<float>(*map, "map", 3);
        same_size(*map, "map", 2);
    }
    if (edit_map) {
        require<float>(*edit_map, "edit_map", 3);
        same_size(*edit_map, "edit_map", 2);
    }
    if (valid) {
        require<uint8_t>(*valid, "valid", 2);
        same_size(*valid, "valid", 0);
    }
    if (!(full > 0.0f)) throw py::value_error("full: must be > 0");
    BlendEditArgs a{};
    a.sample.src = src ? static_cast<const uint8_t*>(src->data()) : nullptr;
    a.sample.hs = src ? static_cast<int>(src->shape(0)) : 0;
    a.sample.ws = src ? static_cast<int>(src->shape(1)) : 0;
    a.sample.map = map ? static_cast<const float*>(map->data()) : nullptr;
    a.sample.fallback = static_cast<const uint8_t*>(frame.data());
    a.sample.valid = valid ? static_cast<const uint8_t*>(valid->data()) : nullptr;
    a.sample.h = static_cast<int>(h);
    a.sample.w = static_cast<int>(w);
    a.sample.border = Border::kReplicate;
    a.edit_map = edit_map ? static_cast<const float*>(edit_map->data()) : nullptr;
    a.delta = static_cast<const float*>(delta.data());
    a.inv_full = 1.0f / full;
    a.out = static_cast<uint8_t*>(out.mutable_data());
    py::gil_scoped_release release;
    cpu::blend_edit(a, static_cast<int>(c), num_threads);
}

// delta (H, W, C) float32, C in 1..4; out (H, W) float32.
void edit_weight(const py::array& delta, py::array out, float full, int num_threads) {
    require<float>(delta, "delta", 3);
    require<float>(out, "out", 2);
    const py::ssize_t h = delta.shape(0), w = delta.shape(1), c = delta.shape(2);
    if (c < 1 || c > 4) throw py::value_error("delta: expected (H, W, C) with C in 1..4");
    if (out.shape(0) != h || out.shape(1) != w)
        throw py::value_error("out: expected delta's height and width");
    if (!out.writeable()) throw py::value_error("out: must be writeable");
    if (!(full > 0.0f)) throw py::value_error("full: must be > 0");
    const float* d = static_cast<const float*>(delta.data());
    float* o = static_cast<float*>(out.mutable_data());
    py::gil_scoped_release release;
    cpu::edit_weight(d, static_cast<int64_t>(h) * w, static_cast<int>(c), 1.0f / full, o,
                     num_threads);
}

// cur, ref (H, W) float32; map (H, W, 2) float32, refined in place.
void lk_refine(const py::array& cur, const py::array& ref, py::array map, int iterations,
               int window, float damping, float max_step, int num_threads) {
    require<float>(cur, "cur", 2);
    require<float>(ref, "ref", 2);
    require<float>(map, "map", 3);
    if (ref.shape(0) != cur.shape(0) || ref.shape(1) != cur.shape(1) ||
        map.shape(0) != cur.shape(0) || map.shape(1) != cur.shape(1) || map.shape(2) != 2)
        throw py::value_error("cur, ref, map: expected (H, W), (H, W), (H, W, 2)");
    if (!map.writeable()) throw py::value_error("map: must be writeable");
    if (window < 1 || window % 2 == 0) throw py::value_error("window: must be odd and >= 1");
    const float* c = static_cast<const float*>(cur.data());
    const float* r = static_cast<const float*>(ref.data());
    float* m = static_cast<float*>(map.mutable_data());
    const int h = static_cast<int>(cur.shape(0)), w = static_cast<int>(cur.shape(1));
    py::gil_scoped_release release;
    cpu::lk_refine(c, r, h, w, m, iterations, window, damping, max_step, num_threads);
}

}  // namespace

void register_cpu(py::module_& m) {
    m.def("lk_refine", &lk_refine, py::arg("cur"), py::arg("ref"), py::arg("map"),
          py::arg("iterations"), py::arg("window"), py::arg("damping"), py::arg("max_step"),
          py::arg("num_threads") = 0, "C++ Lucas-Kanade refinement of `map` in place");
    m.def("barycentric_warp", &barycentric_warp, py::arg("lm_cur"), py::arg("lm_ref"),
          py::arg("triangles"), py::arg("height"), py::arg("width"), py::arg("num_threads") = 0,
          "C++ barycentric landmark warp -> (map (H, W, 2) float32, mask (H, W) uint8)");
    m.def("grid_sample", &grid_sample, py::arg("src"), py::arg("map"), py::arg("fallback"),
          py::arg("valid"), py::arg("out"), py::arg("border"), py::arg("num_threads") = 0,
          "C++ grid-sample into `out`");
    m.def("blend_edit", &blend_edit, py::arg("frame"), py::arg("delta"), py::arg("src"),
          py::arg("map"), py::arg("edit_map"), py::arg("valid"), py::arg("out"), py::arg("full"),
          py::arg("num_threads") = 0, "C++ blend-edit into `out`");
    m.def("edit_weight", &edit_weight, py::arg("delta"), py::arg("out"), py::arg("full"),
          py::arg("num_threads") = 0, "C++ edit weight of each pixel into `out`");
    m.def("default_num_threads", &cpu::default_num_threads,
          "Threads the C++ kernels use when num_threads <= 0");
}

}  // namespace streamedit::bindings
