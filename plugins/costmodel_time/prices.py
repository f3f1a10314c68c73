"""Rental prices as clouds quote them: per GPU-hour, or per node-hour for a whole node.

    gpu_hour_price = node_hour_price / gpus_per_node

`--set node_hour_price="24 USD/h"` (nanochat's README: "an 8XH100 node at $24/hr") gives 3 USD per
GPU-hour; a GPU-hour price given directly replaces the rule. A price in another currency takes its
unit (`"22 EUR/h"`, converted at the documented rate) or `currency=local` with `usd_per_currency`.
"""

from __future__ import annotations

from costmodel.declarations import Formula, Quantity

QUANTITIES = (
    Quantity(name="node_hour_price", unit="USD/h", doc="rental price of one node for one hour", positive=True),
    Quantity(name="gpus_per_node", unit="1", doc="GPUs in one rented node (8 in the usual HGX/DGX node)",
             kind="integer", positive=True, default=8),
)

FORMULAS = (
    Formula(
        target="gpu_hour_price",
        expr="node_hour_price / gpus_per_node",
        doc="a node's hourly price shared by its GPUs",
        source="definition (e.g. karpathy/nanochat README.md@fae3aca9519a: an 8XH100 node at $24/hr)",
        condition='currency == "usd"',
        overridable=True,
    ),
)
