# The two commands: `make run` starts Postifys, `make test` runs the whole suite. Both set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
READY := $(VENV)/.installed

.PHONY: install run test lint browser-deps bench asyncapi dead-letters replay-dead-letters webhook-deliveries replay-webhook clean vault-key vault-rotate \
	internal-keys

$(READY): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "postifys: Python 3.11 or newer is needed (PYTHON=$(PYTHON))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(READY)

install: $(READY)

run: $(READY)
	$(BIN)/python -m deploy.run

lint: $(READY)
	$(BIN)/ruff check .
	$(BIN)/mypy

# The browser tests drive Debian's Chromium and inject axe-core (npm); without them they are skipped, loudly.
AXE := tests/browser/node_modules/axe-core/axe.min.js

$(AXE): tests/browser/package-lock.json
	@if command -v npm >/dev/null; then cd tests/browser && npm ci --no-audit --no-fund --loglevel=error; \
	else echo "postifys: npm is missing, so the browser tests will be skipped (apt-get install npm)"; fi

browser-deps: $(AXE)
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "postifys: installing Debian's chromium for the browser tests"; \
	    (apt-get install -y -q chromium >/dev/null 2>&1 || \
	     (apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null)); \
	  else echo "postifys: /usr/bin/chromium is missing (sudo apt-get install chromium); browser tests will be skipped"; fi; \
	fi

test: lint browser-deps
	$(BIN)/pytest $(PYTEST_ARGS)

bench: $(READY)
	$(BIN)/python -m bench.signin
	$(BIN)/python -m bench.publishing
	$(BIN)/python -m bench.webhooks
	$(BIN)/python -m bench.pages
	$(BIN)/python -m bench.consumption
	$(BIN)/python -m bench.uploads

# The event contract: regenerate after changing an event model, and commit docs/asyncapi.json.
asyncapi: $(READY)
	$(BIN)/python -m deploy.asyncapi

# Operators: `make dead-letters SERVICE=privacy`, then `make replay-dead-letters SERVICE=privacy [IDS=a,b]`.
dead-letters: $(READY)
	$(BIN)/python -m deploy.dead_letters list $(SERVICE)

replay-dead-letters: $(READY)
	$(BIN)/python -m deploy.dead_letters replay $(SERVICE) $(if $(IDS),--ids $(IDS))

# Webhooks: `make webhook-deliveries [STATUS=rejected]`, then `make replay-webhook ID=<delivery id>`.
webhook-deliveries: $(READY)
	$(BIN)/python -m deploy.webhook_deliveries list $(if $(STATUS),--status $(STATUS))

replay-webhook: $(READY)
	$(BIN)/python -m deploy.webhook_deliveries replay $(ID)

clean:
	rm -rf $(VENV) .run .pytest_cache .mypy_cache .ruff_cache tests/browser/node_modules

# Put a new key first in POSTIFYS_VAULT_KEYS (`make vault-key ID=k2` prints one), then re-wrap everything.
vault-key: $(READY)
	$(BIN)/python -m services.connector.rotate_keys --new-key $(ID)

vault-rotate: $(READY)
	$(BIN)/python -m services.connector.rotate_keys

# A deployment's internal keys (docker-compose.yml's header says where each goes).
internal-keys: $(READY)
	$(BIN)/python -m deploy.internal_keys
