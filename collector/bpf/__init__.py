"""Loading eBPF through libbpf CO-RE, and reading its maps."""

from collector.bpf.loader import BpfLoadError, BpfObject
from collector.bpf.maps import BpfMap

__all__ = ["BpfLoadError", "BpfMap", "BpfObject"]
