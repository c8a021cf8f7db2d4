"""Monte Carlo of walk-away risk (numpy): revenue, margin and idle capacity by month.

Each path draws, per agreement, the month its tenant gives notice (inverse transform of a
geometric law: ``P(no notice before month k) = (1 - h)^k``), one standard normal per GPU
model for own demand (``mean + sigma * z``, floored at 0; the same ``z`` every month of a
path, so each month's marginal is the forecast's), and an energy price path (geometric
Brownian motion without drift: ``p_m = p_0 exp(sigma W_t - sigma^2 t / 2)`` at the end of
each month, so its mean stays the site's tariff).

Paths are simulated in chunks of :data:`CHUNK`; chunk ``i`` draws from
``PCG64(SeedSequence(seed, spawn_key=(i,)))``, so one seed gives the same numbers, bit for
bit, on every run. Floats live only in here: inputs come as Decimal and the bands go back
as Decimal rounded to the cent (idle capacity to the kW).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from neocloud.domain.economics.risk import Band, Exposure, RiskInputs, RiskMonth, RiskResult

CHUNK = 16_384
QUANTILES = (0.05, 0.50, 0.95)
F64 = NDArray[np.float64]
FloatArray = TypeVar("FloatArray", NDArray[np.float64], NDArray[np.float32])
CENT = Decimal("0.01")
MW_PLACES = Decimal("0.001")


def tables(inputs: RiskInputs) -> F64:
    """The plain reading (the pandas baseline and the tests check the fast one against it):
    per agreement, per notice month ``k`` (row ``M``: no notice), revenue then leased kW
    by month: shape ``(A, M + 1, 2M)``."""
    m = len(inputs.months)
    out = np.zeros((len(inputs.agreements), m + 1, 2 * m))
    for a, ex in enumerate(inputs.agreements):
        revenue = np.array([float(x) for x in ex.revenue])
        kw = np.array([float(x) for x in ex.leased_kw])
        out[a, :, :m] = revenue
        out[a, :, m:] = kw
        for k in range(m):
            j = ex.effective_month[k]
            if j >= m:
                continue
            out[a, k, j] = float(ex.partial_revenue[k])
            out[a, k, j + 1 : m] = 0.0
            out[a, k, m + j] = float(ex.partial_share[k]) * kw[j]
            out[a, k, m + j + 1 :] = 0.0
    return out


def notice_months(u: F64, hazard: F64, months: int) -> NDArray[np.intp]:
    """The month each path's notice is given (``months``: none within the horizon)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.floor(np.log1p(-u) / np.log1p(-hazard))
    k = np.where(hazard > 0, k, months)
    return np.minimum(k, months).astype(np.intp)


@dataclass(frozen=True)
class _Deal:
    """One agreement as arrays: revenue and leased kW by month, and per notice month ``k``
    (index ``M``: none) the effective month and what that month still pays and holds."""

    revenue: F64
    kw: F64
    effective: NDArray[np.intp]
    partial_revenue: F64
    partial_kw: F64

    @classmethod
    def of(cls, ex: Exposure) -> _Deal:
        m = len(ex.revenue)
        revenue = np.array([float(x) for x in ex.revenue])
        kw = np.array([float(x) for x in ex.leased_kw])
        eff = np.array([*ex.effective_month, m], dtype=np.intp)
        j = np.minimum(eff, m - 1)
        part = np.array([*(float(x) for x in ex.partial_share), 0.0])
        return cls(revenue, kw, eff, np.array([*(float(x) for x in ex.partial_revenue), 0.0]),
                   part * kw[j])  # fmt: skip


def _steps(values: F64) -> list[tuple[int, float]]:
    """(month, change from the month before) wherever a monthly figure changes."""
    change = np.diff(values)
    return [(int(b) + 1, float(change[b])) for b in np.flatnonzero(change)]


