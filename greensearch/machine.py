"""Which machine measured a figure: CPU, ISA level, precision support, RAM, GPUs, libraries.

Which knobs save energy depends on the hardware (bf16 autocast saves 44 % where the CPU
has native bf16 and costs about 9x where it is emulated), so every run record and every
study names its machine. Facts are read from ``/proc`` and ``/sys`` under an injectable
``root`` and from an injectable NVML module, so tests build a fake machine in
``tmp_path`` (as CodeCarbon's ``IntelRAPL(rapl_dir=...)`` does) instead of patching
``open``. This module is a leaf: it imports nothing of greensearch, and torch and pynvml
only inside :func:`describe_machine`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import platform
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "ISA_FLAGS",
    "CpuFacts",
    "GpuInfo",
    "Machine",
    "describe_machine",
    "read_cpu_facts",
]

#: CPU flags kept in a record and the fingerprint: the ISA extensions that decide which
#: kernels torch and oneDNN can use (x86 names from ``flags``, ARM ones from ``Features``).
#: The full flag list also holds kernel and microcode details that change on an update.
ISA_FLAGS: frozenset[str] = frozenset(
    {
        "avx",
        "avx2",
        "fma",
        "f16c",
        "avx512f",
        "avx512bw",
        "avx512vl",
        "avx512_vnni",
        "avx_vnni",
        "avx512_bf16",
        "avx512_fp16",
        "amx_tile",
        "amx_bf16",
        "amx_int8",
        "amx_fp16",
        "asimd",
        "asimdhp",
        "fphp",
        "bf16",
        "i8mm",
        "sve",
        "sve2",
    }
)

#: CPU flags with which the hardware computes each dtype natively (x86: AVX-512 or AMX
#: instructions for it; ARM: the BF16 extension, half-precision arithmetic).
_NATIVE_CPU_FLAGS: dict[str, frozenset[str]] = {
    "bf16": frozenset({"avx512_bf16", "amx_bf16", "bf16"}),
    "fp16": frozenset({"avx512_fp16", "amx_fp16", "fphp"}),
}

#: Lowest CUDA compute capability with tensor cores for each dtype (Volta fp16, Ampere
#: bf16): below it the dtype runs, but gains little or is emulated (as torch's
#: ``is_bf16_supported(including_emulation=False)`` says for bf16).
_NATIVE_GPU_CC: dict[str, tuple[int, int]] = {"fp16": (7, 0), "bf16": (8, 0)}


@dataclass(frozen=True, slots=True)
class GpuInfo:
    """One GPU as NVML (or torch) names it."""

    name: str
    memory_bytes: int | None
    compute_capability: str | None  # "8.0"


@dataclass(frozen=True, slots=True)
class CpuFacts:
    """What ``/proc/cpuinfo`` says about the processor."""

    model: str
    physical_cores: int | None
    logical_cpus: int | None
    flags: tuple[str, ...]  # the ISA_FLAGS present, sorted
    flags_known: bool  # False: no flag list was found (native support unknown)


@dataclass(frozen=True, slots=True)
class Machine:
    """The hardware and software a run used, and a fingerprint of the hardware.

    Attributes:
        cpu_model: Model name (a VM may show only the family, e.g. ``AMD EPYC``).
        cpu_arch: ``x86_64``, ``aarch64``, ...
        cpu_physical_cores: Distinct (package, core) pairs; ``None`` if not readable.
        cpu_logical_cpus: Logical processors the OS lists.
        cpu_threads_used: ``torch.get_num_threads()`` when the run started.
        cpu_capability: The ISA level torch dispatches its CPU kernels to
            (``torch.backends.cpu.get_cpu_capability()``: ``AVX2``, ``AVX512``, ...).
        cpu_flags: The :data:`ISA_FLAGS` the CPU has.
        ram_bytes: Physical memory (``MemTotal``).
        gpus: Every GPU NVML lists (torch's view where NVML is missing).
        gpu_driver: NVIDIA driver version.
        cuda_driver: CUDA version the driver supports.
        cuda_runtime: CUDA version torch was built with.
        nvml_version: NVML library version.
        torch: torch version.
        transformers: transformers version.
        python: Python version.
        cpu_flags_known: ``False`` where no flag list was found: native support unknown.
    """

    cpu_model: str
    cpu_arch: str
    cpu_physical_cores: int | None
    cpu_logical_cpus: int | None
    cpu_threads_used: int | None
    cpu_capability: str | None
    cpu_flags: tuple[str, ...]
    ram_bytes: int | None
    gpus: tuple[GpuInfo, ...] = ()
    gpu_driver: str | None = None
    cuda_driver: str | None = None
    cuda_runtime: str | None = None
    nvml_version: str | None = None
    torch: str | None = None
    transformers: str | None = None
    python: str = field(default_factory=platform.python_version)
    cpu_flags_known: bool = True

    @property
    def fingerprint(self) -> str:
        """12 hex digits naming the hardware: CPU model, arch, cores, ISA flags, RAM, GPUs.

        Library versions, torch's dispatch level and the thread count are recorded beside
        it but left out: they change on the same machine (an upgrade, ``ATEN_CPU_CAPABILITY``,
        a ``--threads`` setting), and a study asks "was this the same hardware", which an
        upgrade must not answer with no (a study warns on a software change instead). RAM
        counts in whole GiB, since ``MemTotal`` moves by a few MB between kernels.
        """
        facts = {
            "cpu_model": self.cpu_model,
            "cpu_arch": self.cpu_arch,
            "cpu_physical_cores": self.cpu_physical_cores,
            "cpu_logical_cpus": self.cpu_logical_cpus,
            "cpu_flags": sorted(self.cpu_flags),
            "ram_gib": None if self.ram_bytes is None else round(self.ram_bytes / 2**30),
            "gpus": [
                [
                    g.name,
                    None if g.memory_bytes is None else round(g.memory_bytes / 2**30),
                    g.compute_capability,
                ]
                for g in self.gpus
            ],
        }
        text = json.dumps(facts, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @property
    def trains_on(self) -> str:
        """``gpu`` where a GPU is present (the Trainer uses it), else ``cpu``."""
        return "gpu" if self.gpus else "cpu"

    def native(self, dtype: str) -> bool | None:
        """Whether the training device computes ``dtype`` (``bf16``, ``fp16``) natively.

        ``None`` when it cannot be told (no CPU flag list, unknown GPU capability).
        """
        if self.gpus:
            need = _NATIVE_GPU_CC[dtype]
            caps = [_parse_cc(g.compute_capability) for g in self.gpus]
            if any(c is None for c in caps):
                return None
            return all(c is not None and c >= need for c in caps)
        if not self.cpu_flags_known:
            return None
        return bool(_NATIVE_CPU_FLAGS[dtype] & set(self.cpu_flags))

    def emulation_note(self, dtype: str) -> str | None:
        """``emulated on this CPU: expect a cost`` where ``dtype`` is not native, else ``None``."""
        if self.native(dtype) is not False:
            return None
        return f"{dtype} emulated on this {self.trains_on.upper()}: expect a cost"

    def summary(self) -> str:
        """One line for messages: model, cores, ISA level, native dtypes, GPUs."""
        cores = f"{self.cpu_physical_cores} cores" if self.cpu_physical_cores else "cores ?"
        parts = [self.cpu_model, cores, f"torch {self.cpu_capability or '?'}"]
        native = [d for d in ("bf16", "fp16") if self.native(d)]
        if native:
            parts.append("native " + "+".join(native))
        else:
            unknown = self.native("bf16") is None
            parts.append("bf16/fp16 support unknown" if unknown else "no native bf16/fp16")
        parts += [f"GPU {g.name}" for g in self.gpus]
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """Record form (JSON), with the fingerprint and the native-precision verdicts."""
        out = asdict(self)
        out["cpu_flags"] = list(self.cpu_flags)
        out["gpus"] = [asdict(g) for g in self.gpus]
        out["native_bf16"] = self.native("bf16")
        out["native_fp16"] = self.native("fp16")
        out["fingerprint"] = self.fingerprint
        out["summary"] = self.summary()
        return out


def read_cpu_facts(root: str | Path = "/") -> CpuFacts:
    """Parse ``<root>/proc/cpuinfo`` (x86 ``flags``/``model name``, ARM ``Features``)."""
    path = Path(root) / "proc" / "cpuinfo"
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    model = ""
    flags: set[str] | None = None
    cores: set[tuple[str, str]] = set()
    logical = 0
    package = core = ""
    for line in text.splitlines() + [""]:
        if not line.strip():  # end of one processor's block
            if core:
                cores.add((package, core))
            package = core = ""
            continue
        key, _, value = (s.strip() for s in line.partition(":"))
        if key == "processor":
            logical += 1
        elif key in ("model name", "Model Name", "cpu model") and not model:
            model = value
        elif key in ("flags", "Features") and flags is None:
            flags = set(value.split())
        elif key == "physical id":
            package = value
        elif key == "core id":
            core = value
    physical = len(cores) or _sysfs_cores(Path(root))
    return CpuFacts(
        model=model or platform.processor() or platform.machine() or "unknown",
        physical_cores=physical or None,
        logical_cpus=logical or None,
        flags=tuple(sorted((flags or set()) & ISA_FLAGS)),
        flags_known=flags is not None,
    )


def describe_machine(
    *,
    root: str | Path = "/",
    nvml: Any = None,
    arch: str | None = None,
    software: dict[str, Any] | None = None,
) -> Machine:
    """Describe this machine (or a faked one) for a record.

    Args:
        root: Filesystem root holding ``proc/`` and ``sys/`` (a tree in ``tmp_path`` in tests).
        nvml: The NVML module; ``pynvml`` by default, a fake in tests. ``False``: no GPUs.
        arch: CPU architecture (default ``platform.machine()``).
        software: Torch-side facts (``cpu_capability``, ``cpu_threads_used``, ``torch``,
            ``transformers``, ``cuda_runtime``); read from torch when ``None``. When given,
            torch is not asked for GPUs either (a fake machine stays fake).

    GPUs are every device NVML lists (``CUDA_VISIBLE_DEVICES`` is not applied), or
    torch's where NVML is missing; NVML's init is reference-counted, so an open
    ``NvmlMeter`` is not disturbed.
    """
    cpu = read_cpu_facts(root)
    sw = _software() if software is None else dict(software)
    gpus, versions = _nvml_facts(nvml)
    if not gpus and software is None:
        gpus = _torch_gpus()
    return Machine(
        cpu_model=cpu.model,
        cpu_arch=arch or platform.machine() or "unknown",
        cpu_physical_cores=cpu.physical_cores,
        cpu_logical_cpus=cpu.logical_cpus,
        cpu_threads_used=sw.get("cpu_threads_used"),
        cpu_capability=sw.get("cpu_capability"),
        cpu_flags=cpu.flags,
        cpu_flags_known=cpu.flags_known,
        ram_bytes=_ram_bytes(Path(root)),
        gpus=gpus,
        gpu_driver=versions.get("driver"),
        cuda_driver=versions.get("cuda_driver"),
        cuda_runtime=sw.get("cuda_runtime"),
        nvml_version=versions.get("nvml"),
        torch=sw.get("torch"),
        transformers=sw.get("transformers"),
    )


def _parse_cc(text: str | None) -> tuple[int, int] | None:
    m = re.fullmatch(r"(\d+)\.(\d+)", text or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def _sysfs_cores(root: Path) -> int:
    """Distinct (package, core) pairs from ``sys/devices/system/cpu/cpu*/topology``."""
    pairs = set()
    for topo in (root / "sys" / "devices" / "system" / "cpu").glob("cpu[0-9]*/topology"):
        try:
            pkg = (topo / "physical_package_id").read_text().strip()
            core = (topo / "core_id").read_text().strip()
        except OSError:
            continue
        pairs.add((pkg, core))
    return len(pairs)


def _ram_bytes(root: Path) -> int | None:
    try:
        text = (root / "proc" / "meminfo").read_text(encoding="utf-8")
    except OSError:
        return None
    m = re.search(r"^MemTotal:\s+(\d+)\s*kB", text, re.MULTILINE)
    return int(m.group(1)) * 1024 if m else None


def _software() -> dict[str, Any]:
    """Torch's dispatch level and thread count, library versions."""
    import torch

    facts: dict[str, Any] = {
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cpu_threads_used": torch.get_num_threads(),
        "torch": torch.__version__,
        "cuda_runtime": torch.version.cuda,
    }
    try:
        import transformers

        facts["transformers"] = transformers.__version__
    except ImportError:
        facts["transformers"] = None
    return facts


def _torch_gpus() -> tuple[GpuInfo, ...]:
    """GPUs as torch sees them, where NVML could not list them."""
    import torch

    if not torch.cuda.is_available():
        return ()
    out = []
    for i in range(torch.cuda.device_count()):
        p = torch.cuda.get_device_properties(i)
        out.append(GpuInfo(p.name, int(p.total_memory), f"{p.major}.{p.minor}"))
    return tuple(out)


def _nvml_facts(nvml: Any) -> tuple[tuple[GpuInfo, ...], dict[str, str]]:
    """GPUs and driver/CUDA/NVML versions; nothing where NVML or a GPU is missing."""
    if nvml is False:
        return (), {}
    if nvml is None:
        try:
            import pynvml
        except ImportError:
            return (), {}
        nvml = pynvml
    try:
        nvml.nvmlInit()
    except nvml.NVMLError:
        return (), {}  # no driver or no GPU: a CPU machine
    try:
        versions = {
            "driver": _text(nvml.nvmlSystemGetDriverVersion()),
            "nvml": _text(nvml.nvmlSystemGetNVMLVersion()),
        }
        cuda = int(nvml.nvmlSystemGetCudaDriverVersion())
        versions["cuda_driver"] = f"{cuda // 1000}.{cuda % 1000 // 10}"
        gpus = []
        for i in range(nvml.nvmlDeviceGetCount()):
            h = nvml.nvmlDeviceGetHandleByIndex(i)
            major, minor = nvml.nvmlDeviceGetCudaComputeCapability(h)
            gpus.append(
                GpuInfo(
                    name=_text(nvml.nvmlDeviceGetName(h)),
                    memory_bytes=int(nvml.nvmlDeviceGetMemoryInfo(h).total),
                    compute_capability=f"{major}.{minor}",
                )
            )
        return tuple(gpus), versions
    except (nvml.NVMLError, AttributeError):  # AttributeError: a pynvml without the call
        return (), {}
    finally:
        with contextlib.suppress(nvml.NVMLError):
            nvml.nvmlShutdown()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
