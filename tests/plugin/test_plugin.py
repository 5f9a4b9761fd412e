"""Tests of the pytest plugin, run against throwaway projects with ``pytester``.

Quick checks run pytest in this process; the downstream-project checks run it in a subprocess
(clean imports, as a user would), on a tiny numpy env and a tiny Torch classifier exported once
per module.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from repo_paths import DOWNSTREAM

from pytest_drlreward.env.spec import EnvSpecError, check_env_spec, parse_env_spec

pytest_plugins = ["pytester"]

MARKED_TESTS = """
    import pytest

    @pytest.mark.parity
    def test_parity():
        pass

    @pytest.mark.timing
    def test_timing():
        pass

    @pytest.mark.slow
    def test_slow():
        pass
"""

# --------------------------------------------------------------------------- markers and slow tests


def test_markers_are_registered_and_slow_tests_are_skipped_with_a_hint(pytester):
    pytester.makepyfile(MARKED_TESTS)
    result = pytester.runpytest("--strict-markers", "-rs")
    result.assert_outcomes(passed=2, skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED*run with -m slow or --drl-run-slow"])


@pytest.mark.parametrize("args", [("-m", "slow"), ("--drl-run-slow",)], ids=["-m slow", "--drl-run-slow"])
def test_slow_tests_run_when_selected(pytester, args):
    pytester.makepyfile(MARKED_TESTS)
    result = pytester.runpytest("--strict-markers", *args)
    result.assert_outcomes(passed=1 if args[0] == "-m" else 3, deselected=2 if args[0] == "-m" else 0)


# --------------------------------------------------------------------------- options


@pytest.mark.parametrize(
    "args, ini, named",
    [
        (["--drl-backends=onnxruntime,bogus"], "", "bogus"),
        (["--drl-model=/no/such/dir"], "", "/no/such/dir"),
        ([], "drl_parity_atol = -1", "-1"),
        (["--drl-parity-rtol=abc"], "", "abc"),
        (["--drl-env=nosuchmodule:make"], "", "nosuchmodule:make"),
        (["--drl-env=NoSuchEnv-v0"], "", "NoSuchEnv-v0"),
        (["--drl-env=CartPole-v9"], "", "did you mean 'CartPole-v1'"),
        ([], "drl_parity_tolerances = openvino = 1e-5", "give two numbers"),
        ([], "drl_parity_tolerances = tensorrt = 1e-5, 1e-4", "unknown backend 'tensorrt'"),
        ([], "drl_backend_options = thread=1", "takes no option 'thread'"),
        (["--drl-backend-options=openvino: threads=0"], "", "threads=0 must be an integer"),
        ([], "drl_min_recall = 1.5", "'1.5' must be a finite number from 0 to 1"),
        (["--drl-fidelity-steps=0"], "", "must be a whole number >= 1"),
        (["--drl-policy=agents/missing.zip"], "", "missing.zip does not exist"),
        (["--drl-policy=nosuchmodule:act"], "", "cannot find module 'nosuchmodule'"),
        (["--drl-timing-compare=none.json"], "", "none.json does not exist"),
    ],
    ids=["backend", "model", "atol", "rtol", "env-module", "env-id", "env-id-typo", "tolerance-pair",
         "tolerance-backend", "option-name", "option-value", "fraction", "steps", "policy-file", "policy-module",
         "timing-baseline"],
)
def test_bad_values_are_usage_errors_naming_the_value(pytester, args, ini, named):
    pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert named in result.stderr.str()


def test_a_quantized_variant_without_its_model_is_a_usage_error(pytester):
    _tiny_model(pytester)
    pytester.makeini("[pytest]\npythonpath = .\ndrl_model = my_model\ndrl_backends = openvino-int8\n")
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "drl_model 'my_model' (in " in result.stderr.str() and "has no INT8 model" in result.stderr.str()


def test_bad_labelled_images_are_a_usage_error(pytester):
    np.savez(pytester.path / "labelled.npz", images=np.zeros((2, 4, 4, 3)), labels=np.array([0, 1]))
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest("--drl-labelled-images=labelled.npz")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "on the command line" in result.stderr.str() and "images must be uint8" in result.stderr.str()


def test_help_lists_every_option_and_ini_key(pytester):
    result = pytester.runpytest("--help")
    assert result.ret == pytest.ExitCode.OK
    out = result.stdout.str()
    for name in ("--drl-truth-key", "--drl-timing-compare", "--drl-golden-save", "drl_parity_tolerances",
                 "drl_backend_options", "drl_min_accuracy", "drl_max_false_goal_rate", "drl_timing_margin"):
        assert name in out, name


def test_model_dir_without_metadata_is_a_usage_error(pytester):
    pytester.mkdir("empty_model")
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest("--drl-model=empty_model")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "metadata.json" in result.stderr.str()


SHOW_CONFIG = """
    def test_show(drl_config):
        print("BACKENDS=%s ATOL=%s RTOL=%s ENV=%s MODEL=%s" % (
            ",".join(drl_config.backends), drl_config.atol, drl_config.rtol, drl_config.env,
            drl_config.model_dir.name if drl_config.model_dir else None))
