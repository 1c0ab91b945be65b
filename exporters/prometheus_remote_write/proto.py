"""Prometheus remote write 1.0 wire messages (`prometheus.WriteRequest` and friends).

Prometheus publishes them as prompb/remote.proto and prompb/types.proto, which
import gogoproto and so cannot be compiled as they are. We declare the subset
that remote write 1.0 sends (same package, message names, field numbers and
types) as a protobuf FileDescriptorProto, and let the protobuf runtime build the
message classes from it: real protobuf encoding, no generated code to keep in
sync and no protoc step at build time. Fields we never send (exemplars, native
histograms) are left out; receivers see them as absent, which is their default."""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format

_DESCRIPTOR = """
name: "ebpf_collector/prometheus_remote_write.proto"
package: "prometheus"
syntax: "proto3"
message_type {
  name: "WriteRequest"
  field { name: "timeseries" number: 1 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".prometheus.TimeSeries" }
  field { name: "metadata" number: 3 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".prometheus.MetricMetadata" }
  reserved_range { start: 2 end: 3 }
}
message_type {
  name: "MetricMetadata"
  field {
    name: "type" number: 1 label: LABEL_OPTIONAL type: TYPE_ENUM type_name: ".prometheus.MetricMetadata.MetricType"
  }
  field { name: "metric_family_name" number: 2 label: LABEL_OPTIONAL type: TYPE_STRING }
  field { name: "help" number: 4 label: LABEL_OPTIONAL type: TYPE_STRING }
  field { name: "unit" number: 5 label: LABEL_OPTIONAL type: TYPE_STRING }
  enum_type {
    name: "MetricType"
    value { name: "UNKNOWN" number: 0 }
    value { name: "COUNTER" number: 1 }
    value { name: "GAUGE" number: 2 }
    value { name: "HISTOGRAM" number: 3 }
    value { name: "GAUGEHISTOGRAM" number: 4 }
    value { name: "SUMMARY" number: 5 }
    value { name: "INFO" number: 6 }
    value { name: "STATESET" number: 7 }
  }
}
message_type {
  name: "Sample"
  field { name: "value" number: 1 label: LABEL_OPTIONAL type: TYPE_DOUBLE }
  field { name: "timestamp" number: 2 label: LABEL_OPTIONAL type: TYPE_INT64 }
}
message_type {
  name: "TimeSeries"
  field { name: "labels" number: 1 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".prometheus.Label" }
  field { name: "samples" number: 2 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".prometheus.Sample" }
}
message_type {
  name: "Label"
  field { name: "name" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
  field { name: "value" number: 2 label: LABEL_OPTIONAL type: TYPE_STRING }
}
"""


def _build() -> dict[str, Any]:
    file_proto = text_format.Parse(_DESCRIPTOR, descriptor_pb2.FileDescriptorProto())
    pool = descriptor_pool.DescriptorPool()  # our own pool: no clash with other prometheus.* protos loaded
    pool.Add(file_proto)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"prometheus.{name}"))
        for name in ("WriteRequest", "TimeSeries", "Label", "Sample", "MetricMetadata")
    }


_CLASSES = _build()
WriteRequest: Any = _CLASSES["WriteRequest"]
TimeSeries: Any = _CLASSES["TimeSeries"]
Label: Any = _CLASSES["Label"]
Sample: Any = _CLASSES["Sample"]
MetricMetadata: Any = _CLASSES["MetricMetadata"]

# MetricMetadata.MetricType values by Prometheus family type.
METRIC_TYPES: dict[str, int] = {"counter": 1, "gauge": 2, "histogram": 3, "summary": 5, "info": 6}
