"""Package layout: `frontend/` and `backend/` install as `graphc.frontend` and `graphc.backend`.

pyproject.toml holds the metadata; this file only maps the two top-level folders into the
`graphc` namespace (generic names like `frontend` must never land in site-packages). Subpackages
follow the mapping, and it works for both `pip install .` and `pip install -e .`.
"""

from setuptools import find_packages, setup

MAPPED_FOLDERS = {"graphc.frontend": "frontend", "graphc.backend": "backend"}


def _packages_under(folder: str, prefix: str) -> list[str]:
    return [prefix] + [f"{prefix}.{sub}" for sub in find_packages(folder)]


packages = find_packages(include=["graphc", "graphc.*"])
for prefix, folder in MAPPED_FOLDERS.items():
    packages += _packages_under(folder, prefix)

setup(packages=packages, package_dir=MAPPED_FOLDERS)
