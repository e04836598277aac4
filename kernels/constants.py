"""Physical constants and material properties, each named once with its source.

All values are SI unless the name carries a unit suffix.
"""

from dataclasses import dataclass

#: Faraday constant, C/mol (CODATA 2018, exact: N_A * e).
FARADAY_C_PER_MOL = 96485.33212

#: Molar volume of lithium metal, m^3/mol: M = 6.941e-3 kg/mol (IUPAC standard atomic
#: weight, conventional value) over rho = 534 kg/m^3 (CRC Handbook, 20 C).
MOLAR_VOLUME_LI_M3_PER_MOL = 6.941e-3 / 534.0

#: Planck constant times speed of light, J m (CODATA 2018, exact).
PLANCK_TIMES_C_J_M = 6.62607015e-34 * 299792458.0

#: Elementary charge, C (CODATA 2018, exact).
ELEMENTARY_CHARGE_C = 1.602176634e-19

#: Photon energy of the Dixit et al. (2020) experiment, keV.
BEAM_ENERGY_KEV = 76.2


def wavelength_m(energy_kev: float) -> float:
    """X-ray wavelength (m) for a photon energy in keV."""
    if energy_kev <= 0:
        raise ValueError(f"energy_kev must be positive, got {energy_kev}")
    return PLANCK_TIMES_C_J_M / (energy_kev * 1e3 * ELEMENTARY_CHARGE_C)


@dataclass(frozen=True)
class XrayMaterial:
    """X-ray optical constants of one material at one energy.

    Attributes
    ----------
    name : str
    mu_per_m : float
        Total linear attenuation coefficient, 1/m.
    delta : float
        Refractive index decrement (n = 1 - delta + i beta), dimensionless.
    """

    name: str
    mu_per_m: float
    delta: float

    @property
    def beta(self) -> float:
        """Absorption index beta = mu * lambda / (4 pi) at 76.2 keV."""
        from math import pi

        return self.mu_per_m * wavelength_m(BEAM_ENERGY_KEV) / (4 * pi)


# Values at 76.2 keV computed with xraylib 4.3.0 (cross-checked with xraydb 4.5.8, <0.1 %);
# shared/reference/materials_76keV.json. mu given there in 1/cm, converted to 1/m here.
LITHIUM = XrayMaterial("Li", mu_per_m=0.0732 * 100.0, delta=1.65e-8)
LLZO = XrayMaterial("LLZO", mu_per_m=14.44 * 100.0, delta=1.60e-7)
STEEL = XrayMaterial("SS316", mu_per_m=5.56 * 100.0, delta=2.64e-7)
AIR = XrayMaterial("air", mu_per_m=0.000204 * 100.0, delta=4.30e-11)
