"""Why a faces job or request stopped, in words a user can act on (``user_message``).

Raised by job bodies (``faces/runs/``) and services alike; ``nstsite.jobs.user_message`` shows a
failed job's ``user_message`` on its row.
"""

from __future__ import annotations

import numpy as np


class RecognitionOff(Exception):
    user_message = "Face recognition is turned off for your account (Faces → Settings)."


class NoFace(Exception):
    def __init__(self, which: str) -> None:
        super().__init__(which)
        self.user_message = f"No face was found in the {which} image."


class NoReference(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.user_message = f"{name} has no enrolled face to compare with."


class NotEnoughPeople(Exception):
    user_message = "Calibration needs at least two people, one of them with two or more enrolled faces."


MIN_GENUINE_PAIRS = 10


class NotEnoughPairs(Exception):
    def __init__(self, genuine: int, impostor: int, target_far: float) -> None:
        needed = int(np.ceil(1.0 / target_far))
        self.user_message = (
            f"Too few reference pairs to estimate a false-accept rate of {target_far:g}: "
            f"{impostor} impostor pair(s) (at least {needed} needed) and {genuine} genuine pair(s) "
            f"(at least {MIN_GENUINE_PAIRS}). Enroll more people and more faces per person, or aim for a "
            "larger false-accept rate. The threshold in force was not changed."
        )
        super().__init__(self.user_message)