"""


def _tiny_model(pytester) -> None:
    """The downstream project's classifier directory and its torch_factory module, in the pytester project."""
    shutil.copytree(DOWNSTREAM / "models" / "tiny", pytester.path / "my_model")
    shutil.copyfile(DOWNSTREAM / "tiny_model.py", pytester.path / "tiny_model.py")


def test_ini_sets_defaults_and_the_command_line_wins(pytester):
    _tiny_model(pytester)
    pytester.makeini("""
        [pytest]
        pythonpath = .
        drl_backends = openvino
        drl_parity_atol = 0.5
        drl_model = my_model
    """)
    pytester.makepyfile(SHOW_CONFIG)
    from_ini = pytester.runpytest("-s")
    from_ini.stdout.fnmatch_lines(["*BACKENDS=openvino ATOL=0.5 RTOL=0.001 ENV=None MODEL=my_model*"])
    from_cli = pytester.runpytest("-s", "--drl-backends=openvino, onnxruntime", "--drl-parity-atol=0")
    from_cli.stdout.fnmatch_lines(["*BACKENDS=openvino,onnxruntime ATOL=0.0 RTOL=0.001*"])


def test_pyproject_takes_a_list_of_backends(pytester):
    pytester.makepyprojecttoml("""
        [tool.pytest.ini_options]
        drl_backends = ["onnxruntime", "openvino"]
        drl_parity_rtol = "0.25"
    """)
    pytester.makepyfile(SHOW_CONFIG)
    pytester.runpytest("-s").stdout.fnmatch_lines(["*BACKENDS=onnxruntime,openvino ATOL=0.0001 RTOL=0.25*"])


def test_defaults_without_configuration(pytester):
    pytester.makepyfile(SHOW_CONFIG)
    result = pytester.runpytest("-s")
    result.stdout.fnmatch_lines(["*BACKENDS=onnxruntime,openvino ATOL=0.0001 RTOL=0.001 ENV=None MODEL=None*"])


def test_without_env_or_model_the_tests_needing_them_skip_naming_the_setting(pytester):
    pytester.makepyfile("""
        def test_env(drl_env):
            pass

        def test_backend(reference_backend):
            pass
    """)
    result = pytester.runpytest("-rs")
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(["*no env configured: set the drl_env ini key*",
                                 "*no classifier configured: set the drl_model ini key*"])


@pytest.mark.parametrize(
    "text, module, name, is_factory",
    [
        ("PandaHover-v0", "", "PandaHover-v0", False),
        ("mypkg.envs:make_env", "mypkg.envs", "make_env", True),
        ("mypkg.envs:Hover-v0", "mypkg.envs", "Hover-v0", False),
        ("mypkg:Factories.point", "mypkg", "Factories.point", True),
    ],
)
def test_env_specs_parse(text, module, name, is_factory):
    spec = parse_env_spec(text)
    assert (spec.module, spec.name, spec.is_factory) == (module, name, is_factory)


@pytest.mark.parametrize("text", ["", ":make", "mypkg:", "no_such_pkg.sub:make"])
def test_bad_env_specs_are_rejected(text):
    with pytest.raises(EnvSpecError):
        check_env_spec(text)


