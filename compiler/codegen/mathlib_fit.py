"""Regenerates the fitted polynomial coefficients pasted into mathlib.py (dev tool, needs mpmath).

    python -m fuseflow.compiler.codegen.mathlib_fit

Fits are Chebyshev (near-minimax) in a centred variable t = x - c, so Horner evaluation is
well conditioned; the printed lists are highest degree first. Everything else in mathlib uses
Taylor coefficients, which need no tool.
"""
from __future__ import annotations


def main() -> None:
    import mpmath as mp
    mp.mp.prec = 200

    def fit(name, f, a, b, n, c):
        co, err = mp.chebyfit(lambda t: f(t + c), [a - c, b - c], n, error=True)
        print(f"{name} = ({', '.join(repr(float(x)) for x in co)},)  # [{a}, {b}] centre {c}, err {mp.nstr(err, 3)}")

    def erf_over_x(z):
        return mp.erf(mp.sqrt(z)) / mp.sqrt(z) if z > 0 else 2 / mp.sqrt(mp.pi)

    def erfcx(x):
        return mp.erfc(x) * mp.exp(x * x)

    fit("_ERF_SMALL_F32", erf_over_x, 0, 1, 8, 0)
    fit("_ERF_SMALL_F64", erf_over_x, 0, 1, 13, 0)
    fit("_ERFCX_F32", erfcx, 1, 4, 13, 2.5)
    fit("_ERFCX_A_F64", erfcx, 1, 2.5, 18, 1.75)
    fit("_ERFCX_B_F64", erfcx, 2.5, 6, 18, 4.25)

    mp.mp.prec = 700
    two_over_pi = int(mp.floor(2 / mp.pi * mp.mpf(2) ** 400))
    print(f"_TWO_OVER_PI_2_400 = {hex(two_over_pi)}")


if __name__ == "__main__":
    main()
