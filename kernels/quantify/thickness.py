"""Li electrode thickness per column, and the Li it holds once pores are taken out."""

from porewatch.kernels.backend import check_array
from porewatch.kernels.quantify.electrodes import ElectrodeInterfaces, check_same_grid
from porewatch.kernels.quantify.porosity import electrode_porosity


def thickness_map(interfaces: ElectrodeInterfaces):
    """Distance between the two interfaces of each column.

    Parameters
    ----------
    interfaces : ElectrodeInterfaces
        Maps ``(n_y, n_x)`` of the collector and electrolyte interface z, m.

    Returns
    -------
    (n_y, n_x) float32 array
        ``|electrolyte_z - collector_z|``, m; NaN where either interface is unknown.
    """
    xp = check_array(interfaces.collector_z_m, name="interfaces.collector_z_m", ndim=2)
    thickness = xp.abs(interfaces.electrolyte_z_m - interfaces.collector_z_m)
    return xp.ascontiguousarray(thickness, dtype=xp.float32)


def lithium_volume_map(labels, interfaces: ElectrodeInterfaces, *, pixel_size_m: float):
    """Volume of Li in each column of an electrode: thickness minus pore length, times the pixel area.

    The pore length of a column is that of its Li's pores between the interfaces
    (:attr:`~porewatch.kernels.quantify.porosity.ElectrodePorosity.pore_length_map_m`).

    Parameters
    ----------
    labels : (n_z, n_y, n_x) uint8 array
        Phase labels (:class:`porewatch.kernels.labels.Phase`).
    interfaces : ElectrodeInterfaces
        Interface maps of the electrode, m, on the grid of ``labels``.
    pixel_size_m : float
        Voxel size, m.

    Returns
    -------
    (n_y, n_x) float32 array
        Li volume per column, m^3; NaN where the interfaces are unknown.
    """
    check_array(labels, name="labels", ndim=3)
    check_same_grid(labels, interfaces)
    pores = electrode_porosity(labels, interfaces, pixel_size_m=pixel_size_m).pore_length_map_m
    return lithium_volume(thickness_map(interfaces), pores, pixel_size_m=pixel_size_m)


def lithium_volume(thickness_m, pore_length_m, *, pixel_size_m: float):
    """``(thickness - pore length) * pixel area`` per column, m^3, float32 ``(n_y, n_x)``."""
    xp = check_array(thickness_m, name="thickness_m", ndim=2)
    return xp.ascontiguousarray((thickness_m - pore_length_m) * pixel_size_m**2, dtype=xp.float32)
