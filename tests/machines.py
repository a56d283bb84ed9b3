"""Fake machines for tests: a /proc tree in ``tmp_path`` and a scripted NVML."""

from __future__ import annotations

from pathlib import Path

from greensearch.machine import Machine, describe_machine

# Two processors of one core each per block, as a 2-core KVM guest shows them.
X86_BLOCK = """processor\t: {n}
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC
physical id\t: 0
core id\t\t: {n}
flags\t\t: fpu sse sse2 avx avx2 fma f16c {extra} hypervisor

"""

ARM_BLOCK = """processor\t: {n}
BogoMIPS\t: 50.00
Features\t: fp asimd evtstrm aes fphp asimdhp {extra}
CPU implementer\t: 0x41

"""

SOFTWARE = {
    "cpu_capability": "AVX2",
    "cpu_threads_used": 2,
    "torch": "2.13.0+cpu",
    "transformers": "5.24.0",
    "cuda_runtime": None,
}


def fake_root(
    tmp_path: Path, *, extra: str = "", arm: bool = False, cpus: int = 2, mem_kb: int = 24684092
) -> Path:
    """A /proc tree with ``cpus`` processors; ``extra`` flags added to each."""
    root = tmp_path / "root"
    (root / "proc").mkdir(parents=True, exist_ok=True)
    block = ARM_BLOCK if arm else X86_BLOCK
    (root / "proc" / "cpuinfo").write_text(
        "".join(block.format(n=n, extra=extra) for n in range(cpus))
    )
    (root / "proc" / "meminfo").write_text(f"MemTotal:       {mem_kb} kB\nMemFree: 1 kB\n")
    return root


def fake_machine(tmp_path: Path, *, extra: str = "", **kw: object) -> Machine:
    """A machine described from a fake tree, no GPU, fixed software facts."""
    return describe_machine(
        root=fake_root(tmp_path, extra=extra), nvml=False, arch="x86_64", software=SOFTWARE, **kw
    )


class FakeNvmlError(Exception):
    pass


class FakeNvml:
    """The NVML calls describe_machine makes, for one or more GPUs."""

    NVMLError = FakeNvmlError

    def __init__(self, gpus: list[tuple[str, int, tuple[int, int]]], *, fail_init: bool = False):
        self.gpus = gpus
        self.fail_init = fail_init
        self.shutdowns = 0

    def nvmlInit(self) -> None:
        if self.fail_init:
            raise FakeNvmlError("no driver")

    def nvmlShutdown(self) -> None:
        self.shutdowns += 1

    def nvmlSystemGetDriverVersion(self) -> str:
        return "550.54.15"

    def nvmlSystemGetNVMLVersion(self) -> bytes:
        return b"12.550.54.15"

    def nvmlSystemGetCudaDriverVersion(self) -> int:
        return 12040

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, i: int) -> int:
        return i

    def nvmlDeviceGetName(self, h: int) -> str:
        return self.gpus[h][0]

    def nvmlDeviceGetMemoryInfo(self, h: int) -> object:
        return type("Mem", (), {"total": self.gpus[h][1]})()

    def nvmlDeviceGetCudaComputeCapability(self, h: int) -> tuple[int, int]:
        return self.gpus[h][2]
