"""Property-based: random valid scenarios give finite, non-negative results in the declared units;
random invalid input gives the one-line error; no traceback ever reaches the user."""

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costmodel import api, units
from costmodel.errors import UserError

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

valid = st.fixed_dictionaries(
    {
        "n_layer": st.integers(1, 96),
        "micro_batch": st.integers(1, 4096),
        "grad_accum": st.integers(1, 512),
        "iters": st.integers(0, 10**7),
        "mfu": st.floats(0.001, 1.0),
        "seq_len": st.integers(1, 131072),
    }
)


@SETTINGS
@given(values=valid, width=st.integers(1, 64))
def test_valid_inputs_give_finite_nonnegative_results(toy, values, width):
    values = dict(values, width=values["n_layer"] * width)  # the toy's divisibility rule holds
    r = api.estimate("toy", plugins=[toy], hardware="h100-sxm", values=values)
    reg = api.registry([toy])
    for name, q in r.results.items():
        magnitude = q.m_as(units.unit(reg.quantities[name].unit))
        assert math.isfinite(magnitude) and magnitude >= 0, name
    assert r.results["n_params"].m_as("param") == 12 * values["n_layer"] * values["width"] ** 2 + 50304 * values["width"]


garbage = st.one_of(
    st.text(min_size=1, max_size=20),
    st.sampled_from(["nan", "inf", "-1", "0", "1e400", "3 GiB", "2.5", "--", "1 day/token", "12 parsecs"]),
)


@SETTINGS
@given(name=st.sampled_from(["micro_batch", "n_layer", "mfu", "seq_len", "iters", "nosuch"]), value=garbage)
def test_invalid_inputs_are_one_line_errors(toy, cli, name, value):
    code, out, err = cli("estimate", "toy", "--plugin", toy, "--set", f"{name}={value}")
    assert "Traceback" not in err
    if code == 0:  # the text happened to be a valid value for the name
        return
    assert code == 1 and err.startswith("error: ") and err.count("\n") == 1, err


@SETTINGS
@given(wall=st.floats(0.01, 1e4), mfu=st.floats(0.01, 1.0))
def test_inverse_is_reverified_forward(toy, wall, mfu):
    """find iters given wall_time: the answer never exceeds the given time, and one more step would."""
    try:
        r = api.solve("toy", plugins=[toy], hardware="rtx-4070", find="iters",
                      given={"wall_time": f"{wall} h"}, values={"mfu": mfu})
    except UserError as exc:  # less than one step fits: a clear statement, not a number
        assert "out of reach" in str(exc) or "cannot reach" in str(exc)
        return
    iters = r.inputs["iters"].m_as("iteration")
    step = r.results["iter_time"].m_as("s/iteration")
    assert iters * step <= wall * 3600 * (1 + 1e-12)
    assert (iters + 1) * step > wall * 3600
