"""Reference 95% Wilson score intervals for toongan's survey statistics (src/survey/stats.rs).

Computed by scipy (an implementation independent of toongan's), printed as JSON rows
[k, n, low, high]. Regenerate the fixture with:

    /work/main/.venv/bin/python tools/ref_wilson.py > tests/fixtures/survey/wilson.json
"""

import json

from scipy.stats import binomtest

CASES = [(0, 1), (1, 1), (0, 10), (3, 10), (10, 10), (7, 24), (12, 38), (300, 912), (1, 3), (500, 1000), (1, 4800)]

rows = []
for k, n in CASES:
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    rows.append([k, n, float(ci.low), float(ci.high)])
print(json.dumps(rows, indent=1))
