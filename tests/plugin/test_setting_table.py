"""Every plugin setting is declared once (pytest_drlreward/plugin/setting_table.py): the options, the ini keys, the
DrlConfig fields and docs/settings.md all come from that table."""

from __future__ import annotations

import dataclasses

from repo_paths import ROOT

from pytest_drlreward.plugin.config import DERIVED, DrlConfig
from pytest_drlreward.plugin.setting_table import SETTINGS, markdown_table

pytest_plugins = ["pytester"]


def test_drl_config_has_one_field_per_setting_and_the_derived_ones():
    fields = {field.name: field for field in dataclasses.fields(DrlConfig)}
    assert set(fields) == {row.attr for row in SETTINGS} | {name for name, _, _ in DERIVED}
    config = DrlConfig()
    for row in SETTINGS:  # each default is the table's
        assert getattr(config, row.attr) == row.default, row.name


def test_docs_settings_md_holds_the_generated_table():
    text = (ROOT / "docs" / "settings.md").read_text()
    assert markdown_table() in text, "docs/settings.md is out of date: regenerate it from setting_table.markdown_table()"


def test_every_setting_is_an_option_and_every_ini_setting_an_ini_key(pytester):
    result = pytester.runpytest("--help")
    out = result.stdout.str()
    for row in SETTINGS:
        assert row.flag in out, row.flag
        if row.has_ini:
            assert f"{row.ini_key} " in out or f"{row.ini_key}(" in out, row.ini_key


def test_a_plain_setting_is_parsed_by_its_row_and_named_when_bad(pytester):
    """A row's parser does the work: drl_min_recall is a fraction, read into DrlConfig.min_recall."""
    pytester.makeini("[pytest]\ndrl_min_recall = 0.75\n")
    pytester.makepyfile("""
        def test_value(drl_config):
            assert drl_config.min_recall == 0.75
    """)
    pytester.runpytest().assert_outcomes(passed=1)
    pytester.makeini("[pytest]\ndrl_min_recall = 1.5\n")
    result = pytester.runpytest()
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*drl_min_recall '1.5' (in *tox.ini*): the value '1.5' must be a finite number from 0 to 1*"])


def test_drl_config_keeps_the_checked_env_spec_that_the_fixtures_build_from(pytester):
    """The env spec is parsed once, when the settings are read: the fixtures build from ``drl_config.env_spec``."""
    pytester.makeini("[pytest]\ndrl_env = CartPole-v1\n")
    pytester.makepyfile("""
        from pytest_drlreward.env import spec as envspec

        def test_spec(drl_config, drl_env_factory, monkeypatch):
            assert isinstance(drl_config.env_spec, envspec.EnvSpec) and drl_config.env_spec.text == "CartPole-v1"
            monkeypatch.setattr(envspec, "parse_env_spec", None)  # parsing again would fail
            assert drl_env_factory().spec.id == "CartPole-v1"
    """)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_a_config_changed_by_hand_builds_its_own_env_not_the_spec_read_before():
    import dataclasses

    from pytest_drlreward.env.spec import parse_env_spec

    read = DrlConfig(env="CartPole-v1", env_spec=parse_env_spec("CartPole-v1"))
    assert read.env_to_make() is read.env_spec
    assert dataclasses.replace(read, env="Pendulum-v1").env_to_make() == "Pendulum-v1"
    assert DrlConfig(env="Pendulum-v1").env_to_make() == "Pendulum-v1"
