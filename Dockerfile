# ebpf-collector image: Debian bookworm, system libbpf and BCC, built-in CO-RE objects.
#   docker build -t ebpf-collector .
# CO-RE objects are built once and relocated by libbpf on each node's kernel; the
# build only needs some kernel's BTF for vmlinux.h (the build host's by default,
# or pass --build-arg VMLINUX_BTF=/path inside the context).

FROM debian:bookworm AS bpf
RUN apt-get update \
 && apt-get install -y --no-install-recommends clang llvm libbpf-dev bpftool make \
 && rm -rf /var/lib/apt/lists/*
ARG VMLINUX_BTF=/sys/kernel/btf/vmlinux
WORKDIR /src
COPY bpf/ bpf/
RUN make -C bpf VMLINUX_BTF=${VMLINUX_BTF}

FROM debian:bookworm-slim
# python3-bpfcc brings BCC (the `bcc` receiver compiles its programs at start, against
# the node's headers mounted at /lib/modules and /usr/src); libbpf1 is what the
# ctypes binding loads.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      python3 python3-venv python3-bpfcc libbpf1 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/ebpf-collector
COPY pyproject.toml README.md ./
COPY collector/ collector/
COPY receivers/ receivers/
COPY processors/ processors/
COPY exporters/ exporters/
COPY configs/ configs/
# --system-site-packages: BCC's Python module comes from Debian, not from PyPI.
RUN python3 -m venv --system-site-packages /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir . \
 && /opt/venv/bin/ebpf-collector components >/dev/null
COPY --from=bpf /src/bpf/.output/*.bpf.o /src/bpf/.output/*.yaml /usr/lib/ebpf-collector/bpf/
ENV EBPF_COLLECTOR_BPF_DIR=/usr/lib/ebpf-collector/bpf \
    PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1
EXPOSE 9464
ENTRYPOINT ["ebpf-collector"]
CMD ["run", "-c", "/etc/ebpf-collector/collector.yaml"]
