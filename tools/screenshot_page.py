"""Screenshot the server's page in a real headless browser, a comparison and a search done.

    python -m tools.screenshot_page --url http://127.0.0.1:8000 --output docs/serving_page.png \\
        --compare examples/image_03.png examples/image_07.png --search examples/image_05.png

Needs Playwright (pip install playwright) and a Chromium (Debian: apt-get install chromium);
the browser is the system's, not one Playwright downloads.
"""
import argparse

from pyimagesearch.cli import run


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default="http://127.0.0.1:8000", help="the running server")
    ap.add_argument("--output", required=True, help="PNG file to write")
    ap.add_argument("--compare", nargs=2, required=True, metavar="IMAGE",
                    help="two images to compare")
    ap.add_argument("--search", required=True, metavar="IMAGE", help="an image to search")
    ap.add_argument("--browser", default="/usr/bin/chromium",
                    help="the Chromium to drive (default: /usr/bin/chromium)")
    args = ap.parse_args()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise ValueError("this tool needs Playwright: pip install playwright") from None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.browser,
                                             args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1000, "height": 800})
        page.goto(f"{args.url}/")
        page.wait_for_function("document.getElementById('health').textContent "
                               "!== 'loading...'")
        page.set_input_files("#compare input[name=a]", args.compare[0])
        page.set_input_files("#compare input[name=b]", args.compare[1])
        page.click("#compare button")
        page.wait_for_selector("#compare-result p")
        page.set_input_files("#search input[name=image]", args.search)
        page.click("#search button")
        page.wait_for_selector("#search-result figure img")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=args.output, full_page=True)
        browser.close()
    print(f"[INFO] wrote {args.output}")


if __name__ == "__main__":
    run(main)
