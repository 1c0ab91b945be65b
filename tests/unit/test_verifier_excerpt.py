"""What a user sees of a verifier rejection: the last lines, plus the line that
says what is wrong when the tail alone does not (register dumps, counts)."""

from __future__ import annotations

from collector.bpf.loader import _failure, verifier_excerpt

# The shape of a real log: the reason, then the verifier's state dump and totals.
LOG = [
    "0: R1=ctx() R10=fp0",
    "; u64 *value = bpf_map_lookup_elem(&hits, &key); @ rejected.bpf.c:16",
    "1: (85) call bpf_map_lookup_elem#1        ; R0_w=map_value_or_null(id=1,off=0,ks=4,vs=8,imm=0)",
    "; return value ? (int)value[10] : 0; @ rejected.bpf.c:17",
    "2: (79) r0 = *(u64 *)(r0 +80)",
    "R0 invalid mem access 'map_value_or_null'",
    "verification time 31 usec",
    "stack depth 4",
    "processed 3 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0",
    "func#0 @0",
    "last_idx 2 first_idx 0",
    "regs=1 stack=0 before 1: (85) call bpf_map_lookup_elem#1",
    "mark_precise: frame0: last_idx 2 first_idx 0 subseq_idx -1",
    "mark_precise: frame0: regs=r0 stack= before 1: (85) call bpf_map_lookup_elem#1",
    "mark_precise: frame0: parent state regs= stack=:  R1=ctx() R10=fp0",
    "done",
]


def test_reason_before_the_tail_is_kept() -> None:
    excerpt = verifier_excerpt(LOG)
    assert excerpt[0] == "R0 invalid mem access 'map_value_or_null'"
    assert excerpt[1] == "..."
    assert excerpt[2:] == LOG[-8:]


def test_reason_inside_the_tail_is_not_repeated() -> None:
    short = LOG[:9]
    assert verifier_excerpt(short) == short[-8:]
    assert sum("invalid mem access" in ln for ln in verifier_excerpt(short)) == 1


def test_reason_just_before_the_tail_needs_no_ellipsis() -> None:
    log = LOG[5:14]  # the reason is the line right before the last 8
    assert verifier_excerpt(log) == log


def test_trace_lines_alone_are_not_taken_for_a_reason() -> None:
    log = [f"{i}: (b7) r{i % 10} = 0" for i in range(20)] + ["processed 20 insns"]
    assert verifier_excerpt(log) == log[-8:]


def test_failure_message_quotes_the_reason() -> None:
    lines = ["libbpf: prog 'getppid__tp': BPF program load failed: Permission denied",
             "libbpf: prog 'getppid__tp': -- BEGIN PROG LOAD LOG --", *LOG,
             "-- END PROG LOAD LOG --"]  # fmt: skip
    message = _failure(lines, "getppid__tp")
    assert message.startswith("rejected by the verifier:\n")
    assert "      R0 invalid mem access 'map_value_or_null'\n      ...\n" in message
