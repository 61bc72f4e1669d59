//! Build script: turns `SIGMA_MATCH_SHARED` (the shared corpus location, set
//! by `.ci/run`) into the `shared_corpus` cfg, so corpus tests are compiled
//! as `#[ignore]`d when it is unset and show as ignored, not passed.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(shared_corpus)");
    println!("cargo::rerun-if-env-changed=SIGMA_MATCH_SHARED");
    if std::env::var_os("SIGMA_MATCH_SHARED").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=shared_corpus");
    }
}
