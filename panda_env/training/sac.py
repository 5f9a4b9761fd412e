"""SAC (stable-baselines3) on PandaHover-v0 with a chosen reward backend, timed part by part."""

from __future__ import annotations

import contextlib
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from panda_env.envs.goal import CallTimer
from panda_env.training.bar import ProgressCallback
from panda_env.training.evaluate import EvaluationResult, evaluate_policy_success
from panda_env.training.progress import EpisodeLog
from panda_env.training.reward_audit import audit_callback, audited, save_audit
from panda_env.training.runs import backend_options_for, make_batched_env, make_env
from panda_env.training.solved import SolvedRule, UntilSolved
from pytest_drlreward.util.atomic import atomic_file, write_text_atomic
from pytest_drlreward.util.validation import check_int

logger = logging.getLogger(__name__)


@dataclass
class TrainingReport:
    """What a training run measured.

    ``physics_s``, ``render_s`` and ``reward_s`` are timed inside the env, ``learning_s`` around SAC's
    gradient steps; ``other_s`` is the rest (policy actions, replay buffer, SB3 bookkeeping).
    """

    backend: str
    profile: str
    steps: int
    seed: int
    total_s: float
    physics_s: float
    render_s: float
    reward_s: float
    learning_s: float
    other_s: float
    steps_per_s: float
    reward_calls: int
    int8: bool = False
    evaluation: dict = field(default_factory=dict)
    agent_path: str = ""
    learning_curve: list = field(default_factory=list)  # points of EpisodeLog.curve()
    pictures: list = field(default_factory=list)  # PNG files written beside the agent
    # train until solved: the rule, its checks, steps and training seconds to the solved policy, check time
    until_solved: dict = field(default_factory=dict)
    # Ctrl-C (SIGINT) stopped the training after ``steps`` steps; the agent trained so far was kept
    interrupted: bool = False
    # the learned reward against the simulator's truth on the states SAC visited (pytest_drlreward.audit)
    audit: dict = field(default_factory=dict)
    goal_radius: float | None = None  # the truth's goal radius when not the task's (the audit judges against it)
    n_envs: int = 1  # envs stepped together (BatchedRewardVecEnv when more than one)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"


def _timed_sac_class(learner: str = "sb3"):
    """SB3's SAC (or, for the ``fast`` learner, ``FastSAC``) whose gradient steps (``train``) add their time to
    ``learning_timer``, which the saved agent leaves out (SB3's ``_excluded_save_params``); an ``agent.zip``
    loads as a plain ``SAC``."""
    from panda_env.training.profiles import sac_class

    class TimedSAC(sac_class(learner)):
        learning_timer: CallTimer

        def train(self, gradient_steps: int, batch_size: int = 64) -> None:
            start = time.perf_counter()
            try:
                super().train(gradient_steps, batch_size)
            finally:
                self.learning_timer.add(time.perf_counter() - start)

        def _excluded_save_params(self) -> list[str]:
            return [*super()._excluded_save_params(), "learning_timer"]

    return TimedSAC


