"""Validate the newest signature of PDFs with pyHanko, as an independent validator of meterai's output.

Reads JSON lines {"path": ..., "original": ..., "password": ... or null} on stdin, validates each
file's LAST embedded signature against the trust root given as argv[1], and prints one JSON line
per file: {"path", "ok", "strict", "intact", "valid", "trusted", "error", "original_unreadable"}.
One process for many files: pyHanko's start-up (~1 s) would otherwise dominate the corpus run.

Strict syntax is tried first; on failure the file is read again in pyHanko's non-strict mode (the
CLI's --no-strict-syntax), which pyHanko requires for hybrid-reference files. When a file fails
both ways, its original is opened too: if pyHanko cannot read the original either, the result says
so ("original_unreadable"), since no stamp can make an unreadable file readable to pyHanko.
"""
import json
import sys

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext


def open_reader(f, password, strict):
    reader = PdfFileReader(f, strict=strict)
    if reader.encrypted:
        reader.decrypt((password or "").encode())
    return reader


def check(path, password, root, strict):
    with open(path, "rb") as f:
        reader = open_reader(f, password, strict)
        sigs = reader.embedded_signatures
        if not sigs:
            return {"ok": False, "error": "no signatures found"}
        vc = ValidationContext(trust_roots=[root], allow_fetching=False)
        status = validate_pdf_signature(sigs[-1], vc)
        return {
            "ok": bool(status.intact and status.valid and status.trusted),
            "strict": strict,
            "intact": bool(status.intact),
            "valid": bool(status.valid),
            "trusted": bool(status.trusted),
            "error": None,
        }


def readable(path, password):
    for strict in (True, False):
        try:
            with open(path, "rb") as f:
                r = open_reader(f, password, strict)
                r.root  # forces the catalog to load
                return True
        except Exception:
            pass
    return False


def main():
    root = load_cert_from_pemder(sys.argv[1])
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        req = json.loads(line)
        res = None
        errors = []
        for strict in (True, False):
            try:
                res = check(req["path"], req.get("password"), root, strict)
                if res["ok"]:
                    break
            except Exception as e:  # reported, never fatal: the Rust test decides
                errors.append(f"{type(e).__name__}: {e}")
        if res is None:
            res = {"ok": False, "error": "; ".join(errors)}
            res["original_unreadable"] = not readable(req["original"], req.get("password"))
        res["path"] = req["path"]
        print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
