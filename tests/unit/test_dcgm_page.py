"""DCGM pages -> store rows: one row per GPU and instant, whichever parser path read a
line; the report counts and rejects as before."""

from __future__ import annotations

from neocloud.adapters.telemetry import dcgm

AT = 1_780_272_000_000_000  # 2026-06-01T00:00:00Z in microseconds
LABELS = 'gpu="0",UUID="GPU-a",Hostname="n1"'


def test_a_gpu_read_by_both_parser_paths_is_one_row():
    text = (
        f"DCGM_FI_DEV_POWER_USAGE{{{LABELS}}} 500\n"  # the fast path
        f"DCGM_FI_DEV_GPU_TEMP{{{LABELS}}}  55\n"  # two spaces: the full grammar
        f"DCGM_FI_DEV_SM_CLOCK{{{LABELS},}} 1980\n"  # another block, the same labels
        f"DCGM_FI_DEV_POWER_USAGE{{{LABELS}}} 501\n"  # the same cell again
    )
    table, report = dcgm.read_page(text, source="p", site="s", default_ts_us=AT)
    rows = table.to_pylist()
    assert len(rows) == 1
    assert (rows[0]["node"], rows[0]["gpu"], rows[0]["uuid"]) == ("n1", 0, "GPU-a")
    assert (rows[0]["power_w"], rows[0]["temp_c"], rows[0]["sm_clock_mhz"]) == (500, 55, 1980)
    assert (report.samples, report.duplicate, report.conflicting) == (4, 1, 1)


def test_rejections_and_ignored_fields_keep_their_lines_and_order():
    text = (
        "# TYPE DCGM_FI_DEV_POWER_USAGE gauge\n"
        f"OTHER_B{{{LABELS}}} 1\n"
        f"DCGM_FI_DEV_POWER_USAGE{{{LABELS}}} -5\n"
        'DCGM_FI_DEV_GPU_TEMP{gpu="0"} 50\n'
        f"OTHER_A{{{LABELS}}} 2\n"
        f"OTHER_B{{{LABELS}}} 3\n"
        "bad line\n"
        f"DCGM_FI_DEV_GPU_TEMP{{{LABELS}}} 50\n"
    )
    table, report = dcgm.read_page(text, source="p", site="s", default_ts_us=AT)
    assert table.num_rows == 1 and report.samples == 1
    assert list(report.ignored.items()) == [("OTHER_B", 2), ("OTHER_A", 1)]
    assert [(r.line, r.reason) for r in report.rejected] == [
        (7, "value 'line' is not a number"),
        (3, "DCGM_FI_DEV_POWER_USAGE: value cannot be negative"),
        (4, "DCGM_FI_DEV_GPU_TEMP: no Hostname label: which node is it?"),
    ]
    _, report = dcgm.read_page(text, source="p", site="s", default_ts_us=None)
    assert [r.line for r in report.rejected] == [7, 3, 4, 8]
    assert ["no timestamp" in r.reason for r in report.rejected] == [False, True, False, True]
