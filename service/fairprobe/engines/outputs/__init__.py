"""What personalization systems output: segments, continuous outcomes, recommendation lists.

Each output kind folds its per-person data onto the audit's counts-table combinations (``cells``), then onto
every partition's groups, measures with the shared statistics and judges with the one decision rule; its
findings count towards the verdict when the policy has a rule on their metric (see ``domain.diagnostics``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fairprobe.domain.audit import AuditRequest
from fairprobe.domain.diagnostics import Section
from fairprobe.domain.outputs import OutputKind
from fairprobe.engines.groups import Partition
from fairprobe.engines.outputs.outcomes import outcomes
from fairprobe.engines.outputs.rankings import rankings
from fairprobe.engines.outputs.segments import segments
from fairprobe.stats.counts import CountsTable, groups_of_cells

__all__ = ["measure_outputs"]


def measure_outputs(request: AuditRequest, parts: Sequence[Partition], table: CountsTable,
                    cells: np.ndarray) -> tuple[Section, ...]:
    """Every output section the request asks for; ``cells`` maps each frame row to its combination."""
    kinds = request.outputs.kinds
    if not kinds:
        return ()
    n_cells = len(table.codes)
    cell_groups = [groups_of_cells(table, part.attributes) for part in parts]
    run = {OutputKind.SEGMENTS: segments, OutputKind.OUTCOMES: outcomes, OutputKind.RANKINGS: rankings}
    return tuple(run[kind](request, parts, cells, cell_groups, n_cells) for kind in kinds)
