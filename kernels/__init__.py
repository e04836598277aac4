"""Array kernels of porewatch: plain functions over NumPy or CuPy arrays.

Conventions shared by every kernel
----------------------------------
* Units are SI internally (m, s, A, J); a name with a unit suffix (``pixel_size_um``)
  says otherwise.
* Projections: ``(n_angles, n_rows, n_cols)``; detector row index = Z (the stack and
  rotation axis, row 0 at the top, increasing downward), columns = the lateral
  coordinate ``s``.
* Volumes: ``(n_z, n_y, n_x)`` float32, C-contiguous; voxel ``(k, i, j)`` has
  ``z = k * p``, ``y = (i - (n - 1) / 2) * p``, ``x = (j - (n - 1) / 2) * p`` with the
  origin on the rotation axis.  At angle ``theta`` the detector coordinate of a point is
  ``s = x cos(theta) + y sin(theta)`` (the Radon convention of scikit-image), so at
  ``theta = 0`` the columns run along ``x`` and the beam along ``y``.
* Label volumes: uint8 with the classes in :mod:`porewatch.kernels.labels`.
"""
