"""Writes ziggurat_tables.rs: the 256-layer ziggurat of the standard normal (Marsaglia & Tsang 2000,
"The Ziggurat Method for Generating Random Variables", J. Stat. Softw. 5(8)), at 50 digits with mpmath.

Run by hand from the repository root: python3 src/forecast/make_ziggurat_tables.py (mpmath 1.3).

With f(x) = exp(-x²/2) (unnormalised), layers of equal area v: x[1] = r, x[i+1] = f⁻¹(v / x[i] + f(x[i])),
x[256] = 0; x[0] = v / f(r) is the width of the base layer (its rectangle plus the tail beyond r). r is
solved so that the last layer closes at x = 0. f_tab[i] = f(x[i]). The same definition as rand_distr's
tables (its ziggurat_tables.py), except that those take Marsaglia & Tsang's v = 0.00492867323399 (12
digits) instead of solving for it, so they differ from these by up to 3.3e-10 (relative).
"""

from pathlib import Path

import mpmath as mp

mp.mp.dps = 50
N = 256


def f(x):
    return mp.exp(-x * x / 2)


def tail(r):
    return mp.sqrt(mp.pi / 2) * mp.erfc(r / mp.sqrt(2))


def layers(r):
    """The x's for a base layer at r; the last value is f(x) that the top layer reaches (1 when closed)."""
    v = r * f(r) + tail(r)
    x = [v / f(r), r]
    for _ in range(2, N):
        y = v / x[-1] + f(x[-1])
        if y >= 1:
            return x, y
        x.append(mp.sqrt(-2 * mp.log(y)))
    return x, v / x[-1] + f(x[-1])


# the top layer closes exactly (y = 1) at the root; bisection on r
lo, hi = mp.mpf(3), mp.mpf(4)
for _ in range(200):
    mid = (lo + hi) / 2
    x, y = layers(mid)
    if len(x) < N or y > 1:
        lo = mid  # r too small: the layers run out before 256
    else:
        hi = mid
r = (lo + hi) / 2
x, y = layers(r)
assert len(x) == N and abs(y - 1) < mp.mpf(10) ** -30, (len(x), y)
x.append(mp.mpf(0))
ftab = [f(v) for v in x]


def row(vals):
    out, line = [], "    "
    for v in vals:
        s = repr(float(v)) + ","  # the nearest f64, shortest digits that read back as it
        if len(line) + len(s) + 1 > 116:
            out.append(line.rstrip())
            line = "    "
        line += s + " "
    out.append(line.rstrip())
    return "\n".join(out)


text = f"""//! The 256-layer ziggurat of the standard normal, written by make_ziggurat_tables.py (mpmath at
//! 50 digits, each value rounded to the nearest f64); do not edit by hand.

/// `r`, where the tail begins.
pub(super) const ZIG_R: f64 = {float(r)!r};

/// `x[i]`, the right edge of layer `i` (`x[0]` the base layer's width, `x[256] = 0`).
#[rustfmt::skip]
pub(super) static ZIG_X: [f64; 257] = [
{row(x)}
];

/// `exp(-x[i]² / 2)`.
#[rustfmt::skip]
pub(super) static ZIG_F: [f64; 257] = [
{row(ftab)}
];
"""
Path(__file__).with_name("ziggurat_tables.rs").write_text(text)
print("r =", mp.nstr(r, 25), " v =", mp.nstr(r * f(r) + tail(r), 25))
