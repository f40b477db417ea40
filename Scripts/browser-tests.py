#!/usr/bin/env python3
"""Browser tests of MetaRec's pages, run as a person would, in headless Chromium via Selenium.

1. The HTML report of `metarec demo --quick --html` renders with its plots, and every plot's
   SVG carries data (series with points).
2. Against `metarec serve` on a loopback port: the onboarding page loads with no console errors,
   three ratings given by clicking change the recommendation list, and the dashboard's add-item
   form makes the item appear and shows where it ranks. Before the dashboard, a stream of
   synthetic users' feedback goes through the API and `metarec learn --once` learns from it: the
   dashboard's stream-GAUC plot must draw it, and its version history must list what was published.

Screenshots of every page go to --screenshots (default: screenshots/, git-ignored).
Usage: Scripts/browser-tests.py --metarec .build/release/metarec [--screenshots screenshots]
"""
import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)
    print("  ok:", message)


def make_driver(width=1280, height=900):
    options = webdriver.ChromeOptions()
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", f"--window-size={width},{height}"]:
        options.add_argument(flag)
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    return webdriver.Chrome(service=service, options=options)


def console_errors(driver):
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def screenshot(driver, folder, name, full_page=True):
    path = os.path.join(folder, name)
    if full_page:
        height = driver.execute_script("return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)")
        width = driver.get_window_size()["width"]
        driver.set_window_size(width, min(max(height + 120, 600), 6000))
        driver.execute_script("window.scrollTo(0, 0)")
        time.sleep(0.3)
    driver.save_screenshot(path)
    print("  screenshot:", path)


