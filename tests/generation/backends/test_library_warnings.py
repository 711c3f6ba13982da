"""The run-time warning filters silence exactly the two known messages and nothing else."""

from __future__ import annotations

import warnings

import pytest

from generation.backends import library_warnings

WEIGHT_NORM = "torch.nn.utils.weight_norm"
BROWNIAN = "torchsde._brownian.brownian_interval"


@pytest.mark.parametrize(
    ("message", "category", "module", "silenced"),
    [
        ("`torch.nn.utils.weight_norm` is deprecated in favor of ...", FutureWarning, WEIGHT_NORM, True),
        ("Should have ta>=t0 but got ta=0.29 and t0=0.3.", UserWarning, BROWNIAN, True),
        ("Should have tb<=t1 but got tb=500.00006 and t1=500.0.", UserWarning, BROWNIAN, True),
        ("something else is deprecated", FutureWarning, WEIGHT_NORM, False),
        ("Should have ta>=t0 but got", UserWarning, "some.other.module", False),
        ("`torch.nn.utils.weight_norm` is deprecated", DeprecationWarning, WEIGHT_NORM, False),
    ],
)
def test_only_the_known_messages_are_silenced(
    message: str, category: type[Warning], module: str, silenced: bool
) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        library_warnings.install()
        warnings.warn_explicit(message, category, filename="x.py", lineno=1, module=module)
    assert (len(caught) == 0) == silenced