def _learn(backend: str, steps: int, seed: int, profile: str, model_dir, progress_bar: bool | str, verbose: int,
           n_envs: int, int8: bool, table_rows: int, solved_rule: SolvedRule | None, sac_overrides: dict | None,
           out: Path | None = None, goal_radius: float | None = None, learner: str = "sb3"):
    """Train an agent; return it and the report of where the time went (evaluation not yet done)."""
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import VecMonitor

    from panda_env.training.profiles import sac_options

    if n_envs == 1:
        env = make_env(backend, profile, model_dir=model_dir, int8=int8, goal_radius=goal_radius)
        monitored = Monitor(audited(env))
    else:  # the VecEnv has the same timers and reward_timer as a single env
        env = make_batched_env(backend, n_envs, profile, model_dir=model_dir, int8=int8, goal_radius=goal_radius)
        monitored = VecMonitor(env)
    try:
        agent = _timed_sac_class(learner)("MlpPolicy", monitored, seed=seed, verbose=verbose,
                                          **{**sac_options(profile, n_envs), **(sac_overrides or {})})
        learning = agent.learning_timer = CallTimer()
        # a few rows over the run: over the step cap, or every other check when training until solved
        every = 2 * solved_rule.every if solved_rule is not None else steps // max(table_rows, 1)
        episodes = EpisodeLog(every=every if table_rows else 0)
        audit = audit_callback(steps, solved_rule.every if solved_rule is not None else None)
        callbacks = [episodes, audit]
        if solved_rule is not None:
            solved = UntilSolved(solved_rule, profile)
            callbacks.append(solved)
        bar = None
        if progress_bar:  # "cap": until solved, the steps are a cap the run usually stops far before
            desc = progress_bar if isinstance(progress_bar, str) else f"SAC, {backend} reward"
            bar = ProgressCallback(steps, desc, cap=solved_rule is not None)
            callbacks.append(bar)
        start = time.perf_counter()
        interrupted = False
        try:
            agent.learn(total_timesteps=steps, callback=callbacks)
        except KeyboardInterrupt:  # rl-zoo3's convention: keep the agent trained so far
            interrupted = True
        finally:
            if bar is not None:
                bar.close()
        check_s = solved.record.check_s if solved_rule is not None else 0.0
        total = time.perf_counter() - start - check_s  # training time: the checks are reported apart
        if out is not None:  # after the timed part: the audit's picture is no training
            save_audit(audit, out)
        steps = agent.num_timesteps
        physics, render = env.timers["physics"].total_s, env.timers["render"].total_s
        reward = env.reward_timer
        report = TrainingReport(
            backend=backend, profile=profile, steps=steps, seed=seed, total_s=total, physics_s=physics,
            render_s=render, reward_s=reward.total_s, learning_s=learning.total_s,
            other_s=total - physics - render - reward.total_s - learning.total_s,
            steps_per_s=steps / total if total > 0 else 0.0, reward_calls=reward.calls, int8=int8,
            learning_curve=episodes.curve(), interrupted=interrupted, audit=audit.report().as_dict(),
            goal_radius=goal_radius, n_envs=n_envs)
        if solved_rule is not None:
            record = solved.record
            report.until_solved = {**asdict(record.rule), "checks": record.checks, "solved": record.steps_to_solve is not None,
                                   "steps_to_solve": record.steps_to_solve,
                                   "train_s_to_solve": total if record.steps_to_solve is not None else None,
                                   "check_s": record.check_s}
    finally:
        env.close()
    return agent, report


def _write_pictures(report: TrainingReport, out: Path) -> list[str]:
    """The learning curve and the time split of a run, as PNGs in ``out``."""
    from panda_env.training.plots import learning_curve_png, time_split_png

    title = f"SAC, {report.backend} reward, {report.profile} profile, seed {report.seed}"
    solved = report.until_solved
    written = [learning_curve_png(report.learning_curve, out / "learning_curve.png", title,
                                  checks=solved.get("checks", ()), target=solved.get("target"),
                                  check_episodes=solved.get("episodes"), audit=report.audit)]
    written.append(time_split_png([(f"{report.backend} ({report.steps} steps)", asdict(report))],
                                  out / "time_split.png", f"where the {report.total_s:.0f} s of training went"))
    return [str(path) for path in written]


