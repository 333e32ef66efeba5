"""Settings: defaults, override order, and unknown or bad keys rejected by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from hearth import config, errors


def test_defaults_put_everything_under_the_data_directory(tmp_path: Path) -> None:
    settings = config.load(data_dir=tmp_path, environ={})

    assert settings.database_url == f"sqlite:///{tmp_path / 'hearth.db'}"
    assert settings.lock_url == f"file://{tmp_path / 'locks'}"
    assert list(settings.backends) == ["local"]
    assert settings.backend_directory("local") == tmp_path / "backends" / "local"
    assert settings.backends["local"].availability_zone == "nova"
    assert settings.image_directory == tmp_path / "images"
    assert settings.images.conversion_concurrency == 2
    assert settings.backends["local"].image_cache.enabled is True


def test_the_config_file_in_the_data_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / "hearth.toml").write_text(
        '[backends.fast]\ndirectory = "/srv/fast"\navailability_zone = "az1"\n'
        '[backends.slow]\nclone_mode = "copy"\n'
    )

    settings = config.load(data_dir=tmp_path, environ={})

    assert sorted(settings.backends) == ["fast", "slow"]
    assert settings.backend_directory("fast") == Path("/srv/fast")
    assert settings.backends["slow"].clone_mode == "copy"


def test_environment_overrides_the_file_and_arguments_override_the_environment(
    tmp_path: Path,
) -> None:
    (tmp_path / "hearth.toml").write_text('[database]\nurl = "sqlite:///from-file.db"\n')
    environ = {"HEARTH_DATA_DIR": str(tmp_path), "HEARTH_DATABASE_URL": "sqlite:///env.db"}

    assert config.load(environ=environ).database_url == "sqlite:///env.db"
    other = tmp_path / "other"
    assert config.load(data_dir=other, environ=environ).data_dir == other


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ("colour = 'blue'\n", "colour: unknown key"),
        ("[database]\nurll = 'x'\n", "database.urll: unknown key"),
        ("[backends.Bad_Name]\n", "backends.Bad_Name"),
        ("[backends.x]\nclone_mode = 'magic'\n", "backends.x.clone_mode"),
        ("[limits]\nmax_volume_size_gb = 0\n", "limits.max_volume_size_gb"),
        ("backends = {}\n", "backends"),
        ("[images]\nconversion_concurrency = 0\n", "images.conversion_concurrency"),
        ("[images]\nqemu_img_cpu = 3\n", "images.qemu_img_cpu: unknown key"),
        ("[backends.x.image_cache]\nmax_count = -1\n", "backends.x.image_cache.max_count"),
        ("[backends.x.image_cache]\nsize = 3\n", "backends.x.image_cache.size: unknown key"),
        ("[housekeeping]\ninterval_seconds = 0\n", "housekeeping.interval_seconds"),
        ("[housekeeping]\ninterval = 5\n", "housekeeping.interval: unknown key"),
        ("[service]\nwait_timeout_seconds = -1\n", "service.wait_timeout_seconds"),
        ("[service]\nwait_timeout = 5\n", "service.wait_timeout: unknown key"),
    ],
)
def test_bad_settings_are_rejected_naming_the_key(tmp_path: Path, toml: str, named: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml)

    with pytest.raises(errors.ConfigError) as caught:
        config.load(data_dir=tmp_path, config_file=path, environ={})

    assert named in caught.value.user_message


def test_a_config_file_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(errors.ConfigError, match="does not exist"):
        config.load(config_file=tmp_path / "nope.toml", environ={})


def test_a_config_file_that_is_not_toml_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[database\n")
    with pytest.raises(errors.ConfigError, match="cannot read"):
        config.load(config_file=path, environ={})
