"""The plugin's fixtures. Each imports what it needs (Gymnasium, numpy, backends) when first used.

- ``drl_config`` (session): the :class:`~pytest_drlreward.plugin.options.DrlConfig` of this run.
- ``drl_env_factory``: ``make(**kwargs)`` building envs from ``drl_env``; closes them all afterwards.
- ``drl_env``: one env from the factory.
- ``reward_backend``: each configured backend in turn (tests get ids like ``test_x[openvino]``).
- ``reference_backend`` (session): the reference (``drl_reference``: Torch by default, an ONNX engine for
  an ONNX-only directory, or a ``module:function`` callable) on the same classifier.
- ``labelled_images`` (session): ``(images uint8 (N, H, W, 3), labels bool or int (N,))``; a skip without a
  file, NOT VERIFIED (labelled) for a file of 0 images.
- ``drl_rollout`` (session): one seeded rollout of ``drl_env`` with its inputs, their sources and the truth
  (NOT VERIFIED when the env shows no image);
  a ``drl_truth_key`` the env never reports, or a truth that is not a bool or 0/1, ends the run as a usage error.
- ``drl_search`` (session): the false-goal search and the goal search (``drl_search_steps``; every named input
  of each state), ``()`` without a budget, or NOT VERIFIED (search) when the env cannot be searched.
- ``drl_parity``: parity checks with the configured tolerances, summarised in the terminal summary.
- ``drl_verdicts``: records fidelity, accuracy and golden lines for the terminal summary.
- ``drl_timing``: ``measure(backend, images)`` -> median ms, shown in the timing table.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pytest_drlreward.errors import CheckError
from pytest_drlreward.plugin.backend_cache import BackendCache
from pytest_drlreward.plugin.options import CONFIG_KEY, DrlConfig, xdist_workers
from pytest_drlreward.plugin.recording import ParityRecorder, TimingRecorder, record

NO_ENV_REASON = "no env configured: set the drl_env ini key or --drl-env=ID_OR_SPEC"


@pytest.fixture(scope="session")
def drl_config(pytestconfig: pytest.Config) -> DrlConfig:
    """The plugin's settings for this run (options win over ini keys)."""
    return pytestconfig.stash[CONFIG_KEY]


@pytest.fixture
def drl_env_factory(drl_config: DrlConfig) -> Iterator[Callable[..., Any]]:
    """A function ``make(**kwargs)`` that builds a new env from ``drl_env``; every env it made is closed at teardown."""
    from pytest_drlreward.env.spec import make_env

    if drl_config.env is None:
        pytest.skip(NO_ENV_REASON)
    made: list[Any] = []

    def make(**kwargs: Any) -> Any:
        env = make_env(drl_config.env_to_make(), **kwargs)
        made.append(env)
        return env

    yield make
    errors = []
    for env in reversed(made):
        try:
            env.close()
        except Exception as error:  # close every env even if one fails
            errors.append(error)
    if errors:
        raise errors[0]


@pytest.fixture
def drl_env(drl_env_factory: Callable[..., Any]) -> Any:
    """A fresh env built from ``drl_env`` with default arguments, closed after the test."""
    return drl_env_factory()