def test_report(metarec, folder, work):
    print("HTML report of metarec demo --quick --html")
    report = os.path.join(work, "report.html")
    subprocess.run([metarec, "demo", "--quick", "--quiet", "--html", report], check=True, stdout=subprocess.DEVNULL)
    driver = make_driver()
    try:
        driver.get("file://" + report)
        plots = driver.find_elements(By.CSS_SELECTOR, "svg.plot")
        check(len(plots) >= 1, f"the report has {len(plots)} plot(s)")
        for plot in plots:
            series = plot.find_elements(By.CSS_SELECTOR, "g.series")
            title = plot.find_element(By.CSS_SELECTOR, "text.plot-title").text
            check(len(series) >= 2, f"plot '{title}' draws {len(series)} series")
            for group in series:
                points = group.find_elements(By.CSS_SELECTOR, ".point")
                declared = int(group.get_attribute("data-points"))
                values = [float(point.get_attribute("data-y")) for point in points]
                check(declared == len(points) and declared > 0 and all(v == v for v in values),
                      f"series '{group.get_attribute('data-series')}' has {declared} points with finite values")
            box = plot.rect
            check(box["width"] > 200 and box["height"] > 100, f"plot '{title}' is drawn at {box['width']:.0f}x{box['height']:.0f}")
        rows = driver.find_elements(By.CSS_SELECTOR, "table tbody tr")
        check(len(rows) >= 5, f"the report's tables have {len(rows)} rows")
        check(not console_errors(driver), "the report logs no console errors")
        external = driver.execute_script(
            "return [...document.querySelectorAll('[src],[href],link,script')].map(e => e.outerHTML.slice(0, 80))")
        check(not external, f"the report refers to nothing outside itself {external}")
        screenshot(driver, folder, "report.png")
    finally:
        driver.quit()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_server(url, process, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            raise Failure(f"metarec serve exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise Failure(f"metarec serve did not answer {url}/healthz within {seconds} s")


def recommendation_list(driver):
    return [(item.get_attribute("data-item"), item.find_element(By.CSS_SELECTOR, ".score").text)
            for item in driver.find_elements(By.CSS_SELECTOR, "#recommendations li")]


def test_onboarding(driver, url, folder, prefix=""):
    print(f"Onboarding page{' (' + prefix.strip('-') + ')' if prefix else ''}")
    driver.get(url + "/")
    wait = WebDriverWait(driver, 60)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#questions li.question") and d.find_elements(By.CSS_SELECTOR, "#recommendations li"))
    check(not console_errors(driver), "the onboarding page loads with no console errors")
    user = driver.execute_script("return JSON.parse(sessionStorage.getItem('metarec.session')).user")
    check(bool(user), f"the page got a fresh user id ({user})")
    screenshot(driver, folder, prefix + "onboarding-start.png", full_page=False)
    before = recommendation_list(driver)
    check(len(before) > 0, f"the page shows {len(before)} recommendations before any rating")
    stars = driver.find_elements(By.CSS_SELECTOR, "#questions fieldset.stars")
    values = ["5", "1", "5"]
    for index in range(3):
        cards = driver.find_elements(By.CSS_SELECTOR, "#questions li.question:not(.rated)")
        check(cards, f"an unrated item is left for rating {index + 1}")
        card = cards[0]
        previous = recommendation_list(driver)
        if stars:
            card.find_element(By.CSS_SELECTOR, f"label[for$='-{values[index]}']").click()
        else:
            card.find_element(By.CSS_SELECTOR, "button[data-value='1']" if values[index] == "5" else "button[data-value='0']").click()
        wait.until(lambda d: "rated" in card.get_attribute("class") or "error" in d.find_element(By.ID, "status").get_attribute("class"))
        status = driver.find_element(By.ID, "status")
        check("error" not in status.get_attribute("class"), f"rating {index + 1} was stored ({status.text})")
        wait.until(lambda d: d.find_element(By.ID, "status").text.startswith(f"Thanks: {index + 1} rated"))
        print(f"  the list {'changed' if recommendation_list(driver) != previous else 'did not change'} after rating {index + 1}")
    after = recommendation_list(driver)
    check(after != before, "three ratings changed the recommendation list")
    markers = driver.find_elements(By.CSS_SELECTOR, "#recommendations li[data-move='up'], #recommendations li[data-move='down'], #recommendations li[data-move='new']")
    print(f"  {len(markers)} item(s) carry a moved marker after the third rating")
    check(not console_errors(driver), "no console errors after three ratings")
    screenshot(driver, folder, prefix + "onboarding-after-three-ratings.png")
    return user


def test_click_model(metarec, folder, work, seconds):
    """A click model served end to end: Like sends a click, Skip a skip, and the list moves."""
    model = os.path.join(work, "clicks.safetensors")
    subprocess.run([metarec, "train", "--method", "covariance", "--implicit-threshold", "4", "--epochs", "3",
                    "--synthetic-users", "400", "--synthetic-items", "150", "--synthetic-interactions", "20000",
                    "--quiet", "--out", model], check=True)
    token_file = os.path.join(work, "click-token")
    with open(token_file, "w") as handle:
        handle.write(secrets.token_hex(16))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(os.path.join(work, "click-serve.log"), "w")
    server = subprocess.Popen([metarec, "serve", "--model", model, "--store", "sqlite:" + os.path.join(work, "clicks.sqlite"),
                               "--port", str(port), "--token-file", token_file],
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    driver = make_driver()
    try:
        wait_for_server(url, server, seconds)
        driver.get(url + "/")
        WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#questions li.question"))
        buttons = driver.find_elements(By.CSS_SELECTOR, "#questions button[data-value='1']")
        check(buttons and buttons[0].text == "Like", "a click model asks with Like and Skip buttons")
        test_onboarding(driver, url, folder, prefix="click-")
    finally:
        driver.quit()
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


def test_phone_width(url, folder):
    print("Onboarding page on a phone-sized window")
    driver = make_driver(390, 844)
    try:
        driver.get(url + "/")
        WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#recommendations li"))
        overflow = driver.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        check(overflow <= 0, f"nothing overflows a 390 px wide window (overflow {overflow} px)")
        screenshot(driver, folder, "onboarding-phone.png")
    finally:
        driver.quit()


def api(url, token, method, path, body=None, headers=None):
    request = urllib.request.Request(url + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": "Bearer " + token, "Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"null")


def feed_and_learn(metarec, url, token, store):
    """Feedback from 16 synthetic users through the API, then `metarec learn --once` on the store."""
    print("Learner: a stream of 16 users, then metarec learn --once")
    model = api(url, token, "GET", "/v1/model")
    low, high = model["scale"]["min"], model["scale"]["max"]
    items = [item["id"] for item in api(url, token, "GET", "/v1/items?offset=0&limit=200")["items"]]
    check(len(items) >= 8, f"the catalogue has items to rate ({len(items)})")
    import random
    rng = random.Random(7)
    for n in range(16):
        user = f"stream-{n}"
        rows = [{"user": user, "item": item, "value": rng.choice([low, high] if model["objective"] == "click" else range(int(low), int(high) + 1))}
                for item in rng.sample(items, 8)]
        api(url, token, "POST", "/v1/feedback", {"feedback": rows}, {"Idempotency-Key": "browser-stream-" + user})
    learned = subprocess.run([metarec, "learn", "--store", store, "--once", "--support", "3", "--query", "5", "--every-users", "4",
                              "--hold-out-every", "3", "--margin", "10"], capture_output=True, text=True, timeout=600)
    print("  " + learned.stdout.strip().replace("\n", "\n  "))
    check(learned.returncode == 0, f"metarec learn --once succeeded ({learned.stderr.strip()[-300:]})")


def test_learner_panel(driver):
    wait = WebDriverWait(driver, 30)
    wait.until(lambda d: int(d.find_element(By.ID, "gauc-plot").get_attribute("data-points") or "0") > 0)
    points = int(driver.find_element(By.ID, "gauc-plot").get_attribute("data-points"))
    check(points >= 2, f"the stream GAUC plot has {points} reports")
    line = driver.find_elements(By.CSS_SELECTOR, "#gauc-plot polyline[data-series=streamGAUC]")
    check(len(line) == 1 and len(line[0].get_attribute("points").split()) == points, "the plot draws the cumulative stream GAUC through every report")
    box = line[0].rect
    check(box["width"] > 100, f"the line spans the plot ({box['width']:.0f} px wide)")
    published = driver.find_elements(By.CSS_SELECTOR, "#version-history tr[data-outcome=published]")
    check(len(published) >= 2, f"the version history lists {len(published)} published versions (the start and the learner's)")
    notes = " ".join(row.text for row in published)
    check("metarec learn through=" in notes, "the history shows the learner's version with its note")
    figures = {item.find_element(By.TAG_NAME, "dt").text: item.find_element(By.TAG_NAME, "dd").text
               for item in driver.find_elements(By.CSS_SELECTOR, "#learner-figures div")}
    check(figures.get("stream GAUC", "n/a") != "n/a", f"the learner's stream GAUC is shown ({figures.get('stream GAUC')})")


def test_dashboard(driver, url, token, user, folder, learner=False):
    print("Dashboard")
    driver.get(url + "/admin")
    wait = WebDriverWait(driver, 60)
    wait.until(lambda d: d.find_element(By.ID, "token").is_displayed())
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "#token-form button[type=submit]").click()
    wait.until(lambda d: d.find_element(By.ID, "dashboard").is_displayed() and d.find_elements(By.CSS_SELECTOR, "#count-figures div"))
    figures = {item.find_element(By.TAG_NAME, "dt").text: item.find_element(By.TAG_NAME, "dd").text
               for item in driver.find_elements(By.CSS_SELECTOR, "dl.figures div")}
    check(int(figures.get("feedback", "0")) >= 3, f"the dashboard counts the onboarding ratings (feedback {figures.get('feedback')})")
    check(figures.get("version", "") != "", f"the dashboard names the model version ({figures.get('version')})")
    item = "browser-test-" + secrets.token_hex(3)
    driver.find_element(By.ID, "item-id").send_keys(item)
    driver.find_element(By.ID, "item-title").send_keys("An item added by the browser test")
    driver.find_element(By.ID, "rank-user").send_keys(user)
    driver.find_element(By.CSS_SELECTOR, "#add-form button[type=submit]").click()
    wait.until(lambda d: d.find_element(By.ID, "add-result").text.startswith(("Added", "Not added")))
    result = driver.find_element(By.ID, "add-result").text
    check(result.startswith("Added " + item), f"the add-item form added the item: {result}")
    check(" rank" in result or "top" in result, "the dashboard says where it ranks for the user")
    rows = WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, f"#latest-items tr[data-item='{item}']"))
    check(len(rows) == 1, "the new item appears among the latest catalogue items")
    if learner:
        test_learner_panel(driver)
    check(not console_errors(driver), "the dashboard logs no console errors")
    screenshot(driver, folder, "dashboard.png")


