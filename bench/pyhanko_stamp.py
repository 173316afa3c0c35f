#!/usr/bin/env python3
"""pyHanko side of the meterai stamping benchmark (run by `stamp-bench`, usable on its own).

Stamps each given PDF N times in this one Python process with the same kind of stamp the meterai
engine makes: RSA-2048, PAdES B-B (ETSI.CAdES.detached), SHA-256, a new visible signature field
with a QR stamp in a 100x100 pt box at the bottom-right of page 1. Input and output stay in memory
(BytesIO) so the timing compares with the in-process engine, not with disk I/O.

Prints one JSON object: {"pyhanko": version, "results": [{file, ok, n, stamps_per_s, p50_ms,
p99_ms, bytes_added, cpu_stamps_per_s (stamps per second of this thread's CPU time)} or {file, ok: false, error}]}.
"""
import argparse
import json
import sys
import time
from io import BytesIO

# Same geometry as meterai's `Placement::At(Anchor::BottomRight)`: a 100 pt square, 24 pt from
# the corner (or 10% of the short side on small pages).
MARK_SIDE_PT = 100.0
CORNER_MARGIN_PT = 24.0


def percentile(sorted_values, q):
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), int(-(-q * len(sorted_values) // 1))))
    return sorted_values[rank - 1]


def stamp_box(data):
    """Bottom-right 100x100 pt box on page 1, read from the page's /MediaBox."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    page = PdfFileReader(BytesIO(data), strict=False).root["/Pages"]
    while "/Kids" in page:
        page = page["/Kids"][0].get_object()
    llx, lly, urx, ury = [float(v) for v in page["/MediaBox"]]
    margin = min(CORNER_MARGIN_PT, min(urx - llx, ury - lly) * 0.1)
    return (urx - margin - MARK_SIDE_PT, lly + margin, urx - margin, lly + margin + MARK_SIDE_PT)


def bench_file(path, n, signer):
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.stamp import QRStampStyle

    with open(path, "rb") as f:
        data = f.read()
    box = stamp_box(data)
    style = QRStampStyle(stamp_text="e-Meterai\nSN %(sn)s\n%(url)s")
    latencies = []
    added = 0
    started = time.perf_counter()
    cpu_started = time.thread_time()
    for i in range(n):
        sn = "MT%020d" % i
        t0 = time.perf_counter()
        meta = signers.PdfSignatureMetadata(
            field_name="e-Meterai %s" % sn,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            reason="e-Meterai SN %s" % sn,
        )
        pdf_signer = signers.PdfSigner(
            meta,
            signer=signer,
            stamp_style=style,
            new_field_spec=fields.SigFieldSpec(sig_field_name=meta.field_name, on_page=0, box=box),
        )
        writer = IncrementalPdfFileWriter(BytesIO(data), strict=False)
        out = pdf_signer.sign_pdf(
            writer,
            output=BytesIO(),
            appearance_text_params={"url": "http://127.0.0.1:8080/v/" + sn, "sn": sn},
        )
        latencies.append(time.perf_counter() - t0)
        added = len(out.getbuffer()) - len(data)
    total = time.perf_counter() - started
    cpu_total = time.thread_time() - cpu_started
    latencies.sort()
    return {
        "file": path,
        "ok": True,
        "n": n,
        "stamps_per_s": n / total,
        "cpu_stamps_per_s": n / cpu_total if cpu_total > 0 else None,
        "p50_ms": percentile(latencies, 0.50) * 1e3,
        "p99_ms": percentile(latencies, 0.99) * 1e3,
        "bytes_added": added,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--key", required=True, help="signer private key (PEM, PKCS#8)")
    ap.add_argument("--cert", required=True, help="signer certificate (PEM)")
    ap.add_argument("--ca", required=True, help="CA certificate embedded as chain (PEM)")
    ap.add_argument("--n", type=int, default=20, help="stamps per file")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()

    from pyhanko.sign import signers
    from pyhanko.version import __version__

    signer = signers.SimpleSigner.load(args.key, args.cert, ca_chain_files=(args.ca,))
    results = []
    for path in args.files:
        try:
            results.append(bench_file(path, args.n, signer))
        except Exception as e:  # report, don't abort: one unreadable input is a result too
            results.append({"file": path, "ok": False, "error": "%s: %s" % (type(e).__name__, e)})
    json.dump({"pyhanko": __version__, "results": results}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
