// Gridding of polar Fourier samples onto an oversampled Cartesian grid (gridrec).
// values: (n_points, n_pairs) complex64; coordinates: (2, n_points) float32 grid
// coordinates (x, y) of each sample; grid: (g, g, n_pairs) complex64, zeroed by the caller,
// indexed [y mod g][x mod g][pair]. One thread per (sample, pair); each adds its value times
// the separable Kaiser-Bessel kernel of width `width` cells to the cells it covers.

#include <cupy/complex.cuh>

__device__ float kaiser_bessel(float offset, int width, float beta)
{
    const float r = 2.0f * offset / width;
    const float argument = 1.0f - r * r;
    return argument >= 0.0f ? cyl_bessel_i0f(beta * sqrtf(argument)) : 0.0f;
}

extern "C" __global__ void gridrec_spread(const complex<float>* __restrict__ values,
                                          const float* __restrict__ coordinates,
                                          complex<float>* __restrict__ grid,
                                          long long n_points, int n_pairs, int g,
                                          int width, float beta)
{
    const long long index = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (index >= n_points * n_pairs) return;
    const long long point = index / n_pairs;
    const int pair = (int)(index % n_pairs);
    const complex<float> value = values[index];
    if (value.real() == 0.0f && value.imag() == 0.0f) return;
    const float gx = coordinates[point];
    const float gy = coordinates[n_points + point];
    const int first_x = (int)floorf(gx - 0.5f * width) + 1;
    const int first_y = (int)floorf(gy - 0.5f * width) + 1;
    for (int ty = 0; ty < width; ++ty) {
        const int cy = first_y + ty;
        const float wy = kaiser_bessel(gy - cy, width, beta);
        const int row = ((cy % g) + g) % g;
        for (int tx = 0; tx < width; ++tx) {
            const int cx = first_x + tx;
            const float w = wy * kaiser_bessel(gx - cx, width, beta);
            const int col = ((cx % g) + g) % g;
            float* cell = reinterpret_cast<float*>(grid + ((long long)row * g + col) * n_pairs + pair);
            atomicAdd(cell, w * value.real());
            atomicAdd(cell + 1, w * value.imag());
        }
    }
}
