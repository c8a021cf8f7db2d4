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
from queue import SimpleQueue
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from neocloud.domain.economics.risk import Band, Exposure, RiskInputs, RiskMonth, RiskResult

CHUNK = 16_384
THREADS = 2
QUANTILES = (0.05, 0.50, 0.95)
F64 = NDArray[np.float64]
FloatArray = TypeVar("FloatArray", NDArray[np.float64], NDArray[np.float32])
Scratch = TypeVar("Scratch", NDArray[np.float64], NDArray[np.float32], NDArray[np.intp])
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


def notice_months(
    u: F64, hazard: F64, months: int, *, out: NDArray[np.intp] | None = None
) -> NDArray[np.intp]:
    """The month each path's notice is given (``months``: none within the horizon); into
    ``out`` when given, and then ``u`` is overwritten (no temporaries of its size)."""
    x = np.negative(u, out=None if out is None else u)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.log1p(x, out=x)
        np.divide(x, np.log1p(-hazard), out=x)
    np.floor(x, out=x)
    np.copyto(x, months, where=~(hazard > 0))
    np.minimum(x, months, out=x)
    if out is None:
        return x.astype(np.intp)
    np.copyto(out, x, casting="unsafe")
    return out


@dataclass(frozen=True)
class _Deal:
    """One agreement as arrays: revenue and leased kW by month, and per notice month ``k``
    (index ``M``: none) the effective month and what the loss against the schedule steps
    by at that month and at the month after (rows 0 and 1 of ``drop_revenue`` and
    ``drop_kw``; the effective month still pays and holds its partial share)."""

    revenue: F64
    kw: F64
    effective: NDArray[np.intp]
    drop_revenue: F64
    drop_kw: F64

    @classmethod
    def of(cls, ex: Exposure) -> _Deal:
        m = len(ex.revenue)
        revenue = np.array([float(x) for x in ex.revenue])
        kw = np.array([float(x) for x in ex.leased_kw])
        eff = np.array([*ex.effective_month, m], dtype=np.intp)
        e = np.minimum(eff, m - 1)  # (row M, no notice, is never read)
        nxt, after = np.minimum(e + 1, m - 1), e + 1 < m
        part_revenue = np.array([*(float(x) for x in ex.partial_revenue), 0.0])
        part_kw = np.array([*(float(x) for x in ex.partial_share), 0.0]) * kw[e]

        def drops(values: F64, part: F64) -> F64:
            return np.stack((values[e] - part, np.where(after, values[nxt] - values[e], 0) + part))

        return cls(revenue, kw, eff, drops(revenue, part_revenue), drops(kw, part_kw))


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


class _Work:
    """One thread's scratch arrays, reused chunk after chunk: a fresh array of a chunk's
    size for each step costs a page fault every 4 KiB (the allocator hands large blocks
    back to the system when they are freed), as much as the arithmetic on it."""

    def __init__(self, m: int, agreements: int) -> None:
        self.u = np.empty(CHUNK * agreements)
        self.k = np.empty(CHUNK * agreements, dtype=np.intp)
        self.effective = np.empty(agreements * CHUNK, dtype=np.intp)
        self.lost = np.empty(2 * (m + 1) * CHUNK)
        self.demand = np.empty(m * CHUNK)
        self.free = np.empty(m * CHUNK)
        self.steps = np.empty(m * CHUNK, dtype=np.float32)


def _shaped(buffer: Scratch, *shape: int) -> Scratch:
    """The first ``prod(shape)`` items of ``buffer`` as a C-contiguous array of ``shape``."""
    return buffer[: int(np.prod(shape))].reshape(shape)