def test_plugin_import_is_light():
    code = ("import sys, pytest_drlreward.plugin, pytest_drlreward; "
            "bad = [m for m in ('torch', 'openvino', 'onnxruntime', 'pybullet', 'panda_env') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- fixtures (in process)

POINT_ENV = """
    import gymnasium as gym
    import numpy as np
    from gymnasium import spaces

    CLOSED = []


    class PointEnv(gym.Env):
        \"\"\"A point on [-1, 1] moved by actions; done within 0.05 of 0 or after max_steps.\"\"\"

        def __init__(self, max_steps=10):
            self.observation_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
            self.action_space = spaces.Box(-0.1, 0.1, shape=(1,), dtype=np.float32)
            self.max_steps = max_steps

        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            self._x = self.np_random.uniform(-1.0, 1.0, size=1)
            self._t = 0
            return self._x.astype(np.float32), {}

        def step(self, action):
            self._x = np.clip(self._x + np.asarray(action, dtype=np.float64), -1.0, 1.0)
            self._t += 1
            done = bool(abs(self._x[0]) < 0.05)
            return self._x.astype(np.float32), 10.0 if done else -1.0, done, self._t >= self.max_steps, {}

        def close(self):
            CLOSED.append(self)


    def make_env(**kwargs):
        return PointEnv(**kwargs)
"""


def test_env_factory_builds_from_a_factory_spec_and_closes_what_it_made(pytester):
    pytester.makepyfile(pointenv=POINT_ENV)
    pytester.syspathinsert()
    pytester.makepyfile(test_factory="""
        import pointenv

        def test_make(drl_env_factory, drl_env):
            env = drl_env_factory(max_steps=3)
            assert isinstance(env, pointenv.PointEnv) and env.max_steps == 3
            assert isinstance(drl_env, pointenv.PointEnv) and drl_env is not env

        def test_all_closed():
            assert len(pointenv.CLOSED) == 2
    """)
    pytester.runpytest("--drl-env=pointenv:make_env").assert_outcomes(passed=2)


def test_env_factory_builds_registered_gymnasium_ids(pytester):
    pytester.makepyfile("""
        def test_make(drl_env_factory):
            env = drl_env_factory(max_episode_steps=5)
            assert env.spec.id == "CartPole-v1" and env.spec.max_episode_steps == 5
    """)
    pytester.runpytest("--drl-env=CartPole-v1").assert_outcomes(passed=1)


def test_labelled_images_come_from_the_ini_key_or_skip(pytester):
    pytester.makepyfile("""
        def test_images(labelled_images):
            images, labels = labelled_images
            assert images.shape == (3, 8, 8, 3) and list(labels) == [0, 1, 1]
            assert not images.flags.writeable
    """)
    result = pytester.runpytest("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*no labelled images: no drl_model or drl_labelled_images configured*"])
    pytester.mkdir("data")
    np.savez(pytester.path / "data" / "labelled.npz", images=np.zeros((3, 8, 8, 3), np.uint8),
             labels=np.array([0, 1, 1]))
    pytester.makeini("[pytest]\ndrl_labelled_images = data/labelled.npz\n")
    pytester.runpytest().assert_outcomes(passed=1)
    result = pytester.runpytest("--drl-labelled-images=data/missing.npz")
    assert result.ret == pytest.ExitCode.USAGE_ERROR and "data/missing.npz" in result.stderr.str()


def test_reward_backend_ids_are_backend_names(pytester):
    pytester.makepyfile(test_ids="def test_x(reward_backend):\n    pass\n")
    result = pytester.runpytest("--collect-only", "-q", "--drl-backends=onnxruntime,openvino")
    result.stdout.fnmatch_lines(["test_ids.py::test_x[[]onnxruntime[]]", "test_ids.py::test_x[[]openvino[]]"])


def test_missing_backend_package_skips_with_the_pip_command(pytester):
    pytester.makeconftest("import sys\nsys.modules['openvino'] = None  # as if not installed\n")
    pytester.makepyfile(test_ids="def test_x(reward_backend):\n    pass\n")
    result = pytester.runpytest("-rs", "--drl-backends=openvino")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(['*needs *openvino*, which is not installed: pip install "openvino>=*"'
                                 ' (*[[]openvino[]] extra; or pip install ".[[]openvino[]]"*'])


FAKE_BACKENDS = """
    import time

    import numpy as np


    class Fake:
        def __init__(self, name, seconds, offset=0.0):
            self.name, self.seconds, self.offset = name, seconds, offset

        def logits(self, images):
            time.sleep(self.seconds)
            return np.tile(np.array([[1.0, 2.0 + self.offset]], np.float32), (len(images), 1))


    def test_timing(drl_timing):
        images = np.zeros((4, 8, 8, 3), np.uint8)
        slow = drl_timing.measure(Fake("torch", 0.004), images, rounds=3, warmup=1)
        fast = drl_timing.measure(Fake("quick", 0.001), images, rounds=3, warmup=1)
        assert slow > 0 and fast > 0


    def test_parity(drl_parity):
        images = np.zeros((2, 8, 8, 3), np.uint8)
        drl_parity.check(Fake("torch", 0), Fake("quick", 0, 1e-6), images, source="zeros")
        drl_parity.check(Fake("torch", 0), Fake("quick", 0, 2e-6), images, source="zeros")
"""


def test_timing_table_parity_lines_and_timing_json(pytester):
    pytester.makepyfile(FAKE_BACKENDS)
    pytester.mkdir("out")  # the directory must exist: it is not created silently
    result = pytester.runpytest("--drl-timing-json=out/timing.json")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines([
        "*drlreward timing*",
        "backend*batch*median ms*speed-up vs torch*",
        "torch*4*1.00x",
        "quick*4*x",
        "*drlreward parity*",
        "parity: quick vs torch: 4 images, max |diff| *e-06, argmax agree 4/4 (atol=1e-4, rtol=1e-3) [[]zeros[]]",
    ])
    rows = json.loads((pytester.path / "out" / "timing.json").read_text())
    assert [(row["backend"], row["batch"]) for row in rows] == [("torch", 4), ("quick", 4)]
    assert all(row["median_ms"] > 0 for row in rows)
    assert rows[0]["speedup_vs_torch"] == pytest.approx(1.0) and rows[1]["speedup_vs_torch"] > 1.5


