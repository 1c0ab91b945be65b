"""Processor `k8s_metadata`: pod, container, workload and process attributes by pid,
cgroup id, cgroup path or container id; host metadata outside Kubernetes."""

from collector.component import Factory
from processors.k8s_metadata.config import K8sMetadataConfig
from processors.k8s_metadata.processor import K8sMetadataProcessor

factory = Factory(
    type="k8s_metadata",
    kind="processor",
    description="adds k8s.pod.name, k8s.namespace.name, container and workload attributes by pid/cgroup/container id",
    config_model=K8sMetadataConfig,
    create=K8sMetadataProcessor,
)