def test_pages(url, token, folder, learn=None):
    driver = make_driver()
    try:
        user = test_onboarding(driver, url, folder)
        if learn:
            learn()
        test_dashboard(driver, url, token, user, folder, learner=learn is not None)
    finally:
        driver.quit()
    test_phone_width(url, folder)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metarec", default=".build/release/metarec")
    parser.add_argument("--screenshots", default="screenshots")
    parser.add_argument("--server-seconds", type=int, default=900, help="how long to wait for the server (it trains a synthetic model first)")
    parser.add_argument("--skip-report", action="store_true")
    parser.add_argument("--skip-server", action="store_true")
    parser.add_argument("--url", help="test a server that is already running here instead of starting one")
    parser.add_argument("--token-file", help="with --url: the file holding that server's admin token")
    arguments = parser.parse_args()
    os.makedirs(arguments.screenshots, exist_ok=True)
    metarec = os.path.abspath(arguments.metarec)
    with tempfile.TemporaryDirectory(prefix="metarec-browser-") as work:
        if not arguments.skip_report:
            test_report(metarec, arguments.screenshots, work)
        if arguments.skip_server:
            return
        if arguments.url:
            with open(arguments.token_file) as handle:
                token = handle.read().strip()
            test_pages(arguments.url, token, arguments.screenshots)
            print("browser tests passed; screenshots in", arguments.screenshots)
            return
        token = secrets.token_hex(16)
        token_file = os.path.join(work, "admin-token")
        with open(token_file, "w") as handle:
            handle.write(token)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = open(os.path.join(work, "serve.log"), "w")
        server = subprocess.Popen([metarec, "serve", "--home", os.path.join(work, "home"), "--port", str(port), "--token-file", token_file],
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_for_server(url, server, arguments.server_seconds)
            home = os.path.join(work, "home")
            test_pages(url, token, arguments.screenshots,
                       learn=lambda: feed_and_learn(metarec, url, token, "sqlite:" + os.path.join(home, "synthetic.sqlite")))
            test_click_model(metarec, arguments.screenshots, work, arguments.server_seconds)
        except Exception:
            log.flush()
            with open(os.path.join(work, "serve.log")) as handle:
                sys.stderr.write("--- metarec serve log (last 40 lines) ---\n" + "".join(handle.readlines()[-40:]))
            raise
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
    print("browser tests passed; screenshots in", arguments.screenshots)


if __name__ == "__main__":
    try:
        main()
    except Failure as failure:
        print("FAILED:", failure, file=sys.stderr)
        sys.exit(1)
