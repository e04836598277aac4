"""The control-room page in a real headless Chromium while a simulated experiment runs step by step.

The page is loaded before the first step; after each step the test waits until the page shows that
step's maps, slices, hot spots and plots (pushed by server-sent events), and saves a screenshot.
A second page opened after the experiment must rebuild everything from Tiled. The page may not
reach beyond the service (no CDN, no network).
"""

import tempfile
import urllib.parse

import pytest

from porewatch.services.beamline.station import SimulatedBeamline, build_bench, step_metadata
from porewatch.services.config import load_config
from porewatch.services.local_stack import LocalStack, with_free_ports
from porewatch.services.ports import free_tcp_ports
from porewatch.services.tiled_store import TiledResultStore

pytestmark = pytest.mark.slow
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-dev-shm-usage",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
N_ANGLES = 48
STEP_TIMEOUT_MS = 90_000
CANVAS_CHECKSUM = """(selector) => {
  const canvas = document.querySelector(selector);
  if (!canvas || !canvas.width) return null;
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let sum = 0, lit = 0;
  for (let i = 0; i < data.length; i += 4) { sum = (sum * 31 + data[i] + 7 * data[i + 1] + 13 * data[i + 2]) % 1e9;
                                           if (data[i] + data[i + 1] + data[i + 2] > 0) lit++; }
  return {sum, lit, width: canvas.width, height: canvas.height};
}"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    directory = tmp_path_factory.mktemp("web")
    (no_queue_server,) = free_tcp_ports(1)  # rescans are suggested; approving one meets a queue server that is down
    config = with_free_ports(load_config(environ={}, overrides=[
        f"tiled.directory='{directory / 'tiled'}'", "simulation.n_cols=64", f"simulation.n_angles={N_ANGLES}",
        "simulation.steps=['pristine', 'plate', 'strip']", "pipeline.backend='numpy'",
        "segmentation.method='otsu'", "rescan.policy='suggest'", "rescan.timeout_s=0.5",
        f"rescan.queue_server='tcp://127.0.0.1:{no_queue_server}'"]))
    with LocalStack(config) as running:
        bench = build_bench(config.simulation)
        beamline = SimulatedBeamline(bench, documents_address=running.documents_in_address,
                                     frames_address=running.frames_address)
        try:
            yield dict(stack=running, beamline=beamline, steps=step_metadata(bench), config=config)
        finally:
            beamline.close()


@pytest.fixture(scope="module")
def browser(system_binary):
    chromium = system_binary("chromium", "chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    with tempfile.TemporaryDirectory() as profile, sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=chromium, headless=True, args=CHROMIUM_FLAGS, viewport={"width": 1400, "height": 1500})
        outside = []

        def only_loopback(route):
            host = urllib.parse.urlsplit(route.request.url).hostname
            if host in ("127.0.0.1", "localhost"):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        context.route("**/*", only_loopback)
        try:
            yield dict(context=context, outside=outside)
        finally:
            context.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory):
    return tmp_path_factory.mktemp("screenshots")


def open_page(browser, url):
    page = browser["context"].new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(url)
    page.wait_for_selector("body[data-loaded=true]", timeout=30_000)
    return page, errors


def wait_for_step(page, step_index, *, with_current_density):
    condition = f"""() => {{
      const step = (sel) => document.querySelector(sel).dataset.step;
      const ok = step("#map-top-pore_density") === "{step_index}" && step("#map-bottom-pore_density") === "{step_index}"
        && step("#slices") === "{step_index}" && step("#hotspot-list") === "{step_index}"
        && document.querySelector("#porosity-plot").dataset.steps === "{step_index + 1}";
      return ok && (!{str(with_current_density).lower()} || step("#map-top-current_density") === "{step_index}");
    }}"""
    page.wait_for_function(condition, timeout=STEP_TIMEOUT_MS)


@pytest.fixture(scope="module")
def live_run(stack, browser, screenshots):
    """Runs the experiment one step at a time with the page open; records what the page showed."""
    page, errors = open_page(browser, stack["stack"].service.web_url)
    seen = []
    for step in stack["steps"]:
        stack["beamline"].run_experiment([step])
        wait_for_step(page, step.step_index, with_current_density=step.step_index > 0)
        page.screenshot(path=str(screenshots / f"live_step_{step.step_index}.png"), full_page=True)
        seen.append({
            "pore_density": page.evaluate(CANVAS_CHECKSUM, "#map-top-pore_density canvas"),
            "current_density": page.evaluate(CANVAS_CHECKSUM, "#map-top-current_density canvas"),
            "slice": page.evaluate(CANVAS_CHECKSUM, "#slice-xz"),
            "hotspots": page.locator("#hotspot-list li.hotspot").all_inner_texts(),
            "circles": page.locator("#maps circle").count(),
            "frames": page.inner_text("#status-frames"),
            "stage": page.get_attribute("#status-stages", "data-stage"),
            "backend": page.inner_text("#status-backend"),
            "plotted_steps": [page.get_attribute(plot, "data-steps")
                              for plot in ("#porosity-plot", "#depth-top", "#depth-bottom")],
        })
    with TiledResultStore(stack["stack"].service.tiled_uri, api_key=stack["stack"].service.tiled_api_key) as store:
        reports = store.read_cell(stack["config"].simulation.cell_id)
    yield dict(page=page, errors=errors, seen=seen, reports=reports)
    page.close()


def test_maps_and_slices_appear_and_update_with_every_step(live_run):
    seen = live_run["seen"]
    for shown in seen:
        assert shown["pore_density"]["width"] == 64 and shown["pore_density"]["lit"] > 64 * 64 // 4
        assert shown["slice"]["lit"] > 0
    assert seen[0]["current_density"]["lit"] == 0  # no previous step, no current density: blank
    assert seen[1]["current_density"]["lit"] > 0 and seen[2]["current_density"]["lit"] > 0
    assert len({shown["pore_density"]["sum"] for shown in seen}) == 3
    assert seen[1]["current_density"]["sum"] != seen[2]["current_density"]["sum"]
    assert len({shown["slice"]["sum"] for shown in seen}) == 3


def test_hot_spot_list_appears_and_updates(live_run):
    seen, reports = live_run["seen"], live_run["reports"]
    for shown, report in zip(seen, reports):
        expected = len(report["top"]["hotspots"]) + len(report["bottom"]["hotspots"])
        assert len(shown["hotspots"]) == expected
        assert shown["circles"] == 2 * expected  # circled on the pore-density and the current-density map
    assert seen[0]["hotspots"] == [] and seen[1]["hotspots"]
    assert seen[1]["hotspots"] != seen[2]["hotspots"]


def test_plots_grow_as_steps_complete(live_run):
    assert [shown["plotted_steps"] for shown in live_run["seen"]] == [[str(n)] * 3 for n in (1, 2, 3)]


def test_status_shows_frames_stage_and_backend(live_run):
    for shown in live_run["seen"]:
        assert f"projections: {N_ANGLES} / {N_ANGLES}" in shown["frames"]
        assert shown["backend"] == "numpy"
    assert live_run["seen"][-1]["stage"] in ("publish", "complete")


def test_clicking_a_hot_spot_shows_its_details(live_run, screenshots):
    page, report = live_run["page"], live_run["reports"][-1]
    electrode = "top" if report["top"]["hotspots"] else "bottom"
    spot = report[electrode]["hotspots"][0]
    page.locator(f'#map-{electrode}-current_density circle[data-id="{spot["id"]}"]').click()
    details = page.locator("#hotspot-details")
    details.wait_for(state="visible")
    page.screenshot(path=str(screenshots / "hotspot_details.png"), full_page=True)
    assert f"{electrode} hot spot #{spot['id']}" in details.inner_text()
    assert float(details.locator(".x").inner_text()) == pytest.approx(spot["x_um"], abs=0.5)
    assert float(details.locator(".y").inner_text()) == pytest.approx(spot["y_um"], abs=0.5)
    assert float(details.locator(".peak").inner_text()) == pytest.approx(spot["peak_current_density_A_m2"], abs=1e-3)
    beneath = spot["llzo_beneath"]
    assert float(details.locator(".llzo-porosity").inner_text()) == pytest.approx(100 * beneath["porosity"], abs=0.01)
    shown_tortuosity = details.locator(".llzo-tortuosity").inner_text()
    if beneath["solid_path"]:
        assert float(shown_tortuosity) == pytest.approx(beneath["tortuosity"], abs=1e-3)
    else:  # pores cut every path through the LLZO under this hot spot
        assert shown_tortuosity == "no solid path" and beneath["tortuosity"] is None


def test_a_late_joining_page_sees_the_whole_experiment_from_tiled(live_run, stack, browser, screenshots):
    page, errors = open_page(browser, stack["stack"].service.web_url)
    try:
        last = len(stack["steps"]) - 1
        wait_for_step(page, last, with_current_density=True)
        page.screenshot(path=str(screenshots / "late_joiner.png"), full_page=True)
        assert page.locator("#steps-table tbody tr").count() == len(stack["steps"])
        assert page.get_attribute("#depth-top", "data-steps") == str(len(stack["steps"]))
        assert page.locator("#porosity-plot circle.point").count() == 2 * len(stack["steps"])
        # the late joiner draws the same latest maps and hot spots as the page that watched live
        assert page.evaluate(CANVAS_CHECKSUM, "#map-top-pore_density canvas") == live_run["seen"][-1]["pore_density"]
        assert page.locator("#hotspot-list li.hotspot").all_inner_texts() == live_run["seen"][-1]["hotspots"]
        assert errors == []
    finally:
        page.close()


def test_the_page_stays_on_the_service(live_run, browser):
    assert browser["outside"] == []
    assert live_run["errors"] == []


def test_suggested_rescans_can_be_approved_and_a_down_queue_server_is_reported(live_run, stack, screenshots):
    page = live_run["page"]
    count = lambda report: len(report["top"]["hotspots"]) + len(report["bottom"]["hotspots"])
    plate, strip = live_run["reports"][1], live_run["reports"][2]
    suggested = page.locator("#rescan-list li.rescan.suggested")
    assert suggested.filter(has_text="of step 1").count() == count(plate)
    # the strip step's hot spots either get their own request or are duplicates of a pending one
    assert page.locator("#rescan-list li.rescan").filter(has_text="of step 2").count() == count(strip)
    first = suggested.first
    request_id = first.get_attribute("data-request-id")
    first.locator("button.approve").click()
    failed = page.locator(f'#rescan-list li.rescan.failed[data-request-id="{request_id}"]')
    failed.wait_for(timeout=20_000)
    page.screenshot(path=str(screenshots / "rescan_failed.png"), full_page=True)
    assert "queue server at tcp://127.0.0.1:" in failed.inner_text()
    assert failed.locator("button").inner_text() == "retry"
    assert stack["stack"].service.rescans.states()[request_id] == "failed"