def _cumsum_rows(x: FloatArray) -> FloatArray:
    """Cumulative sum down the rows, in place: one contiguous add per row (numpy's cumsum
    along axis 0 walks columns, several times slower on month-major chunks)."""
    for j in range(1, x.shape[0]):
        x[j] += x[j - 1]
    return x


class _Sim:
    """What a walk-away takes is a *loss* against the contracted schedule, zero before the
    effective month: its month-to-month differences are a few entries per noticed path (the
    effective month, the month after, and the schedule's own steps), so a path's loss is a
    cumulative sum of a scatter (``bincount``), not a gather of whole rows per agreement."""

    def __init__(self, inputs: RiskInputs) -> None:
        self.m = len(inputs.months)
        self.deals = [_Deal.of(ex) for ex in inputs.agreements]
        self.steps = [(_steps(d.revenue), _steps(d.kw)) for d in self.deals]
        self.base_revenue = sum((d.revenue for d in self.deals), np.zeros(self.m))
        self.base_kw = sum((d.kw for d in self.deals), np.zeros(self.m))
        self.hazard = np.array([float(a.hazard_per_month) for a in inputs.agreements])
        self.hours = np.array([float(h) for h in inputs.hours])
        self.fixed = np.array([float(c) for c in inputs.fixed_cost])
        self.site_kw = float(inputs.site_kw)
        self.idle_ratio = float(inputs.idle_draw_ratio)
        self.price = float(inputs.energy_price_per_kwh)
        vol, dt = float(inputs.energy_volatility_per_year), 1.0 / 12.0
        self.step_sigma, self.step_drift = vol * np.sqrt(dt), -0.5 * vol * vol * dt
        own = inputs.own_demand
        self.kw_per_gpu = np.array([float(d.facility_kw_per_gpu) for d in own])
        self.mean = np.array([d.mean_gpus for d in own], dtype=np.float64).reshape(len(own), self.m)
        self.sigma = np.array([d.sigma_gpus for d in own], dtype=np.float64).reshape(
            len(own), self.m
        )

    def losses(self, k: NDArray[np.intp]) -> tuple[F64, F64]:
        """Revenue and leased kW lost, each ``(M, n)`` (month-major), for notice months
        ``k`` ``(n, A)``."""
        n, m = k.shape[0], self.m
        paths = np.arange(n, dtype=np.intp)
        idx, w_rev, w_kw, effs = [], [], [], []
        for a, d in enumerate(self.deals):
            eff = d.effective[k[:, a]]
            effs.append(eff)
            hit = np.flatnonzero(eff < m)
            e, kk = eff[hit], k[hit, a]
            pr, pk = d.partial_revenue[kk], d.partial_kw[kk]
            nxt = np.minimum(e + 1, m - 1)
            after = e + 1 < m
            at = e * n + paths[hit]
            idx += [at, at + n]
            w_rev += [d.revenue[e] - pr, np.where(after, d.revenue[nxt] - d.revenue[e], 0) + pr]
            w_kw += [d.kw[e] - pk, np.where(after, d.kw[nxt] - d.kw[e], 0) + pk]
        flat = np.concatenate(idx) if idx else np.zeros(0, dtype=np.intp)
        out = []
        for weights, which in ((w_rev, 0), (w_kw, 1)):
            w = np.concatenate(weights) if weights else np.zeros(0)
            counts = np.bincount(flat, w, minlength=(m + 1) * n)  # float64 with weights
            diff = np.asarray(counts, dtype=np.float64).reshape(m + 1, n)
            for a in range(len(self.deals)):
                for b, change in self.steps[a][which]:
                    diff[b] += change * (effs[a] + 1 < b)
            out.append(_cumsum_rows(diff[:m]))
        return out[0], out[1]

    def chunk(self, rng: np.random.Generator, out: tuple[F64, F64, NDArray[np.float32]]) -> None:
        """Revenue, margin and idle kW of ``n`` paths into ``out``, three ``(M, n)``
        (month-major) views of the stored paths: written in place, never copied."""
        revenue, margin, idle = out
        m, n = self.m, revenue.shape[1]
        k = notice_months(rng.random((n, len(self.hazard))), self.hazard, m)
        lost_revenue, lost_kw = self.losses(k)
        np.subtract(self.base_revenue[:, None], lost_revenue, out=revenue)
        leased = np.subtract(self.base_kw[:, None], lost_kw, out=lost_kw)
        demand = np.zeros((m, n))
        if len(self.kw_per_gpu):
            z = rng.standard_normal((len(self.kw_per_gpu), n))
            for g in range(len(self.kw_per_gpu)):
                gpus = np.maximum(self.mean[g][:, None] + self.sigma[g][:, None] * z[g], 0.0)
                demand += self.kw_per_gpu[g] * gpus
        free = np.maximum(self.site_kw - leased, 0.0)
        own = np.minimum(demand, free, out=demand)
        free -= own
        idle[...] = free
        # the price path in single precision (half the draws' cost; a path's 36 steps keep
        # ~7 digits, far inside the Monte Carlo error), its cost in double
        steps = rng.standard_normal((m, n), dtype=np.float32)
        steps *= np.float32(self.step_sigma)
        steps += np.float32(self.step_drift)
        price = np.exp(_cumsum_rows(steps), out=steps)
        kwh = np.add(leased, own, out=leased)
        kwh += self.idle_ratio * free
        kwh *= self.hours[:, None] * self.price
        kwh *= price
        np.subtract(revenue, kwh, out=margin)
        margin -= self.fixed[:, None]