class _Sim:
    """What a walk-away takes is a *loss* against the contracted schedule, zero before the
    effective month: its month-to-month differences are a few entries per noticed path (the
    effective month, the month after, and the schedule's own steps), so a path's loss is a
    cumulative sum of a scatter (``np.add.at``), not a gather of whole rows per agreement."""

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

    def losses(
        self, k: NDArray[np.intp], *, lost: F64 | None = None, eff: NDArray[np.intp] | None = None
    ) -> tuple[F64, F64]:
        """Revenue and leased kW lost, each ``(M, n)`` (month-major), for notice months
        ``k`` ``(n, A)``; written into ``lost`` (``(2, M + 1, n)``) when given, and the
        effective months into ``eff`` (``(A, n)``)."""
        n, m = k.shape[0], self.m
        lost = np.empty((2, m + 1, n)) if lost is None else lost
        eff = np.empty((len(self.deals), n), dtype=np.intp) if eff is None else eff
        lost.fill(0.0)
        flat = lost.reshape(2, -1)
        for a, d in enumerate(self.deals):
            # (k is in range; "clip" only spares the copy "raise" makes to check it)
            np.take(d.effective, k[:, a], out=eff[a], mode="clip")
            hit = np.flatnonzero(eff[a] < m)  # the paths this agreement leaves
            kk = k[hit, a]
            at = eff[a, hit] * n + hit
            # one agreement adds at most once to a (month, path): each sum is taken in
            # agreement order, as a single scatter of all of them would
            for which, drop in enumerate((d.drop_revenue, d.drop_kw)):
                np.add.at(flat[which], at, drop[0, kk])
                np.add.at(flat[which], at + n, drop[1, kk])
        for which in (0, 1):
            for a in range(len(self.deals)):
                for b, change in self.steps[a][which]:
                    lost[which, b] += change * (eff[a] + 1 < b)
            _cumsum_rows(lost[which, :m])
        return lost[0, :m], lost[1, :m]

    def chunk(
        self, rng: np.random.Generator, out: tuple[F64, F64, NDArray[np.float32]], *, work: _Work
    ) -> None:
        """Revenue, margin and idle kW of ``n`` paths into ``out``, three ``(M, n)``
        (month-major) views of the stored paths: written in place, never copied. Every
        other array lives in ``work``; the draws are taken in the same order as ever."""
        revenue, margin, idle = out
        m, n = self.m, revenue.shape[1]
        u = rng.random(out=_shaped(work.u, n, len(self.hazard)))
        # k is (n, A) stored agreement-major: losses reads it an agreement at a time
        k = notice_months(u, self.hazard, m, out=_shaped(work.k, len(self.hazard), n).T)
        lost_revenue, lost_kw = self.losses(
            k, lost=_shaped(work.lost, 2, m + 1, n), eff=_shaped(work.effective, len(self.deals), n)
        )
        np.subtract(self.base_revenue[:, None], lost_revenue, out=revenue)
        leased = np.subtract(self.base_kw[:, None], lost_kw, out=lost_kw)
        demand = _shaped(work.demand, m, n)
        demand.fill(0.0)
        gpus = _shaped(work.free, m, n)
        if len(self.kw_per_gpu):
            z = rng.standard_normal((len(self.kw_per_gpu), n))
            for g in range(len(self.kw_per_gpu)):
                np.multiply(self.sigma[g][:, None], z[g], out=gpus)
                np.add(self.mean[g][:, None], gpus, out=gpus)
                np.maximum(gpus, 0.0, out=gpus)
                gpus *= self.kw_per_gpu[g]
                demand += gpus
        free = np.subtract(self.site_kw, leased, out=gpus)
        np.maximum(free, 0.0, out=free)
        own = np.minimum(demand, free, out=demand)
        free -= own
        idle[...] = free
        # the price path in single precision (half the draws' cost; a path's 36 steps keep
        # ~7 digits, far inside the Monte Carlo error), its cost in double
        steps = rng.standard_normal(dtype=np.float32, out=_shaped(work.steps, m, n))
        steps *= np.float32(self.step_sigma)
        steps += np.float32(self.step_drift)
        price = np.exp(_cumsum_rows(steps), out=steps)
        kwh = np.add(leased, own, out=leased)
        free *= self.idle_ratio
        kwh += free
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
    (Floyd-Rivest): a strided sample gives each rank a guess and pivots that bracket it;
    only the values between them are partitioned; if the bracket misses, the whole array
    is (still exact)."""
    n = values.size
    if n <= SMALL:
        whole = values.copy()
        whole.partition(sorted(set(ranks)))
        return [float(whole[r]) for r in ranks]
    sample = np.sort(values[:: n // SAMPLE])
    return [_select_one(values, sample, r) for r in ranks]


def _select_one(values: NDArray[np.floating], sample: NDArray[np.floating], r: int) -> float:
    """The value of rank ``r`` in ``values``, ``sample`` a sorted sample of them."""
    n, s = values.size, sample.size
    q = r / (n - 1)
    at = q * (s - 1)
    guess = sample[round(at)]
    # A value the sample holds more than once is a run of ties (revenue: most paths at a
    # few totals); when the rank falls in it, two counts answer without any partition.
    if np.searchsorted(sample, guess, "right") - np.searchsorted(sample, guess, "left") > 1:
        below = int(np.count_nonzero(values < guess))
        if below <= r < below + int(np.count_nonzero(values == guess)):
            return float(guess)
    # The number of sample values below the rank's value is binomial (s, q): six of its
    # standard deviations either side miss a few times in a billion.
    spread = 6 * np.sqrt(s * q * (1 - q)) + 4
    lo = sample[max(0, int(at - spread))]
    hi = sample[min(s - 1, int(at + spread) + 1)]
    inside = values >= lo
    below = n - int(np.count_nonzero(inside))
    inside &= values <= hi
    between = values[inside]
    if below <= r < below + between.size:
        return float(np.partition(between, r - below)[r - below])
    return float(np.partition(values, r)[r])


def _order_statistics(rows: NDArray[np.floating]) -> NDArray[np.floating]:
    """P5, P50, P95 of each row of ``(columns, paths)``, as ``(columns, 3)``; two threads
    (numpy's compare, extract and partition release the GIL)."""
    ranks = _ranks(rows.shape[1])
    with ThreadPoolExecutor(THREADS) as pool:
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
    def of(x: NDArray[np.floating], scratch: F64) -> tuple[int, F64, F64]:
        """``x``: ``(columns, n)``, one chunk's paths of each column: n, mean, M2 (the
        deviations go through ``scratch``, at least as large as ``x``)."""
        mean = x.mean(axis=1, dtype=np.float64)
        dev = np.subtract(x, mean[:, None], dtype=np.float64, out=_shaped(scratch, *x.shape))
        dev *= dev
        return x.shape[1], mean, dev.sum(axis=1)

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
    spare: SimpleQueue[_Work] = SimpleQueue()  # one per thread
    for _ in range(THREADS):
        spare.put(_Work(m, len(inputs.agreements)))

    def run(i: int) -> list[tuple[int, F64, F64]]:
        start = i * CHUNK
        cut = slice(start, min(start + CHUNK, paths))
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(i,))))
        rev, mar, idl = revenue[:, cut], margin[:, cut], idle[:, cut]
        work = spare.get()
        try:
            sim.chunk(rng, (rev, mar, idl), work=work)
            tot = np.stack((rev.sum(axis=0), mar.sum(axis=0)))
            totals[:, cut] = tot
            chunks: tuple[NDArray[np.floating], ...] = (rev, mar, idl, tot)
            return [_Moments.of(x, work.demand) for x in chunks]
        finally:
            spare.put(work)

    # Two chunks at a time (numpy releases the GIL); each writes its own slice and has its
    # own seed, and the moments are merged in chunk order: the same result as one thread.
    with ThreadPoolExecutor(THREADS) as pool:
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
