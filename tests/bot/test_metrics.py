"""The metrics module: names and types, labels, scrape-time gauges, and a registry per test."""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from bot.metrics import Metrics, metrics, use
from tests.metrics_names import alert_rules, dashboard_expressions, exposed_names, names_used, unknown_names

CONTRACT = {
    "ambientgen_jobs": ("counter", {"outcome", "model"}),
    "ambientgen_queue_jobs": ("gauge", {"model"}),
    "ambientgen_running_jobs": ("gauge", set()),
    "ambientgen_queue_wait_seconds": ("histogram", set()),
    "ambientgen_render_seconds": ("histogram", {"model"}),
    "ambientgen_job_seconds": ("histogram", set()),
    "ambientgen_gpu_busy_seconds": ("counter", {"model"}),
    "ambientgen_batch_size": ("histogram", set()),
    "ambientgen_discord_errors": ("counter", {"status"}),
    "ambientgen_voice_players": ("gauge", set()),
    "ambientgen_background_renders": ("counter", set()),
    "ambientgen_workers": ("gauge", {"model"}),
    "ambientgen_event_loop_stall_seconds": ("gauge", set()),
    "ambientgen_gateway_connected": ("gauge", set()),
    "ambientgen_ready": ("gauge", set()),
}


def scrape(m: Metrics) -> dict[str, object]:
    return {f.name: f for f in text_string_to_metric_families(generate_latest(m.registry).decode())}


def test_every_contracted_metric_is_exposed_with_its_type_and_labels_only() -> None:
    m = Metrics()
    m.prepare(["tiny", "tiny-sao"])
    m.job_event("delivered", None)
    m.batch_rendered("tiny-sao", 1.5, 3)
    m.discord_error(503)
    m.probes.workers = lambda: {"tiny": 2}
    families = scrape(m)
    assert set(families) == set(CONTRACT)
    for name, (kind, labels) in CONTRACT.items():
        family = families[name]
        assert family.type == kind, name  # type: ignore[attr-defined]
        for sample in family.samples:  # type: ignore[attr-defined]
            assert set(sample.labels) - {"le"} == labels, (name, sample)
    # No user, server or prompt ever becomes a label; only these label names exist at all.
    every_label = {k for f in families.values() for s in f.samples for k in s.labels}  # type: ignore[attr-defined]
    assert every_label <= {"outcome", "model", "status", "le"}


def test_prepared_models_start_at_zero_and_none_means_the_default_model() -> None:
    m = Metrics()
    m.prepare(["tiny", "tiny-sao"])
    m.job_event("accepted", None)
    m.job_delivered(None, 12.0)
    get = m.registry.get_sample_value
    assert get("ambientgen_jobs_total", {"outcome": "accepted", "model": "tiny"}) == 1
    assert get("ambientgen_jobs_total", {"outcome": "delivered", "model": "tiny"}) == 1
    assert get("ambientgen_jobs_total", {"outcome": "refused", "model": "tiny-sao"}) == 0
    assert get("ambientgen_job_seconds_bucket", {"le": "10.0"}) == 0
    assert get("ambientgen_job_seconds_bucket", {"le": "30.0"}) == 1
    assert get("ambientgen_queue_jobs", {"model": "tiny-sao"}) == 0  # shown before any job waits


def test_batches_add_gpu_time_by_model() -> None:
    m = Metrics()
    m.batch_rendered("tiny", 2.0, 4)
    m.batch_rendered("tiny", 0.5, 1)
    get = m.registry.get_sample_value
    assert get("ambientgen_gpu_busy_seconds_total", {"model": "tiny"}) == 2.5
    assert get("ambientgen_render_seconds_count", {"model": "tiny"}) == 2
    assert get("ambientgen_batch_size_sum") == 5 and get("ambientgen_batch_size_count") == 2


def test_live_gauges_are_read_at_scrape_time() -> None:
    m = Metrics()
    m.prepare(["tiny"])
    waiting = {"tiny": 3, "tiny-sao": 1}
    m.probes.queue_jobs = lambda: waiting
    m.probes.running_jobs = lambda: 2
    m.probes.voice_players = lambda: 1
    m.probes.loop_stall_s = lambda: 0.25
    get = m.registry.get_sample_value
    assert get("ambientgen_queue_jobs", {"model": "tiny-sao"}) == 1
    waiting["tiny-sao"] = 0
    assert get("ambientgen_queue_jobs", {"model": "tiny-sao"}) == 0
    assert get("ambientgen_running_jobs") == 2 and get("ambientgen_voice_players") == 1
    assert get("ambientgen_event_loop_stall_seconds") == 0.25


def test_use_swaps_the_process_metrics() -> None:
    mine = Metrics()
    previous = use(mine)
    try:
        assert metrics() is mine
        metrics().discord_error("network")
        assert mine.registry.get_sample_value("ambientgen_discord_errors_total", {"status": "network"}) == 1
        assert (
            previous.registry.get_sample_value("ambientgen_discord_errors_total", {"status": "network"})
            is None
        )
    finally:
        use(previous)


def test_the_dashboard_and_the_alerts_name_only_metrics_that_exist() -> None:
    m = Metrics()
    m.prepare(["tiny"])
    exposed = exposed_names(generate_latest(m.registry).decode())
    assert "ambientgen_jobs_total" in exposed and "ambientgen_render_seconds_bucket" in exposed
    used = names_used()
    assert len(used) >= 20 and all(used.values())  # every expression queries AmbientGen's metrics
    assert unknown_names(exposed) == {}
    # Every contracted metric is on the dashboard.
    on_dashboard = {name for expr in dashboard_expressions() for name in names_used()[expr]}
    for name in CONTRACT:
        assert any(n.startswith(name) for n in on_dashboard), name


def test_the_alerts_cover_the_issue_and_are_well_formed() -> None:
    rules = {rule["alert"]: rule for rule in alert_rules()}
    assert {
        "AmbientGenQueueGrowing", "AmbientGenJobsFailing", "AmbientGenNoWorker",
        "AmbientGenGatewayDown", "AmbientGenEventLoopStalls",
    } <= set(rules)  # fmt: skip
    for name, rule in rules.items():
        assert rule["labels"]["severity"] in ("page", "warn"), name
        assert rule["annotations"]["summary"] and rule["for"], name
