#!/usr/bin/env python3
"""Reference query strings: what Timesketch stores as a rule's `es_query`.

Reproduces the conversion steps of google/timesketch
`timesketch/lib/sigma_util.py` (`parse_sigma_rule_by_text`, `_sanitize_query`,
`sanitize_incoming_sigma_rule_text`; commit 45b339bb87c7334effc1e0327c285b4ec19d96d9)
with the legacy converter Timesketch pins in `requirements.txt`
(`sigmatools==0.19.1`), without Flask or a database, for every rule file
under the given folders, and writes one TSV row per rule:

    path <TAB> status <TAB> kind <TAB> text

* `path`: the rule path relative to the folder given (with the folder's
  last component as prefix, e.g. `rules/windows/...`);
* `status`: the rule's `status:` as read by PyYAML (`-` when absent or the
  file is not a mapping), so callers can apply the analyzer's stable-only
  filter (`sigma_tagger.py` `get_kwargs`) themselves;
* `kind`: `query` (text = the search query, byte for byte) or `error`
  (text = `ExceptionClass: message`, the exception `parse_sigma_rule_by_text`
  raises; `\\`, tab, CR and LF in it are written as `\\\\`, `\\t`, `\\r`, `\\n`).

The converter runs in a throwaway virtual environment (`python3 -m venv`,
`pip install sigmatools==0.19.1`); pass `--venv DIR` to reuse one. The
script only drives the package, it copies none of its code. Python's string
hashing is pinned (`PYTHONHASHSEED=0`) so set iteration inside sigmac (only
reached by conditional mappings with several matching targets) is stable.

Usage:
    python3 tests/tools/timesketch_reference.py \
        --config ../shared/timesketch/sigma_config.yaml \
        --out tests/golden/timesketch_queries.tsv ../shared/sigmahq/rules
"""

import argparse
import os
import subprocess
import sys
import tempfile

SIGMATOOLS = "sigmatools==0.19.1"


def ensure_venv(venv_dir):
    """Creates the venv with sigmatools 0.19.1 unless it already has it."""
    python = os.path.join(venv_dir, "bin", "python")
    if not os.path.exists(python):
        subprocess.run([sys.executable, "-m", "venv", venv_dir], check=True)
    probe = subprocess.run(
        [python, "-c", "import sigma.backends.elasticsearch"],
        capture_output=True,
    )
    if probe.returncode != 0:
        subprocess.run(
            [python, "-m", "pip", "install", "--quiet", SIGMATOOLS], check=True
        )
    return python


# --- the part that runs inside the venv -------------------------------------


def sanitize_query(sigma_rule_query):
    """timesketch/lib/sigma_util.py `_sanitize_query`, step for step."""
    import re

    q = sigma_rule_query
    q = q.replace(".keyword:", ":")
    q = q.replace("\\ ", " ")
    q = q.replace("\\:", ":")
    q = q.replace("\\-", "-")
    q = q.replace("*\\\\", " *")
    q = q.replace("::", r"\:\:")
    q = q.replace(" * OR", ' " OR')
    q = q.replace(" * AND", ' " AND')
    q = q.replace("OR * ", 'OR " ')
    q = q.replace("AND * ", 'AND " ')
    q = q.replace("(* ", '(" ')
    q = q.replace(" *)", ' ")')
    q = q.replace("*)", '")')
    q = q.replace("(*", '("')
    q = q.replace(r"\*:", "")
    elements = re.split(r"\s+", q)
    san = []
    for el in elements:
        if el.count("*") == 1:
            san.append(el.replace("*", '"'))
        else:
            san.append(el)
    q = " ".join(san)
    q = q.replace('""', '"')
    return q


