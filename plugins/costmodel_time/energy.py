"""Power, energy and money; other currencies by a rate the user gives.

    gpu_power   = board_power * (idle + (full - idle) * gpu_busy_fraction)
    energy      = n_gpus * gpu_power * (1 + host_overhead) * pue * wall_time
    energy_cost = energy * electricity_price
    cloud_cost  = gpu_hour_price * n_gpus * wall_time

Prices are in US dollars. A price in another currency goes in with `--set currency=local`, the
price in that currency (`electricity_price_local`, `gpu_hour_price_local`) and the rate
`usd_per_currency` (what one unit of your currency is worth in USD); `energy_cost_local` and
`cloud_cost_local` come out whenever `usd_per_currency` is given.
"""

from __future__ import annotations

from costmodel.declarations import Choice, Formula, Recipe

POWER = [
    Formula(
        target="power_full_fraction",
        expr="0.82",
        doc="at full utilisation a training node draws about 82 % of its rated power",
        source="Latif et al. 2024, Empirical Measurements of AI Training Power Demand on a GPU-Accelerated "
        "Node (arXiv:2412.08602): 8.4 kW peak of a 10.2 kW-rated 8xH100 node training Llama2-13b; "
        "Newkirk et al. 2025 (arXiv:2506.14551): compute-intensive training at 76 % of the node rating",
        overridable=True,
    ),
    Formula(
        target="power_idle_fraction",
        expr="0.1",
        doc="an idle-but-allocated GPU draws about a tenth of its power limit (assumption; measure with nvidia-smi)",
        source="assumption of this model (typical nvidia-smi idle draw of 50-70 W on 400-700 W data-centre "
        "cards); the linear form follows Fan, Weber & Barroso 2007, Power provisioning for a warehouse-sized "
        "computer (ISCA '07) section 4",
        overridable=True,
    ),
    Formula(
        target="gpu_busy_fraction",
        expr="max(0, 1 - (grad_accum * fixed_time / iteration + exposed_comm_time) / iter_time)",
        doc="share of a step in which kernels run: all but the fixed per-micro-step cost and exposed communication",
        source="NVIDIA nvidia-smi documentation, utilization.gpu ('percent of time over the past sample period "
        "during which one or more kernels was executing on the GPU'); fixed_time from the efficiency model",
    ),
    Formula(
        target="gpu_power",
        expr="board_power * (power_idle_fraction + (power_full_fraction - power_idle_fraction) * gpu_busy_fraction)",
        doc="power linear in the share of time the GPU is busy, between idle and full load",
        source="Fan, Weber & Barroso 2007 (ISCA '07) section 4 (power linear in utilisation); Latif et al. 2024 "
        "(arXiv:2412.08602) for the full-load fraction",
        overridable=True,
    ),
    Formula(
        target="host_overhead",
        expr="0",
        doc="only the GPUs counted unless given (a desktop adds roughly 0.3-0.5 of a GPU's draw)",
        source="definition",
        overridable=True,
    ),
    Formula(
        target="pue",
        expr="1",
        doc="no facility overhead (a desk); a data centre's PUE goes here",
        source="The Green Grid, White Paper #49, PUE: a comprehensive examination of the metric (2012)",
        overridable=True,
    ),
    Formula(
        target="energy",
        expr="n_gpus * gpu_power * (1 + host_overhead) * pue * wall_time",
        doc="electrical energy of the run at the wall",
        source="definition of PUE (The Green Grid, White Paper #49, 2012)",
    ),
]

MONEY = [
    Formula(
        target="energy_cost",
        expr="energy * electricity_price",
        doc="what the run's electricity costs",
        source="definition",
    ),
    Formula(
        target="cloud_cost",
        expr="gpu_hour_price * n_gpus * wall_time",
        doc="rental price of the run's GPU-hours",
        source="definition (e.g. karpathy/nanochat README.md@3a5e0bc L9: 8xH100 at $24/hr = 3 USD per GPU-hour)",
    ),
    Formula(
        target="energy_cost_local",
        expr="energy_cost / usd_per_currency",
        doc="energy_cost in your currency",
        source="definition of an exchange rate",
    ),
    Formula(
        target="cloud_cost_local",
        expr="cloud_cost / usd_per_currency",
        doc="cloud_cost in your currency",
        source="definition of an exchange rate",
    ),
]

CURRENCY = Recipe(
    name="currency",
    doc="currency the prices are given in",
    default="usd",
    choices=[
        Choice(
            name="usd",
            doc="prices in US dollars; electricity at the US average unless given",
            source="definition",
            formulas=[
                Formula(
                    target="electricity_price",
                    expr="0.16 * USD/kWh",
                    doc="average US residential price of electricity in 2023",
                    source="U.S. EIA, Today in Energy, 2024-09-11 (average residential price rose from 12 to "
                    "16 cents per kWh, 2013-2023); EIA Electric Power Annual 2023, average revenue per kWh",
                    overridable=True,
                ),
            ],
        ),
        Choice(
            name="local",
            doc="prices in your currency, converted with usd_per_currency",
            source="definition",
            formulas=[
                Formula(
                    target="electricity_price",
                    expr="electricity_price_local * usd_per_currency",
                    doc="your electricity price converted to US dollars",
                    source="definition of an exchange rate",
                    overridable=True,
                ),
                Formula(
                    target="gpu_hour_price",
                    expr="gpu_hour_price_local * usd_per_currency",
                    doc="your GPU-hour price converted to US dollars",
                    source="definition of an exchange rate",
                    overridable=True,
                ),
            ],
        ),
    ],
)

FORMULAS = POWER + MONEY
RECIPES = [CURRENCY]
