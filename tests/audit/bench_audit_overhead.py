"""What ``RewardAudit`` adds to an env step, measured against the bare env in one run (a benchmark, not a test).

Run from the repository root: ``python tests/audit/bench_audit_overhead.py [ROUNDS] [STEPS]``. One env takes the
same random actions bare and through the wrapper, in alternating rounds (the order flipped each round); the
medians of the rounds' per-step times are compared.
PandaHover with the shipped classifier on ONNX Runtime (a real learned reward) and the downstream point env
(pure numpy, about 10 us a step: the worst case for a per-step overhead).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parents[1] / "downstream")]

from pytest_drlreward.audit import RewardAudit  # noqa: E402


def per_step(env, actions: np.ndarray) -> float:
    """Seconds per step over ``actions`` (resets not counted)."""
    env.reset(seed=0)
    spent = 0.0
    for action in actions:
        start = time.perf_counter()
        _, _, terminated, truncated, _ = env.step(action)
        spent += time.perf_counter() - start
        if terminated or truncated:
            env.reset()
    return spent / len(actions)


def compare(name: str, make, rounds: int, steps: int) -> None:
    """One env stepped bare and through ``RewardAudit`` (the same instance, so the same simulator client),
    in alternating rounds whose order flips each round."""
    bare = make()
    audited = RewardAudit(bare)
    actions = np.random.default_rng(0).uniform(bare.action_space.low, bare.action_space.high,
                                               size=(steps, *bare.action_space.shape)).astype(np.float32)
    per_step(bare, actions[:50]), per_step(audited, actions[:50])  # warm-up
    times = {"bare": [], "audited": []}
    for k in range(rounds):
        for label, env in ((("bare", bare), ("audited", audited)) if k % 2 == 0 else
                           (("audited", audited), ("bare", bare))):
            times[label].append(per_step(env, actions))
    bare_s, audited_s = statistics.median(times["bare"]), statistics.median(times["audited"])
    ratios = [a / b for a, b in zip(times["audited"], times["bare"])]
    print(f"{name}: bare {1e6 * bare_s:.1f} us/step, audited {1e6 * audited_s:.1f} us/step: "
          f"{100 * (audited_s / bare_s - 1):+.2f}% (median of per-round ratios {statistics.median(ratios):.3f}, range "
          f"{min(ratios):.3f}-{max(ratios):.3f}; {rounds} rounds of {steps} steps; {audited.report().counts.steps} "
          f"audited steps)")
    bare.close()


class NullEnv(gym.Env):
    """An env whose step costs nothing: the audit's own time per step, without noise from the env."""

    def __init__(self) -> None:
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        self.observation_space = self.action_space
        self._out = (np.zeros(2, np.float32), -1.0, False, False,
                     {"is_goal": False, "true_goal": False, "goal_probability": 0.1})
        self._t = 0

    def reset(self, *, seed=None, options=None):
        self._t = 0
        return self._out[0], {}

    def step(self, action):
        self._t += 1
        return self._out if self._t < 10 else (*self._out[:3], True, self._out[4])



def main() -> int:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 400
    import point_env

    compare("null env (the audit's own cost)", NullEnv, rounds, steps * 25)
    compare("point env (numpy)", point_env.PointEnv, rounds, steps * 5)
    try:
        import panda_env  # noqa: F401
        from panda_env.training.runs import make_env
    except ImportError as error:
        print(f"PandaHover skipped: {error}")
        return 0
    compare("PandaHover, onnxruntime reward", lambda: make_env("onnxruntime"), rounds, steps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
