"""Validate the newest signature of PDFs with pyHanko, as an independent validator of meterai's output.

Reads JSON lines {"path": ..., "password": ... or null} on stdin, validates each file's LAST
embedded signature against the trust root given as argv[1], and prints one JSON line per file:
{"path", "ok", "intact", "valid", "trusted", "modification_level", "error"}.
One process for many files: pyHanko's start-up (~1 s) would otherwise dominate the corpus run.
"""
import json
import sys

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext


def check(path, password, root):
    with open(path, "rb") as f:
        try:
            reader = PdfFileReader(f, strict=True)
        except Exception:  # damaged originals: the same relaxed mode as --no-strict-syntax
            f.seek(0)
            reader = PdfFileReader(f, strict=False)
        if reader.encrypted:
            reader.decrypt((password or "").encode())
        sigs = reader.embedded_signatures
        if not sigs:
            return {"ok": False, "error": "no signatures found"}
        vc = ValidationContext(trust_roots=[root], allow_fetching=False)
        status = validate_pdf_signature(sigs[-1], vc)
        level = getattr(status, "modification_level", None)
        return {
            "ok": bool(status.intact and status.valid and status.trusted),
            "intact": bool(status.intact),
            "valid": bool(status.valid),
            "trusted": bool(status.trusted),
            "coverage": str(getattr(status, "coverage", None)),
            "modification_level": str(level) if level is not None else None,
            "error": None,
        }


def main():
    root = load_cert_from_pemder(sys.argv[1])
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        req = json.loads(line)
        try:
            res = check(req["path"], req.get("password"), root)
        except Exception as e:  # reported, never fatal: the Rust test decides
            res = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        res["path"] = req["path"]
        print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
