"""The tiny reference class the calibration's tests share."""

import pytest

from tests.conftest import QUIET, base_doc, merge

OBSERVED = """[observed]
name = "{name}"
until = 2025-01-31
[capital]
end_state = "collapsed"
date = {date}
source = "synthetic"
"""


@pytest.fixture
def reference_class(tmp_path, write_scenario):
    """Two synthetic wars where only a hand-over can end the regime, observed on day 3 and day 9,
    and a second origin of the second war that is only scored."""
    doc = merge(base_doc(), {**QUIET, "rebels": None, "allies": None,
                             "belief": {"initial": 0.5, "baseline": 0.5, "force_weight": 0},
                             "leadership": {"exit_below": 0, "haven": 0, "spread": 0.1, "max_exit_per_day": 0.5}})
    write_scenario(doc, "case.toml")
    (tmp_path / "a.toml").write_text(OBSERVED.format(name="a", date="2024-12-10"))
    (tmp_path / "b.toml").write_text(OBSERVED.format(name="b", date="2024-12-16"))
    spec = tmp_path / "calibration.toml"
    spec.write_text("""[calibration]
tolerance_days = 1
close_share = 0.2
cases = [ { scenario = "case.toml", observed = "a.toml", war = "one" },
          { scenario = "case.toml", observed = "b.toml", war = "two" },
          { scenario = "case.toml", observed = "b.toml", war = "two", use = "score" } ]
[priors]
"leadership.handover_below" = { dist = "uniform", low = 0.001, high = 0.5 }
""")
    return spec
