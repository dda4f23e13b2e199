// Barycentric landmark warp: the per-triangle and per-pixel arithmetic, shared by the C++
// (kernels/cpu) and CUDA (kernels/cuda) kernels so both give the same map bit for bit.
//
// Conventions (also in streamedit_sdk/kernels/__init__.py):
//   * pixel (x, y) is the point at column x, row y; pixel centres sit on integers;
//   * a pixel is inside a triangle when its three barycentric coordinates are >= -kInsideEps
//     (a tiny tolerance so that pixels on shared edges are never dropped);
//   * a triangle is skipped when one of its indices is out of range, one of its six vertices
//     is not finite or farther than kMaxCoord px from the origin on either axis, or twice its
//     area in the current frame is below kMinDoubleArea px^2;
//   * where triangles overlap, the one with the lowest index wins.
#pragma once

#include "common/hd.h"

namespace streamedit {

constexpr float kInsideEps = 1e-5f;
constexpr float kMinDoubleArea = 1e-6f;
constexpr float kMaxCoord = 1048576.0f;  // 2^20 px: beyond this float keeps no sub-pixel accuracy

SE_HD bool usable_coord(float v) { return is_finite(v) && v <= kMaxCoord && v >= -kMaxCoord; }

// Affine map of one triangle pair, current -> reference.
struct TriangleSetup {
    float cx, cy;                // current vertex 0, px
    float i00, i01, i10, i11;    // inverse of the 2x2 matrix [c1 - c0 | c2 - c0]
    float rx, ry;                // reference vertex 0, px
    float e1x, e1y, e2x, e2y;    // reference edges r1 - r0 and r2 - r0, px
    float xmin, xmax, ymin, ymax;  // bounding box of the current triangle, px
    int valid;                   // 0: degenerate or invalid, covers no pixel
};

// lm_cur, lm_ref: (n, 2) float32 interleaved x, y; tri: three landmark indices.
SE_HD TriangleSetup setup_triangle(const float* lm_cur, const float* lm_ref, int n,
                                   const int32_t* tri) {
    TriangleSetup t{};
    t.valid = 0;
    const int a = tri[0], b = tri[1], c = tri[2];
    if (a < 0 || b < 0 || c < 0 || a >= n || b >= n || c >= n) return t;
    const float x0 = lm_cur[2 * a], y0 = lm_cur[2 * a + 1];
    const float x1 = lm_cur[2 * b], y1 = lm_cur[2 * b + 1];
    const float x2 = lm_cur[2 * c], y2 = lm_cur[2 * c + 1];
    const float r0x = lm_ref[2 * a], r0y = lm_ref[2 * a + 1];
    const float r1x = lm_ref[2 * b], r1y = lm_ref[2 * b + 1];
    const float r2x = lm_ref[2 * c], r2y = lm_ref[2 * c + 1];
    if (!(usable_coord(x0) && usable_coord(y0) && usable_coord(x1) && usable_coord(y1) &&
          usable_coord(x2) && usable_coord(y2) && usable_coord(r0x) && usable_coord(r0y) &&
          usable_coord(r1x) && usable_coord(r1y) && usable_coord(r2x) && usable_coord(r2y)))
        return t;
    // Vertex-relative coordinates keep the products small, so float keeps ~1e-5 px accuracy.
    const float ux = x1 - x0, uy = y1 - y0, vx = x2 - x0, vy = y2 - y0;
    const float det = ux * vy - vx * uy;
    if (!(det > kMinDoubleArea || det < -kMinDoubleArea)) return t;
    const float inv = 1.0f / det;
    t.cx = x0;
    t.cy = y0;
    t.i00 = vy * inv;
    t.i01 = -vx * inv;
    t.i10 = -uy * inv;
    t.i11 = ux * inv;
    t.rx = r0x;
    t.ry = r0y;
    t.e1x = r1x - r0x;
    t.e1y = r1y - r0y;
    t.e2x = r2x - r0x;
    t.e2y = r2y - r0y;
    t.xmin = fminf(x0, fminf(x1, x2));
    t.xmax = fmaxf(x0, fmaxf(x1, x2));
    t.ymin = fminf(y0, fminf(y1, y2));
    t.ymax = fmaxf(y0, fmaxf(y1, y2));
    t.valid = 1;
    return t;
}

// Barycentric coordinates (l1, l2) of point (x, y) with respect to vertices 1 and 2
// (vertex 0 has weight 1 - l1 - l2). Returns whether the point is inside (with tolerance).
SE_HD bool barycentric(const TriangleSetup& t, float x, float y, float* l1, float* l2) {
    const float dx = x - t.cx, dy = y - t.cy;
    const float a = t.i00 * dx + t.i01 * dy;
    const float b = t.i10 * dx + t.i11 * dy;
    *l1 = a;
    *l2 = b;
    return a >= -kInsideEps && b >= -kInsideEps && (1.0f - a - b) >= -kInsideEps;
}

// The reference point with the same barycentric coordinates, px.
SE_HD void reference_point(const TriangleSetup& t, float l1, float l2, float* mx, float* my) {
    *mx = t.rx + l1 * t.e1x + l2 * t.e2x;
    *my = t.ry + l1 * t.e1y + l2 * t.e2y;
}

}  // namespace streamedit
