"""torchvision's video Swin models, importable with a CPU-only torch.

PyPI's torchvision wheel is built against the CUDA build of torch: with the CPU-only torch
wheel its C extension (`torchvision/_C.so`) does not load, and `import torchvision` fails in
the operator registrations of its `__init__` (`operator torchvision::nms does not exist`).
The models themselves are pure Python and need none of those operators, so when the normal
import fails, the package is entered without running its `__init__`.
"""
import importlib.util
import sys
import types


def swin3d_t():
    """`torchvision.models.video.swin3d_t` (the function that builds the model)."""
    try:
        from torchvision.models.video import swin3d_t as build
        return build
    except (RuntimeError, OSError, ImportError):
        for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
            del sys.modules[name]
    spec = importlib.util.find_spec("torchvision")
    package = types.ModuleType("torchvision")
    package.__path__ = list(spec.submodule_search_locations)
    package.__spec__ = spec
    sys.modules["torchvision"] = package
    from torchvision.models.video import swin3d_t as build
    return build
