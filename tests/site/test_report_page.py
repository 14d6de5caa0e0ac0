"""The site's report page: the regime labels' counts per experiment."""

from rscbench.site.report_page import regime_rows


def test_regime_rows_count_every_label_a_task_carries_per_experiment() -> None:
    document = {
        "tasks": [
            {"experiment": "width", "regime_labels": ["certified-at-init"]},
            {"experiment": "width", "regime_labels": ["certified-along-gd", "lazy"]},
            {"experiment": "depth", "regime_labels": ["divergent"]},
            {"experiment": "width", "regime_labels": ["lazy"]},
        ]
    }
    columns, rows = regime_rows(document)
    assert columns == ["experiment", "tasks", "divergent", "certified-at-init", "certified-along-gd", "lazy"]
    assert [[cell.html for cell in row] for row in rows] == [
        ["depth", "1", "1", "0", "0", "0"],
        ["width", "3", "0", "1", "1", "2"],
    ]
    assert [cell.value for cell in rows[1]] == ["width", 3, 0, 1, 1, 2]


def test_a_report_without_tasks_has_no_regime_row() -> None:
    assert regime_rows({"tasks": []}) == (["experiment", "tasks"], [])