SAMPLE = 8192  # values a column's pivots are chosen from
SMALL = 65_536  # columns this short are partitioned whole


def _ranks(n: int) -> list[int]:
    """0-based ranks of P5, P50, P95 among ``n`` values (inverted CDF: values a path took)."""
    return [min(max(int(np.ceil(q * n)) - 1, 0), n - 1) for q in QUANTILES]


def select(values: NDArray[np.floating], ranks: list[int]) -> list[float]:
    """The values of ``ranks`` in sorted order, exactly, without sorting ``values``
    (Floyd-Rivest): pivots from a strided sample bracket each rank; only the values between
    them are partitioned; if the bracket misses, the whole array is (still exact)."""
    n = values.size
    if n <= SMALL:
        whole = values.copy()
        whole.partition(sorted(set(ranks)))
        return [float(whole[r]) for r in ranks]
    sample = np.sort(values[:: n // SAMPLE])
    s = sample.size
    spread = 4 * np.sqrt(s) + 8
    out = []
    for r in ranks:
        at = r / (n - 1) * (s - 1)
        lo = sample[max(0, int(at - spread))]
        hi = sample[min(s - 1, int(at + spread) + 1)]
        below = int(np.count_nonzero(values < lo))
        # a run of ties (most paths at the contracted revenue): no partition needed
        if lo == hi and below <= r < n - int(np.count_nonzero(values > hi)):
            out.append(float(lo))
            continue
        inside = values[(values >= lo) & (values <= hi)]
        if below <= r < below + inside.size:
            out.append(float(np.partition(inside, r - below)[r - below]))
        else:
            out.append(float(np.partition(values, r)[r]))
    return out


def _order_statistics(rows: NDArray[np.floating]) -> NDArray[np.floating]:
    """P5, P50, P95 of each row of ``(columns, paths)``, as ``(columns, 3)``; two threads
    (numpy's compare, extract and partition release the GIL)."""
    ranks = _ranks(rows.shape[1])
    with ThreadPoolExecutor(2) as pool:
        return np.array(list(pool.map(lambda row: select(row, ranks), rows)))


def _dec(x: float, places: Decimal) -> Decimal:
    return Decimal(float(x)).quantize(places, ROUND_HALF_UP)


class _Moments:
    """Mean and sum of squared deviations by column, chunk by chunk (Chan et al.'s pairwise
    update: no full-size temporary, no cancellation of large squares)."""

    def __init__(self, width: int) -> None:
        self.n = 0
        self.mean = np.zeros(width)
        self.m2 = np.zeros(width)

    @staticmethod
    def of(x: NDArray[np.floating]) -> tuple[int, F64, F64]:
        """``x``: ``(columns, n)``, one chunk's paths of each column: n, mean, M2."""
        mean = x.mean(axis=1, dtype=np.float64)
        dev = np.subtract(x, mean[:, None], dtype=np.float64)
        return x.shape[1], mean, (dev * dev).sum(axis=1)

    def merge(self, part: tuple[int, F64, F64]) -> None:
        n_b, mean_b, m2_b = part
        n = self.n + n_b
        delta = mean_b - self.mean
        self.mean = self.mean + delta * (n_b / n)
        self.m2 = self.m2 + m2_b + delta * delta * (self.n * n_b / n)
        self.n = n

    def stderr(self) -> F64:
        if self.n < 2:
            return np.zeros_like(self.mean)
        return np.asarray(np.sqrt(self.m2 / (self.n - 1) / self.n))


def _bands(
    rows: NDArray[np.floating], moments: _Moments, places: Decimal, scale: float = 1.0
) -> list[Band]:
    q = _order_statistics(rows)
    se = moments.stderr()
    return [
        Band(*(_dec(float(v) * scale, places) for v in (*q[i], moments.mean[i], se[i])))
        for i in range(rows.shape[0])
    ]


def simulate(inputs: RiskInputs, *, paths: int, seed: int) -> RiskResult:
    """``paths`` paths over ``inputs.months``; the same ``seed`` gives the same result."""
    sim, m = _Sim(inputs), len(inputs.months)
    revenue = np.empty((m, paths))  # month-major: each month's paths contiguous
    margin = np.empty((m, paths))
    idle = np.empty((m, paths), dtype=np.float32)
    totals = np.empty((2, paths))
    stats = [_Moments(m), _Moments(m), _Moments(m), _Moments(2)]

    def run(i: int) -> list[tuple[int, F64, F64]]:
        start = i * CHUNK
        cut = slice(start, min(start + CHUNK, paths))
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(i,))))
        rev, mar, idl = revenue[:, cut], margin[:, cut], idle[:, cut]
        sim.chunk(rng, (rev, mar, idl))
        tot = np.stack((rev.sum(axis=0), mar.sum(axis=0)))
        totals[:, cut] = tot
        chunks: tuple[NDArray[np.floating], ...] = (rev, mar, idl, tot)
        return [_Moments.of(x) for x in chunks]

    # Two chunks at a time (numpy releases the GIL); each writes its own slice and has its
    # own seed, and the moments are merged in chunk order: the same result as one thread.
    with ThreadPoolExecutor(2) as pool:
        for parts in pool.map(run, range(-(-paths // CHUNK))):
            for acc, part in zip(stats, parts, strict=True):
                acc.merge(part)
    contracted = inputs.contracted_revenue()
    rb, mb = _bands(revenue, stats[0], CENT), _bands(margin, stats[1], CENT)
    ib = _bands(idle, stats[2], MW_PLACES, 1e-3)
    total = _bands(totals, stats[3], CENT)
    months = tuple(
        RiskMonth(
            inputs.months[j], contracted[j].quantize(CENT, ROUND_HALF_UP), rb[j], mb[j], ib[j]
        )
        for j in range(m)
    )
    return RiskResult(paths, seed, inputs.currency, months, total[0], total[1])


class NumpyRiskSimulator:
    """:class:`neocloud.services.ports.RiskSimulator` on numpy."""

    def simulate(self, inputs: RiskInputs, *, paths: int, seed: int) -> RiskResult:
        return simulate(inputs, paths=paths, seed=seed)
