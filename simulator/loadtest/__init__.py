"""`lsim load-test`: drive real traffic through the Simulator, or play it in virtual time (model mode).

plan = LoadPlan("orders", duration_s=10, shape=constant(10, 10))
report = await run_load_test(simulator, plan)                       # real mode
report = run_model(plan, ModelAccount.of(simulator, "orders", None),
                   ModelParameters(duration=constant_ms(500)))       # model mode
print(report.text()); report.write_json(path); report.plot(path)
"""

from .model import (
    Distribution,
    ModelAccount,
    ModelParameters,
    calibrate,
    constant_ms,
    parse_distribution,
    run_model,
)
from .plan import LoadPlan
from .report import LoadReport, Summary, TimelineRow
from .runner import LoadRunner, Progress, run_load_test
from .shapes import (
    LoadTestError,
    Shape,
    constant,
    parse_duration,
    parse_rate,
    parse_shape,
    poisson,
    ramp,
    spike,
    step,
)

__all__ = [
    "Distribution",
    "LoadPlan",
    "LoadReport",
    "LoadRunner",
    "LoadTestError",
    "ModelAccount",
    "ModelParameters",
    "Progress",
    "Shape",
    "Summary",
    "TimelineRow",
    "calibrate",
    "constant",
    "constant_ms",
    "parse_distribution",
    "parse_duration",
    "parse_rate",
    "parse_shape",
    "poisson",
    "ramp",
    "run_load_test",
    "run_model",
    "spike",
    "step",
]
