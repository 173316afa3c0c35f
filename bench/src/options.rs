//! Command-line options of `stamp-bench` (hand-parsed: a handful of flags needs no parser crate).

use std::path::PathBuf;

/// Usage text printed on a bad argument.
pub const USAGE: &str = "usage: stamp-bench [--quick] [--n N] [--n-scan N] [--n-manual N] [--n-big N] [--reps R]
                   [--py-n N] [--no-pyhanko] [--corpus DIR] [--pyhanko-script FILE] [--write FILE]
  --quick            few iterations (smoke run): n=10, n-scan=5, n-manual=3, n-big=1, reps=1, py-n=2
  --n N              stamps of the letter per repetition (default 200)
  --n-scan N         stamps of the 800 KB scan per repetition (default 100)
  --n-manual N       stamps of the 352-page manual per repetition (default 30)
  --n-big N          stamps of the 50 MB input, in a child process (default 3)
  --reps R           repetitions of each series; medians are reported (default 3)
  --py-n N           pyHanko stamps per file (default 10)
  --no-pyhanko       skip pyHanko
  --corpus DIR       the shared corpus (default <repo>/../shared/corpus)
  --pyhanko-script F the pyHanko driver (default <repo>/bench/pyhanko_stamp.py)
  --write FILE       also write the report into FILE under '## Stamping engine'";

/// Parsed options.
#[derive(Debug, Clone)]
pub struct Options {
    /// Letter stamps per repetition.
    pub n_letter: usize,
    /// Scan stamps per repetition.
    pub n_scan: usize,
    /// Manual stamps per repetition.
    pub n_manual: usize,
    /// Stamps of the 50 MB input (child process).
    pub n_big: usize,
    /// Repetitions of every series; the report gives medians, since the machine is shared.
    pub reps: usize,
    /// pyHanko stamps per file.
    pub py_n: usize,
    /// Whether to run pyHanko at all.
    pub pyhanko: bool,
    /// The shared corpus directory.
    pub corpus: PathBuf,
    /// The pyHanko driver script.
    pub pyhanko_script: PathBuf,
    /// File to write the report section into.
    pub write: Option<PathBuf>,
    /// Internal: run as the 50 MB child on this file.
    pub child_big: Option<PathBuf>,
    /// Internal: the PKI directory for the child.
    pub pki: Option<PathBuf>,
    /// Whether `--quick` was given (recorded in the report).
    pub quick: bool,
    /// The arguments as given, for the report's command line.
    pub args: Vec<String>,
}

/// Parses the arguments after the program name.
pub fn parse(args: impl Iterator<Item = String>) -> Result<Options, String> {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut o = Options {
        n_letter: 200,
        n_scan: 100,
        n_manual: 30,
        n_big: 3,
        reps: 3,
        py_n: 10,
        pyhanko: true,
        corpus: repo.join("../shared/corpus"),
        pyhanko_script: repo.join("bench/pyhanko_stamp.py"),
        write: None,
        child_big: None,
        pki: None,
        quick: false,
        args: Vec::new(),
    };
    let args: Vec<String> = args.collect();
    o.args = args.clone();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
        let count = |v: String| v.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| format!("{a}: {v:?} is not a positive count"));
        match a.as_str() {
            "--quick" => {
                (o.n_letter, o.n_scan, o.n_manual, o.n_big, o.reps, o.py_n) = (10, 5, 3, 1, 1, 2);
                o.quick = true;
            }
            "--n" => o.n_letter = count(value()?)?,
            "--n-scan" => o.n_scan = count(value()?)?,
            "--n-manual" => o.n_manual = count(value()?)?,
            "--n-big" => o.n_big = count(value()?)?,
            "--reps" => o.reps = count(value()?)?,
            "--py-n" => o.py_n = count(value()?)?,
            "--no-pyhanko" => o.pyhanko = false,
            "--corpus" => o.corpus = value()?.into(),
            "--pyhanko-script" => o.pyhanko_script = value()?.into(),
            "--write" => o.write = Some(value()?.into()),
            "--child-big" => o.child_big = Some(value()?.into()),
            "--pki" => o.pki = Some(value()?.into()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(o)
}