def test_failed_parity_is_summarised_and_marked(pytester):
    pytester.makepyfile(FAKE_BACKENDS.replace("1e-6", "1.0"))
    result = pytester.runpytest("-k", "not test_timing")
    result.assert_outcomes(failed=1, deselected=1)
    result.stdout.fnmatch_lines([
        "*worst element: image 0, class 1*",
        "*smallest tolerance that would pass: atol>=0.998 at rtol=1e-3, or rtol>=0.5 at atol=1e-4*",
        "*drlreward parity*",
        "FAILED parity: quick vs torch: 2 images, max |diff| 1, argmax agree 2/2 (atol=1e-4, rtol=1e-3), "
        "2/4 elements out of tolerance; passes with atol>=0.998 or rtol>=0.5 [[]zeros[]]",
    ])


TIMED = """
    import time

    import numpy as np


    class Sleeper:
        def __init__(self, name, seconds):
            self.name, self.seconds = name, seconds

        def logits(self, images):
            time.sleep(self.seconds)
            return np.zeros((len(images), 2), np.float32)


    def test_timing(drl_timing):
        images = np.zeros((1, 4, 4, 3), np.uint8)
        drl_timing.measure(Sleeper("torch", 0.04), images, rounds=5, warmup=1)
        drl_timing.measure(Sleeper("quick", QUICK), images, rounds=5, warmup=1)
"""


def test_timing_baseline_is_saved_as_ratios_and_a_regression_fails_the_run(pytester):
    # sleeps long enough that a loaded machine's scheduling noise (a few ms) stays well inside the margin
    pytester.makepyfile(TIMED.replace("QUICK", "0.008"))
    result = pytester.runpytest("--drl-timing-save=baseline.json")
    result.assert_outcomes(passed=1)
    baseline = json.loads((pytester.path / "baseline.json").read_text())
    assert set(baseline["ratios"]) == {"torch@1", "quick@1"} and 0.1 < baseline["ratios"]["quick@1"] < 0.5
    # the same speeds compare fine
    assert pytester.runpytest("--drl-timing-compare=baseline.json").ret == pytest.ExitCode.OK
    # quick is now as slow as torch: its ratio grew far beyond the 50% margin
    pytester.makepyfile(TIMED.replace("QUICK", "0.04"))
    result = pytester.runpytest("--drl-timing-compare=baseline.json")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1)  # no test failed: the comparison fails the run
    result.stdout.fnmatch_lines(["*drlreward timing baseline: REGRESSION*", "quick@1: *x the reference's time*REGRESSION"])
    # a generous margin accepts it
    assert pytester.runpytest("--drl-timing-compare=baseline.json", "--drl-timing-margin=10").ret == pytest.ExitCode.OK


def test_drl_rollout_is_not_verified_for_an_env_without_images(pytester):
    """Was a skip (a silent pass of the checks needing images); now NOT VERIFIED with the change that fixes it."""
    pytester.makepyfile(pointenv=POINT_ENV)
    pytester.syspathinsert()
    pytester.makepyfile(test_rollout="def test_rollout(drl_rollout):\n    pass\n")
    result = pytester.runpytest("-rf", "--drl-env=pointenv:make_env")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["NOT VERIFIED (decisions): PointEnv shows no image to classify: it has no camera_image() "
                                 "method*; to verify it: give pointenv:make_env a render_mode argument*"])


# --------------------------------------------------------------------------- a downstream project
# (tests/plugin/test_downstream.py runs the suite on tests/downstream; here: the same project under xdist)

SUITE = ("--pyargs", "pytest_drlreward.suite", "-p", "no:cacheprovider")


@pytest.fixture
def downstream(pytester) -> pytest.Pytester:
    shutil.copytree(DOWNSTREAM, pytester.path, dirs_exist_ok=True)
    return pytester


def test_contract_suite_passes_under_xdist(downstream):
    result = downstream.runpytest_subprocess(*SUITE, "-n", "2", "--drl-timing-json=timing.json")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    out = result.stdout.str()
    assert "parity: openvino vs torch:" in out and "decisions: openvino vs torch on 600 env images" in out
    assert "measured under pytest-xdist with 2 workers" in out
    rows = json.loads((downstream.path / "timing.json").read_text())
    assert len(rows) == 6 and {row["threads"] for row in rows} == {1} and {row["xdist_workers"] for row in rows} == {2}
