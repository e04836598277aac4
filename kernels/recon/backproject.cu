// Voxel-driven parallel-beam backprojection with linear interpolation along detector rows.
// filtered: (n_angles, n_slab, n_cols) float32; trig: (3, n_angles) = cos, sin, weight;
// volume: (n_slab, n, n) float32. One thread per voxel (j, i) and slice k = blockIdx.z.
// Voxels outside the reconstruction circle of radius (n - 1) / 2 are set to zero; columns
// outside the detector count as zero.

extern "C" __global__ void backproject_linear(const float* __restrict__ filtered,
                                              const float* __restrict__ trig,
                                              float* __restrict__ volume,
                                              int n_angles, int n_slab, int n_cols, int n,
                                              float center_px)
{
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    const int i = blockIdx.y * blockDim.y + threadIdx.y;
    const int k = blockIdx.z;
    if (j >= n || i >= n || k >= n_slab) return;
    const float half = 0.5f * (n - 1);
    const float x = j - half;
    const float y = i - half;
    float sum = 0.0f;
    if (x * x + y * y <= half * half + 1e-6f) {
        for (int a = 0; a < n_angles; ++a) {
            const float position = center_px + x * trig[a] + y * trig[n_angles + a];
            const float left_f = floorf(position);
            const int left = (int)left_f;
            const float fraction = position - left_f;
            const float* row = filtered + ((size_t)a * n_slab + k) * n_cols;
            const float v0 = (left >= 0 && left < n_cols) ? row[left] : 0.0f;
            const float v1 = (left + 1 >= 0 && left + 1 < n_cols) ? row[left + 1] : 0.0f;
            sum += trig[2 * n_angles + a] * (v0 + fraction * (v1 - v0));
        }
    }
    volume[((size_t)k * n + i) * n + j] = sum;
}
