# The web console of `accord serve` (issue 16): its browser test needs headless Chromium
# and its WebDriver, Debian's `chromium` and `chromium-driver`, installed here when
# missing so `make test` works on a fresh machine. The test never skips without them.
#
#   make browser              install Chromium and chromedriver when missing
#   make console-screenshots  rerun the browser test: bench/results/console/*.png

.PHONY: browser console-screenshots

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

test-rust: browser

browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  echo "installing Debian's chromium and chromium-driver for the console's browser test"; \
	  $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium chromium-driver; \
	fi

console-screenshots: browser
	ACCORD_SCREENSHOT_DIR=$(CURDIR)/bench/results/console $(CARGO) test --workspace --test console_browser
