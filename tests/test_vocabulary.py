"""The vocabulary the specs validate against names exactly what the kernels implement."""

from rscbench.measure.losses import LOSSES
from rscbench.measure.snapshot import ALL_QUANTITIES
from rscbench.run.specs import ProtocolSpec, TaskSpec
from rscbench.vocabulary import DEFAULT_QUANTITIES, DEVICES, DTYPES, LOSS_NAMES, QUANTITIES


def test_every_loss_name_has_an_implementation_and_no_more() -> None:
    assert tuple(LOSSES) == LOSS_NAMES


def test_the_snapshot_implements_every_quantity_a_spec_accepts() -> None:
    assert tuple(ALL_QUANTITIES) == QUANTITIES
    assert ProtocolSpec().quantities == DEFAULT_QUANTITIES
    assert set(DEFAULT_QUANTITIES) == set(QUANTITIES) - {"Q11", "Q12"}


def test_specs_accept_every_device_dtype_and_loss_of_the_vocabulary() -> None:
    for device in DEVICES:
        for dtype in DTYPES:
            assert TaskSpec(device=device, dtype=dtype).device == device
    for loss in ("square", "logistic"):
        assert TaskSpec(loss=loss).loss == loss
