"""What the annotator sees, in a real browser (Debian's chromium through Selenium) against the real Label Studio.

One task of a project with 80 categories, proposed from a real clip by the CPU demo models (a generated clip
without ../shared) and pushed with its playback media: the labeling page loads at 1400x900,
the cut around the frame reaches a playable state with a duration and plays audio (Chromium counts decoded
audio bytes), the whole clip is there too, the frame's categories come first in both label lists, the filter
boxes reach the others, and the controls sit above the fold. ``AVATAR_DOCS_SCREENSHOT=1`` also writes the
screenshot of docs/review.md (docs/images/review_task.png).
"""

import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from avatar_bench.format import Category
from pipeline.layout import WorkDir
from pipeline.records import FrameRecord
from pipeline.review import ReviewConfig, load_categories, push
from pipeline.review.media import clip_duration
from tests.review.browser import chromium, chromium_or_skip, login, screenshot, wait_for
from tests.review.dummies import proposal_row

pytestmark = [pytest.mark.services, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
MEDIA = """Array.from(document.querySelectorAll('video')).map(v => ({src: v.currentSrc, ready: v.readyState,
    duration: v.duration, time: v.currentTime, audio: v.webkitAudioDecodedByteCount, muted: v.muted}))"""


def _categories() -> list[Category]:
    cats = load_categories()  # the 67 of the taxonomy, padded to 80 as a larger project would have
    extra = [Category(id=len(cats) + i + 1, name=f"extra category {i:02d}", supercategory="object")
             for i in range(80 - len(cats))]
    return cats + extra


def _real_batch(work: Path) -> bool:
    """The documented real-clip path: a frame of a shared clip, ``propose --cpu-demo`` (YOLOv8n + YAMNet + GrabCut)."""
    from pipeline.proposals.config import ProposeConfig
    from pipeline.proposals.propose import propose
    from tests.conftest import SHARED
    from tests.proposals.frames_fixture import write_frames_manifest

    clip, models = SHARED / "media" / "three_women_one_talks.mp4", SHARED / "models"
    if not (clip.exists() and (models / "yamnet.tflite").exists()):
        return False
    write_frames_manifest(work, {clip: [4.2]}, label="people talking")
    assert propose(work, ProposeConfig.cpu_demo(str(models))).processed == 1
    return True


def _generated_batch(work: Path) -> None:
    """Without ../shared: one frame of a generated clip (test pattern, 440 Hz tone), proposed as a sounding piano."""
    clip = work / "source.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc=size=320x180:rate=25:duration=8", "-f", "lavfi", "-i", "sine=frequency=440:duration=8",
                    "-c:v", "libx264", "-c:a", "aac", "-shortest", str(clip)], check=True)
    row = proposal_row(work, 0, n_instances=1)
    row = replace(row, timestamp_s=4.2, scenario="single", heard_categories=["piano"],
                  instances=[replace(row.instances[0], category="piano", sounding=True)])
    wd = WorkDir(work)
    with wd.manifest("proposals") as m:
        m.append(row)
    with wd.manifest("frames") as m:
        m.append(FrameRecord(frame_id=row.frame_id, video_id=row.video_id, video_path=str(clip), frame_index=105,
                             timestamp_s=4.2, image_path=row.image_path, width=row.width, height=row.height,
                             sharpness=1.0))


def _bottom(driver, xpath: str) -> float:
    from selenium.webdriver.common.by import By

    element = wait_for(lambda: driver.find_element(By.XPATH, xpath), 30, f"the element {xpath}")
    return driver.execute_script("return arguments[0].getBoundingClientRect().bottom", element)


def _shown(driver, text: str) -> bool:
    from selenium.webdriver.common.by import By

    return any(e.is_displayed() for e in driver.find_elements(By.XPATH, f"//*[normalize-space(text())='{text}']"))


IN_VIEW = """const el = arguments[0], r = el.getBoundingClientRect();
    let box = el.parentElement;
    while (box && !['auto', 'scroll'].includes(getComputedStyle(box).overflowY)) box = box.parentElement;
    const b = box ? box.getBoundingClientRect() : {top: 0, bottom: innerHeight};
    return r.height > 0 && r.bottom > b.top && r.top < b.bottom && r.top < innerHeight;"""


