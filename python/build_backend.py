"""PEP 517 build backend of the accel package (python/pyproject.toml).

build_wheel builds the CMake target accel_python with the project's own build: in
$ACCEL_BUILD_DIR when set (an already configured tree, e.g. build/release), else through
scripts/build.sh (the release preset, LibTorch from scripts/setup-libtorch.sh's cache; warm:
seconds, cold: libaccel's compile). The wheel holds <build>/python/accel/ as it is.
"""
import base64
import hashlib
import os
import subprocess
import sys
import sysconfig
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
NAME, VERSION = "accel", "0.1.0"


def _build_dir():
    build = os.environ.get("ACCEL_BUILD_DIR")
    if build:
        subprocess.run(["cmake", "--build", build, "--target", "accel_python"], check=True,
                       stdout=sys.stderr)
        return build
    subprocess.run(["bash", os.path.join(ROOT, "scripts", "build.sh"), "accel_python"], check=True,
                   stdout=sys.stderr)
    return os.path.join(ROOT, "build", os.environ.get("ACCEL_PRESET", "release"))


def _tag():
    py = f"cp{sys.version_info[0]}{sys.version_info[1]}"
    platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return f"{py}-{py}-{platform}"


def _record_line(arcname, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{arcname},sha256={digest},{len(data)}"


def get_requires_for_build_wheel(config_settings=None):
    return []


def _metadata():
    return (f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\n"
            "Summary: Accel's C++ accelerator core for Python training programs\n"
            "Requires-Python: >=3.9\nRequires-Dist: torch==2.11.0\n")


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    info = f"{NAME}-{VERSION}.dist-info"
    os.makedirs(os.path.join(metadata_directory, info), exist_ok=True)
    with open(os.path.join(metadata_directory, info, "METADATA"), "w") as f:
        f.write(_metadata())
    return info


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    package = os.path.join(_build_dir(), "python", "accel")
    files = sorted(f for f in os.listdir(package) if f.endswith(".py") or f.endswith(".so"))
    if not any(f.startswith("_core.") and f.endswith(".so") for f in files):
        raise RuntimeError(f"no accel/_core extension in {package}: see the build output above")
    tag = _tag()
    info = f"{NAME}-{VERSION}.dist-info"
    wheel_name = f"{NAME}-{VERSION}-{tag}.whl"
    record = []
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel_name), "w", zipfile.ZIP_DEFLATED) as z:
        def add(arcname, data):
            z.writestr(arcname, data)
            record.append(_record_line(arcname, data))
        for f in files:
            with open(os.path.join(package, f), "rb") as src:
                add(f"accel/{f}", src.read())
        add(f"{info}/METADATA", _metadata().encode())
        add(f"{info}/WHEEL", (f"Wheel-Version: 1.0\nGenerator: accel build_backend\nRoot-Is-Purelib: false\n"
                              f"Tag: {tag}\n").encode())
        record.append(f"{info}/RECORD,,")
        z.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return wheel_name
