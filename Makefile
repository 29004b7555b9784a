# `make run` and `make test` install what they need; a second run only redoes what changed.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
FLASK  := $(VENV)/bin/flask --app wsgi
PO     := $(wildcard lms/translations/*/LC_MESSAGES/messages.po)
MO     := $(PO:.po=.mo)
VENDOR := lms/static/vendor/.stamp

.PHONY: run test setup db demo lint format messages clean bench

run: setup db demo
	$(PY) wsgi.py

test: $(VENV)/.stamp-dev $(VENDOR) $(MO)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

setup: $(VENV)/.stamp-run $(VENDOR) $(MO)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.stamp-run: requirements.txt | $(VENV)/bin/python
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.stamp-dev: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PIP) install --quiet -r requirements-dev.txt
	touch $(VENV)/.stamp-run $@

# --omit=optional: pdfjs-dist's optional @napi-rs/canvas renders PDFs in Node, which we never do (the
# browser draws them); package.json pins it to a release whose every platform build is published, or
# npm ci refuses the lock file.
node_modules/.stamp: package.json package-lock.json
	npm ci --no-audit --no-fund --omit=optional --loglevel=error
	touch $@

# Front-end assets are copied from npm packages; nothing is fetched from a CDN at run time.
$(VENDOR): node_modules/.stamp
	mkdir -p lms/static/vendor/bootstrap lms/static/vendor/hls lms/static/vendor/socket.io lms/static/vendor/echarts lms/static/vendor/quill
	cp node_modules/bootstrap/dist/css/bootstrap.min.css node_modules/bootstrap/dist/js/bootstrap.bundle.min.js lms/static/vendor/bootstrap/
	cp node_modules/hls.js/dist/hls.light.min.js lms/static/vendor/hls/
	cp node_modules/socket.io-client/dist/socket.io.min.js lms/static/vendor/socket.io/
	cp node_modules/echarts/dist/echarts.common.min.js lms/static/vendor/echarts/
	cp node_modules/quill/dist/quill.js node_modules/quill/dist/quill.snow.css lms/static/vendor/quill/
	# PDF previews drawn in the page (phones' browsers, WeChat's among them, show no PDF in a frame);
	# the character maps let PDFs with non-embedded Chinese fonts render.
	mkdir -p lms/static/vendor/pdfjs
	cp node_modules/pdfjs-dist/legacy/build/pdf.min.mjs node_modules/pdfjs-dist/legacy/build/pdf.worker.min.mjs lms/static/vendor/pdfjs/
	cp -r node_modules/pdfjs-dist/cmaps node_modules/pdfjs-dist/standard_fonts lms/static/vendor/pdfjs/
	touch $@

%.mo: %.po | $(VENV)/.stamp-run
	$(VENV)/bin/pybabel compile --use-fuzzy -i $< -o $@ >/dev/null

db: $(VENV)/.stamp-run
	$(FLASK) db upgrade

demo: db
	$(FLASK) lms demo --if-empty

messages: $(VENV)/.stamp-dev
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k site_gettext -o lms/translations/messages.pot .
	$(VENV)/bin/pybabel update -i lms/translations/messages.pot -d lms/translations --no-fuzzy-matching
	$(PY) tools/fill_po.py lms/translations/zh_CN/LC_MESSAGES/messages.po lms/translations/pending/*.json
	for po in $(PO); do $(VENV)/bin/pybabel compile --use-fuzzy -i $$po -o $${po%.po}.mo >/dev/null; done

lint: $(VENV)/.stamp-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.stamp-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: setup
	$(PY) benchmarks/pages.py

clean:
	rm -rf $(VENV) node_modules lms/static/vendor