def convert(rule_text, config_text):
    """timesketch/lib/sigma_util.py `parse_sigma_rule_by_text` (sanitize=True)."""
    import yaml
    import sigma.configuration as sigma_configuration
    from sigma.backends import elasticsearch as sigma_es
    from sigma.parser import collection as sigma_collection

    if not isinstance(rule_text, str):
        raise ValueError("rule_text needs to be a string.")
    # get_sigma_config_file: a fresh SigmaConfiguration per call.
    sigma_conf_obj = sigma_configuration.SigmaConfiguration(config_text)
    sigma_backend = sigma_es.ElasticsearchQuerystringBackend(sigma_conf_obj, {})
    # sanitize_incoming_sigma_rule_text
    rule_text = rule_text.replace("|endswith", "")
    rule_text = rule_text.replace("|startswith", "")

    rule_return = {}
    parsed_sigma_rules = None
    rule_yaml_data = yaml.safe_load_all(rule_text)
    for doc in rule_yaml_data:
        parser = sigma_collection.SigmaCollectionParser(
            str(rule_text), sigma_conf_obj, None
        )
        parsed_sigma_rules = parser.generate(sigma_backend)
        rule_return.update(doc)

    assert parsed_sigma_rules is not None

    sigma_search_query = list(parsed_sigma_rules)[0]
    sigma_search_query = sanitize_query(sigma_search_query)
    sigma_search_query = sigma_search_query.replace("*.keyword:", "message.keyword:")

    if not isinstance(rule_return.get("title"), str):
        raise ValueError("Missing value: 'title' from the YAML data.")
    if not isinstance(rule_return.get("description"), str):
        raise ValueError("Missing value: 'description' from the YAML data.")
    if not isinstance(rule_return.get("id"), str):
        raise ValueError("Missing value: 'id' from the YAML data.")
    return sigma_search_query


def status_of(rule_text):
    import yaml

    try:
        doc = next(iter(yaml.safe_load_all(rule_text)), None)
    except Exception:  # pylint: disable=broad-except
        return "-"
    if isinstance(doc, dict) and isinstance(doc.get("status"), str):
        return doc["status"]
    return "-"


def escape(text):
    return (
        text.replace("\\", "\\\\")
        .replace("\t", "\\t")
        .replace("\r", "\\r")
        .replace("\n", "\\n")
    )


def worker(config, out, roots):
    with open(config, encoding="utf-8") as fh:
        config_text = fh.read()
    rows = []
    for root in roots:
        root = os.path.normpath(root)
        base = os.path.dirname(root)
        for dirpath, _, files in os.walk(root):
            for name in files:
                if not name.lower().endswith((".yml", ".yaml")):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, base).replace(os.sep, "/")
                with open(path, encoding="utf-8") as fh:
                    text = fh.read()
                try:
                    query = convert(text, config_text)
                    if any(c in query for c in "\t\r\n"):
                        raise AssertionError("query with a control character")
                    kind, body = "query", query
                except Exception as exc:  # pylint: disable=broad-except
                    kind = "error"
                    body = escape(f"{type(exc).__name__}: {exc}")
                rows.append((rel, status_of(text), kind, body))
    rows.sort()
    with open(out, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("# path\tstatus\tkind\ttext (sigmatools 0.19.1, tests/tools/timesketch_reference.py)\n")
        for row in rows:
            fh.write("\t".join(row) + "\n")
    print(
        f"{len(rows)} rules, {sum(r[2] == 'query' for r in rows)} converted, "
        f"{sum(r[2] == 'error' for r in rows)} errors -> {out}",
        file=sys.stderr,
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True, help="Timesketch sigma_config.yaml")
    ap.add_argument("--out", required=True, help="TSV to write")
    ap.add_argument("--venv", help="reuse this venv directory (created if missing)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("roots", nargs="+", help="rule folders")
    args = ap.parse_args()
    if args.worker:
        worker(args.config, args.out, args.roots)
        return
    with tempfile.TemporaryDirectory(prefix="ts-sigmac-") as tmp:
        python = ensure_venv(args.venv or os.path.join(tmp, "venv"))
        env = dict(os.environ, PYTHONHASHSEED="0")
        cmd = [python, os.path.abspath(__file__), "--worker", "--config",
               os.path.abspath(args.config), "--out", os.path.abspath(args.out)]
        cmd += [os.path.abspath(r) for r in args.roots]
        subprocess.run(cmd, check=True, env=env)


if __name__ == "__main__":
    main()
