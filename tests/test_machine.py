"""Machine identity from a fake /proc tree and a fake NVML: model, cores, flags, GPUs."""

from __future__ import annotations

import pytest

from greensearch.machine import GpuInfo, describe_machine
from tests.machines import SOFTWARE, X86_BLOCK, FakeNvml, fake_machine, fake_root


def test_cpu_facts_from_a_fake_tree(tmp_path):
    m = fake_machine(tmp_path)
    assert m.cpu_model == "AMD EPYC"
    assert (m.cpu_physical_cores, m.cpu_logical_cpus) == (2, 2)
    assert m.cpu_flags == ("avx", "avx2", "f16c", "fma")  # only ISA flags kept, sorted
    assert m.ram_bytes == 24684092 * 1024
    assert m.cpu_capability == "AVX2" and m.cpu_threads_used == 2
    assert m.gpus == () and m.trains_on == "cpu"
    d = m.to_dict()
    assert d["cpu_model"] == "AMD EPYC" and d["cpu_capability"] == "AVX2"
    assert d["native_bf16"] is False and d["fingerprint"] == m.fingerprint


def test_hyperthreads_count_once_as_physical_cores(tmp_path):
    root = tmp_path / "root"
    (root / "proc").mkdir(parents=True)
    blocks = [
        X86_BLOCK.format(n=n, extra="").replace(f"core id\t\t: {n}", f"core id\t\t: {n % 2}")
        for n in range(4)
    ]
    (root / "proc" / "cpuinfo").write_text("".join(blocks))
    m = describe_machine(root=root, nvml=False, arch="x86_64", software=SOFTWARE)
    assert (m.cpu_physical_cores, m.cpu_logical_cpus) == (2, 4)


@pytest.mark.parametrize(
    ("extra", "bf16", "fp16"),
    [
        ("", False, False),  # AVX2 only: both emulated
        ("avx512f avx512_bf16", True, False),  # Zen 4/5, Cooper Lake
        ("avx512f amx_tile amx_bf16 avx512_fp16", True, True),  # Sapphire Rapids
    ],
)
def test_native_precision_follows_the_cpu_flags(tmp_path, extra, bf16, fp16):
    m = fake_machine(tmp_path, extra=extra)
    assert (m.native("bf16"), m.native("fp16")) == (bf16, fp16)
    note = m.emulation_note("bf16")
    assert note == (None if bf16 else "bf16 emulated on this CPU: expect a cost")


def test_arm_bf16_extension_is_native(tmp_path):
    root = fake_root(tmp_path, arm=True, extra="bf16 i8mm")
    m = describe_machine(root=root, nvml=False, arch="aarch64", software=SOFTWARE)
    assert m.native("bf16") is True and m.native("fp16") is True  # fphp: half arithmetic
    assert m.cpu_flags == ("asimd", "asimdhp", "bf16", "fphp", "i8mm")
    assert m.cpu_physical_cores is None and m.cpu_logical_cpus == 2  # no core ids on ARM


def test_no_cpuinfo_means_native_support_unknown_not_emulated(tmp_path):
    (tmp_path / "empty").mkdir()
    m = describe_machine(root=tmp_path / "empty", nvml=False, software=SOFTWARE)
    assert m.native("bf16") is None and m.emulation_note("bf16") is None
    assert m.summary().endswith(", cores ?, torch AVX2, bf16/fp16 support unknown")
    assert m.ram_bytes is None and m.cpu_flags == ()


def test_gpu_facts_from_nvml_and_native_precision_by_compute_capability(tmp_path):
    nvml = FakeNvml([("NVIDIA A100-SXM4-80GB", 80 * 2**30, (8, 0))])
    m = describe_machine(root=fake_root(tmp_path), nvml=nvml, arch="x86_64", software=SOFTWARE)
    assert m.gpus == (GpuInfo("NVIDIA A100-SXM4-80GB", 80 * 2**30, "8.0"),)
    assert (m.gpu_driver, m.cuda_driver, m.nvml_version) == ("550.54.15", "12.4", "12.550.54.15")
    assert m.trains_on == "gpu" and m.native("bf16") is True  # the CPU's AVX2 no longer decides
    assert nvml.shutdowns == 1
    d = m.to_dict()
    assert d["gpus"] == [
        {"name": "NVIDIA A100-SXM4-80GB", "memory_bytes": 80 * 2**30, "compute_capability": "8.0"}
    ]
    t4 = describe_machine(
        root=fake_root(tmp_path),
        nvml=FakeNvml([("Tesla T4", 15 * 2**30, (7, 5))]),
        software=SOFTWARE,
    )
    assert t4.native("fp16") is True and t4.native("bf16") is False
    assert t4.emulation_note("bf16") == "bf16 emulated on this GPU: expect a cost"


def test_nvml_without_a_driver_means_no_gpu(tmp_path):
    m = describe_machine(
        root=fake_root(tmp_path), nvml=FakeNvml([], fail_init=True), software=SOFTWARE
    )
    assert m.gpus == () and m.gpu_driver is None


def test_fingerprint_names_the_hardware_not_the_software(tmp_path):
    base = fake_machine(tmp_path)
    other_threads = describe_machine(
        root=fake_root(tmp_path),
        nvml=False,
        arch="x86_64",
        software={
            **SOFTWARE,
            "cpu_threads_used": 1,
            "torch": "2.14.0",
            "cpu_capability": "DEFAULT",
        },
    )
    assert other_threads.fingerprint == base.fingerprint
    # a few MB of MemTotal between kernels is the same machine; a GiB more is not
    near = describe_machine(
        root=fake_root(tmp_path, mem_kb=24684092 - 4096),
        nvml=False,
        arch="x86_64",
        software=SOFTWARE,
    )
    assert near.fingerprint == base.fingerprint
    assert fake_machine(tmp_path, extra="avx512f avx512_bf16").fingerprint != base.fingerprint
    more = describe_machine(
        root=fake_root(tmp_path, mem_kb=24684092 + 2**21),
        nvml=False,
        arch="x86_64",
        software=SOFTWARE,
    )
    assert more.fingerprint != base.fingerprint
    assert len(base.fingerprint) == 12 and int(base.fingerprint, 16) >= 0


def test_summary_line(tmp_path):
    m = fake_machine(tmp_path, extra="avx512f avx512_bf16")
    assert m.summary() == "AMD EPYC, 2 cores, torch AVX2, native bf16"
    assert fake_machine(tmp_path).summary() == "AMD EPYC, 2 cores, torch AVX2, no native bf16/fp16"


def test_run_prints_the_machine_in_one_line(tmp_path):
    from greensearch.cli._render import machine_line

    m = fake_machine(tmp_path, extra="avx512f avx512_bf16")
    assert machine_line(m.to_dict()) == (
        f"AMD EPYC, 2 cores, torch AVX2, native bf16; 2 threads used; fingerprint {m.fingerprint}"
    )
    gpu = describe_machine(
        root=fake_root(tmp_path),
        nvml=FakeNvml([("Tesla T4", 15 * 2**30, (7, 5))]),
        software=SOFTWARE,
    )
    assert machine_line(gpu.to_dict()) == (
        "AMD EPYC, 2 cores, torch AVX2, native fp16, GPU Tesla T4; 2 threads used; "
        f"fingerprint {gpu.fingerprint}"
    )
