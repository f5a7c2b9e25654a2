"""Build hook: put the repository's top-level ``presets/`` inside the wheel.

The bundled preset files live at the top of the repository, where people
edit them; an installed package finds them as ``transformer_presets/presets``.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithPresets(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "transformer_presets" / "presets"
        target.mkdir(parents=True, exist_ok=True)
        for source in sorted(Path(__file__).parent.joinpath("presets").glob("*.toml")):
            self.copy_file(str(source), str(target / source.name))


setup(cmdclass={"build_py": BuildPyWithPresets})