def train(backend: str, steps: int = 8000, seed: int = 0, out_dir: str | Path | None = None,
          profile: str = "fast", model_dir=None, eval_episodes: int = 50, progress_bar: bool | str = False,
          verbose: int = 0, torch_threads: int | None = None, n_envs: int | None = None, int8: bool = False,
          overwrite: bool = False, table_rows: int = 5, until_solved: SolvedRule | None = None,
          sac_overrides: dict | None = None, goal_radius: float | None = None,
          learner: str | None = None) -> TrainingReport:
    """Train SAC for ``steps`` env steps; save the agent; evaluate; write a JSON report.

    Every argument and ``out_dir`` are checked before training (``out_dir`` must be writable and, unless
    ``overwrite``, hold no earlier run; one run at a time writes to it). The agent is saved (atomically,
    as ``agent.zip``) before the evaluation, so an interrupted evaluation keeps it; ``report.json`` is
    written after the evaluation. SAC's settings are SB3's defaults except those of
    ``profiles.sac_options(profile)``; torch runs on ``profiles.torch_threads(profile)`` threads unless
    ``torch_threads`` is given.

    ``n_envs > 1`` steps that many envs together (``BatchedRewardVecEnv``): one reward-backend call
    classifies all their images, so ``reward_calls`` is ``steps / n_envs``; SB3's ``train_freq`` and
    ``gradient_steps`` count those vector steps (the profile's gradient steps are scaled to keep their
    number per env step; ``sac_overrides`` are taken as given). None: the profile's
    (``profiles.profile_n_envs``: 2 in the fast profile, 1 in the original).

    ``int8``: the OpenVINO reward runs the classifier's shipped INT8 model (fast profile only).
    ``progress_bar``: show progress on stderr (``panda_env.training.bar``; a string names the bar).
    ``table_rows``: progress rows logged (``panda_env.training.progress``); ``verbose=1`` adds SB3's own log.
    ``until_solved``: stop once a check of the policy reaches the rule's true-goal success (``steps`` is the
    cap; ``panda_env.training.solved``); the final evaluation then confirms it on other episodes.
    ``sac_overrides``: keyword arguments of SB3's ``SAC`` that replace the profile's (e.g. for a search).
    ``learner``: ``fast`` (``fast_sac.FastSAC``: the same update with less overhead) or ``sb3`` (SB3's own
    ``SAC.train``); None: the profile's (``profiles.check_learner``: fast for the fast profile).
    With ``out_dir`` the learning curve and the time split are drawn as PNGs beside the agent
    (``report.pictures`` lists them). ``report.audit`` is the reward audit (``panda_env.training.reward_audit``),
    written with its false goals to ``out_dir/audit/``; ``goal_radius`` sets the truth's goal radius (the audit
    and the evaluation judge against it; the classifier still decides the reward).

    Ctrl-C (``KeyboardInterrupt``) during the training keeps the agent trained so far: it is saved as
    above, the evaluation is skipped and the report says ``interrupted`` with its ``steps``; a second
    Ctrl-C while saving leaves the earlier files whole (every write is atomic).
    """
    from panda_env.training.profiles import check_learner, check_profile, profile_n_envs, profile_torch_threads
    from panda_env.training.run_dir import locked_run_dir

    check_int(steps, "steps")
    profile = check_profile(profile)  # "seed" names "original"
    n_envs = profile_n_envs(profile) if n_envs is None else check_int(n_envs, "n_envs")
    check_int(eval_episodes, "eval_episodes", low=0)
    learner = check_learner(learner, profile)
    backend_options_for(backend, profile, int8)  # refuses --int8 off openvino or the fast profile
    run_dir = locked_run_dir(out_dir, overwrite) if out_dir is not None else contextlib.nullcontext()
    with run_dir as out, profile_torch_threads(profile, torch_threads):  # threads given back after training
        agent, report = _learn(backend, steps, seed, profile, model_dir, progress_bar, verbose, n_envs, int8,
                               table_rows, until_solved, sac_overrides, out, goal_radius, learner)
        if out is not None:
            with atomic_file(out / "agent.zip") as tmp:
                agent.save(tmp)
            report.agent_path = str(out / "agent.zip")
            report.pictures = _write_pictures(report, out)
        if eval_episodes and not report.interrupted:
            gif = out / "episode.gif" if out is not None else None
            shown = backend if profile == "fast" else "oracle"  # the GIF shows this classifier's P(goal)
            result: EvaluationResult = evaluate_policy_success(agent, eval_episodes, seed=seed + 10_000, profile=profile,
                                                               gif_path=gif, gif_backend=shown, goal_radius=goal_radius)
            report.evaluation = asdict(result)
            if gif is not None:
                report.pictures.append(str(gif))
        if out is not None:
            write_text_atomic(out / "report.json", report.to_json())
    return report