def backend_threads(config: DrlConfig, name: str) -> int | None:
    """Threads for backend ``name``: its configured ``threads``, else under xdist the cores shared among workers."""
    configured = config.options(name).get("threads")
    if configured is not None:
        return int(configured)
    workers = xdist_workers()
    return max(1, (os.cpu_count() or 1) // workers) if workers else None


def _load(cache: BackendCache, config: DrlConfig, name: str) -> Any:
    options = config.options(name)
    threads = backend_threads(config, name)
    if threads is not None:
        options["threads"] = threads
    if config.trust_code:
        options["trust_code"] = True
    if config.trusted_modules:
        options["trusted_modules"] = config.trusted_modules
    return cache.get(name, config.model_dir, **options)


@pytest.fixture(scope="session")
def _drl_backend_cache(drl_config: DrlConfig) -> BackendCache:
    # the directory read_config opened and hash-checked at start is not opened or hashed again
    return BackendCache({drl_config.model_dir: drl_config.model} if drl_config.model is not None else None)


@pytest.fixture
def reward_backend(request: pytest.FixtureRequest, drl_config: DrlConfig, _drl_backend_cache: BackendCache) -> Any:
    """A configured reward backend on the configured classifier (the plugin parametrises over ``drl_backends``)."""
    return _load(_drl_backend_cache, drl_config, getattr(request, "param", drl_config.backends[0]))


@pytest.fixture(scope="session")
def reference_backend(drl_config: DrlConfig, _drl_backend_cache: BackendCache) -> Any:
    """The reference for parity checks (``drl_reference``) on the configured classifier."""
    if ":" in drl_config.reference:  # a callable takes no backend options
        return _drl_backend_cache.get(drl_config.reference, drl_config.model_dir,
                                      trusted_modules=drl_config.trusted_modules)
    return _load(_drl_backend_cache, drl_config, drl_config.reference)


@pytest.fixture(scope="session")
def labelled_images(drl_config: DrlConfig) -> tuple[Any, Any]:
    """``(images, labels)`` from ``drl_labelled_images`` (default: ``labelled_images.npz`` in the model directory)."""
    path = drl_config.labelled_images
    if path is None or not path.is_file():
        where = f"{path} does not exist" if path else "no drl_model or drl_labelled_images configured"
        pytest.skip(f"no labelled images: {where}")
    from pytest_drlreward.checks.labelled import empty_labelled_gap, load_labelled_images

    images, labels = load_labelled_images(path)
    if not len(images):  # a usage error at start unless drl_allow_unverified accepts it
        raise empty_labelled_gap(path)
    return images, labels


def rollout_env(spec: Any, **kwargs: Any) -> Any:
    """An env built from ``spec`` (with ``kwargs``) that can show its images (asks for ``render_mode="rgb_array"``
    if it must and ``kwargs`` does not name a render mode)."""
    from pytest_drlreward.checks.rollout import has_image_source
    from pytest_drlreward.env.spec import accepts_keyword, make_env

    env = make_env(spec, **kwargs)
    can_render = "rgb_array" in (getattr(env, "metadata", None) or {}).get("render_modes", [])
    if has_image_source(env) or not can_render or "render_mode" in kwargs:
        return env
    if not accepts_keyword(spec, "render_mode"):  # its metadata lists rgb_array, but the factory takes no render_mode
        return env
    env.close()
    return make_env(spec, render_mode="rgb_array", **kwargs)


def _policy(config: DrlConfig, env: Any) -> Any:
    if config.policy is None:
        return None
    from pytest_drlreward.env.policies import load_policy

    return load_policy(config.policy, config.policy_base, (env.observation_space, env.action_space),
                       trust_code=config.trust_code, trusted_modules=config.trusted_modules)


def _usage_error(message: str) -> None:
    """Stop the run as a usage error: a setup mistake, not one failure per test."""
    pytest.exit(message, returncode=pytest.ExitCode.USAGE_ERROR)


@pytest.fixture(scope="session")
def drl_rollout(drl_config: DrlConfig, _drl_backend_cache: BackendCache) -> Any:
    """One rollout of ``drl_env`` (``drl_fidelity_steps`` steps from ``drl_fidelity_seed``, ``drl_policy``):
    every step's classifier inputs (with ``drl_model``: each named input, found as ``drl_input_keys``
    says; else the camera image) and, when ``drl_truth_key`` is set, the truth. NOT VERIFIED (fidelity,
    decisions) when the env has no image to classify; a truth key the env does not report, or a truth value
    that is not a bool or 0/1, stops the run with a usage error naming the key."""
    from pytest_drlreward.checks.rollout import TruthValueError, collect_rollout

    if drl_config.env is None:
        pytest.skip(NO_ENV_REASON)
    inputs = _drl_backend_cache.model_dir(drl_config.model_dir).inputs if drl_config.model_dir is not None else None
    env = rollout_env(drl_config.env_to_make())
    try:
        from pytest_drlreward.plugin.preflight import image_checks, image_gap

        checks = image_checks(drl_config.truth_key, drl_config.model_dir) or ("decisions",)
        gap = image_gap(env, drl_config.env_to_make(), checks, len(inputs) if inputs is not None else 1)
        if gap is not None:  # known at start for a factory without render_mode; here for the others
            raise gap
        try:
            dense = drl_config.model_dir is not None and not _drl_backend_cache.model_dir(drl_config.model_dir).decision.decides
            rollout = collect_rollout(env, drl_config.fidelity_steps, seed=drl_config.fidelity_seed,
                                      policy=_policy(drl_config, env), truth_key=drl_config.truth_key, inputs=inputs,
                                      input_keys=drl_config.input_keys or None, dense_truth=dense)
        except TruthValueError as error:
            _usage_error(f"drl_truth_key {drl_config.truth_key!r}: {error}")
        if drl_config.truth_key and rollout.truth_values is None:
            _usage_error(f"drl_truth_key {drl_config.truth_key!r}: {drl_config.env} never reports it in its step info "
                         f"(it reports {list(rollout.info_keys)}); set drl_truth_key to the info key of the env's truth")
        return rollout
    finally:
        env.close()


def search_guide(config: DrlConfig) -> str:
    """The backend that steers the search: the first configured exact (not quantized) candidate, else the reference."""
    return next((name for name in config.backends if not config.quantized(name)), config.reference)


@pytest.fixture(scope="session")
def drl_search(drl_config: DrlConfig, drl_rollout: Any, _drl_backend_cache: BackendCache) -> tuple[Any, ...]:
    """The false-goal search and the goal search on ``drl_env`` (``drl_search_steps`` env steps, 1/4 and 3/4,
    seeded with ``drl_fidelity_seed``, optimised by ``drl_search_method``), steered by :func:`search_guide`'s
    backend; every state keeps every named input of its step, found as the rollout finds them (``drl_input_keys``);
    a dense truth is cut at the rollout's median. ``()`` when the budget is below 4 or no classifier or truth key
    is configured; NOT VERIFIED (search) when the env cannot be driven (``drl_state_space`` or the action space is
    not a bounded Box) or does not give the classifier's inputs during the search."""
    import numpy as np

    from pytest_drlreward.checks.fidelity import collect_searches
    from pytest_drlreward.checks.search import PlaceHookError, SearchSpaceError
    from pytest_drlreward.env.inputs import EnvInputError
    from pytest_drlreward.errors import NotVerifiedError

    values = drl_rollout.truth_values
    if drl_config.search_steps < 4 or drl_config.model_dir is None or not drl_config.truth_key or values is None:
        return ()
    name = search_guide(drl_config)
    guide = _drl_backend_cache.get(name, drl_config.model_dir) if ":" in name else _load(_drl_backend_cache, drl_config, name)
    env = rollout_env(drl_config.env_to_make())
    try:
        return collect_searches(env, guide, drl_config.search_steps, seed=drl_config.fidelity_seed,
                                truth_key=drl_config.truth_key, method=drl_config.search_method,
                                inputs=_drl_backend_cache.model_dir(drl_config.model_dir).inputs,
                                input_keys=drl_config.input_keys or None,
                                truth_below=None if drl_rollout.truth is not None else float(np.median(values)))
    except SearchSpaceError as error:  # e.g. a Discrete action space
        raise NotVerifiedError("search", str(error), "give the env a bounded Box action space, or give env.unwrapped "
                               "a bounded Box drl_state_space and drl_place(state) -> info") from None
    except PlaceHookError as error:  # the env's own hook is broken: one usage error, not one traceback per test
        _usage_error(f"drl_place: {error}")
    except EnvInputError as error:  # e.g. drl_place leaves no observation to read a Dict observation's inputs from
        raise NotVerifiedError("search", f"the searched states have no classifier inputs: {error}",
                               "supply every input through camera_images() (or camera_image())") from None
    finally:
        env.close()


@pytest.fixture
def drl_parity(request: pytest.FixtureRequest, drl_config: DrlConfig) -> Iterator[ParityRecorder]:
    """``check(reference, candidate, images, source=...)`` with the candidate's tolerance or decision budget,
    and ``decisions(reference, candidate, images_or_rollout, max_flip_rate=0)``."""
    recorder = ParityRecorder(request.node, drl_config)
    yield recorder
    recorder.finish()


class VerdictRecorder:
    """Records fidelity, accuracy and golden-output lines on the current test (``drl_verdicts`` fixture)."""

    def __init__(self, node: pytest.Item) -> None:
        self._node = node

    def __call__(self, key: str, run: Callable[[], Any]) -> Any:
        """Run a check returning a report (raising one on failure) and record its line under ``key``."""
        __tracebackhide__ = True
        try:
            report = run()
        except CheckError as error:
            found = error.report
            record(self._node, key, str(found) if found is not None else str(error).splitlines()[0], passed=False)
            raise
        record(self._node, key, str(report))
        return report

    def rests_on(self, text: str) -> None:
        """Say what the test's verdict rests on (inputs, states, their source): a cell of the coverage table."""
        from pytest_drlreward.plugin.recording import COVERAGE_PROPERTY

        self._node.user_properties.append((COVERAGE_PROPERTY, text))


@pytest.fixture
def drl_verdicts(request: pytest.FixtureRequest) -> VerdictRecorder:
    """``drl_verdicts(key, check)``: run ``check()`` and record its report's line for the terminal summary."""
    return VerdictRecorder(request.node)


@pytest.fixture
def drl_timing(request: pytest.FixtureRequest, drl_config: DrlConfig) -> TimingRecorder:
    """``measure(backend, images, rounds=50, warmup=10)`` -> median ms, recorded in the timing table."""
    return TimingRecorder(request.node, lambda backend: backend_threads(drl_config, str(getattr(backend, "name", ""))),
                          xdist_workers())
