"""Which generated tables live on which page of docs/."""

from __future__ import annotations

from armada.docgen.tables import Table
from armada.domain.states import JOB_TRANSITIONS, RUN_TRANSITIONS
from armada.executor.run_stages import STAGE_STARTS, STAGE_TRANSITIONS, STOP_TRANSITIONS

LIFECYCLE = {
    "job transitions": Table(JOB_TRANSITIONS.items()),
    "run transitions": Table(RUN_TRANSITIONS.items()),
}

EXECUTOR = {
    "run stages": Table(
        [*(((None, new), why) for new, why in STAGE_STARTS.items()), *STAGE_TRANSITIONS.items()],
        driver="Stimulus",
    ),
    "run stops": Table(STOP_TRANSITIONS.items(), driver="Stimulus"),
}

# Paths relative to the repository's root.
PAGES: dict[str, dict[str, Table]] = {
    "docs/lifecycle.md": LIFECYCLE,
    "docs/executor.md": EXECUTOR,
}