def _mask_labels(driver) -> list:
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.XPATH, "(//*[contains(concat(' ', @class, ' '), ' lsf-labels ')])[1]"
                                          "//span[contains(@class, 'lsf-label__text')]")


def _in_view(driver, labels: list, text: str) -> bool:
    return any(e.text == text and driver.execute_script(IN_VIEW, e) for e in labels)


def test_the_task_plays_its_cut_with_sound_and_fits_the_screen(label_studio, tmp_path):
    chromium_or_skip()
    if shutil.which("ffmpeg") is None:
        pytest.skip("needs ffmpeg")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    root = Path(label_studio.env["LOCAL_FILES_DOCUMENT_ROOT"])
    work = tmp_path  # under the document root (the session's base temp dir)
    real = _real_batch(work)
    if not real:
        _generated_batch(work)
    cfg = ReviewConfig(project="browser check", categories=_categories(), document_root=root)
    client = label_studio.client()
    project = push(work, cfg, client).info["project_id"]
    data = client.sdk.tasks.list(project=project).items[0].data
    assert data["cut"] and data["clip"]  # the push made the media
    clip_s = clip_duration(Path(WorkDir(work).records("frames")[0].video_path))
    password = (label_studio.state / "password").read_text().strip()
    with chromium((1400, 900)) as driver:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": 1400, "height": 900, "deviceScaleFactor": 1, "mobile": False})
        login(driver, label_studio.url, label_studio.env["LABEL_STUDIO_USERNAME"], password)
        driver.get(f"{label_studio.url}/projects/{project}/data?labeling=1")
        videos = wait_for(lambda: [v for v in driver.execute_script(f"return {MEDIA}") if v["ready"] >= 3], 90,
                          "both videos to reach a playable state")
        assert len(videos) == 2 and all(v["duration"] > 0 and not v["muted"] for v in videos)
        cut = next(v for v in videos if v["src"].endswith(data["cut"].rsplit("/", 1)[1]))
        assert cut["duration"] == pytest.approx(2.5, abs=0.1)
        assert any(v["src"].endswith("clip.mp4") and v["duration"] == pytest.approx(clip_s, abs=0.2) for v in videos)
        driver.execute_script("document.querySelectorAll('video').forEach(v => {"
                              "if (v.currentSrc === arguments[0]) v.play(); })", cut["src"])
        played = wait_for(lambda: [v for v in driver.execute_script(f"return {MEDIA}")
                                   if v["src"] == cut["src"] and v["audio"] > 0 and v["time"] > 0], 30,
                          "the cut to play with decoded audio")
        assert played[0]["audio"] > 1000  # bytes of decoded AAC: the cut has a sound track and it plays
        assert data["position"].startswith("frame at 4.2") and _shown(driver, data["position"])
        # the frame's categories first in both lists (as the task lists them); the rest through the filter boxes
        labels = _mask_labels(driver)
        assert len(labels) == 80 and labels[0].text == data["mask_labels"][0]["value"]
        heard = [e.text for e in driver.find_elements(By.XPATH, "//label[contains(@class, 'ant-checkbox-wrapper')]")]
        assert heard[0] == data["heard_options"][0]["value"] and len(heard) == 81  # and the reject box
        if not real:
            assert labels[0].text == heard[0] == "piano"
        assert _in_view(driver, labels, labels[0].text) and not _in_view(driver, labels, "extra category 12")
        search = driver.find_element(By.XPATH, "//input[@placeholder='search all categories (mask label)']")
        search.send_keys("category 12")
        wait_for(lambda: _in_view(driver, _mask_labels(driver), "extra category 12")
                 and not _in_view(driver, _mask_labels(driver), labels[0].text), 10,
                 "the filter to bring the searched category into view")
        search.send_keys(Keys.CONTROL, "a", Keys.DELETE)
        for xpath in ("//*[normalize-space(text())='off_screen']", "//*[normalize-space(text())='reject frame']",
                      "//*[normalize-space(text())='Whole clip']", "//button[normalize-space(.)='Submit']"):
            assert _bottom(driver, xpath) <= 900, f"{xpath} is below the fold at 1400x900"
        shot = screenshot(driver, tmp_path / "review_task.png")
        if os.environ.get("AVATAR_DOCS_SCREENSHOT") == "1":
            shutil.copy(shot, REPO / "docs" / "images" / "review_task.png")
